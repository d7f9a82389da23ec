package io.dsfleet.coordinator.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A DaemonSet's failing rollout pass backs off (2 s, doubling to 5 min), and a store that refused
 * every write (a full or failing disk) and takes writes again has its passes tried at once, not
 * after their back-off: rolling updates stalled up to 5 min after the disk was fine again.
 */
class RolloutPassBackOffTest {
  @TempDir Path dir;
  FleetHarness h;

  @AfterEach
  void close() {
    h.close();
  }

  long eventsOf(String reason) {
    return h.fleet.events(Events.dsKey("ops", "agent")).stream().filter(e -> e.reason().equals(reason)).count();
  }

  /** Two nodes run revision 1; revision 2 is applied, and the disk refuses every write before its pass. */
  private void updateOnAFullDisk() {
    h = new FleetHarness(dir);
    h.agent("n0");
    h.agent("n1");
    h.apply(RolloutRulesTest.image(1));
    h.agents.values().forEach(a -> a.runDesired(true));
    h.apply(RolloutRulesTest.image(2));
    h.failing = (method, args) -> !method.equals("close") && !method.equals("schemaVersion");
  }

  @Test
  void aPassBackingOffIsTriedAsSoonAsTheStoreTakesWritesAgain() {
    updateOnAFullDisk();
    for (int s = 0; s < 520; s++) {
      h.advance(Duration.ofSeconds(1));
    }
    assertThat(eventsOf("RolloutPassFailed")).as("backing off on a disk still failing: 2 s, 4 s, ... 256 s").isEqualTo(9);
    assertThat(h.fleet.events(Events.dsKey("ops", "agent")).stream().filter(e -> e.reason().equals("RolloutPassFailed")).reduce((a, b) -> b)
        .orElseThrow().message()).endsWith("next try in 300 s");
    h.failing = (method, args) -> false;
    h.advance(Duration.ofSeconds(1));
    h.advance(Duration.ofSeconds(1));
    assertThat(eventsOf("RolloutPassRecovered")).as("tried again within two sweeps of the disk taking writes").isEqualTo(1);
    assertThat(h.ds().observedGeneration()).isEqualTo(2);
    assertThat(h.agents.values().stream().filter(a -> a.desiredHashes().contains(h.ds().hash()))).as("the rollout moves on").hasSize(1);
  }

  /** A failure of one DaemonSet's own write, the store taking the others, is no disk come back: its back-off holds. */
  @Test
  void aPassFailingWhileTheStoreTakesOtherWritesKeepsItsBackOff() {
    updateOnAFullDisk();
    h.failing = (method, args) -> method.equals("putRollout");
    for (int s = 0; s < 60; s++) {
      h.advance(Duration.ofSeconds(1));
    }
    assertThat(eventsOf("RolloutPassFailed")).as("2 s, 4 s, 8 s, 16 s, 32 s").isEqualTo(5);
  }
}
