package io.dsfleet.coordinator.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.common.model.Taint;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * NoExecute {@code tolerationSeconds} and a coordinator whose wall clock steps ahead: a VM restored
 * from a snapshot days back, or a host booted with its clock behind, that NTP then steps forward.
 */
class TolerationClockTest {
  @TempDir Path dir;

  static String tolerating(long seconds) {
    return FleetHarness.manifest("spec.template.spec.tolerations",
        "[{key: maintenance, operator: Exists, effect: NoExecute, tolerationSeconds: " + seconds + "}]");
  }

  /**
   * A pod that tolerates an admin's NoExecute taint for an hour keeps running through a step of
   * the wall clock a day ahead, and goes once the hour has passed. Before helper-163 the taint's age
   * was the wall clock's: the step took the pod off its node at the next plan of the node (the
   * agent stopped and removed it), on every node so tainted at once.
   */
  @Test
  void aStepOfTheWallClockAheadEvictsNoPodBeforeItsTolerationSecondsHavePassed() {
    try (FleetHarness h = new FleetHarness(dir)) {
      h.apply(tolerating(3600));
      FleetHarness.Agent a = h.agent("n0");
      a.runDesired(true);
      h.fleet.taintNode("n0", List.of(new Taint("maintenance", "", "NoExecute", null)), List.of(), false);
      assertThat(a.last().getPodsList()).as("tolerated for an hour").hasSize(1);
      h.advance(Duration.ofMinutes(10));

      h.clock.stepWall(Duration.ofDays(1));
      h.advance(Duration.ofSeconds(1));
      a.report();
      h.advance(Duration.ofSeconds(1));

      assertThat(a.last().getPodsList()).as("10 minutes of its hour passed: still desired").hasSize(1);
      h.advance(Duration.ofMinutes(49));
      assertThat(a.last().getPodsList()).as("59 minutes").hasSize(1);
      h.advance(Duration.ofMinutes(2));
      assertThat(a.last().getPodsList()).as("the hour passed: evicted").isEmpty();
    }
  }

  /**
   * A node NotReady (no heartbeat, tainted unreachable) is planned again when a NoExecute taint's
   * tolerationSeconds runs out there, as a Ready one is: its plan no longer holds the pod, and views
   * and the rollout, which read the plan, see it gone. Before, only Ready nodes were planned again at
   * that time: a node down kept its evicted pod in its plan until it came back or something else planned it.
   */
  @Test
  void aNodeDownIsPlannedAgainWhenItsTolerationSecondsRunOut() {
    try (FleetHarness h = new FleetHarness(dir)) {
      h.apply(tolerating(5));
      FleetHarness.Agent a = h.agent("n0");
      h.agent("n1").runDesired(true);
      a.runDesired(true);
      a.alive = false;
      for (int i = 0; i < 30 && h.fleet.node("n0", true).ready(); i++) {
        h.advance(Duration.ofSeconds(1));
      }
      h.advance(Duration.ofSeconds(1)); // tainted unreachable
      assertThat(h.fleet.node("n0", true).ready()).isFalse();
      h.fleet.taintNode("n0", List.of(new Taint("maintenance", "", "NoExecute", null)), List.of(), false);
      assertThat(h.fleet.node("n0", true).desired()).as("tolerated for 5 s").hasSize(1);
      for (int i = 0; i < 6; i++) {
        h.advance(Duration.ofSeconds(1));
      }
      assertThat(h.fleet.node("n0", true).desired()).as("its 5 s ran out: evicted from its plan").isEmpty();
      assertThat(h.fleet.node("n0", true).verdicts().get("ops/agent").shouldContinueRunning()).isFalse();
    }
  }
}
