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
}
