package io.dsfleet.coordinator.fleet;

import com.fasterxml.jackson.core.type.TypeReference;
import io.dsfleet.common.Json;
import io.dsfleet.common.match.DaemonTolerations;
import io.dsfleet.common.match.Placement;
import io.dsfleet.common.model.Node;
import io.dsfleet.common.model.Taint;
import io.dsfleet.coordinator.plan.NodePlan;
import io.dsfleet.coordinator.plan.ObservedPod;
import io.dsfleet.coordinator.store.Store.StoredNode;
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
 * One node's state in the coordinator; guarded by the Fleet's lock, but for {@link #ready},
 * {@link #lastHeartbeat} and {@link #leaseDeadlineNanos}, which a heartbeat renews without it
 * (see {@link NodeLifecycle#renew}), and the volatile fields the metrics read without it. Durable parts (info, the
 * operator's labels and taints and the agent's ones the operator removed, cordon, and the
 * condition: NotReady since, tainted unreachable since, runtime down since; the leave secret's
 * hash and the token that admitted it) are mirrored in the store ({@link #stored()}); the rest is volatile.
 */
final class NodeEntry {
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(NodeEntry.class);
  final String name;
  NodeInfo info;
  /** dsctl's labels; a null value removes a label the agent sets. */
  final Map<String, String> adminLabels = new TreeMap<>();
  /** dsctl's taints by "key:effect"; a null value removes a taint the agent sets. */
  final Map<String, Taint> adminTaints = new TreeMap<>();
  /** Cordoned. Guarded by the lock: made before its write and undone when the store refuses it. */
  boolean unschedulable;
  /**
   * {@link #unschedulable} as the store has it, for reads without the lock (the metrics:
   * {@link FleetView#conditions}), which would see a cordon still being written, or refused.
   */
  volatile boolean unschedulableStored;
  final Instant joinedAt;
  /**
   * Hex SHA-256 of the agent's leave secret, given at admission; "" for a node admitted before
   * there were any. Written under the lock, read by a Leave's check without it.
   */
  volatile String leaveSecretSha256 = "";
  /** The join token that admitted the node ("" when unknown), for {@code node rm --revoke-token}. */
  String admittedBy = "";
  /**
   * The certificate of the node's last admission by token was never presented and no admin
   * revoked the node's certificates since: only then does a token join showing the node's leave
   * secret admit it again (its agent, whose join answer was lost). Stored, so a restart keeps it.
   */
  boolean readmitsBySecret;

  /** Heartbeats arrive: the lease holds. Written under the lock, read by heartbeats without it. */
  volatile boolean ready = true;
  Instant notReadySince;
  /**
   * {@link #notReadySince} on the monotonic clock (System.nanoTime), which times the node's
   * collection: a step of the wall clock collects nobody. A node loaded NotReady counts from its
   * stored time as the wall clock says at the load.
   */
  long notReadySinceNanos;
  /** When the node lifecycle tainted it unreachable (rate-limited, not while the fleet is disrupted); null: not tainted. */
  Instant unreachableTaintedAt;
  /** Set while the agent reports that its container runtime does not answer (the node cannot run pods). */
  volatile Instant runtimeDownSince;
  String runtimeMessage = "";
  /** Why the agent's state directory refuses writes, as its heartbeats say; "" while it takes them. Not stored. */
  volatile String stateWriteError = "";
  /**
   * Set when a session opens, cleared by the node's first pod report: until the coordinator knows
   * what runs there it sends nothing, so it never plans away a pod it simply has not heard of
   * (after a coordinator restart, a misscheduled pod or an old revision mid-rollout).
   */
  boolean awaitingReport;
  /** Wall time of the last heartbeat, for people; leases run on the monotonic clock. Renewed without the lock. */
  volatile Instant lastHeartbeat;
  /**
   * For a node loaded from the store, the latest its last heartbeat can have been (its stored
   * NotReady time, or the load), which no heartbeat of this coordinator's told: the metrics' age of
   * a node not heard since the start counts from it (until 2026-12-08 such a node had no age).
   */
  volatile Instant silentAtLeastSince;
  volatile long leaseDeadlineNanos;
  /** Heard from (a session, a heartbeat) since this coordinator started; false for a node loaded from the store until then. */
  volatile boolean heardSinceStart = true;
  /** Reported what it runs since this coordinator started; false for a node loaded from the store until then. */
  boolean reportedSinceStart = true;
  /** Pod reports taken from the node by this coordinator: whether one came since a moment (RolloutState's carried nodes). */
  long reports;
  /**
   * The applied_version of the node's last pod report: the newest desired set the agent's pass that built it had taken,
   * compared with {@link #version} ({@link #reportedAfterLastSet}). Null: the report had none (an agent before 2026-12-07).
   */
  Long appliedVersion;
  AgentSink session;

  /**
   * Whether the node's last report says its agent acted on the last set this coordinator sent it: its applied_version is
   * that set's, {@link #version}, exactly (FleetState.DsEntry#unsure). Not one above it: versions are this coordinator's
   * (seeded from its wall clock at its start, or a replica's as it takes the lead), and a report on reconnect carries
   * the version of a set from the coordinator before, which may be higher when this one's clock is behind (stepped back,
   * another host's); before helper-172 such a report ended a rollback's hold at once. Sets of one coordinator reach the
   * agent in order, and it reports after each pass that took a newer one, so the last set's version comes. Null: the
   * report carries no version (an agent before 2026-12-07).
   */
  Boolean reportedAfterLastSet() {
    return appliedVersion == null ? null : appliedVersion == version;
  }

  /** Reported pods by pod name, and the same by DaemonSet key for the planner (two during a surge). */
  final Map<String, PodStatus> reported = new LinkedHashMap<>();
  /**
   * The pods the node reports it leaves running, unmanaged (released: by an orphan delete, or by a
   * set from another store), by "namespace/name": shown, counted by no DaemonSet, and adopted under
   * their names by a DaemonSet applied again (ReleasedPodNames). Agents before 2026-12-06 report none.
   */
  final Map<String, PodStatus> released = new java.util.TreeMap<>();
  /** Those of {@link #released} whose PodsReleased Warning the node's event budget dropped: named at a later report. */
  final java.util.Set<String> releasedUnwarned = new java.util.TreeSet<>();
  /** The failure last made an event, by "pod/container" ("pod/" for the pod's own reason): a crash loop is one event, not one a crash. */
  final Map<String, String> failureEvents = new java.util.HashMap<>();
  /**
   * The pods (grant keys: the DaemonSet as created, pod name, revision) granted this node with
   * their templates (sent, or held placed when an admin changed the node): such a pod keeps them
   * while it stays in the plan. Those it needs ({@link #heldGrants}) are stored with the node.
   */
  final java.util.Set<String> sentWithTemplate = new java.util.HashSet<>();
  /** The grants the node needs stored: pods its plan keeps that would not be placed now, and all it had at an admin's change. */
  final java.util.Set<String> heldGrants = new java.util.HashSet<>();
  /** The grants the node's row held when last built for the store. */
  final java.util.Set<String> storedGrants = new java.util.HashSet<>();
  /** When {@link #plan} was made: the time its verdicts, and those of older revisions beside them, are for. */
  Instant plannedAt = Instant.EPOCH;
  /** A report of this node's had pods dropped (names that are not names, over the cap): logged once. */
  boolean droppedPodsLogged;
  final Map<String, List<ObservedPod>> observed = new HashMap<>();

  NodePlan plan;
  /** What was last sent, to send only changes. */
  Object sentFingerprint;
  /**
   * The latest sets over {@link DesiredSetBound#MAX_BYTES} not sent (each one's Warning recorded
   * once), at most {@link #OVERSIZE_KEPT}, newest last; empty when the last set fit. More than one:
   * a node whose reports alternate between two states over the bound (a pod under two of its names)
   * had each built whole, logged and recorded as an event at each report, ten a second (helper-184).
   */
  final java.util.LinkedHashSet<Object> oversizeFingerprints = new java.util.LinkedHashSet<>();
  static final int OVERSIZE_KEPT = 4;
  long version;
  /**
   * What the agent said on its session's open that it holds (SessionOpen.applied_version and held_digest): compared
   * with the first set the coordinator would send after the open ({@link Dispatcher#push}), then forgotten. Null: none.
   */
  String heldDigest;
  long heldVersion;
  /**
   * Pods this node released (orphan delete), sent in every desired set until a DaemonSet adopts
   * one: the coordinator's record is the truth, an agent's file only its copy (before 2026-12-05
   * forgotten here once acknowledged, and a lost file made the agent remove them: helper-75).
   */
  final java.util.Set<String> orphans = new java.util.TreeSet<>();
  /** When a tolerationSeconds runs out here; the node is planned again then. */
  Instant nextEvaluation;

  NodeEntry(String name, NodeInfo info, Instant joinedAt) {
    this.name = name;
    this.info = info;
    this.joinedAt = joinedAt;
  }

  /** The labels the node has of itself: its agent's and the well-known ones of its name, OS and architecture. */
  Map<String, String> ownLabels() {
    Map<String, String> labels = new TreeMap<>(info.getLabelsMap());
    labels.put("kubernetes.io/hostname", name);
    if (!info.getOs().isEmpty()) {
      labels.put("kubernetes.io/os", info.getOs());
    }
    if (!info.getArch().isEmpty()) {
      labels.put("kubernetes.io/arch", info.getArch());
    }
    return labels;
  }

  /** Agent labels, the well-known ones Kubernetes sets, then dsctl's (which win). */
  Map<String, String> effectiveLabels() {
    Map<String, String> labels = ownLabels();
    adminLabels.forEach((k, v) -> {
      if (v == null) {
        labels.remove(k);
      } else {
        labels.put(k, v);
      }
    });
    return labels;
  }

  /**
   * The node as its labels and taints place pods, without the taints of its condition (unreachable,
   * not-ready): what a node may have (Dispatcher's entitlement) does not end while it is NotReady,
   * as the node authorizer's does not.
   */
  Node placedNode() {
    List<Taint> taints = effectiveTaints();
    taints.removeIf(t -> t.key().equals(DaemonTolerations.UNREACHABLE) || t.key().equals(DaemonTolerations.NOT_READY));
    return new Node(name, effectiveLabels(), taints, unschedulable);
  }

  /**
   * The node as placement sees it and the verdicts judged on it ({@link PlacementMemo}), made anew
   * when what places pods here changed. Every report planned the node over every DaemonSet and
   * built the node again for each pod's entitlement; a report of ten DaemonSets' pods spent a third
   * of its time so (docs/benchmarks.md, "Placement verdicts kept").
   */
  private PlacementMemo placement;

  private PlacementMemo placement() {
    PlacementMemo m = placement;
    if (m == null || !m.holdsFor(this)) {
      placement = m = new PlacementMemo(this, toNodeAnew());
    }
    return m;
  }

  /**
   * Whether a pod of this spec may be placed here ({@link Placement#evaluate}), on the node as
   * planned ({@link #toNode}) or, {@code placed}, as its entitlement sees it ({@link #placedNode}):
   * kept while the node's placement inputs stay as they are and it has no NoExecute taint (the
   * two nodes are the same then), with one judged each time, on the node as planned of the last
   * plan; with assertions on, checked against a verdict made anew.
   */
  Placement.Verdict verdict(io.dsfleet.common.model.PodSpec spec, boolean placed, Instant now) {
    PlacementMemo m = placement();
    Placement.Verdict v = m.keepsVerdicts ? m.verdict(spec) : Placement.evaluate(spec, placed ? placedNode() : m.planned, now);
    assert v.equals(Placement.evaluate(spec, placed ? placedNode() : toNodeAnew(), now))
        : "verdict " + v + " of node " + name + (m.keepsVerdicts ? " (kept)" : " (on the node as planned)") + " is not " + Placement.evaluate(spec, placed ? placedNode() : toNodeAnew(), now);
    return v;
  }

  /** How many specs' verdicts the node keeps, for tests. */
  int verdictsKept() {
    PlacementMemo m = placement;
    return m == null ? 0 : m.size();
  }

  /** {@link TaintAges#update} at a plan, which a node without NoExecute taints, none measured before, has nothing for. */
  void measureTaintAges(Instant now, long nowNanos) {
    if ((!placement().keepsVerdicts || !taintAges.isEmpty()) && taintAges.update(taintsAsSet(), now, nowNanos)) {
      placement = null; // the node as planned has its NoExecute taints timed anew (made once a plan, not twice, when their times stay)
    }
  }

  /**
   * When the node was last Ready again after being NotReady (its heartbeats back, its runtime back),
   * in this coordinator's life; null since it started: its pods count as Ready since no earlier.
   * Kubernetes marks the pods of a node that is not Ready not ready (the node lifecycle
   * controller's MarkPodsNotReady), so once it is back they are Ready anew and wait out
   * minReadySeconds before they count available again. Until 2026-12-08 such a node's pods counted
   * available at once (their Ready time from before), and a rolling update moved its next node
   * sooner than Kubernetes would (helper-201).
   */
  Instant readyAgainAt;

  /** The node is Ready again at {@code now}: its pods count as Ready since then at the earliest ({@link #readyAgainAt}). */
  void readyAgain(Instant now) {
    readyAgainAt = now;
    observed.replaceAll((ds, pods) -> pods.stream().map(p -> p.readyNoEarlierThan(now)).toList());
  }

  /** When its reported pods count as Ready since ({@link ReadySince}), which a node's clock ahead does not put off. */
  final ReadySince readySince = new ReadySince();

  /** Ages of its NoExecute taints on the monotonic clock too ({@link TaintAges}): measured at each plan of the node. */
  final TaintAges taintAges = new TaintAges();

  /**
   * Agent taints, dsctl's (which win for the same key and effect), cordon, unreachable and
   * not-ready; NoExecute ones timed as the last plan measured them ({@link TaintAges}).
   */
  List<Taint> effectiveTaints() {
    return taintAges.apply(taintsAsSet());
  }

  /** {@link #effectiveTaints()} at the times they were set. */
  List<Taint> taintsAsSet() {
    Map<String, Taint> byKey = new LinkedHashMap<>();
    for (var t : info.getTaintsList()) {
      Taint taint = io.dsfleet.common.ProtoMapping.taint(t);
      if (!CoordinatorTaints.owns(taint.key())) { // the coordinator's alone: they follow the cordon and the condition
        byKey.put(taint.key() + ":" + taint.effect(), taint);
      }
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
    if (unreachableTaintedAt != null) {
      taints.add(new Taint(DaemonTolerations.UNREACHABLE, "", Taint.NO_SCHEDULE, unreachableTaintedAt));
      taints.add(new Taint(DaemonTolerations.UNREACHABLE, "", Taint.NO_EXECUTE, unreachableTaintedAt));
    } else if (ready && runtimeDownSince != null) {
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
      return "no heartbeat since " + (lastHeartbeat != null ? lastHeartbeat : "before " + notReadySince);
    }
    return runtimeDownSince == null ? "" : "container runtime unavailable since " + runtimeDownSince + ": " + runtimeMessage;
  }

  /**
   * The node as placement sees it: kept with its verdicts ({@link #verdict}) while it has no
   * NoExecute taint; with one, until the next plan measures its taints ({@link #measureTaintAges}).
   */
  Node toNode() {
    return placement().planned;
  }

  private Node toNodeAnew() {
    return new Node(name, effectiveLabels(), effectiveTaints(), unschedulable);
  }

  /** The condition and the operator's removals, as stored with the node (times in epoch ms, null when not set). */
  record Condition(Long notReadySince, Long unreachableTaintedAt, Long runtimeDownSince, String runtimeMessage,
      List<String> removedLabels, List<String> removedTaints, String leaveSecretSha256, String admittedBy, Boolean readmitsBySecret,
      List<String> grants) {}

  StoredNode stored() {
    storedGrants.clear();
    storedGrants.addAll(heldGrants);
    Condition c = new Condition(millis(notReadySince), millis(unreachableTaintedAt), millis(runtimeDownSince), runtimeMessage,
        removals(adminLabels), removals(adminTaints), leaveSecretSha256, admittedBy, readmitsBySecret,
        new java.util.TreeSet<>(heldGrants).stream().toList());
    return new StoredNode(name, NodeInfoRules.printInfo(info), Json.canonical(present(adminLabels)), Json.canonical(present(adminTaints)),
        unschedulable, joinedAt.toEpochMilli(), Json.canonical(c));
  }

  /** dsctl's entries that set something (a null value is a removal). */
  static <T> Map<String, T> present(Map<String, T> entries) {
    Map<String, T> out = new TreeMap<>();
    entries.forEach((k, v) -> {
      if (v != null) {
        out.put(k, v);
      }
    });
    return out;
  }

  /** dsctl's removals of what the agent sets. */
  private static List<String> removals(Map<String, ?> entries) {
    return entries.entrySet().stream().filter(e -> e.getValue() == null).map(Map.Entry::getKey).toList();
  }

  /** A node as stored; NotReady when it was (until it is heard from again). */
  static NodeEntry load(StoredNode n) {
    NodeEntry node = new NodeEntry(n.name(), NodeInfoRules.withValidTaints(n.name(), NodeInfoRules.parseInfo(n.infoJson())),
        Instant.ofEpochMilli(n.joinedAtMillis()));
    node.adminLabels.putAll(Json.read(n.adminLabelsJson(), new TypeReference<Map<String, String>>() {}));
    node.adminTaints.putAll(Json.read(n.adminTaintsJson(), new TypeReference<Map<String, Taint>>() {}));
    node.unschedulable = n.unschedulable();
    node.unschedulableStored = n.unschedulable();
    Condition c = Json.read(n.stateJson(), Condition.class);
    if (c.removedLabels() != null) {
      c.removedLabels().forEach(k -> node.adminLabels.put(k, null));
    }
    if (c.removedTaints() != null) {
      c.removedTaints().forEach(k -> node.adminTaints.put(k, null));
    }
    // the coordinator's own taints are no admin's (CoordinatorTaints): one a stale kubectl taint stored before 2026-12-08
    // is left out, and goes from the store at the node's next write
    if (node.adminTaints.keySet().removeIf(k -> CoordinatorTaints.owns(k.substring(0, k.lastIndexOf(':'))))) {
      log.warn("node {}: taints of the coordinator's own keys stored as an admin's dropped (they follow the cordon and the node's"
          + " condition)", n.name());
    }
    node.notReadySince = instant(c.notReadySince());
    node.ready = node.notReadySince == null;
    node.unreachableTaintedAt = instant(c.unreachableTaintedAt());
    node.runtimeDownSince = instant(c.runtimeDownSince());
    node.runtimeMessage = c.runtimeMessage() == null ? "" : c.runtimeMessage();
    node.leaveSecretSha256 = c.leaveSecretSha256() == null ? "" : c.leaveSecretSha256();
    node.admittedBy = c.admittedBy() == null ? "" : c.admittedBy();
    node.readmitsBySecret = Boolean.TRUE.equals(c.readmitsBySecret()); // absent: stored by a coordinator before the rule
    if (c.grants() != null) {
      node.sentWithTemplate.addAll(c.grants());
      node.storedGrants.addAll(c.grants());
      node.heldGrants.addAll(c.grants());
    }
    node.awaitingReport = true; // what runs there is unknown until the agent reports again
    return node;
  }

  private static Long millis(Instant i) {
    return i == null ? null : i.toEpochMilli();
  }

  private static Instant instant(Long ms) {
    return ms == null ? null : Instant.ofEpochMilli(ms);
  }
}
