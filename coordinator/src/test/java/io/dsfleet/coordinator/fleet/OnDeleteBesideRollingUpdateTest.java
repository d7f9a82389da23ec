package io.dsfleet.coordinator.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.coordinator.fleet.FleetHarness.Agent;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An OnDelete DaemonSet that keeps a rollingUpdate (a surge's, say: `kubectl patch` of the type alone leaves it):
 * its nodes move only when their pod is deleted, and a deleted pod's replacement waits for it to stop, as Kubernetes'
 * SurgeCount is 0 for any type but RollingUpdate.
 */
class OnDeleteBesideRollingUpdateTest {
  @TempDir Path dir;

  @Test
  void aSurgesRollingUpdateBesideOnDeleteMovesNothing() {
    try (FleetHarness h = new FleetHarness(dir)) {
      List<Agent> agents = h.agents(2);
      String strategy = "{type: OnDelete, rollingUpdate: {maxUnavailable: 0, maxSurge: 1}}";
      h.apply(RolloutRulesTest.image(1, "spec.updateStrategy", strategy));
      agents.forEach(a -> a.runDesired(true));
      String v1 = h.ds().hash();
      h.apply(RolloutRulesTest.image(2, "spec.updateStrategy", strategy));
      h.fleet.tick();
      agents.forEach(a -> a.runDesired(true));
      h.fleet.tick();
      assertThat(agents).as("OnDelete: every node keeps its pod until it is deleted").allSatisfy(a ->
          assertThat(a.desiredHashes()).containsExactly(v1));
      String pod = agents.get(0).last().getPods(0).getPodName();
      h.fleet.deletePod("ops", pod);
      assertThat(agents.get(0).last().getPodsList()).as("the replacement waits for the deleted pod to stop").isEmpty();
      agents.get(0).runDesired(true);
      assertThat(agents.get(0).desiredHashes()).containsExactly(h.ds().hash());
    }
  }

  /** Nor does its maxUnavailable: the budget shown (describe, the dashboard) is an OnDelete DaemonSet's, as without it. */
  @Test
  void aRollingUpdateBesideOnDeleteShowsNoBudgetOfItsOwn() {
    try (FleetHarness h = new FleetHarness(dir)) {
      List<Agent> agents = h.agents(3);
      h.apply(RolloutRulesTest.image(1, "spec.updateStrategy", "{type: OnDelete}"));
      agents.forEach(a -> a.runDesired(true));
      h.fleet.tick();
      int without = h.ds().maxUnavailable();
      h.apply(RolloutRulesTest.image(1, "spec.updateStrategy", "{type: OnDelete, rollingUpdate: {maxUnavailable: 3}}"));
      h.fleet.tick();
      assertThat(h.ds().maxUnavailable()).isEqualTo(without).isEqualTo(1);
    }
  }
}
