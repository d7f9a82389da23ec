package io.dsfleet.coordinator.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.coordinator.fleet.FleetHarness.Agent;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A template applied again while a node told to move has not reported since (A, then B, then C in
 * a quick succession: its last report still shows its old pod, Ready, while its agent replaces it).
 * As Kubernetes counts a node whose old pod is terminating, the node keeps its share of the budget
 * and moves on to the newest revision.
 */
class TemplateChangeMidRolloutTest {
  @TempDir Path dir;
  FleetHarness h;

  @AfterEach
  void close() {
    if (h != null) {
      h.close();
    }
  }

  /** Revision 1's hash, as {@link #rollingToRevision2} made it. */
  String v1;

  /** {@code nodes} agents running revision 1, revision 2 applied and its first pass run: n0 told to move. */
  List<Agent> rollingToRevision2(int nodes) {
    h = new FleetHarness(dir);
    List<Agent> agents = h.agents(nodes);
    h.apply(RolloutRulesTest.image(1));
    agents.forEach(a -> a.runDesired(true));
    v1 = h.ds().hash();
    h.apply(RolloutRulesTest.image(2));
    h.fleet.tick();
    return agents;
  }

  List<String> toldToRun(List<Agent> agents, String hash) {
    return agents.stream().filter(a -> a.desiredHashes().contains(hash)).map(a -> a.name).toList();
  }

  @Test
  void aNodeToldToMoveThatHasNotReportedSinceKeepsItsBudgetWhenTheTemplateChangesAgain() {
    List<Agent> agents = rollingToRevision2(4);
    String v2 = h.ds().hash();
    assertThat(toldToRun(agents, v2)).containsExactly("n0");
    agents.get(0).runDesired(true); // n0 runs revision 2, available: n1 is told to move next
    assertThat(toldToRun(agents, v2)).containsExactly("n0", "n1");
    // n1's agent stops its old pod; its report of that has not come yet when revision 3 is applied
    h.apply(RolloutRulesTest.image(3));
    h.fleet.tick();
    String v3 = h.ds().hash();
    assertThat(toldToRun(agents, v3)).as("maxUnavailable 1, spent on n1, whose replacement is in flight: it moves on, nobody else")
        .containsExactly("n1");
    for (int step = 0; step < 6; step++) {
      agents.forEach(a -> a.runDesired(true));
      h.fleet.tick();
    }
    assertThat(h.ds().status().updated()).isEqualTo(4);
    assertThat(h.ds().rolledOut()).isTrue();
  }

  /**
   * A rollback (the template before) while a node told to move has not reported since: its last report shows the
   * pod of the revision restored, which its agent may be replacing. It holds the budget until it reports (or, when
   * no report comes, as an agent that never had the move sends none, for 10 s); before, a node already moved was
   * moved back at once, two nodes down with maxUnavailable 1.
   */
  @Test
  void aRollbackWhileANodeToldToMoveHasNotReportedSinceWaitsForItsReport() {
    List<Agent> agents = rollingToRevision2(4);
    String v2 = h.ds().hash();
    agents.get(0).runDesired(true); // n0 runs revision 2, available; n1 is told to move, its report of that not come yet
    assertThat(toldToRun(agents, v2)).containsExactly("n0", "n1");
    h.fleet.undo("ops", "agent", 0, 0);
    h.fleet.tick();
    assertThat(toldToRun(agents, v2)).as("n1 holds the budget: n0 keeps revision 2 for now").containsExactly("n0");
    agents.get(1).runDesired(true); // n1's report: revision 1 again, Ready (as before: the next tick's pass reads it)
    h.fleet.tick();
    assertThat(toldToRun(agents, v1)).as("n1 reported its pod up: n0 moves back").containsExactly("n0", "n1", "n2", "n3");
  }

  /**
   * A template applied again (kubectl's rollout restart) while a rollback's node has not reported since: it holds the
   * budget for the newest revision too, as for the rollback, and moves on to it. Before, the apply took its unsure
   * report (the rollback's pod, Ready) for a healthy node and moved another beside it, two nodes down with
   * maxUnavailable 1.
   */
  @Test
  void aRestartDuringARollbackKeepsTheUnreportedNodesBudget() {
    List<Agent> agents = rollingToRevision2(4);
    String v2 = h.ds().hash();
    agents.get(0).runDesired(true); // n0 runs revision 2; n1 is told to move, its report of that not come yet
    assertThat(toldToRun(agents, v2)).containsExactly("n0", "n1");
    h.fleet.undo("ops", "agent", 0, 0);
    h.fleet.tick();
    assertThat(toldToRun(agents, v2)).as("n1 holds the rollback's budget").containsExactly("n0");
    h.apply(RolloutRulesTest.image(1, "spec.template.metadata.annotations", "{kubectl.kubernetes.io/restartedAt: '2026-12-06T19:40:00Z'}"));
    h.fleet.tick();
    String v3 = h.ds().hash();
    assertThat(toldToRun(agents, v3)).as("n1, still unreported, holds the restart's budget and moves on: nobody else moves")
        .containsExactly("n1");
    assertThat(toldToRun(agents, v2)).containsExactly("n0");
    for (int step = 0; step < 6; step++) {
      agents.forEach(a -> a.runDesired(true));
      h.fleet.tick();
    }
    assertThat(h.ds().status().updated()).isEqualTo(4);
  }

  /** An agent before 2026-12-07 (the harness's, unless told): its reports say no set's version. Later ones: AppliedVersionHoldTest. */
  @Test
  void aNodeThatNeverReportsAfterARollbackHoldsTheBudgetTenSecondsAtMost() {
    List<Agent> agents = rollingToRevision2(3);
    String v2 = h.ds().hash();
    agents.get(0).runDesired(true);
    h.fleet.undo("ops", "agent", 0, 0); // n1, told to move a moment ago, never had the move: it reports nothing
    h.fleet.tick();
    h.advance(java.time.Duration.ofSeconds(9));
    assertThat(toldToRun(agents, v2)).containsExactly("n0");
    h.advance(java.time.Duration.ofSeconds(2));
    assertThat(toldToRun(agents, v2)).as("n1's report of revision 1 is taken for what runs there").isEmpty();
  }
}
