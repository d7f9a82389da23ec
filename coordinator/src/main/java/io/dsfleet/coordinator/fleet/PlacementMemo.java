package io.dsfleet.coordinator.fleet;

import io.dsfleet.common.match.Placement.Verdict;
import io.dsfleet.common.model.Node;
import io.dsfleet.common.model.PodSpec;
import io.dsfleet.common.model.Taint;
import io.dsfleet.proto.v1.NodeInfo;
import java.time.Instant;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * One node as placement sees it and the verdicts of the pod specs judged on it, kept while what
 * places pods there stays as it was: the agent's info, the operator's labels and taints, the cordon
 * and the condition, all compared at each use ({@link #holdsFor}), so no write of them has to
 * remember to forget this. A node with a NoExecute taint, or a taint of its condition's keys, keeps
 * no verdict ({@link #keepsVerdicts} false), and the node only as planned until the next plan
 * measures its taints: a NoExecute verdict moves with time (its tolerationSeconds) and its time with
 * each plan ({@link TaintAges}), and the node as its entitlement sees it ({@link NodeEntry#placedNode})
 * differs from the node as planned. Verdicts are
 * kept by the spec's identity: a DaemonSet's spec object lives as long as its revision in the fleet
 * (a spec applied again is a new object, judged again). Under the fleet's lock, as its node.
 */
final class PlacementMemo {
  /**
   * Specs judged on one node at most before its verdicts start over: the current revisions and the
   * older ones a node still runs, and those of earlier applies. Full of refusals, 7 KiB a node with a
   * node selector's reason, 20 with an affinity's of 20 values (70 and 190 MiB at 10,000 nodes):
   * a plan's or an apply check's DaemonSet, parsed anew at each call, is judged on {@link #planned}
   * but not kept here (ApplyPlan, DesiredSetBound).
   */
  static final int MAX_VERDICTS = 64;

  private final NodeInfo info;
  private final Map<String, String> adminLabels;
  private final Map<String, Taint> adminTaints;
  private final boolean unschedulable;
  private final Instant unreachableTaintedAt;
  private final boolean ready;
  private final Instant runtimeDownSince;
  /**
   * The node as planned, as made: with a NoExecute taint, timed as the last plan measured its taints,
   * until the next measures them again ({@link NodeEntry#measureTaintAges}): a plan judges every
   * DaemonSet on one node, as before the verdicts were kept (helper-190).
   */
  final Node planned;
  /** Whether verdicts are kept: no taint moves them with time, and the node planned is the node placed (see the class). */
  final boolean keepsVerdicts;
  private final Map<PodSpec, Verdict> verdicts = new IdentityHashMap<>(8);

  PlacementMemo(NodeEntry n, Node built) {
    info = n.info;
    adminLabels = n.adminLabels.isEmpty() ? Map.of() : new TreeMap<>(n.adminLabels); // most nodes: none, and one empty map for all
    adminTaints = n.adminTaints.isEmpty() ? Map.of() : new TreeMap<>(n.adminTaints);
    unschedulable = n.unschedulable;
    unreachableTaintedAt = n.unreachableTaintedAt;
    ready = n.ready;
    runtimeDownSince = n.runtimeDownSince;
    planned = built;
    keepsVerdicts = built.taints().stream().noneMatch(PlacementMemo::timeOrCondition);
  }

  private static boolean timeOrCondition(Taint t) {
    return t.effect().equals(Taint.NO_EXECUTE) || t.key().equals(io.dsfleet.common.match.DaemonTolerations.UNREACHABLE)
        || t.key().equals(io.dsfleet.common.match.DaemonTolerations.NOT_READY);
  }

  /** Whether the node's placement inputs are still those this was made from. */
  boolean holdsFor(NodeEntry n) {
    return n.info == info && n.unschedulable == unschedulable && n.ready == ready && Objects.equals(n.unreachableTaintedAt, unreachableTaintedAt)
        && Objects.equals(n.runtimeDownSince, runtimeDownSince) && n.adminLabels.equals(adminLabels) && n.adminTaints.equals(adminTaints);
  }

  /** The verdict of the spec on {@link #planned}, judged once: only where {@link #keepsVerdicts}. */
  Verdict verdict(PodSpec spec) {
    Verdict v = verdicts.get(spec);
    if (v == null) {
      if (verdicts.size() >= MAX_VERDICTS) {
        verdicts.clear();
      }
      v = io.dsfleet.common.match.Placement.evaluate(spec, planned, Instant.EPOCH); // no NoExecute taint: the time is not read
      verdicts.put(spec, v);
    }
    return v;
  }

  /** How many specs' verdicts are kept, for tests. */
  int size() {
    return verdicts.size();
  }
}
