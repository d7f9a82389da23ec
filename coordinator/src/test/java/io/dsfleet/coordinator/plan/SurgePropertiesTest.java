package io.dsfleet.coordinator.plan;

import static org.assertj.core.api.Assertions.assertThat;
import static org.quicktheories.QuickTheory.qt;

import io.dsfleet.common.model.Node;
import io.dsfleet.coordinator.plan.RollingUpdate.NodeState;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Surge updates over random fleets, failures and timings, driving the rolling update and the
 * planner together as the coordinator does, against a simulated world of agents that start and
 * stop what they are told (sometimes late). Every pass: never more than two pods of the
 * DaemonSet on a node (one extra); an available old pod is stopped only once its node has an
 * available new one, so the update never makes a node unavailable (maxUnavailable is 0); and at
 * most maxSurge Ready nodes whose old pod is available run an extra pod. Without failures every
 * rollout completes with one pod per node. Each case is a list of
 * choices the property draws from ({@link Choices}): QuickTheories shrinks a failing one and names its seed.
 */
class SurgePropertiesTest {
  static final Instant NOW = Instant.parse("2026-01-01T00:10:00Z");

  /** One simulated pod: name, hash, and whether it is available. */
  static final class SimPod {
    final String name;
    String hash;
    boolean available;

    SimPod(String name, String hash, boolean available) {
      this.name = name;
      this.hash = hash;
      this.available = available;
    }

    ObservedPod observed() {
      return new ObservedPod("ops/agent", name, hash, available, available ? NOW.minusSeconds(60) : null);
    }
  }

  @Test
  void aSurgeNeverTakesANodeDownAndNeverRunsMoreThanOneExtraPod() {
    qt().withExamples(Integer.getInteger("QT_EXAMPLES", 300)).forAll(Choices.upTo(3000)).checkAssert(this::aSurgeNeverTakesANodeDownAndNeverRunsMoreThanOneExtraPodCase);
  }

  private void aSurgeNeverTakesANodeDownAndNeverRunsMoreThanOneExtraPodCase(Random r) {
    int n = 1 + r.nextInt(30);
    String surge = r.nextBoolean() ? String.valueOf(1 + r.nextInt(4)) : (1 + r.nextInt(50)) + "%";
    DsInfo ds = RollingUpdateTest.ds("spec.updateStrategy", "{rollingUpdate: {maxUnavailable: 0, maxSurge: " + surge + "}}");
    String newHash = ds.hash();
    boolean failures = r.nextBoolean();
    List<List<SimPod>> pods = new ArrayList<>();
    boolean[] ready = new boolean[n];
    for (int i = 0; i < n; i++) {
      pods.add(new ArrayList<>(List.of(new SimPod(Planner.podName(ds.name(), "n" + i), "old", !failures || r.nextInt(10) > 0))));
      ready[i] = !failures || r.nextInt(10) > 0;
    }
    int maxSurge = RollingUpdate.maxSurge(ds, n);
    Set<String> moving = new HashSet<>();
    for (int step = 0; step < 300; step++) {
      List<NodeState> states = new ArrayList<>();
      // a NotReady node is tainted (so not desired, passed as down) at random, as the node lifecycle does after a while
      List<NodeState> desired = new ArrayList<>();
      List<NodeState> down = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        NodeState st = new NodeState("n" + i, ready[i], pods.get(i).stream().map(SimPod::observed).toList());
        states.add(st);
        (!ready[i] && r.nextBoolean() ? down : desired).add(st);
      }
      var d = RollingUpdate.decide(ds, desired, down, moving, false, NOW);
      // the surge budget, checked when healthy nodes start surging: Ready nodes in flight (old pod and no available
      // new one) plus those starting now stay within maxSurge; a node whose old pod is unavailable may always start
      int inFlight = 0;
      int startingHealthy = 0;
      for (int i = 0; i < n; i++) {
        NodeState st = states.get(i);
        ObservedPod old = st.old(newHash);
        ObservedPod cur = st.current(newHash);
        if (!ready[i] && old != null && moving.contains(st.node())) {
          inFlight++; // a surge in flight on a node that went down holds its share (rule 4)
          continue;
        }
        if (!ready[i] || old == null || (cur != null && cur.available(0, NOW))) {
          continue;
        }
        if (moving.contains(st.node()) || cur != null || d.moving().contains(st.node())) {
          inFlight++;
          if (!moving.contains(st.node()) && cur == null && old.available(0, NOW)) {
            startingHealthy++;
          }
        }
      }
      if (startingHealthy > 0) {
        assertThat(inFlight).as("step %d: healthy nodes started surging beyond maxSurge %d", step, maxSurge)
            .isLessThanOrEqualTo(maxSurge);
      }
      Set<String> decided = new HashSet<>(moving);
      down.forEach(st -> decided.remove(st.node())); // a down node is not decided on: the controller keeps it moving
      assertThat(d.moving()).as("once moving, always moving").containsAll(decided);
      moving.addAll(d.moving());
      List<List<PodAssignment>> plans = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        String node = "n" + i;
        List<PodAssignment> plan = Planner.planNode(List.of(ds), new Node(node, Map.of(), List.of(), false),
            Map.of(ds.key(), states.get(i).pods()), NOW, k -> moving.contains(node), (k, pod) -> false,
            PodNames.FIRST).desired();
        plans.add(plan);
        assertThat(plan).as("step %d: at most one extra pod on %s", step, node).hasSizeLessThanOrEqualTo(2);
        boolean newAvailable = pods.get(i).stream().anyMatch(p -> p.hash.equals(newHash) && p.available);
        for (SimPod p : pods.get(i)) {
          boolean kept = plan.stream().anyMatch(a -> a.podName().equals(p.name) && a.hash().equals(p.hash));
          if (p.available && !p.hash.equals(newHash) && !kept) {
            assertThat(newAvailable).as("step %d: an available old pod on %s stopped before its new pod was available", step, node).isTrue();
          }
        }
      }
      // the world moves on: agents (on Ready nodes, sometimes late) make the node match its plan; new pods become available
      for (int i = 0; i < n; i++) {
        if (ready[i] && r.nextInt(3) > 0) {
          List<SimPod> next = new ArrayList<>();
          for (PodAssignment a : plans.get(i)) {
            SimPod same = pods.get(i).stream().filter(p -> p.name.equals(a.podName())).findFirst().orElse(null);
            if (same == null || !same.hash.equals(a.hash())) {
              next.add(new SimPod(a.podName(), a.hash(), false));
            } else {
              next.add(same);
            }
          }
          pods.set(i, next);
        }
        for (SimPod p : pods.get(i)) {
          if (p.hash.equals(newHash) && !p.available && r.nextInt(3) > 0) {
            p.available = true;
          }
          if (failures && r.nextInt(20) == 0) {
            p.available = !p.available;
          }
        }
        if (failures && r.nextInt(30) == 0) {
          ready[i] = !ready[i];
        }
      }
    }
    if (!failures) {
      for (int i = 0; i < n; i++) {
        assertThat(pods.get(i)).as("without failures the rollout completes on n%d", i).hasSize(1);
        assertThat(pods.get(i).get(0).hash).isEqualTo(newHash);
      }
    }
  }
}
