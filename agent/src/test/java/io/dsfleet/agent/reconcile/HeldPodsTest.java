package io.dsfleet.agent.reconcile;

import static io.dsfleet.agent.reconcile.Pods.T0;
import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.agent.reconcile.Pods.C;
import io.dsfleet.agent.runtime.ContainerInfo;
import io.dsfleet.agent.runtime.OwnedContainer;
import io.dsfleet.proto.v1.ContainerStatus;
import io.dsfleet.proto.v1.PodStatus;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Pods held while a container of theirs is of an image whose labels Docker cannot say: such a
 * container is neither the agent's nor taken for none, its pod left as it runs and reported as last
 * known ({@link HeldPods}; on the real daemon: {@code FailingDockerCallsTest.anImageWhoseInspectFails...}).
 */
class HeldPodsTest {
  static final DesiredPod POD = Pods.pod();
  static final String H = POD.hash();
  static final String WHY = "Docker's inspect of its image sha256:ab failed: Status 500";

  @Test
  void aContainerOfAnImageWhoseLabelsAreNotKnownIsNotTheAgentsButHoldsItsPod() {
    ContainerInfo unknown = C.app("a0", H, "main", 0, 0).imageUnknown(WHY).info();
    StringBuilder why = new StringBuilder();
    assertThat(OwnedContainer.of(unknown, Pods.NODE, why)).as("never acted on").isEmpty();
    assertThat(why.toString()).contains(WHY);
    assertThat(new HeldPods(Pods.NODE).of(List.of(unknown, C.app("b0", H, "main", 0, 0).info())).why().keySet())
        .as("its pod held, whatever else runs").containsExactly("ops/agent-abcde");
    assertThat(new HeldPods(Pods.NODE).of(List.of(C.app("a0", H, "main", 0, 0).label("io.dsfleet.node", "other").imageUnknown(WHY)
        .info())).why()).as("one whose own labels fail their checks holds nothing: it is not this agent's whatever its image").isEmpty();
    assertThat(new HeldPods(Pods.NODE).holds(List.of(unknown), "ops/agent-abcde")).isTrue();
    assertThat(new HeldPods(Pods.NODE).holds(List.of(unknown), "web/agent-abcde")).as("the same name in another namespace").isFalse();
  }

  /** Without the hold, the pod seen without the container would be started again beside it. */
  @Test
  void aHeldPodIsNeitherStartedStoppedNorCollectedAndItsDirectoryStays() {
    List<OwnedContainer> others = List.of(C.app("a1", H, "main", 1, 0).exited(1, T0).build(), C.app("a0", H, "main", 0, 0).exited(1, T0).build());
    String dir = DesiredPod.dirName(POD.key());
    NodePlanner.Plan desired = NodePlanner.plan(new NodePlanner.Input(true, Map.of(POD.key(), POD), others, Set.of(), Map.of(),
        new Failures(Backoff.KUBERNETES), Map.of(POD.key(), POD.configs()), Set.of(dir), T0, Set.of(POD.key())));
    assertThat(desired.pods().get(POD.key())).as("no action").isEmpty();
    assertThat(desired.garbage()).as("nothing collected").isEmpty();
    assertThat(desired.removeDirs()).isEmpty();
    NodePlanner.Plan gone = NodePlanner.plan(new NodePlanner.Input(true, Map.of(), List.of(C.app("a2", H, "main", 2, 0).build()), Set.of(),
        Map.of(), new Failures(Backoff.KUBERNETES), Map.of(), Set.of(dir), T0, Set.of(POD.key())));
    assertThat(gone.teardown()).as("no longer desired, but held: not torn down").isEmpty();
    assertThat(gone.removeDirs()).as("nor its directory removed").isEmpty();
    NodePlanner.Plan unheld = NodePlanner.plan(new NodePlanner.Input(true, Map.of(POD.key(), POD), others, Set.of(), Map.of(),
        new Failures(Backoff.KUBERNETES), Map.of(POD.key(), POD.configs()), Set.of(dir), T0));
    assertThat(unheld.pods().get(POD.key())).as("not held: planned as ever").isNotEmpty();
  }

