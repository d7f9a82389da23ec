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
 * A rollback while a node told to move has not reported since: its last report shows the pod of the revision restored,
 * which its agent may be stopping. Its hold on the budget (DsEntry#unsure) ends on a report that says its agent acted on
 * the last set sent to it ({@code applied_version}), not on time: before 2026-12-07 it ended after 10 s without a
 * report, and a node whose link stalled right after the set (its heartbeats stopped too, still Ready within its grace)
 * had its report from before taken for a running pod, and one more node moved, two down with maxUnavailable 1; a report
 * from before arriving late ended it too. An older agent's report (no version) keeps the 10 s rule.
 */
class AppliedVersionHoldTest {
  @TempDir Path dir;
  FleetHarness h;
  String v1;
  String v2;

  @AfterEach
  void close() {
    if (h != null) {
      h.close();
    }
  }

  /** {@code nodes} agents (saying which set they acted on when {@code reportsApplied}) running revision 1 ({@link #v1}), Ready. */
  List<Agent> onRevision1(int nodes, boolean reportsApplied) {
    h = new FleetHarness(dir);
    List<Agent> agents = h.agents(nodes);
    agents.forEach(a -> a.reportsApplied = reportsApplied);
    h.apply(RolloutRulesTest.image(1));
    agents.forEach(a -> a.runDesired(true));
    v1 = h.ds().hash();
    return agents;
  }

  /**
   * {@code nodes} agents (saying which set they acted on when {@code reportsApplied}) on revision 1; revision 2 applied,
   * n0 moved and available, n1 told to move and not reported since; then rolled back: n1's last report shows revision 1.
   */
  List<Agent> rolledBackWhileN1Moves(int nodes, boolean reportsApplied) {
    List<Agent> agents = onRevision1(nodes, reportsApplied);
    movedN0AndRolledBack(agents, "n1 holds the budget: n0 keeps revision 2 for now");
    return agents;
  }

  /**
   * Revision 2 applied, n0 moved and available, n1 told to move and not reported since; then rolled
   * back: n0 alone keeps revision 2 for now ({@code why}), n1 holding the budget.
   */
  void movedN0AndRolledBack(List<Agent> agents, String why) {
    h.apply(RolloutRulesTest.image(2));
    h.fleet.tick();
    v2 = h.ds().hash();
    agents.get(0).runDesired(true);
    assertThat(toldToRun(agents, v2)).containsExactly("n0", "n1");
    h.fleet.undo("ops", "agent", 0, 0);
    h.fleet.tick();
    assertThat(toldToRun(agents, v2)).as(why).containsExactly("n0");
  }

  List<String> toldToRun(List<Agent> agents, String hash) {
    return agents.stream().filter(a -> a.desiredHashes().contains(hash)).map(a -> a.name).toList();
  }

  @Test
  void aMovedBackNodeSilentPastTenSecondsWhileReadyHoldsTheBudgetUntilItReportsTheSet() {
    List<Agent> agents = rolledBackWhileN1Moves(3, true);
    // n1's link stalls right after the rollback's set: no report; the node is Ready (heartbeats within the grace)
    h.advance(Duration.ofSeconds(6));
    h.advance(Duration.ofSeconds(6));
    assertThat(h.fleet.node("n1", true).ready()).isTrue();
    assertThat(toldToRun(agents, v2)).as("n1's report from before says nothing of the rollback's set: n0 keeps revision 2, one down")
        .containsExactly("n0");
    agents.get(1).runDesired(true); // n1 acted on the rollback's set: revision 1, Ready
    assertThat(toldToRun(agents, v1)).as("n1 reported its pod up after the set: n0 moves back").containsExactly("n0", "n1", "n2");
  }

  @Test
  void aReportFromBeforeTheSetArrivingLateEndsNoHold() {
    List<Agent> agents = rolledBackWhileN1Moves(3, true);
    agents.get(1).report(); // built before n1 took revision 2's set (flow control held it): revision 1, Ready
    h.fleet.tick();
    assertThat(toldToRun(agents, v2)).as("a report before the sets sent since is no news: n0 keeps revision 2").containsExactly("n0");
    agents.get(1).runDesired(true);
    assertThat(toldToRun(agents, v1)).containsExactly("n0", "n1", "n2");
  }

  /**
   * A DaemonSet deleted and made again under its name, of the same template: a node's last report shows the deleted
   * one's pod, Ready, which its agent was told to stop. It is not the new one's until a report after the new one's set:
   * before 2026-12-07, 10 s without a report (a link stalled) and the rollout read complete on it.
   */
  @Test
  void aDaemonSetMadeAgainHoldsASilentNodesReportFromBeforeUntilItReportsTheSet() {
    List<Agent> agents = onRevision1(2, true);
    h.fleet.deleteDaemonSet("ops", "agent", true);
    h.apply(RolloutRulesTest.image(1));
    h.fleet.tick();
    agents.get(0).runDesired(true);
    h.advance(Duration.ofSeconds(6));
    h.advance(Duration.ofSeconds(6));
    assertThat(h.ds().status().updated()).as("n1 has said nothing since it was told to stop the deleted one's pod").isEqualTo(1);
    assertThat(h.ds().rolledOut()).isFalse();
    agents.get(1).runDesired(true);
    assertThat(h.ds().status().updated()).isEqualTo(2);
  }

  /**
   * Versions are per coordinator: a restarted one (or a replica taking the lead) seeds them from its wall clock, which may
   * be behind the one before's (stepped back, or another host's), so a node's report on reconnect may carry a version of
   * the coordinator before higher than any this one sent. Before helper-172 it was taken for one after this one's last
   * set: n1, silent since its reconnect, had its report of revision 1 taken at once after the rollback, and n0 moved
   * back too, two down with maxUnavailable 1.
   */
  @Test
  void aReportCarryingTheVersionOfTheCoordinatorBeforeARestartEndsNoHold() {
    List<Agent> agents = onRevision1(3, true);
    h.clock.stepWall(Duration.ofHours(-1)); // the coordinator's wall clock set back (or the next leader's behind)
    h.crashAndRestart(); // each agent reports on reconnect with the version of the set it took from the coordinator before
    assertThat(agents.get(1).applied).as("the version n1 reports is above any the restarted coordinator sends")
        .isGreaterThan(agents.get(1).last().getVersion());
    agents.get(0).runDesired(true);
    agents.get(2).runDesired(true);
    movedN0AndRolledBack(agents, "n1 has said nothing since its reconnect: n0 keeps revision 2, one down");
    agents.get(1).runDesired(true);
    assertThat(toldToRun(agents, v1)).containsExactly("n0", "n1", "n2");
  }

  @Test
  void anOlderAgentsReportWithoutTheVersionKeepsTheTenSecondRule() {
    List<Agent> agents = rolledBackWhileN1Moves(3, false);
    agents.get(0).reportsApplied = true; // a fleet mid-upgrade: n1's agent is older
    agents.get(2).reportsApplied = true;
    h.advance(Duration.ofSeconds(9));
    assertThat(toldToRun(agents, v2)).containsExactly("n0");
    h.advance(Duration.ofSeconds(2));
    assertThat(toldToRun(agents, v2)).as("n1's report of revision 1 is taken for what runs there").isEmpty();
  }
}
