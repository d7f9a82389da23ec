package io.dsfleet.agent.reconcile;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.agent.runtime.ContainerInfo;
import io.dsfleet.agent.runtime.ContainerRuntime;
import io.dsfleet.agent.runtime.FakeRuntime;
import io.dsfleet.agent.runtime.Labels;
import io.dsfleet.common.model.DaemonSet;
import io.dsfleet.common.testing.FakeClock;
import io.dsfleet.proto.v1.ContainerStatus;
import io.dsfleet.proto.v1.DesiredState;
import io.dsfleet.proto.v1.PodStatus;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the agent reports of a pod whose containers it is stopping: a rollout's template B then its
 * rollback's A again within a second, the worker handed B stopping A's containers (their preStop
 * hooks, their grace) as the set wants A again. The coordinator holds the node's share of the
 * rollout's budget until it reports (docs/rollouts.md): A's containers, still running, must not be
 * reported Ready (the kubelet reports such a pod with a deletionTimestamp, its containers not ready).
 */
class StoppingPodStatusTest {
  @TempDir Path dir;
  FakeClock clock = new FakeClock();
  FakeRuntime runtime = new FakeRuntime(clock);
  ExecutorService workers = ReconcilerThreads.podWorkers();
  CountDownLatch hooked = new CountDownLatch(1);
  CountDownLatch release = new CountDownLatch(1);
  Reconciler r;

  @BeforeEach
  void setUp() {
    runtime.addImage("local/busybox:1");
    runtime.addImage("local/busybox:2");
    runtime.setExecRule(this::hook);
    // the pod workers on a thread of their own, so a pass runs while a worker waits in the preStop hook
    r = new Reconciler("n1", "10.1.1.1", runtime, new ReconcilerTest.NoMounts(), clock, Backoff.KUBERNETES, Reconciler.RELIST, dir, "test",
        new ReconcilerThreads(workers, new ReconcilerTest.Direct(), new ReconcilerTest.Direct(), new ReconcilerTest.Direct()), x -> { });
  }

  @AfterEach
  void tearDown() {
    release.countDown();
    workers.shutdownNow();
  }