  @org.junit.jupiter.api.io.TempDir java.nio.file.Path dir;

  /**
   * Through the reconciler on the fake runtime: a pod whose app container's image labels are not known is held, its
   * crash not restarted, its sandbox not stopped; a leave leaves it running with its directory; once the labels are
   * known again it goes on (the crash restarted in the sandbox it had).
   */
  @Test
  void aHeldPodIsLeftAsItRunsByPassesAndByALeaveAndGoesOnOnceItsImagesLabelsAreKnown() {
    var clock = new io.dsfleet.common.testing.FakeClock(T0);
    var runtime = new io.dsfleet.agent.runtime.FakeRuntime(clock);
    runtime.addImage("local/busybox:1");
    List<List<PodStatus>> reports = new java.util.ArrayList<>();
    Reconciler r = ReconcilerTest.onTheCallingThread(runtime, clock, dir, reports::add);
    r.setDesired(ReconcilerTest.desired("spec.template.spec.volumes", "[{name: data, emptyDir: {}}]",
        "spec.template.spec.containers[0].volumeMounts", "[{name: data, mountPath: /data}]"));
    r.tick();
    List<ContainerInfo> before = runtime.listOwned("n1");
    assertThat(before).as("a sandbox and its container").hasSize(2).allMatch(ContainerInfo::running);
    String app = before.stream().filter(c -> "app".equals(c.label("io.dsfleet.role"))).findFirst().orElseThrow().id();
    r.tick();
    assertThat(reports.get(reports.size() - 1).get(0).getReady()).as("running, ready").isTrue();
    runtime.imageLabelsUnknown.put(app, WHY);
    r.tick();
    assertThat(reports.get(reports.size() - 1).get(0)).as("held: as last reported, with why").returns(HeldPods.REASON, PodStatus::getReason)
        .returns(true, PodStatus::getReady);
    runtime.crash(app, 1);
    r.tick();
    r.tick();
    assertThat(runtime.listOwned("n1")).as("nothing started again beside it, nothing stopped").hasSize(2);
    PodStatus crashed = reports.get(reports.size() - 1).get(0);
    assertThat(crashed.getReason()).isEqualTo(HeldPods.REASON);
    assertThat(crashed.getReady()).as("its crash, not restarted, is not reported running and ready").isFalse();
    assertThat(crashed.getContainers(0)).returns("terminated", ContainerStatus::getState).returns(1, ContainerStatus::getExitCode)
        .returns("Error", ContainerStatus::getReason);

    List<String> progress = new java.util.ArrayList<>();
    assertThat(r.removeAll(java.time.Duration.ofSeconds(30), progress::add)).as("one pod left running, none stopped")
        .isEqualTo(new Reconciler.Removal(0, 1));
    assertThat(progress).as("and says so, with why and what removes it").anyMatch(l -> l.startsWith("pod ops/agent-abcde left running")
        && l.contains(WHY) && l.contains("`ds-agent leave` again") && l.contains("io.dsfleet.pod=agent-abcde"));
    assertThat(runtime.listOwned("n1")).as("a leave stops nothing of a held pod").hasSize(2)
        .filteredOn(c -> !c.id().equals(app)).allMatch(ContainerInfo::running);
    assertThat(dir.resolve("pods").resolve(DesiredPod.dirName(POD.key()))).as("nor removes its directory").isDirectory();
    r.close();

    runtime.imageLabelsUnknown.clear();
    Reconciler again = ReconcilerTest.onTheCallingThread(runtime, clock, dir.resolve("again"), reports::add);
    again.setDesired(ReconcilerTest.desired("spec.template.spec.volumes", "[{name: data, emptyDir: {}}]",
        "spec.template.spec.containers[0].volumeMounts", "[{name: data, mountPath: /data}]"));
    again.tick();
    assertThat(runtime.listOwned("n1")).as("known again: the crash restarted in its sandbox").hasSize(3)
        .filteredOn(ContainerInfo::running).hasSize(2);
    again.close();
  }

