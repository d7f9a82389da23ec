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
}
