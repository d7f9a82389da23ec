package io.dsfleet.coordinator.plan;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.coordinator.plan.RollingUpdate.NodeState;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The rolling update's rules, one test each, on a fixed clock. */
class RollingUpdateTest {
  static final Instant NOW = Instant.parse("2026-01-01T00:10:00Z");

  static DsInfo ds(String... pathsAndValues) {
    var tree = io.dsfleet.common.manifest.Fixtures.baseTree();
    for (int i = 0; i < pathsAndValues.length; i += 2) {
      io.dsfleet.common.manifest.Fixtures.with(tree, pathsAndValues[i], pathsAndValues[i + 1]);
    }
    var d = (io.dsfleet.common.model.DaemonSet) io.dsfleet.common.manifest.Fixtures.parse(tree).get(0).object();
    return new DsInfo("ops/agent", d, 2, "newhash000");
  }

  static ObservedPod pod(String hash, boolean ready, long readyForSeconds) {
    return new ObservedPod("ops/agent", "p", hash, ready, ready ? NOW.minusSeconds(readyForSeconds) : null);
  }

  static List<NodeState> nodes(int n, ObservedPod pod) {
    List<NodeState> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(new NodeState("n" + i, true, pod));
    }
    return out;
  }

  @Test
  void nodesWithoutAPodGetTheNewRevisionAtOnce() {
    var d = RollingUpdate.decide(ds(), nodes(5, null), Set.of(), false, NOW);
    assertThat(d.moving()).hasSize(5);
  }

  /**
   * Kubernetes' rollingUpdate counts only nodes that have a daemon pod (nodeToDaemonPods): a node
   * added during a rollout gets its pod at once and takes none of the budget, so it never stalls
   * the rollout of the others.
   */
  @Test
  void nodesWithoutAPodDoNotConsumeTheBudget() {
    var states = nodes(3, pod("old", true, 60));
    states.add(new NodeState("new0", true, (ObservedPod) null));
    states.add(new NodeState("new1", true, (ObservedPod) null));
    var d = RollingUpdate.decide(ds(), states, Set.of(), false, NOW);
    assertThat(d.moving()).as("an old node moves too").contains("new0", "new1", "n0");
    assertThat(d.unavailable()).isEqualTo(1);
  }

  @Test
  void aReplacementInFlightStillCountsWhileItsNodeReportsNoPod() {
    var states = nodes(3, pod("old", true, 60));
    // n0 was told to move; its old pod is gone and the new one not reported yet
    states.set(0, new NodeState("n0", true, (ObservedPod) null));
    var d = RollingUpdate.decide(ds(), states, Set.of("n0"), false, NOW);
    assertThat(d.moving()).containsExactly("n0");
    assertThat(d.unavailable()).isEqualTo(1);
  }

  @Test
  void availableOldPodsMoveOneAtATimeWithTheDefaultBudget() {
    var d = RollingUpdate.decide(ds(), nodes(5, pod("old", true, 60)), Set.of(), false, NOW);
    assertThat(d.maxUnavailable()).isEqualTo(1);
    assertThat(d.moving()).containsExactly("n0");
  }

  @Test
  void aNodeInFlightHoldsTheBudgetUntilItsNewPodIsAvailable() {
    var states = nodes(5, pod("old", true, 60));
    var d = RollingUpdate.decide(ds(), states, Set.of("n0"), false, NOW);
    assertThat(d.moving()).containsExactly("n0");
    states.set(0, new NodeState("n0", true, pod("newhash000", false, 0)));
    assertThat(RollingUpdate.decide(ds(), states, Set.of("n0"), false, NOW).moving()).containsExactly("n0");
    states.set(0, new NodeState("n0", true, pod("newhash000", true, 1)));
    assertThat(RollingUpdate.decide(ds(), states, Set.of("n0"), false, NOW).moving()).containsExactly("n0", "n1");
  }

  @Test
  void percentagesOfTheDesiredNodesRoundUp() {
    var d = RollingUpdate.decide(ds("spec.updateStrategy", "{rollingUpdate: {maxUnavailable: 10%}}"), nodes(25, pod("old", true, 60)), Set.of(), false, NOW);
    assertThat(d.maxUnavailable()).isEqualTo(3);
    assertThat(d.moving()).hasSize(3);
    assertThat(RollingUpdate.maxUnavailable(ds("spec.updateStrategy", "{rollingUpdate: {maxUnavailable: 1%}}"), 10)).isEqualTo(1);
  }

  @Test
  void unavailableOldPodsAreReplacedFirstAndDoNotWaitForTheBudget() {
    var states = nodes(4, pod("old", true, 60));
    states.set(2, new NodeState("n2", true, pod("old", false, 0)));
    states.set(3, new NodeState("n3", true, pod("old", false, 0)));
    var d = RollingUpdate.decide(ds(), states, Set.of(), false, NOW);
    assertThat(d.moving()).as("both broken nodes move; the budget is already spent, no healthy one does").containsExactly("n2", "n3");
  }

  /**
   * A NotReady node this rollout moved holds its share of the budget, whether it is still desired
   * (no taints yet) or only kept (tainted unreachable: {@code down}); one it never moved does not.
   */
  @Test
  void aNotReadyNodeTheRolloutMovedHoldsTheBudget() {
    var states = nodes(4, pod("old", true, 60));
    states.set(0, new NodeState("n0", false, pod("newhash000", false, 0)));
    var d = RollingUpdate.decide(ds(), states, Set.of("n0"), false, NOW);
    assertThat(d.moving()).as("n0 holds the one unavailable allowed").containsExactly("n0");
    var down = List.of(new NodeState("d0", false, pod("old", true, 60)));
    d = RollingUpdate.decide(ds(), nodes(3, pod("old", true, 60)), down, Set.of("d0"), false, NOW);
    assertThat(d.moving()).as("told to move, then tainted unreachable").isEmpty();
    d = RollingUpdate.decide(ds(), nodes(3, pod("old", true, 60)), down, Set.of(), false, NOW);
    assertThat(d.moving()).as("down before its turn: holds nothing").hasSize(1);
    var surge = ds("spec.updateStrategy", "{rollingUpdate: {maxUnavailable: 0, maxSurge: 1}}");
    var surging = List.of(new NodeState("d0", false, List.of(pod("old", true, 60), pod("newhash000", false, 0))));
    assertThat(RollingUpdate.decide(surge, nodes(3, pod("old", true, 60)), surging, Set.of("d0"), false, NOW).moving()).isEmpty();
  }

  @Test
  void notReadyNodesAreSkippedNotCountedAndReported() {
    var states = nodes(3, pod("old", true, 60));
    states.set(0, new NodeState("n0", false, pod("old", true, 60)));
    var d = RollingUpdate.decide(ds(), states, Set.of(), false, NOW);
    assertThat(d.moving()).containsExactly("n1");
    assertThat(d.waitingNotReady()).containsExactly("n0");
  }

  @Test
  void aNewPodIsAvailableOnlyAfterMinReadySeconds() {
    var states = nodes(2, pod("old", true, 60));
    states.set(0, new NodeState("n0", true, pod("newhash000", true, 5)));
    var d = RollingUpdate.decide(ds("spec.minReadySeconds", "10"), states, Set.of("n0"), false, NOW);
    assertThat(d.moving()).as("ready 5 s of 10: not yet available").containsExactly("n0");
    assertThat(RollingUpdate.decide(ds("spec.minReadySeconds", "5"), states, Set.of("n0"), false, NOW).moving()).containsExactly("n0", "n1");
  }

  @Test
  void pausedAndOnDeleteMoveOnlyNodesWithoutAPod() {
    var states = nodes(3, pod("old", true, 60));
    states.set(2, new NodeState("n2", true, List.<ObservedPod>of()));
    assertThat(RollingUpdate.decide(ds(), states, Set.of(), true, NOW).moving()).containsExactly("n2");
    assertThat(RollingUpdate.decide(ds("spec.updateStrategy", "{type: OnDelete}"), states, Set.of(), false, NOW).moving()).containsExactly("n2");
  }

  static final String[] SURGE = {"spec.updateStrategy", "{rollingUpdate: {maxUnavailable: 0, maxSurge: 2}}"};

  static ObservedPod pod(String name, String hash, boolean ready, long readyForSeconds) {
    return new ObservedPod("ops/agent", name, hash, ready, ready ? NOW.minusSeconds(readyForSeconds) : null);
  }

  @Test
  void surgeMovesAtMostMaxSurgeHealthyNodesAndTakesNothingDown() {
    var d = RollingUpdate.decide(ds(SURGE), nodes(5, pod("old", true, 60)), Set.of(), false, NOW);
    assertThat(d.maxUnavailable()).isZero();
    assertThat(d.maxSurge()).isEqualTo(2);
    assertThat(d.moving()).containsExactly("n0", "n1");
    assertThat(d.unavailable()).as("old pods keep running next to the new ones").isZero();
  }

  @Test
  void aSurgeInFlightHoldsItsShareUntilTheNewPodIsAvailable() {
    var states = nodes(4, pod("old", true, 60));
    states.set(0, new NodeState("n0", true, List.of(pod("a", "old", true, 60), pod("a-s", "newhash000", false, 0))));
    states.set(1, new NodeState("n1", true, List.of(pod("b", "old", true, 60), pod("b-s", "newhash000", true, 1))));
    var d = RollingUpdate.decide(ds(SURGE), states, Set.of("n0", "n1"), false, NOW);
    assertThat(d.moving()).as("n0 surges, n1's new pod is available: one more node may surge").containsExactly("n0", "n1", "n2");
  }

  @Test
  void surgePercentagesRoundUp() {
    var ds = ds("spec.updateStrategy", "{rollingUpdate: {maxUnavailable: 0, maxSurge: 10%}}");
    var d = RollingUpdate.decide(ds, nodes(25, pod("old", true, 60)), Set.of(), false, NOW);
    assertThat(d.maxSurge()).isEqualTo(3);
    assertThat(d.moving()).hasSize(3);
  }

  @Test
  void withSurgeUnavailableOldPodsGetTheirNewPodAtOnceAndNotReadyNodesWait() {
    var states = nodes(5, pod("old", true, 60));
    states.set(1, new NodeState("n1", true, pod("old", false, 0)));
    states.set(2, new NodeState("n2", true, pod("old", false, 0)));
    states.set(3, new NodeState("n3", true, pod("old", false, 0)));
    states.set(4, new NodeState("n4", false, pod("old", true, 60)));
    var d = RollingUpdate.decide(ds(SURGE), states, Set.of(), false, NOW);
    assertThat(d.moving()).as("every broken node surges; no surge is left for the healthy n0").containsExactly("n1", "n2", "n3");
    assertThat(d.waitingNotReady()).containsExactly("n4");
    assertThat(d.unavailable()).isEqualTo(3);
  }

  @Test
  void aPausedSurgeStartsNothingNew() {
    var states = nodes(3, pod("old", true, 60));
    states.set(2, new NodeState("n2", true, List.<ObservedPod>of()));
    assertThat(RollingUpdate.decide(ds(SURGE), states, Set.of(), true, NOW).moving()).containsExactly("n2");
  }

  /** Rule 6: a Ready misscheduled node (passed as down) running only an old revision's pod loses it, after the desired nodes. */
  @Test
  void aMisscheduledOldPodGoesWithinTheBudgetAfterTheDesiredNodes() {
    var states = nodes(2, pod("old", true, 60));
    List<NodeState> misscheduled = List.of(new NodeState("m0", true, pod("old", true, 60)));
    var d = RollingUpdate.decide(ds(), states, misscheduled, Set.of(), false, NOW);
    assertThat(d.moving()).as("a desired node first").containsExactly("n0");
    var done = List.of(new NodeState("n0", true, pod("newhash000", true, 60)), new NodeState("n1", true, pod("newhash000", true, 60)));
    d = RollingUpdate.decide(ds(), done, misscheduled, Set.of("n0", "n1"), false, NOW);
    assertThat(d.moving()).as("then the misscheduled one").contains("m0");
    d = RollingUpdate.decide(ds(), states, misscheduled, Set.of("m0"), false, NOW);
    assertThat(d.moving()).as("its removal in flight holds the budget").containsExactly("m0");
    var unavailable = List.of(new NodeState("m0", true, pod("old", false, 0)));
    assertThat(RollingUpdate.decide(ds(), states, unavailable, Set.of(), false, NOW).moving()).as("an unavailable one at once")
        .contains("m0");
    assertThat(RollingUpdate.decide(ds(), done, misscheduled, Set.of(), true, NOW).moving()).as("paused").doesNotContain("m0");
    assertThat(RollingUpdate.decide(ds("spec.updateStrategy", "{type: OnDelete}"), done, misscheduled, Set.of(), false, NOW).moving())
        .as("OnDelete").doesNotContain("m0");
    var current = List.of(new NodeState("m0", true, pod("newhash000", true, 60)));
    assertThat(RollingUpdate.decide(ds(), done, current, Set.of(), false, NOW).moving()).as("of the current revision").doesNotContain("m0");
  }

  /** Rule 6 with a surge: a misscheduled available old pod goes only once the desired nodes' available pods make it one too many. */
  @Test
  void withASurgeAMisscheduledOldPodGoesOnceItIsOneAvailablePodTooMany() {
    DsInfo surge = ds("spec.updateStrategy", "{rollingUpdate: {maxUnavailable: 0, maxSurge: 1}}");
    List<NodeState> misscheduled = List.of(new NodeState("m0", true, pod("old", true, 60)));
    var oneUnavailable = List.of(new NodeState("n0", true, pod("old", false, 0)), new NodeState("n1", true, pod("old", true, 60)));
    assertThat(RollingUpdate.decide(surge, oneUnavailable, misscheduled, Set.of(), false, NOW).moving())
        .as("two desired nodes, one available pod among them: m0's is needed").doesNotContain("m0");
    assertThat(RollingUpdate.decide(surge, nodes(2, pod("old", true, 60)), misscheduled, Set.of(), false, NOW).moving())
        .as("both desired nodes available: m0's is one too many").contains("m0");
    var unavailable = List.of(new NodeState("m0", true, pod("old", false, 0)));
    assertThat(RollingUpdate.decide(surge, oneUnavailable, unavailable, Set.of(), false, NOW).moving()).as("an unavailable one at once")
        .contains("m0");
  }
}
