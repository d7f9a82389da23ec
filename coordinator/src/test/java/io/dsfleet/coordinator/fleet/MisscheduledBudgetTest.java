package io.dsfleet.coordinator.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.common.model.Taint;
import io.dsfleet.coordinator.fleet.FleetHarness.Agent;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Half the fleet given an untolerated NoSchedule taint in the middle of a rollout (RollingUpdate rule 6), with two
 * coordinator restarts after it and the agents acting in a random order: no more nodes stop or replace a pod at once
 * than {@code maxUnavailable} allows (1, or 50% of the six nodes desired before the taint), each misscheduled pod of an
 * old revision goes, one of the current revision stays, and the rollout completes. Kubernetes' rollingUpdate counts a
 * misscheduled node's old pod against maxUnavailable as any other (update.go). With maxSurge: never more than one node
 * surging, and never fewer nodes with a Ready pod than desired nodes (Kubernetes deletes a misscheduled pod only as far
 * as numAvailable - desiredNumberScheduled).
 */
class MisscheduledBudgetTest {
  @TempDir Path dir;

  /** The nodes told to stop or replace a pod they run. */
  static long changing(List<Agent> agents) {
    return agents.stream().filter(a -> !a.running.keySet().equals(new TreeSet<>(a.last().getPodsList().stream()
        .map(p -> p.getPodName()).toList())) || a.last().getPodsList().stream()
        .anyMatch(p -> !a.running.get(p.getPodName()).getTemplateHash().equals(p.getTemplateHash()))).count();
  }

  @ParameterizedTest(name = "seed {0}")
  @ValueSource(ints = {1, 2, 3, 4, 5, 6})
  void halfTheFleetTaintedDuringARolloutStaysWithinTheBudget(int seed) {
    Random random = new Random(seed);
    boolean percent = seed % 2 == 1;
    String strategy = percent ? "{rollingUpdate: {maxUnavailable: '50%'}}" : "{rollingUpdate: {maxUnavailable: 1}}";
    int budget = percent ? 3 : 1; // 50% of the six nodes desired before the taint
    try (FleetHarness h = new FleetHarness(dir)) {
      List<Agent> agents = h.agents(6);
      h.apply(RolloutRulesTest.image(1, "spec.updateStrategy", strategy));
      agents.forEach(a -> a.runDesired(true));
      h.apply(RolloutRulesTest.image(2, "spec.updateStrategy", strategy));
      for (int step = 0; step < 60; step++) {
        if (step == 3) {
          for (int i = 3; i < 6; i++) {
            h.fleet.taintNode("n" + i, List.of(Taint.of("dedicated", "gpu", Taint.NO_SCHEDULE)), List.of(), false);
          }
        }
        if (step == 8 || step == 15) {
          h.crashAndRestart();
        }
        assertThat(changing(agents)).as("step %d", step).isLessThanOrEqualTo(budget);
        agents.get(random.nextInt(agents.size())).runDesired(true);
      }
      for (int round = 0; round < 5; round++) {
        agents.forEach(a -> a.runDesired(true));
      }
      String current = h.ds().hash();
      for (Agent a : agents) {
        assertThat(a.desiredHashes()).as("%s: its pod is of the current revision, or gone", a.name).allMatch(current::equals);
      }
      for (int i = 0; i < 3; i++) {
        assertThat(agents.get(i).desiredHashes()).containsExactly(current);
      }
      assertThat(h.ds().rolledOut()).isTrue();
    }
  }

  @ParameterizedTest(name = "seed {0}")
  @ValueSource(ints = {1, 2, 3, 4})
  void withASurgeTheFleetKeepsAReadyPodPerDesiredNode(int seed) {
    Random random = new Random(seed);
    String strategy = "{rollingUpdate: {maxUnavailable: 0, maxSurge: 1}}";
    try (FleetHarness h = new FleetHarness(dir)) {
      List<Agent> agents = h.agents(6);
      h.apply(RolloutRulesTest.image(1, "spec.updateStrategy", strategy));
      agents.forEach(a -> a.runDesired(true));
      h.apply(RolloutRulesTest.image(2, "spec.updateStrategy", strategy));
      for (int step = 0; step < 80; step++) {
        if (step == 3) {
          for (int i = 3; i < 6; i++) {
            h.fleet.taintNode("n" + i, List.of(Taint.of("dedicated", "gpu", Taint.NO_SCHEDULE)), List.of(), false);
          }
        }
        if (step == 10) {
          h.crashAndRestart();
        }
        long withReadyPod = agents.stream().filter(a -> a.running.values().stream().anyMatch(p -> p.getReady())).count();
        assertThat(withReadyPod).as("step %d: nodes with a Ready pod", step).isGreaterThanOrEqualTo(step >= 3 ? 3 : 6);
        assertThat(agents.stream().filter(a -> a.last().getPodsCount() > 1).count()).as("step %d: surging", step).isLessThanOrEqualTo(1);
        agents.get(random.nextInt(agents.size())).runDesired(true);
      }
      for (int round = 0; round < 6; round++) {
        agents.forEach(a -> a.runDesired(true));
      }
      String current = h.ds().hash();
      for (Agent a : agents) {
        assertThat(a.desiredHashes()).as("%s: its pod is of the current revision, or gone", a.name).allMatch(current::equals);
      }
      assertThat(h.ds().rolledOut()).isTrue();
    }
  }
}
