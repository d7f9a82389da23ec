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

  List<String> toldToRun(List<Agent> agents, String hash) {
    return agents.stream().filter(a -> a.desiredHashes().contains(hash)).map(a -> a.name).toList();
  }

  @Test
  void aNodeToldToMoveThatHasNotReportedSinceKeepsItsBudgetWhenTheTemplateChangesAgain() {
    h = new FleetHarness(dir);
    List<Agent> agents = h.agents(4);
    h.apply(RolloutRulesTest.image(1));
    agents.forEach(a -> a.runDesired(true));
    h.apply(RolloutRulesTest.image(2));
    h.fleet.tick();
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
}