  /** The preStop hook {@code drain}: it lasts until the test releases it. */
  private ContainerRuntime.ExecResult hook(List<String> cmd) {
    if (cmd.contains("drain")) {
      hooked.countDown();
      try {
        release.await(60, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    return new ContainerRuntime.ExecResult(0, "");
  }

  /** A pod in its sandbox (its container asks for the pod's IP). */
  @Test
  void aPodInItsSandboxWhoseStopIsUnderWayIsTerminatingNotReady() {
    rollbackDuringTheStop(false, "spec.template.spec.containers[0].env[1]", io.dsfleet.agent.DockerHarness.ASKS_FOR_POD_IP);
  }

  /** A pod that is its one container (on the host's network, no sandbox). */
  @Test
  void aPodThatIsItsOneContainerWhoseStopIsUnderWayIsTerminatingNotReady() {
    rollbackDuringTheStop(false, "spec.template.spec.hostNetwork", "true");
  }

  /**
   * A pass whose list was made before the stop ended (the container running) and whose report is made after: the
   * container stopped as that list shows it running is not ready either (a stop ended lately, of that run).
   */
  @Test
  void aListFromBeforeTheStopsEndShowsNoReadyPod() {
    rollbackDuringTheStop(true, "spec.template.spec.hostNetwork", "true");
  }

  /**
   * A container its liveness probe failed is restarted: while its stop is under way it is not ready, and its pod, which
   * goes on, is Running (as the kubelet's), not Terminating, though the container is all of it.
   */
  @Test
  void aRestartALivenessProbeAskedForLeavesThePodRunningNotReady() {
    runtime.setExecRule(cmd -> cmd.contains("check") ? new ContainerRuntime.ExecResult(1, "unhealthy") : hook(cmd));
    r.setDesired(version(Pods.state(Pods.ds("spec.template.spec.hostNetwork", "true", "spec.template.spec.containers[0].lifecycle",
        "{preStop: {exec: {command: [drain]}}}", "spec.template.spec.containers[0].livenessProbe",
        "{exec: {command: [check]}, periodSeconds: 1, failureThreshold: 2}")), 1));
    Awaitility.await("the liveness probe's stop runs the preStop hook").atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(20))
        .until(() -> {
          clock.advance(Duration.ofSeconds(1));
          r.tick();
          return hooked.getCount() == 0;
        });
    r.tick();
    PodStatus p = r.lastReport().get(0);
    assertThat(p.getContainers(0).getState()).isEqualTo("running");
    assertThat(p.getContainers(0).getReady()).as("a container whose stop is under way is not ready").isFalse();
    assertThat(p.getReady()).isFalse();
    assertThat(p.getPhase()).as("a restart: the pod goes on").isEqualTo("Running");
  }

  /** @param stopEndsAfterTheList the stop ends between the pass's list and its report (else it is under way throughout) */
  private void rollbackDuringTheStop(boolean stopEndsAfterTheList, String... template) {
    DaemonSet a = ds(template, "local/busybox:1");
    DaemonSet b = ds(template, "local/busybox:2");
    r.setDesired(version(Pods.state(a), 1));
    String first = untilReady();
    r.setDesired(version(Pods.state(b), 2));
    // the worker handed B stops A's container: its preStop hook waits for the test. A pass made while A's worker still
    // ends its start hands B nothing (a pod has one worker at a time), so passes are made until one hands B its stop:
    // a single pass failed so under a loaded machine (ci-64)
    Awaitility.await("A's preStop hook runs").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(50)).until(() -> {
      if (hooked.getCount() > 0) {
        r.tick();
      }
      return hooked.await(50, TimeUnit.MILLISECONDS);
    });
    r.setDesired(version(Pods.state(a), 3)); // the rollback: A again, its container being stopped
    if (stopEndsAfterTheList) {
      runtime.afterList = filter -> { // the pass's list of every container: the stop ends, and its worker, before the pass goes on
        runtime.afterList = x -> { };
        release.countDown();
        Awaitility.await("the worker's stop ended").atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(10)).until(r::idle);
      };
    }
    r.tick();
    assertThat(r.idle()).as("the stop ended during the pass").isEqualTo(stopEndsAfterTheList);
    PodStatus p = r.lastReport().get(0);
    assertThat(p.getTemplateHash()).isEqualTo(Pods.state(a).getPods(0).getTemplateHash());
    ContainerStatus main = p.getContainersList().stream().filter(c -> c.getName().equals("main")).findFirst().orElseThrow();
    assertThat(main.getContainerId()).as("A's container as it runs, in its preStop hook").isEqualTo(first);
    assertThat(main.getState()).isEqualTo("running");
    assertThat(main.getReady()).as("a container whose stop is under way is not ready").isFalse();
    assertThat(p.getReady()).as("nor is its pod").isFalse();
    assertThat(p.getPhase()).isEqualTo("Terminating");
    release.countDown();
    String next = untilReady();
    assertThat(next).as("A runs again in a new container once the old one stopped").isNotEqualTo(first);
    assertThat(runtime.listOwned("n1").stream().filter(c -> c.id().equals(first)).findFirst().map(ContainerInfo::running))
        .hasValue(false);
  }

  /** Passes until the pod is reported Ready; its main container's ID. */
  private String untilReady() {
    Awaitility.await("the pod reported Ready").atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(20)).until(() -> {
      clock.advance(Duration.ofSeconds(1));
      r.tick();
      return !r.lastReport().isEmpty() && r.lastReport().get(0).getReady();
    });
    return r.lastReport().get(0).getContainersList().stream().filter(c -> c.getName().equals("main")).findFirst().orElseThrow()
        .getContainerId();
  }

  private static DaemonSet ds(String[] template, String image) {
    String[] all = new String[template.length + 4];
    System.arraycopy(template, 0, all, 0, template.length);
    all[template.length] = "spec.template.spec.containers[0].lifecycle";
    all[template.length + 1] = "{preStop: {exec: {command: [drain]}}}";
    all[template.length + 2] = "spec.template.spec.containers[0].image";
    all[template.length + 3] = image;
    return Pods.ds(all);
  }

  private static DesiredState version(DesiredState s, long v) {
    return s.toBuilder().setVersion(v).build();
  }
}
