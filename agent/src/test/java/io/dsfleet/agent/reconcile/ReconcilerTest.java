package io.dsfleet.agent.reconcile;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.dsfleet.agent.runtime.ContainerInfo;
import io.dsfleet.agent.runtime.ContainerRuntime;
import io.dsfleet.agent.runtime.ContainerSpec;
import io.dsfleet.agent.runtime.FakeRuntime;
import io.dsfleet.agent.runtime.Labels;
import io.dsfleet.common.Json;
import io.dsfleet.common.TemplateHash;
import io.dsfleet.common.manifest.Fixtures;
import io.dsfleet.common.model.DaemonSet;
import io.dsfleet.common.testing.FakeClock;
import io.dsfleet.proto.v1.DesiredPod;
import io.dsfleet.proto.v1.DesiredState;
import io.dsfleet.proto.v1.PodStatus;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The reconciler over the in-memory runtime: deterministic (direct executors, fake clock). */
class ReconcilerTest {
  @TempDir Path dir;
  FakeClock clock = new FakeClock();
  FakeRuntime runtime = new FakeRuntime(clock);
  List<List<PodStatus>> reports = new ArrayList<>();
  Reconciler r;

  /** Runs tasks on the calling thread. */
  static final class Direct extends AbstractExecutorService {
    @Override
    public void execute(Runnable command) {
      command.run();
    }

    @Override
    public void shutdown() {}

    @Override
    public List<Runnable> shutdownNow() {
      return List.of();
    }

    @Override
    public boolean isShutdown() {
      return false;
    }

    @Override
    public boolean isTerminated() {
      return false;
    }

    @Override
    public boolean awaitTermination(long timeout, TimeUnit unit) {
      return true;
    }
  }

  @BeforeEach
  void setUp() {
    runtime.addImage("local/busybox:1");
    r = new Reconciler("n1", "10.1.1.1", runtime, clock, dir, new Direct(), new Direct(), reports::add);
  }

  static DesiredState desired(String yamlTweakPath, String value) {
    var tree = Fixtures.baseTree();
    Fixtures.with(tree, "spec.template.spec.containers[0].readinessProbe", null);
    Fixtures.with(tree, "spec.template.spec.volumes", null);
    Fixtures.with(tree, "spec.template.spec.containers[0].volumeMounts", null);
    if (yamlTweakPath != null) {
      Fixtures.with(tree, yamlTweakPath, value);
    }
    DaemonSet ds = (DaemonSet) Fixtures.parse(tree).get(0).object();
    return DesiredState.newBuilder().setVersion(1).addPods(DesiredPod.newBuilder().setNamespace("ops").setDaemonSet("agent")
        .setPodName("agent-abcde").setTemplateHash(TemplateHash.of(ds.spec().template())).setRevision(1)
        .setTemplateJson(ByteString.copyFromUtf8(Json.canonical(ds.spec().template())))).build();
  }

  List<ContainerInfo> owned() {
    return runtime.listOwned("n1");
  }

  ContainerInfo app(String name) {
    return owned().stream().filter(c -> Labels.APP.equals(c.label(Labels.ROLE)) && name.equals(c.label(Labels.CONTAINER)))
        .reduce((a, b) -> b).orElse(null);
  }

  @Test
  void startsSandboxThenInitThenAppAndReportsReady() {
    r.setDesired(desired("spec.template.spec.initContainers", "[{name: setup, image: local/busybox:1}]"));
    r.tick();
    assertThat(runtime.calls).containsSubsequence("create dsf_agent-abcde_ops_POD", "start dsf_agent-abcde_ops_POD",
        "create dsf_agent-abcde_ops_setup_0", "start dsf_agent-abcde_ops_setup_0");
    assertThat(app("main")).as("app waits for init").isNull();
    ContainerInfo init = owned().stream().filter(c -> Labels.INIT.equals(c.label(Labels.ROLE))).findFirst().orElseThrow();
    runtime.crash(init.id(), 0);
    r.tick();
    assertThat(app("main").running()).isTrue();
    r.tick();
    PodStatus s = reports.get(reports.size() - 1).get(0);
    assertThat(s.getReady()).isTrue();
    assertThat(s.getPhase()).isEqualTo("Running");
    // every container carries the ownership labels
    assertThat(runtime.specs()).allSatisfy(spec -> assertThat(spec.labels()).containsEntry(Labels.MANAGED, "true")
        .containsEntry(Labels.NODE, "n1").containsEntry(Labels.NAMESPACE, "ops").containsEntry(Labels.DAEMON_SET, "agent")
        .containsEntry(Labels.POD, "agent-abcde").containsKeys(Labels.CONTAINER, Labels.HASH));
  }

