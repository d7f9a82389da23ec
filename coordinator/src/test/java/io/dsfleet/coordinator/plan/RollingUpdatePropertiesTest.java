package io.dsfleet.coordinator.plan;

import static org.assertj.core.api.Assertions.assertThat;
import static org.quicktheories.QuickTheory.qt;

import io.dsfleet.coordinator.plan.RollingUpdate.NodeState;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The rolling update's safety over random fleets, failures and timings: every pass, the update
 * takes down an available pod only while fewer than maxUnavailable Ready nodes lack an available
 * pod (counting replacements in flight, and NotReady nodes it moved, desired or tainted and passed
 * as {@code down}: rule 4), so the update itself never pushes the fleet past its
 * budget; and without failures every rollout completes. Each case is a list of
 * choices the property draws from ({@link Choices}): QuickTheories shrinks a failing one and names its seed.
 */
class RollingUpdatePropertiesTest {
  static final Instant NOW = Instant.parse("2026-01-01T00:10:00Z");

  @Test
  void theUpdateNeverExceedsItsBudget() {
    qt().withExamples(Integer.getInteger("QT_EXAMPLES", 300)).forAll(Choices.upTo(3000)).checkAssert(this::theUpdateNeverExceedsItsBudgetCase);
  }

  private void theUpdateNeverExceedsItsBudgetCase(Random r) {
    int n = 1 + r.nextInt(30);
    String budget = r.nextBoolean() ? String.valueOf(1 + r.nextInt(4)) : (1 + r.nextInt(50)) + "%";
    DsInfo ds = RollingUpdateTest.ds("spec.updateStrategy", "{rollingUpdate: {maxUnavailable: " + budget + "}}");
    boolean failures = r.nextBoolean();
    // per node: hash (old/new), available, node Ready
    String[] hash = new String[n];
    boolean[] available = new boolean[n];
    boolean[] ready = new boolean[n];
    for (int i = 0; i < n; i++) {
      hash[i] = "old";
      available[i] = !failures || r.nextInt(10) > 0;
      ready[i] = !failures || r.nextInt(10) > 0;
    }
    Set<String> moving = new HashSet<>();
    int max = RollingUpdate.maxUnavailable(ds, n);
    for (int step = 0; step < 200; step++) {
      List<NodeState> states = new ArrayList<>();
      // a NotReady node is tainted (so not desired, passed as down) at random, as the node lifecycle does after a while
      List<NodeState> down = new ArrayList<>();
      int unavailableBefore = 0;
      for (int i = 0; i < n; i++) {
        var st = new NodeState("n" + i, ready[i], new ObservedPod("ops/agent", "p" + i, hash[i].equals("new") ? ds.hash() : "old",
            available[i], available[i] ? NOW.minusSeconds(60) : null));
        (!ready[i] && r.nextBoolean() ? down : states).add(st);
        boolean inFlight = moving.contains("n" + i) && hash[i].equals("old");
        // a node the rollout moved that is NotReady holds its share of the budget (rule 4)
        if (ready[i] ? !available[i] || inFlight : moving.contains("n" + i)) {
          unavailableBefore++;
        }
      }
      var d = RollingUpdate.decide(ds, states, down, moving, false, NOW);
      int takenDown = 0;
      for (int i = 0; i < n; i++) {
        if (d.moving().contains("n" + i) && !moving.contains("n" + i) && hash[i].equals("old") && available[i]) {
          takenDown++;
          assertThat(ready[i]).as("a NotReady node was moved").isTrue();
        }
      }
      assertThat(unavailableBefore + takenDown).as("step %d: the update exceeded maxUnavailable %d", step, max)
          .isLessThanOrEqualTo(Math.max(max, unavailableBefore));
      Set<String> stillMoving = new HashSet<>(d.moving());
      for (NodeState st : down) {
        if (moving.contains(st.node())) {
          stillMoving.add(st.node()); // the controller keeps what it was told: a down node is never decided on
        }
      }
      assertThat(stillMoving).as("once moving, always moving").containsAll(moving);
      moving = stillMoving;
      // the world moves on: agents replace moved pods (sometimes later), new pods become available (sometimes later),
      // and with failures, pods and nodes fail and recover at random
      for (int i = 0; i < n; i++) {
        if (moving.contains("n" + i) && hash[i].equals("old") && ready[i] && r.nextInt(3) > 0) {
          hash[i] = "new";
          available[i] = false;
        } else if (hash[i].equals("new") && !available[i] && r.nextInt(3) > 0) {
          available[i] = true;
        }
        if (failures && r.nextInt(20) == 0) {
          available[i] = !available[i];
        }
        if (failures && r.nextInt(30) == 0) {
          ready[i] = !ready[i];
        }
      }
    }
    if (!failures) {
      for (int i = 0; i < n; i++) {
        assertThat(hash[i]).as("without failures the rollout completes (node %d)", i).isEqualTo("new");
      }
    }
  }
}