  /**
   * A pod worker's own list between its steps holds the pod as a pass's does: here the sandbox's image can no longer be
   * inspected once the init container starts, and the worker's next step, seeing the init container run without a
   * sandbox, stopped it ("the pod sandbox is not running") without the hold.
   */
  @Test
  void aWorkersOwnListBetweenItsStepsHoldsThePodToo() {
    var clock = new io.dsfleet.common.testing.FakeClock(T0);
    var runtime = new io.dsfleet.agent.runtime.FakeRuntime(clock);
    runtime.addImage("local/busybox:1");
    List<String> started = new java.util.concurrent.CopyOnWriteArrayList<>();
    runtime.duringStart = id -> {
      started.add(id);
      if (started.size() == 2) { // the init container, after the sandbox
        runtime.imageLabelsUnknown.put(started.get(0), WHY);
      }
    };
    Reconciler r = ReconcilerTest.onTheCallingThread(runtime, clock, dir, x -> { });
    r.setDesired(ReconcilerTest.desired("spec.template.spec.initContainers", "[{name: setup, image: local/busybox:1}]"));
    r.tick();
    assertThat(started).as("the sandbox, then the init container").hasSize(2);
    assertThat(runtime.listOwned("n1")).as("both left running, nothing stopped or started again").hasSize(2)
        .allMatch(ContainerInfo::running);
    r.close();
  }

  /**
   * A held pod's volume over its sizeLimit is neither measured, evicted nor emptied: its containers are not in the pass's
   * list, so an eviction would find none of them running and empty the volume under the one that runs.
   */
  @Test
  void aHeldPodsVolumeOverItsLimitIsNeitherEvictedNorEmptied() throws java.io.IOException {
    var clock = new io.dsfleet.common.testing.FakeClock(T0);
    var runtime = new io.dsfleet.agent.runtime.FakeRuntime(clock);
    runtime.addImage("local/busybox:1");
    Reconciler r = ReconcilerTest.onTheCallingThread(runtime, clock, dir, x -> { });
    r.setDesired(ReconcilerTest.desired(ReconcilerTest.EVICTED_VOLUME));
    r.tick();
    java.nio.file.Path scratch;
    try (var found = java.nio.file.Files.walk(dir)) {
      scratch = found.filter(p -> p.endsWith(java.nio.file.Path.of("volumes", "scratch"))).findFirst().orElseThrow();
    }
    java.nio.file.Files.write(scratch.resolve("big"), new byte[64 * 1024]);
    String app = runtime.listOwned("n1").stream().filter(c -> "app".equals(c.label("io.dsfleet.role"))).findFirst().orElseThrow().id();
    runtime.imageLabelsUnknown.put(app, WHY);
    clock.advance(Evictions.MAX_PAUSE.plusSeconds(1)); // past the next measure
    r.tick();
    r.tick();
    assertThat(scratch.resolve("big")).as("its volume not emptied under its running container").exists();
    assertThat(runtime.listOwned("n1")).as("nothing stopped").hasSize(2).allMatch(ContainerInfo::running);
    r.close();
  }

