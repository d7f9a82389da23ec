package io.dsfleet.agent.reconcile;

import static io.dsfleet.agent.reconcile.Pods.T0;
import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.agent.reconcile.Pods.C;
import io.dsfleet.agent.runtime.ContainerRuntime;
import io.dsfleet.agent.runtime.FakeRuntime;
import java.time.Clock;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Which probes run when, and what their results say, over the in-memory runtime (probes run on the calling thread). */
class ProbeManagerTest {
  /**
   * A liveness (or startup) probe that failed is not run again for that run of the container, as the kubelet's prober
   * holds it until a new container: its kill stands while the container is stopped (its preStop hook, its grace), and
   * the pod stays Running through the restart, not Terminating. Until 2026-12-08 it was run on, and one success during the
   * stop took the kill back: the pod was reported Terminating, as if deleted.
   */
  @Test
  void aFailedLivenessProbeIsHeldUntilTheContainerRunsAgain() {
    FakeRuntime runtime = new FakeRuntime(Clock.fixed(T0, ZoneOffset.UTC));
    AtomicBoolean healthy = new AtomicBoolean(false);
    AtomicInteger runs = new AtomicInteger();
    runtime.setExecRule(cmd -> {
      runs.incrementAndGet();
      return new ContainerRuntime.ExecResult(healthy.get() ? 0 : 1, "");
    });
    ProbeManager probes = new ProbeManager(runtime, new ReconcilerTest.Direct(), 8, Clock.fixed(T0, ZoneOffset.UTC), "10.0.0.1");
    DesiredPod pod = Pods.pod("spec.template.spec.hostNetwork", "true", "spec.template.spec.containers[0].livenessProbe",
        "{exec: {command: [check]}, periodSeconds: 1, failureThreshold: 1}");
    var run = C.app("a0", pod.hash(), "main", 0, 0).build();
    probes.sync(Map.of(pod.key(), pod), List.of(run), Set.of(), T0);
    assertThat(probes.verdicts().get("a0").kill()).isEqualTo("liveness probe failed: exit code 1");
    healthy.set(true); // the container answers again while it is stopped
    for (int s = 1; s <= 5; s++) {
      probes.sync(Map.of(pod.key(), pod), List.of(run), Set.of(), T0.plusSeconds(s));
    }
    assertThat(probes.verdicts().get("a0").kill()).as("the kill stands").isEqualTo("liveness probe failed: exit code 1");
    assertThat(runs).as("the probe held after its failure").hasValue(1);
    var next = C.app("a1", pod.hash(), "main", 1, 0).startedAt(T0.plusSeconds(6)).build();
    probes.sync(Map.of(pod.key(), pod), List.of(next), Set.of(), T0.plusSeconds(6));
    assertThat(runs).as("the next run is probed").hasValue(2);
    assertThat(probes.verdicts()).containsOnlyKeys("a1");
    assertThat(probes.verdicts().get("a1").kill()).isNull();
  }
}
