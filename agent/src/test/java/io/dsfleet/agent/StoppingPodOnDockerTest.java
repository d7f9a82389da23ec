package io.dsfleet.agent;

import static io.dsfleet.agent.DockerHarness.ds;
import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.common.model.DaemonSet;
import io.dsfleet.proto.v1.DesiredState;
import io.dsfleet.proto.v1.PodStatus;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * On the real daemon: a rollout's template B, then its rollback's A again while the agent stops A's container for B (its
 * preStop hook waiting for the test): A is reported Terminating and not ready until its container has stopped, then runs
 * again in a new one (docs/agent.md, Restarts and probes; the unit tests' {@code StoppingPodStatusTest}).
 */
class StoppingPodOnDockerTest extends OnDocker {
  private static final String C0 = "spec.template.spec.containers[0]";

  private static DaemonSet template(String image) {
    return ds(C0 + ".image", image, C0 + ".lifecycle",
        "{preStop: {exec: {command: [sh, -c, 'touch /tmp/hooked; while [ ! -f /tmp/go ]; do sleep 0.1; done']}}}",
        "spec.template.spec.terminationGracePeriodSeconds", "30");
  }

  private static DesiredState version(DaemonSet ds, long v) {
    return DockerHarness.state(ds).toBuilder().setVersion(v).build();
  }

  @Test
  void aRolledBackPodWhoseContainerIsStillStoppingIsTerminatingUntilItRunsAgain() {
    DaemonSet a = template("local/busybox:1");
    h.reconciler.setDesired(version(a, 1));
    String first = h.awaitStatus(PodStatus::getReady, Duration.ofSeconds(60)).getContainers(0).getContainerId();
    h.reconciler.setDesired(version(template("local/busybox:2"), 2));
    org.awaitility.Awaitility.await("A's preStop hook runs").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
        .until(() -> h.sh("main", "test -f /tmp/hooked && echo yes").equals("yes"));
    h.reconciler.setDesired(version(a, 3)); // the rollback: A again, its container in its preStop hook
    PodStatus stopping = h.awaitStatus(p -> p.getTemplateHash().equals(version(a, 3).getPods(0).getTemplateHash()), Duration.ofSeconds(30));
    long from = h.reconciler.passes(); // two more passes (the worker busy in the hook): the report stays so while it waits
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> h.reconciler.passes() >= from + 2);
    stopping = h.last.get(0);
    assertThat(stopping.getPhase()).isEqualTo("Terminating");
    assertThat(stopping.getReady()).isFalse();
    assertThat(stopping.getContainers(0).getContainerId()).isEqualTo(first);
    assertThat(stopping.getContainers(0).getReady()).isFalse();
    h.sh("main", "touch /tmp/go");
    PodStatus again = h.awaitStatus(p -> p.getReady() && !p.getContainers(0).getContainerId().equals(first), Duration.ofSeconds(60));
    assertThat(again.getPhase()).isEqualTo("Running");
  }

  /**
   * A container that ignores SIGTERM gets its whole terminationGracePeriodSeconds before SIGKILL, as Docker's own kill
   * events time them: the kubelet gives the grace less the whole seconds its preStop hook took. Until 2026-12-08 the
   * grace less the microseconds between the stop's start and Docker's call was cut to whole seconds: a second less, every
   * stop (29 s of a default 30; 2 s of this test's 3).
   */
  @Test
  void aContainerGetsItsWholeGracePeriodBetweenSigtermAndSigkill() {
    h.run(ds(C0 + ".command", "[sh, -c, 'trap \"\" TERM; while :; do sleep 0.1; done']", "spec.template.spec.terminationGracePeriodSeconds", "3"));
    String id = h.container("main").id();
    long since = java.time.Instant.now().getEpochSecond() - 1;
    h.clear();
    var events = Docker.cli(java.util.Map.of(), "events", "--since", String.valueOf(since), "--until", String.valueOf(java.time.Instant.now()
        .getEpochSecond() + 1), "--filter", "container=" + id, "--filter", "event=kill", "--format", "{{.TimeNano}} {{.Actor.Attributes.signal}}");
    java.util.Map<String, Long> at = new java.util.HashMap<>();
    events.out().lines().map(l -> l.split(" ")).filter(f -> f.length == 2).forEach(f -> at.putIfAbsent(f[1], Long.parseLong(f[0])));
    assertThat(at).as(events.out()).containsKeys("15", "9");
    assertThat(Duration.ofNanos(at.get("9") - at.get("15"))).as("SIGTERM to SIGKILL").isGreaterThanOrEqualTo(Duration.ofMillis(2900));
  }
}
