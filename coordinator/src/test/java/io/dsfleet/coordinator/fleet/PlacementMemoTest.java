package io.dsfleet.coordinator.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.dsfleet.common.manifest.Fixtures;
import io.dsfleet.common.match.Placement;
import io.dsfleet.common.model.DaemonSet;
import io.dsfleet.common.model.PodSpec;
import io.dsfleet.common.model.Taint;
import io.dsfleet.coordinator.grpc.FakeAgent;
import java.time.Instant;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A node's kept verdicts ({@link PlacementMemo}): kept while nothing that places pods there changed,
 * judged again after each kind of change (each asserted as the verdict made anew would say, so a
 * change the memo missed fails here, and with assertions on inside {@link NodeEntry#verdict} too).
 */
class PlacementMemoTest {
  private static final Instant NOW = Instant.parse("2026-12-07T10:00:00Z");

  private static PodSpec spec(String path, String yaml) {
    var tree = Fixtures.baseTree();
    if (path != null) {
      Fixtures.with(tree, path, yaml);
    }
    return ((DaemonSet) Fixtures.parse(tree).get(0).object()).spec().template().spec();
  }

  private static final PodSpec ZONE_A = spec("spec.template.spec.nodeSelector", "{zone: a}");
  private static final PodSpec ANY = spec(null, null);

  private static NodeEntry node() {
    return new NodeEntry("node-1", FakeAgent.info("node-1", Map.of("zone", "a")), NOW);
  }

  private static Placement.Verdict anew(NodeEntry n, PodSpec spec) {
    return Placement.evaluate(spec, new io.dsfleet.common.model.Node(n.name, n.effectiveLabels(), n.effectiveTaints(), n.unschedulable), NOW);
  }

  @Test
  void aVerdictIsJudgedOnceWhileNothingChanges() {
    NodeEntry n = node();
    n.adminLabels.put("zone", "b"); // ZONE_A is refused: a verdict made with its reason, a new object each time it is judged
    Placement.Verdict first = n.verdict(ZONE_A, false, NOW);
    assertFalse(first.shouldRun());
    assertSame(first, n.verdict(ZONE_A, false, NOW));
    assertSame(first, n.verdict(ZONE_A, true, NOW.plusSeconds(3600))); // no NoExecute taint: the time and the two nodes are one
    assertSame(n.toNode(), n.toNode());
    assertEquals(n.toNode(), n.placedNode());
  }

  /** Each input of placement changed on a node that kept a verdict: the next verdict is the one made anew, and differs. */
  @Test
  void everyInputOfPlacementIsJudgedAgainWhenItChanges() {
    Map<String, Consumer<NodeEntry>> changes = new java.util.LinkedHashMap<>();
    changes.put("the agent's labels", n -> n.info = FakeAgent.info("node-1", Map.of("zone", "b")));
    changes.put("an operator's label", n -> n.adminLabels.put("zone", "b"));
    changes.put("an operator's removal of the agent's label", n -> n.adminLabels.put("zone", null));
    changes.put("an operator's taint", n -> n.adminTaints.put("dedicated:NoSchedule", Taint.of("dedicated", "db", Taint.NO_SCHEDULE)));
    changes.put("the agent's taint", n -> n.info = n.info.toBuilder()
        .addTaints(io.dsfleet.proto.v1.Taint.newBuilder().setKey("dedicated").setValue("db").setEffect(Taint.NO_SCHEDULE)).build());
    for (var change : changes.entrySet()) {
      NodeEntry n = node();
      assertTrue(n.verdict(ZONE_A, false, NOW).shouldRun(), change.getKey());
      change.getValue().accept(n);
      Placement.Verdict after = n.verdict(ZONE_A, false, NOW);
      assertFalse(after.shouldRun(), change.getKey() + ": " + after);
      assertEquals(anew(n, ZONE_A), after, change.getKey());
    }
  }

  /** The cordon and the condition (runtime down, unreachable) are judged again too; their NoExecute taints keep nothing. */
  @Test
  void theCordonAndTheConditionAreJudgedAgain() {
    PodSpec noTolerations = spec("spec.template.spec.tolerations", "[]");
    NodeEntry n = node();
    n.verdict(ANY, false, NOW);
    n.unschedulable = true; // DaemonSet pods tolerate unschedulable (automatic toleration): still placed, on a new node
    assertTrue(n.toNode().unschedulable());
    assertTrue(n.verdict(noTolerations, false, NOW).shouldRun());
    n.runtimeDownSince = NOW;
    assertTrue(n.toNode().taints().stream().anyMatch(t -> t.key().equals(io.dsfleet.common.match.DaemonTolerations.NOT_READY)));
    assertEquals(anew(n, ANY), n.verdict(ANY, false, NOW));
    assertSame(n.toNode(), n.toNode(), "a NoExecute taint: the node as planned is made once until the next plan");
    assertNotSame(n.verdict(ZONE_A, false, NOW), n.verdict(ZONE_A, false, NOW), "nor is a verdict kept");
    assertFalse(n.placedNode().taints().stream().anyMatch(t -> t.key().equals(io.dsfleet.common.match.DaemonTolerations.NOT_READY)),
        "as its entitlement sees it, the node has no taint of its condition");
    n.runtimeDownSince = null;
    n.unreachableTaintedAt = NOW;
    assertTrue(n.toNode().taints().stream().anyMatch(t -> t.key().equals(io.dsfleet.common.match.DaemonTolerations.UNREACHABLE)));
    n.unreachableTaintedAt = null;
    assertSame(n.toNode(), n.toNode());
    assertTrue(n.toNode().taints().stream().noneMatch(t -> t.effect().equals(Taint.NO_EXECUTE)));
  }

  /**
   * A taint of the condition's key an operator's stale taint list stored as an admin's before
   * 2026-12-08 (the coordinator's taints are its own since: {@link CoordinatorTaints}): left out when
   * the node is loaded, so the node as planned and as placed agree and a DaemonSet without
   * tolerations runs, and gone from the store at the node's next write.
   */
  @Test
  void aStoredTaintUnderTheConditionsKeyIsLeftOutWhenLoaded() {
    PodSpec noTolerations = spec("spec.template.spec.tolerations", "[]");
    NodeEntry stored = node();
    stored.adminTaints.put(io.dsfleet.common.match.DaemonTolerations.NOT_READY + ":NoSchedule",
        Taint.of(io.dsfleet.common.match.DaemonTolerations.NOT_READY, "", Taint.NO_SCHEDULE));
    NodeEntry n = NodeEntry.load(stored.stored());
    assertTrue(n.adminTaints.isEmpty(), "loaded: " + n.adminTaints);
    assertTrue(n.verdict(noTolerations, false, NOW).shouldRun(), "planned");
    assertTrue(n.verdict(noTolerations, true, NOW).shouldRun(), "placed");
    assertEquals(n.toNode(), n.placedNode());
  }

  /**
   * A plan's DaemonSets (`dsctl diff`, apply --plan) are parsed anew at each call and never judged
   * again: judged on the kept node, not kept by it. Before, each diff added a verdict of each of
   * its DaemonSets to every node (one refused holds its reason) until 64 emptied the table, live
   * specs' verdicts with them: a diff loop held up to 64 a node, tens to hundreds of MiB at 10,000 nodes.
   */
  @Test
  void aPlansSpecsAreJudgedButNotKept(@TempDir java.nio.file.Path dir) {
    try (FleetHarness h = new FleetHarness(dir)) {
      h.agents(3);
      h.apply(FleetHarness.manifest());
      Map<String, Integer> kept = new java.util.TreeMap<>();
      h.fleet.state.nodes.values().forEach(n -> kept.put(n.name, n.verdictsKept()));
      assertTrue(kept.values().stream().allMatch(k -> k > 0), "the live DaemonSet's verdicts are kept: " + kept);
      for (int i = 0; i < 5; i++) {
        var plan = h.fleet.plan(FleetHarness.manifest("spec.template.spec.nodeSelector", "{zone: z" + i + "}"), "test").plans().get(0);
        assertEquals(3, plan.skip().size(), "each node judged, and refused: " + plan);
      }
      Map<String, Integer> after = new java.util.TreeMap<>();
      h.fleet.state.nodes.values().forEach(n -> after.put(n.name, n.verdictsKept()));
      assertEquals(kept, after, "verdicts kept a node, before the plans and after");
    }
  }

  /**
   * A node with a NoExecute taint keeps no verdict, and the node as planned only until the next
   * plan measures its taints' ages ({@link TaintAges}): a plan judges its DaemonSets on one node (made
   * once a DaemonSet before, a microsecond each, helper-190), and a wall clock stepped ahead between
   * two plans still times the taint as the monotonic clock measured it.
   */
  @Test
  void aNodeWithANoExecuteTaintIsMadeOnceAPlan() {
    PodSpec minute = spec("spec.template.spec.tolerations", "[{key: dedicated, operator: Exists, effect: NoExecute, tolerationSeconds: 60}]");
    NodeEntry n = node();
    n.adminTaints.put("dedicated:NoExecute", new Taint("dedicated", "db", Taint.NO_EXECUTE, NOW));
    n.measureTaintAges(NOW, 0);
    io.dsfleet.common.model.Node planned = n.toNode();
    n.verdict(ANY, false, NOW);
    n.verdict(minute, false, NOW);
    assertSame(planned, n.toNode(), "one node for the plan's DaemonSets");
    assertEquals(NOW.plusSeconds(60), n.verdict(minute, false, NOW).evictAt());
    Instant dayLater = NOW.plus(java.time.Duration.ofDays(1)); // the wall clock stepped a day ahead, 10 s on the monotonic one
    n.measureTaintAges(dayLater, 10_000_000_000L);
    Placement.Verdict v = n.verdict(minute, false, dayLater);
    assertTrue(v.shouldRun(), "10 s of the 60 tolerated: " + v);
    assertEquals(dayLater.plusSeconds(50), v.evictAt());
    assertNotSame(planned, n.toNode(), "the next plan times the taint anew");
  }
}