  /**
   * A held pod's template is kept while it is held (neither a desired pod nor a container of the pass's list is of it):
   * the DaemonSet deleted meanwhile, its container's stop once the hold is over runs its preStop hook.
   */
  @Test
  void aHeldPodsTemplateIsKeptAndItsPreStopHookRunsOnceTheHoldIsOver() {
    var clock = new io.dsfleet.common.testing.FakeClock(T0);
    var runtime = new io.dsfleet.agent.runtime.FakeRuntime(clock);
    runtime.addImage("local/busybox:1");
    List<String> hooks = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
    runtime.setExecRule(cmd -> {
      hooks.add(String.join(" ", cmd));
      return new io.dsfleet.agent.runtime.ContainerRuntime.ExecResult(0, "");
    });
    Reconciler r = ReconcilerTest.onTheCallingThread(runtime, clock, dir, x -> { });
    r.setDesired(ReconcilerTest.desired("spec.template.spec.containers[0].lifecycle", "{preStop: {exec: {command: [hook]}}}"));
    r.tick();
    String app = runtime.listOwned("n1").stream().filter(c -> "app".equals(c.label("io.dsfleet.role"))).findFirst().orElseThrow().id();
    runtime.imageLabelsUnknown.put(app, WHY);
    r.setDesired(io.dsfleet.proto.v1.DesiredState.newBuilder().setVersion(2).build()); // the DaemonSet deleted while it is held
    for (int i = 0; i < 3; i++) {
      r.tick();
      clock.advance(java.time.Duration.ofSeconds(1));
    }
    assertThat(runtime.listOwned("n1")).as("held: left running").hasSize(2).allMatch(ContainerInfo::running);
    assertThat(r.templatesKept()).as("its template kept").isEqualTo(1);

    runtime.imageLabelsUnknown.clear();
    r.tick();
    assertThat(runtime.listOwned("n1")).as("the hold over: stopped").noneMatch(ContainerInfo::running);
    assertThat(hooks).as("with its preStop hook").containsExactly("hook");
    r.close();
  }

  /**
   * A hold keeps its pod's probes' state (without probing it meanwhile): once it is over, the pod is ready as it was, since
   * when it was, its readiness probe not started over (which made a pod ready for hours ready since the hold's end, and
   * not ready until its probe answered again, after one list's transient error of Docker's).
   */
  @Test
  void aHoldKeepsItsPodsProbesAndTheyGoOnAsTheyWereOnceItIsOver() {
    var clock = new io.dsfleet.common.testing.FakeClock(T0);
    var runtime = new io.dsfleet.agent.runtime.FakeRuntime(clock);
    runtime.addImage("local/busybox:1");
    List<String> probes = new java.util.concurrent.CopyOnWriteArrayList<>();
    runtime.setExecRule(cmd -> {
      probes.add(String.join(" ", cmd));
      return new io.dsfleet.agent.runtime.ContainerRuntime.ExecResult(0, "");
    });
    List<List<PodStatus>> reports = new java.util.ArrayList<>();
    Reconciler r = ReconcilerTest.onTheCallingThread(runtime, clock, dir, reports::add);
    r.setDesired(ReconcilerTest.desired("spec.template.spec.containers[0].readinessProbe", "{exec: {command: [ready]}, periodSeconds: 60}"));
    for (int i = 0; i < 3; i++) {
      r.tick();
      clock.advance(java.time.Duration.ofSeconds(1));
    }
    PodStatus ready = reports.get(reports.size() - 1).get(0);
    assertThat(ready.getReady()).as("ready").isTrue();
    int probed = probes.size();
    String app = runtime.listOwned("n1").stream().filter(c -> "app".equals(c.label("io.dsfleet.role"))).findFirst().orElseThrow().id();
    runtime.imageLabelsUnknown.put(app, WHY);
    r.tick();
    clock.advance(java.time.Duration.ofSeconds(5));
    runtime.imageLabelsUnknown.clear();
    r.tick();
    PodStatus after = reports.get(reports.size() - 1).get(0);
    assertThat(after.getReason()).as("the hold over").isEmpty();
    assertThat(after.getReady()).isTrue();
    assertThat(after.getReadySinceMillis()).as("ready since when it was").isEqualTo(ready.getReadySinceMillis());
    assertThat(probes).as("its readiness probe not run again before its period").hasSize(probed);
    r.close();
  }

