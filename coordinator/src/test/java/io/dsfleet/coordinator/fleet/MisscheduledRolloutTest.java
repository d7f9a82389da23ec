package io.dsfleet.coordinator.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.common.model.Taint;
import io.dsfleet.coordinator.fleet.FleetHarness.Agent;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A pod of an old revision on a misscheduled node (one given a NoSchedule taint its DaemonSet does
 * not tolerate after the pod started) is removed by a RollingUpdate rollout, as Kubernetes'
 * rollingUpdate (pkg/controller/daemon/update.go) deletes it and its manage loop puts no pod back
 * there: within maxUnavailable, or with maxSurge once the other nodes' pods are available. Before,
 * it ran its old revision for good while the rollout read complete (a fixed image never reached
 * that node). OnDelete leaves it, as Kubernetes does.
 */
class MisscheduledRolloutTest {
  @TempDir Path dir;
  FleetHarness h;
  List<Agent> agents;

  @BeforeEach
  void fleet() {
    h = new FleetHarness(dir);
    agents = h.agents(3);
  }

  @AfterEach
  void close() {
    h.close();
  }

  void runAll() {
    agents.forEach(a -> a.runDesired(true));
  }

  /** v1 runs on every node, then n2 is tainted NoSchedule (its pod stays, misscheduled), then {@code v2} is applied. */
  void misscheduledThenApply(String v1, String v2) {
    h.apply(v1);
    runAll();
    h.fleet.taintNode("n2", List.of(Taint.of("dedicated", "gpu", Taint.NO_SCHEDULE)), List.of(), false);
    runAll();
    assertThat(agents.get(2).last().getPodsCount()).as("NoSchedule keeps the running pod").isEqualTo(1);
    assertThat(h.ds().status().misscheduled()).isEqualTo(1);
    var plan = h.fleet.plan(v2, "test").plans().get(0);
    if (v2.contains("OnDelete")) {
      assertThat(plan.lose()).isEmpty();
      assertThat(plan.skip()).singleElement().satisfies(s -> assertThat(s.reason()).endsWith("(its running pod stays, misscheduled)"));
    } else {
      assertThat(plan.lose()).as("dsctl diff says the pod goes").containsExactly("n2");
    }
    h.apply(v2);
    h.fleet.rolloutPass();
  }

  /** The nodes told to stop or replace a pod they run (the pods they were last sent are not the ones they run). */
  long changing() {
    return agents.stream().filter(a -> !a.running.keySet().equals(new java.util.TreeSet<>(a.last().getPodsList().stream()
        .map(p -> p.getPodName()).toList())) || a.last().getPodsList().stream()
        .anyMatch(p -> !a.running.get(p.getPodName()).getTemplateHash().equals(p.getTemplateHash()))).count();
  }

  @Test
  void aRollingUpdateRemovesAMisscheduledPodOfAnOldRevisionWithinItsBudget() {
    misscheduledThenApply(RolloutRulesTest.image(1), RolloutRulesTest.image(2));
    String v2 = h.ds().hash();
    for (int step = 0; step < 6; step++) {
      assertThat(changing()).as("maxUnavailable 1, step %d", step).isLessThanOrEqualTo(1);
      // one agent at a time runs what it was sent and reports it (the rollout pass follows each report)
      agents.forEach(a -> {
        a.runDesired(true);
        assertThat(changing()).as("maxUnavailable 1").isLessThanOrEqualTo(1);
      });
    }
    assertThat(h.fleet.events(Events.dsKey("ops", "agent")).stream().filter(e -> e.reason().equals("RolloutStep"))
        .map(e -> e.message())).anyMatch(m -> m.startsWith("node n2: its pod of an old revision goes"));
    assertThat(agents.get(0).desiredHashes()).containsExactly(v2);
    assertThat(agents.get(1).desiredHashes()).containsExactly(v2);
    assertThat(agents.get(2).last().getPodsList()).as("the misscheduled pod of revision 1 is gone, and none comes back").isEmpty();
    assertThat(h.ds().status().misscheduled()).isZero();
    assertThat(h.ds().status().desired()).isEqualTo(2);
    assertThat(h.ds().rolledOut()).isTrue();
  }

  @Test
  void aSurgeRemovesAMisscheduledPodOnceTheDesiredNodesHaveAvailablePods() {
    String surge = "spec.updateStrategy";
    String strategy = "{rollingUpdate: {maxUnavailable: 0, maxSurge: 1}}";
    h.apply(RolloutRulesTest.image(1, surge, strategy));
    runAll();
    h.fleet.taintNode("n2", List.of(Taint.of("dedicated", "gpu", Taint.NO_SCHEDULE)), List.of(), false);
    // n0's pod turns unready: the desired nodes have one available pod of two
    agents.get(0).running.replaceAll((name, p) -> p.toBuilder().setReady(false).setReadySinceMillis(0).build());
    agents.get(0).report();
    h.apply(RolloutRulesTest.image(2, surge, strategy));
    h.fleet.rolloutPass();
    assertThat(agents.get(2).last().getPodsCount()).as("n2's pod is one of the two available pods: it stays").isEqualTo(1);
    assertThat(agents.get(0).last().getPodsCount()).as("n0 surges at once (its old pod is unavailable)").isEqualTo(2);
    agents.get(0).runDesired(true); // n0's new pod is available: its old one goes, and n2's is one too many
    agents.get(0).runDesired(true);
    assertThat(agents.get(2).last().getPodsList()).isEmpty();
    for (int step = 0; step < 6; step++) {
      runAll();
    }
    assertThat(agents.get(2).last().getPodsList()).isEmpty();
    assertThat(h.ds().status().misscheduled()).isZero();
    assertThat(h.ds().rolledOut()).isTrue();
  }

  @Test
  void onDeleteLeavesAMisscheduledPodRunning() {
    String strategy = "spec.updateStrategy";
    misscheduledThenApply(RolloutRulesTest.image(1, strategy, "{type: OnDelete}"), RolloutRulesTest.image(2, strategy, "{type: OnDelete}"));
    for (int step = 0; step < 3; step++) {
      runAll();
    }
    assertThat(agents.get(2).last().getPodsCount()).isEqualTo(1);
    assertThat(h.ds().status().misscheduled()).isEqualTo(1);
  }
}