  @Test
  void aCrashedContainerComesBackAfterItsBackoff() {
    r.setDesired(desired(null, null));
    r.tick();
    runtime.crash(app("main").id(), 1);
    r.tick();
    assertThat(app("main").running()).isFalse();
    assertThat(reports.get(reports.size() - 1).get(0).getContainers(0).getReason()).isEqualTo("CrashLoopBackOff");
    clock.advance(Duration.ofSeconds(9));
    r.tick();
    assertThat(app("main").running()).as("still backing off at 9 s").isFalse();
    clock.advance(Duration.ofSeconds(1));
    r.tick();
    assertThat(app("main").running()).isTrue();
    assertThat(app("main").label(Labels.RESTARTS)).isEqualTo("1");
    assertThat(owned().stream().filter(c -> Labels.APP.equals(c.label(Labels.ROLE))).count()).as("old run removed").isEqualTo(1);
  }

  @Test
  void aFailingLivenessProbeRestartsTheContainer() {
    r.setDesired(desired("spec.template.spec.containers[0].livenessProbe", "{exec: {command: [check]}, periodSeconds: 1, failureThreshold: 2}"));
    runtime.setExecRule(cmd -> new ContainerRuntime.ExecResult(1, "unhealthy"));
    r.tick();
    String first = app("main").id();
    for (int i = 0; i < 3; i++) {
      clock.advance(Duration.ofSeconds(1));
      r.tick();
    }
    assertThat(runtime.calls).contains("stop dsf_agent-abcde_ops_main_0");
    clock.advance(Duration.ofSeconds(10));
    r.tick();
    assertThat(app("main").id()).isNotEqualTo(first);
    assertThat(app("main").running()).isTrue();
  }

  @Test
  void aTemplateChangeRemovesTheOldPodBeforeStartingTheNew() {
    r.setDesired(desired(null, null));
    r.tick();
    runtime.calls.clear();
    r.setDesired(desired("spec.template.spec.containers[0].image", "local/busybox:2"));
    runtime.addImage("local/busybox:2");
    r.tick();
    assertThat(runtime.calls).containsSubsequence("remove dsf_agent-abcde_ops_main_0", "remove dsf_agent-abcde_ops_POD",
        "create dsf_agent-abcde_ops_POD", "create dsf_agent-abcde_ops_main_0");
    assertThat(app("main").label(Labels.HASH)).isEqualTo(desired("spec.template.spec.containers[0].image", "local/busybox:2").getPods(0).getTemplateHash());
  }

  @Test
  void podsNobodyWantsAreRemovedAndUnownedContainersNeverTouched() {
    String stranger = runtime.create(new ContainerSpec("someone-elses", "x", null, null, null, Map.of(), Map.of("app", "db"),
        List.of(), List.of(), "bridge", "private", null, false, List.of(), List.of(), null, List.of(), false, List.of(), 0, 0, 0,
        Map.of(), false, false, null));
    runtime.start(stranger);
    r.setDesired(desired(null, null));
    r.tick();
    assertThat(owned()).hasSize(2);
    r.setDesired(DesiredState.newBuilder().setVersion(2).build());
    r.tick();
    assertThat(owned()).isEmpty();
    assertThat(runtime.inspect(stranger).running()).isTrue();
    assertThat(runtime.calls).noneMatch(c -> c.contains("someone-elses") && !c.startsWith("create") && !c.startsWith("start"));
  }

  @Test
  void aMissingConfigMapKeyIsReportedAndNothingStarts() {
    r.setDesired(desired("spec.template.spec.containers[0].env[1]", "{name: X, valueFrom: {configMapKeyRef: {name: nope, key: k}}}"));
    r.tick();
    assertThat(app("main")).isNull();
    var c = reports.get(reports.size() - 1).get(0).getContainers(0);
    assertThat(c.getReason()).isEqualTo("CreateContainerConfigError");
    assertThat(c.getMessage()).isEqualTo("configmap \"nope\" not found");
  }

  @Test
  void anUnreachableRuntimeChangesNothingAndIsRetried() {
    r.setDesired(desired(null, null));
    runtime.setDown(true);
    r.tick();
    assertThat(r.runtimeDown()).isTrue();
    runtime.setDown(false);
    r.tick();
    assertThat(app("main").running()).isTrue();
  }

  @Test
  void orphanedPodsAreLeftRunningAndUnreported() {
    r.setDesired(desired(null, null));
    r.tick();
    String id = app("main").id();
    r.setOrphans(java.util.Set.of("agent-abcde"));
    r.setDesired(DesiredState.newBuilder().setVersion(2).build());
    r.tick();
    assertThat(runtime.inspect(id).running()).isTrue();
    assertThat(owned()).hasSize(2);
    assertThat(reports.get(reports.size() - 1)).isEmpty();
    r.removeAll();
    assertThat(runtime.inspect(id).running()).as("leaving the fleet does not touch released pods either").isTrue();
  }
}