  @Test
  void aHeldPodIsReportedAsLastKnownWithWhyOrAsUnknown() {
    PodStatus running = PodStatus.newBuilder().setNamespace("ops").setPodName("agent-abcde").setTemplateHash(H).setPhase("Running")
        .setReady(true).setReadySinceMillis(5).addContainers(ContainerStatus.newBuilder().setName("main").setContainerId("a0")
            .setState("running").setReady(true)).build();
    PodStatus built = PodStatus.newBuilder().setNamespace("ops").setPodName("agent-abcde").setTemplateHash(H).setPhase("Pending")
        .addContainers(ContainerStatus.newBuilder().setName("main").setState("waiting")).build();
    PodStatus other = PodStatus.newBuilder().setNamespace("ops").setPodName("other-abcde").setPhase("Running").build();
    Map<String, String> why = Map.of("ops/agent-abcde", "why");
    HeldPods.Hold held = new HeldPods.Hold(why, Map.of("a0", C.app("a0", H, "main", 0, 0).info()), Set.of());

    List<PodStatus> report = HeldPods.report(List.of(built, other), held, List.of(running));
    assertThat(report.get(0)).as("as last reported, and why").isEqualTo(running.toBuilder().setReason(HeldPods.REASON).setMessage("why").build());
    assertThat(report.get(1)).as("another pod as built").isEqualTo(other);

    PodStatus ended = HeldPods.report(List.of(built), new HeldPods.Hold(why, Map.of("a0", C.app("a0", H, "main", 0, 0)
        .exited(2, T0.plusSeconds(7)).info()), Set.of()), List.of(running)).get(0);
    assertThat(ended.getReady()).as("a container the list shows ended: not ready").isFalse();
    assertThat(ended.getReadySinceMillis()).isZero();
    assertThat(ended.getContainers(0)).as("and the container as it ended").isEqualTo(running.getContainers(0).toBuilder()
        .setState("terminated").setReady(false).setExitCode(2).setReason("Error").setFinishedAtMillis(T0.plusSeconds(7).toEpochMilli()).build());
    PodStatus oom = HeldPods.report(List.of(built), new HeldPods.Hold(why, Map.of("a0", C.app("a0", H, "main", 0, 0)
        .exited(137, T0.plusSeconds(7)).oomKilled().info()), Set.of()), List.of(running)).get(0);
    assertThat(oom.getContainers(0)).as("one the OOM killer ended: OOMKilled, as the pod's own report says (until 2026-12-08 Error)")
        .returns("terminated", ContainerStatus::getState).returns(137, ContainerStatus::getExitCode).returns("OOMKilled", ContainerStatus::getReason);
    PodStatus gone = HeldPods.report(List.of(built), new HeldPods.Hold(why, Map.of("b0", C.app("b0", H, "main", 0, 0).info()), Set.of()),
        List.of(running)).get(0);
    assertThat(gone.getReady()).as("a container the list no longer shows: not ready").isFalse();
    assertThat(gone.getContainers(0)).returns("terminated", ContainerStatus::getState).returns("ContainerStatusUnknown", ContainerStatus::getReason);

    PodStatus unknown = HeldPods.report(List.of(built), held, null).get(0);
    assertThat(unknown.getPhase()).as("never reported: Unknown").isEqualTo("Unknown");
    assertThat(unknown.getReady()).isFalse();
    assertThat(unknown.getContainersList()).as("nothing said of its containers that is not known").isEmpty();
    assertThat(HeldPods.report(List.of(built), held, List.of(running.toBuilder().setTemplateHash("older").build())).get(0).getPhase())
        .as("a report of another template is not this pod's").isEqualTo("Unknown");
    assertThat(HeldPods.report(List.of(built), HeldPods.Hold.NONE, List.of(running))).as("nothing held: as built").containsExactly(built);
  }
}
