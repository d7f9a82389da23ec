package io.dsfleet.coordinator.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code minReadySeconds} and a node whose clock runs ahead of the coordinator's: its pods' readySince are in the coordinator's future. */
class ReadySinceClockTest {
  @TempDir Path dir;

  static String minReady(int seconds, int image) {
    return FleetHarness.manifest("spec.minReadySeconds", String.valueOf(seconds), "spec.template.spec.containers[0].image",
        "local/busybox:" + image, "metadata.annotations", "{dsfleet.io/progress-deadline-seconds: '60', dsfleet.io/on-failure: rollback}");
  }

  /**
   * A pod a node reports Ready since a time still to come is Ready since the report came, no later:
   * before helper-163 a node whose clock ran an hour ahead had its pod unavailable for the hour and
   * ten seconds, which held the rollout's budget and, with a progress deadline and
   * {@code on-failure: rollback}, rolled back a template that ran well everywhere.
   */
  @Test
  void aPodOfANodeWhoseClockRunsAheadIsAvailableAfterMinReadySecondsOfTheCoordinators() {
    try (FleetHarness h = new FleetHarness(dir)) {
      List<FleetHarness.Agent> agents = h.agents(3);
      agents.get(0).clockAhead = Duration.ofHours(1);
      h.apply(minReady(10, 1));
      agents.forEach(a -> a.runDesired(true));
      h.advance(Duration.ofSeconds(11));
      assertThat(h.ds().status().available()).isEqualTo(3);

      h.apply(minReady(10, 2));
      for (int i = 0; i < 12; i++) {
        h.fleet.tick();
        agents.forEach(a -> a.runDesired(true));
        h.advance(Duration.ofSeconds(11));
      }

      assertThat(h.ds().revision()).as("not rolled back").isEqualTo(2);
      assertThat(h.ds().status().updated()).isEqualTo(3);
      assertThat(h.ds().status().available()).isEqualTo(3);
    }
  }

  /**
   * A pod that turned Ready again (its container restarted, a readiness probe failed for a moment)
   * with the NotReady between two reports unseen (coalesced within the agent's settle window, held
   * while its stream was full, or sent while the session was down) is Ready since the node says,
   * and waits its {@code minReadySeconds} again, as the kubelet's new condition time makes it in
   * Kubernetes: helper-163's ReadySince kept the earlier time while both reports said Ready, and
   * counted the pod available at once. A node whose clock runs ahead still has its time taken no
   * later than the report (above).
   */
  @Test
  void aPodReadyAgainSinceALaterTimeWaitsItsMinReadySecondsAgain() {
    try (FleetHarness h = new FleetHarness(dir)) {
      List<FleetHarness.Agent> agents = h.agents(3);
      h.apply(minReady(10, 1));
      agents.forEach(a -> a.runDesired(true));
      h.advance(Duration.ofSeconds(11));
      assertThat(h.ds().status().available()).isEqualTo(3);

      h.advance(Duration.ofSeconds(20));
      FleetHarness.Agent restarted = agents.get(0);
      restarted.running.replaceAll((pod, p) -> p.toBuilder().setReadySinceMillis(h.clock.millis()).build());
      restarted.report();
      h.advance(Duration.ofSeconds(5));
      assertThat(h.ds().status().available()).as("Ready again 5 s ago, minReadySeconds 10").isEqualTo(2);
      h.advance(Duration.ofSeconds(6));
      assertThat(h.ds().status().available()).isEqualTo(3);
    }
  }
}
