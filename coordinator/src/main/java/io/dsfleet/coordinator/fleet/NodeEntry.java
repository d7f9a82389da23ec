package io.dsfleet.coordinator.fleet;

import io.dsfleet.common.match.DaemonTolerations;
import io.dsfleet.common.model.Node;
import io.dsfleet.common.model.Taint;
import io.dsfleet.coordinator.plan.NodePlan;
import io.dsfleet.coordinator.plan.ObservedPod;
import io.dsfleet.proto.v1.NodeInfo;
import io.dsfleet.proto.v1.PodStatus;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * One node's state in the coordinator; guarded by the Fleet's lock. Durable parts (info, the
 * operator's labels and taints, cordon) are mirrored in the store; the rest is volatile.
 */
final class NodeEntry {
  final String name;
  NodeInfo info;
  /** dsctl's labels; a null value removes a label the agent sets. */
  final Map<String, String> adminLabels = new TreeMap<>();
  /** dsctl's taints by "key:effect"; a null value removes a taint the agent sets. */
  final Map<String, Taint> adminTaints = new TreeMap<>();
  boolean unschedulable;
  final Instant joinedAt;

  boolean ready = true;
  /** Set while the agent reports that its container runtime does not answer (the node cannot run pods). */
  Instant runtimeDownSince;
  String runtimeMessage = "";
  /**
   * Set when a session opens, cleared by the node's first pod report: until the coordinator knows
   * what runs there it sends nothing, so it never plans away a pod it simply has not heard of
   * (after a coordinator restart, a misscheduled pod or an old revision mid-rollout).
   */
  boolean awaitingReport;
  Instant lastHeartbeat;
  Instant leaseExpiry;
  Instant notReadySince;
  AgentSink session;

  /** Reported pods by pod name, and the same by DaemonSet key for the planner (two during a surge). */
  final Map<String, PodStatus> reported = new LinkedHashMap<>();
  final Map<String, List<ObservedPod>> observed = new HashMap<>();

  NodePlan plan;
  /** What was last sent, to send only changes. */
  Object sentFingerprint;
  long version;
  /** Pods this node must release (orphan delete), until it acknowledges a version carrying them. */
  final java.util.Set<String> orphans = new java.util.TreeSet<>();
  long orphansSentInVersion;
  /** When a tolerationSeconds runs out here; the node is planned again then. */
  Instant nextEvaluation;

  NodeEntry(String name, NodeInfo info, Instant joinedAt) {
    this.name = name;
    this.info = info;
    this.joinedAt = joinedAt;
  }

  /** Agent labels, the well-known ones Kubernetes sets, then dsctl's (which win). */
  Map<String, String> effectiveLabels() {
    Map<String, String> labels = new TreeMap<>(info.getLabelsMap());
    labels.put("kubernetes.io/hostname", name);
    if (!info.getOs().isEmpty()) {
      labels.put("kubernetes.io/os", info.getOs());
    }
    if (!info.getArch().isEmpty()) {
      labels.put("kubernetes.io/arch", info.getArch());
    }
    adminLabels.forEach((k, v) -> {
      if (v == null) {
        labels.remove(k);
      } else {
        labels.put(k, v);
      }
    });
    return labels;
  }

  /** Agent taints, dsctl's (which win for the same key and effect), cordon, unreachable and not-ready. */
  List<Taint> effectiveTaints() {
    Map<String, Taint> byKey = new LinkedHashMap<>();
    for (var t : info.getTaintsList()) {
      Taint taint = io.dsfleet.common.ProtoMapping.taint(t);
      byKey.put(taint.key() + ":" + taint.effect(), taint);
    }
    adminTaints.forEach((k, t) -> {
      if (t == null) {
        byKey.remove(k);
      } else {
        byKey.put(k, t);
      }
    });
    List<Taint> taints = new ArrayList<>(byKey.values());
    if (unschedulable) {
      taints.add(Taint.of(DaemonTolerations.UNSCHEDULABLE, "", Taint.NO_SCHEDULE));
    }
    if (!ready) {
      taints.add(new Taint(DaemonTolerations.UNREACHABLE, "", Taint.NO_SCHEDULE, notReadySince));
      taints.add(new Taint(DaemonTolerations.UNREACHABLE, "", Taint.NO_EXECUTE, notReadySince));
    } else if (runtimeDownSince != null) {
      taints.add(new Taint(DaemonTolerations.NOT_READY, "", Taint.NO_SCHEDULE, runtimeDownSince));
      taints.add(new Taint(DaemonTolerations.NOT_READY, "", Taint.NO_EXECUTE, runtimeDownSince));
    }
    return taints;
  }

  /** Ready as Kubernetes means it: heartbeats arrive and the node can run pods. */
  boolean readyForPods() {
    return ready && runtimeDownSince == null;
  }

  /** Why the node is NotReady, or "". */
  String notReadyReason() {
    if (!ready) {
      return "no heartbeat since " + lastHeartbeat;
    }
    return runtimeDownSince == null ? "" : "container runtime unavailable since " + runtimeDownSince + ": " + runtimeMessage;
  }

  Node toNode() {
    return new Node(name, effectiveLabels(), effectiveTaints(), unschedulable);
  }
}
