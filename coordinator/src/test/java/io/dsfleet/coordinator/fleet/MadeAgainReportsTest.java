package io.dsfleet.coordinator.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.coordinator.fleet.FleetHarness.Agent;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A DaemonSet deleted (its pods stopped) and made again under its name: the nodes' last reports show the deleted one's
 * pods, which their agents were told to stop, and count as none of the new one's until each node reports again
 * (Catalog's reportsOfTheDeleted, {@link FleetState.DsEntry#unsure}), whatever is applied in that moment.
 */
class MadeAgainReportsTest {
  @TempDir Path dir;
  FleetHarness h;

  @AfterEach
  void close() {
    if (h != null) {
      h.close();
    }
  }

  /**
   * Made again with another template, then at once applied with the deleted one's (a script correcting itself, or
   * apply then `rollout undo`), no rollout pass between: the second apply's new revision kept no mark of the first's,
   * and its pods, of the very template the nodes' last reports show, counted 2 of 2 updated and available, rolled out,
   * while every agent was stopping them.
   */
  @Test
  void aSecondTemplateAppliedAtOnceKeepsTheDeletedOnesReportsUnsure() {
    h = new FleetHarness(dir);
    List<Agent> agents = h.agents(2);
    h.apply(RolloutRulesTest.image(1));
    agents.forEach(a -> a.runDesired(true));
    String v1 = h.ds().hash();
    h.advance(Duration.ofSeconds(5));
    assertThat(h.ds().rolledOut()).isTrue();
    h.fleet.deleteDaemonSet("ops", "agent", true);
    assertThat(agents).allMatch(a -> a.last().getPodsList().isEmpty(), "told to stop the deleted one's pod");

    h.apply(RolloutRulesTest.image(2));
    h.apply(RolloutRulesTest.image(1));
    h.fleet.rolloutPass();

    FleetView.DsSnapshot d = h.ds();
    assertThat(d.hash()).as("the deleted one's template, its hash").isEqualTo(v1);
    assertThat(d.status().updated() + "/" + d.status().available() + "/" + d.status().desired())
        .as("updated/available/desired").isEqualTo("0/0/2");
    assertThat(d.rolledOut()).isFalse();

    agents.forEach(a -> a.runDesired(true)); // each says what it runs: the rollout's own pods, Ready
    h.advance(Duration.ofSeconds(5));
    assertThat(h.ds().status().available()).isEqualTo(2);
    assertThat(h.ds().rolledOut()).isTrue();
  }

  /**
   * The marks are memory only, and a coordinator restarted inside their window is no worse for it: it knows no node's
   * pods until each reports (the last reports, the deleted one's pods among them, are not stored), so nothing counts
   * until the agents say what they run, here nothing (they stopped the deleted one's pods). No behaviour changed.
   */
  @Test
  void aRestartInsideTheWindowCountsNothingBeforeTheNodesReport() {
    h = new FleetHarness(dir);
    List<Agent> agents = h.agents(2);
    h.apply(RolloutRulesTest.image(1));
    agents.forEach(a -> a.runDesired(true));
    h.advance(Duration.ofSeconds(5));
    h.fleet.deleteDaemonSet("ops", "agent", true);
    agents.forEach(a -> a.runSilently(true)); // each stops the deleted one's pod, not reported yet
    h.apply(RolloutRulesTest.image(1));

    h.crashAndRestartWithout("n0", "n1");
    h.fleet.rolloutPass();
    FleetView.DsSnapshot d = h.ds();
    assertThat(d.status().current() + "/" + d.status().available() + "/" + d.status().desired()).isEqualTo("0/0/2");
    assertThat(d.rolledOut()).isFalse();

    agents.forEach(Agent::open); // each reports what it runs: nothing
    assertThat(h.ds().status().current()).isZero();
    assertThat(h.ds().rolledOut()).isFalse();
    agents.forEach(a -> a.runDesired(true));
    h.advance(Duration.ofSeconds(5));
    assertThat(h.ds().rolledOut()).isTrue();
  }
}
