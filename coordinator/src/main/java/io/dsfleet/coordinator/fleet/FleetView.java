package io.dsfleet.coordinator.fleet;

import io.dsfleet.common.match.Placement;
import io.dsfleet.common.model.DaemonSet;
import io.dsfleet.common.model.Taint;
import io.dsfleet.coordinator.fleet.FleetState.DsEntry;
import io.dsfleet.coordinator.plan.DsInfo;
import io.dsfleet.coordinator.plan.DsStatus;
import io.dsfleet.coordinator.plan.Planner;
import io.dsfleet.coordinator.plan.PodAssignment;
import io.dsfleet.coordinator.store.Store.StoredObject;
import io.dsfleet.coordinator.store.Store.StoredRevision;
import io.dsfleet.proto.v1.NodeInfo;
import io.dsfleet.proto.v1.PodStatus;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The fleet at one moment, immutable: built under the {@link Fleet}'s lock when something changed,
 * then read by every view and watch without the lock (dsctl get and describe, rollout status).
 */
public final class FleetView {
  /** One node, for views. */
  public record NodeSnapshot(String name, NodeInfo info, Map<String, String> labels, List<Taint> taints,
      Map<String, String> adminLabels, List<Taint> adminTaints, boolean ready, String notReadyReason, boolean unschedulable,
      Instant joinedAt, Instant lastHeartbeat, List<PodStatus> pods, List<PodAssignment> desired,
      Map<String, Placement.Verdict> verdicts, List<PodStatus> released) {}

  /**
   * A node's condition and heartbeat, for the metrics: read without the lock ({@link #conditions}).
   * {@code lastHeartbeat} is, for a node not heard since this coordinator loaded it, the latest its
   * last heartbeat can have been (NodeEntry#silentAtLeastSince); null for none.
   */
  public record NodeCondition(String name, boolean ready, boolean unschedulable, Instant lastHeartbeat) {}

  /** One DaemonSet with its status counters (Kubernetes' updateDaemonSetStatus), history and rollout. */
  public record DsSnapshot(String namespace, String name, DaemonSet ds, long generation, long observedGeneration,
      long resourceVersion, long createdAtMillis, long revision, String hash, DsStatus status, List<StoredRevision> revisions,
      RolloutState rollout, int maxUnavailable, List<String> waitingNotReady) {

    /**
     * The rollout is complete (`dsctl rollout status`): the controller has acted on the latest spec,
     * and every desired node runs an available pod of the current revision (Kubernetes:
     * updatedNumberScheduled and numberAvailable reach desiredNumberScheduled), and no NotReady node
     * is waited for. A node the rollout moved that went down is tainted, so no longer desired, yet
     * holds the rollout (RollingUpdate rule 4): before, the last nodes a revision took down left it
     * complete. (A NotReady node that has not moved yet is desired and not updated: incomplete anyway.)
     * Once the rollout was done ({@link RolloutState#complete}) a moved node that dies later holds it no
     * more, as its deadline no longer runs: a finished rollout stays complete until the next template.
     */
    public boolean rolledOut() {
      return observedGeneration >= generation && status.updated() >= status.desired() && status.available() >= status.desired()
          && (waitingNotReady.isEmpty() || rollout.complete());
    }
  }

  final long version;
  private final Map<String, NodeSnapshot> nodes;
  private final Map<String, DsSnapshot> daemonSets;
  private final List<StoredObject> configs;

  private FleetView(long version, Map<String, NodeSnapshot> nodes, Map<String, DsSnapshot> daemonSets, List<StoredObject> configs) {
    this.version = version;
    this.nodes = nodes;
    this.daemonSets = daemonSets;
    this.configs = configs;
  }

  /**
   * Copies what views need out of the state; the caller holds the Fleet's lock. Without
   * {@code withNodes} the view has the DaemonSets (their status counted over every node) and
   * configs but no node snapshots, which cost the most (each node's labels and taints merged and
   * copied): what `rollout status` and `get ds` poll.
   */
  static FleetView build(FleetState state, long version, Instant now, long nanos, boolean withNodes) {
    Map<String, NodeSnapshot> nodes = withNodes ? new LinkedHashMap<>() : null;
    if (withNodes) {
      for (NodeEntry n : state.nodes.values()) {
        nodes.put(n.name, node(n));
      }
    }
    notReady(state);
    Map<String, DsSnapshot> daemonSets = new LinkedHashMap<>();
    for (var e : state.daemonSets.entrySet()) {
      daemonSets.put(e.getKey(), daemonSet(state, e.getKey(), e.getValue(), now, nanos));
    }
    state.statusChanged.clear(); // every DaemonSet's tally counted them, or was made anew
    List<StoredObject> configs = state.configs.values().stream()
        .sorted(Comparator.comparing(StoredObject::kind).thenComparing(StoredObject::namespace).thenComparing(StoredObject::name))
        .toList();
    return new FleetView(version, nodes == null ? null : Collections.unmodifiableMap(nodes), Collections.unmodifiableMap(daemonSets),
        configs);
  }

  private static NodeSnapshot node(NodeEntry n) {
    return new NodeSnapshot(n.name, n.info, n.effectiveLabels(), List.copyOf(n.effectiveTaints()), NodeEntry.present(n.adminLabels),
        List.copyOf(NodeEntry.present(n.adminTaints).values()), n.readyForPods(), n.notReadyReason(), n.unschedulable, n.joinedAt,
        n.lastHeartbeat, List.copyOf(n.reported.values()), n.plan == null ? List.of() : n.plan.desired(),
        n.plan == null ? Map.of() : n.plan.verdicts(), List.copyOf(n.released.values()));
  }

  private static DsSnapshot daemonSet(FleetState state, String k, DsEntry e, Instant now, long nanos) {
    StoredRevision cur = e.current();
    DsInfo info = new DsInfo(k, e.ds, cur.revision(), cur.hash());
    return new DsSnapshot(e.ds.namespace(), e.ds.name(), e.ds, e.stored.generation(), observedGeneration(e),
        e.stored.resourceVersion(), e.stored.createdAtMillis(), cur.revision(), cur.hash(), status(state, k, e, info, now, nanos),
        List.copyOf(e.revisions.values()), e.rollout, e.decision == null ? 0 : e.decision.maxUnavailable(),
        waitingNotReady(state, k, e, info, now));
  }

  /**
   * The DaemonSet's status counters: from its tally of the last view ({@link StatusTally}), the
   * nodes changed since counted again ({@link FleetState#statusChanged}), where nothing else can
   * move them: with no unsure report (whose end is timed) and no minReadySeconds (a pod becomes
   * available with time alone); otherwise, and for a new spec or revision, every node counted.
   * Before 2026-12-07 every view counted every node: a read after one node's report took 2-7 ms at
   * 10,000 nodes with one DaemonSet and 63-67 ms with ten, under the fleet's lock (docs/benchmarks.md
   * section 3). With assertions on (the tests), each tally is checked against every node counted.
   */
  private static DsStatus status(FleetState state, String k, DsEntry e, DsInfo info, Instant now, long nanos) {
    if (!e.unsureReports.isEmpty() || info.minReadySeconds() > 0) {
      e.tally = null;
      return everyNode(state, k, e, info, now, nanos);
    }
    StatusTally t = e.tally;
    if (t == null || !t.counts(e.stored, info.hash())) {
      t = new StatusTally(e.stored, info.hash());
      for (NodeEntry n : state.nodes.values()) {
        t.set(n.name, counted(k, info, n, now));
      }
      e.tally = t;
    } else {
      for (String name : state.statusChanged) {
        NodeEntry n = state.nodes.get(name);
        t.set(name, n == null ? 0 : counted(k, info, n, now));
      }
    }
    assert t.status().equals(everyNode(state, k, e, info, now, nanos)) : k + ": tallied " + t.status() + ", counted "
        + everyNode(state, k, e, info, now, nanos);
    return t.status();
  }

  private static int counted(String k, DsInfo info, NodeEntry n, Instant now) {
    return Planner.counted(info, n.plan == null ? null : n.plan.verdicts().get(k), n.observed.get(k), n.readyForPods(), now);
  }

  /**
   * The counters of every node ({@link Planner#status}). A node whose last report is unsure ({@link DsEntry#unsure}:
   * from before it was told to leave the pod it shows, or from before this DaemonSet was made again under its name)
   * counts as running none of its pods, as the rollout counts it: before, that report's pod counted as updated and
   * available while its agent stopped it, and `kubectl rollout status`, `dsctl rollout status` and `kubectl wait` read
   * "rolled out" (an undo in the moment after an apply, a DaemonSet deleted and applied again; helper-162).
   */
  private static DsStatus everyNode(FleetState state, String k, DsEntry e, DsInfo info, Instant now, long nanos) {
    List<Planner.NodeFacts> facts = new ArrayList<>(state.nodes.size());
    for (NodeEntry n : state.nodes.values()) {
      facts.add(new Planner.NodeFacts(n.plan == null ? null : n.plan.verdicts().get(k),
          !e.unsureReports.isEmpty() && e.unsure(n, nanos) ? List.of() : n.observed.get(k), n.readyForPods()));
    }
    return Planner.status(info, facts, now);
  }

  /**
   * The controller's observedGeneration as every view shows it (the Kubernetes API, dsctl get -o yaml and json, the
   * metrics), held below the generation while the DaemonSet stands rolled back by the coordinator itself
   * ({@code dsfleet.io/on-failure: rollback}) until the next template or `dsctl rollout resume`: kubectl's rollout status
   * reads only the generations and the counters, and the rollback's counters reach their end, so it said "successfully
   * rolled out" of a change that was undone (Kubernetes rolls no DaemonSet back: its rollout would wait, and kubectl's
   * --timeout fail it). Before 2026-12-06 only the Kubernetes API held it, and dsctl get -o json and
   * {@code dsfleet_daemonset_status_observed_generation} showed the generation (helper-162).
   */
  private static long observedGeneration(DsEntry e) {
    return e.rollout != null && e.rollout.rolledBackFrom() != 0 ? Math.min(e.observedGeneration, e.stored.generation() - 1)
        : e.observedGeneration;
  }

  /**
   * The NotReady nodes the rollout waits for: the last pass's, and any node this rollout moved that
   * is down now and may keep its pod (RollingUpdate rule 4, as the next pass will count it). The
   * status counters are of now, and a moved node that goes down leaves them at once (its condition's
   * taints): with only the last pass's list, made while it was up, the view read "rolled out" until
   * the next pass (a heartbeat saying the runtime is down runs none; helper-90).
   */
  private static List<String> waitingNotReady(FleetState state, String k, DsEntry e, DsInfo info, Instant now) {
    List<String> waiting = e.decision == null ? List.of() : e.decision.waitingNotReady();
    java.util.Set<String> waited = null; // made for the first moved node that is down: a list's contains for each was quadratic
    List<String> more = null;
    java.util.Set<String> moving = e.rollout.moving();
    // the fewer of the nodes down and the nodes moved: every node a rollout moved stays moved until the next one, and a
    // walk of them all at each view took a millisecond or more at 10,000 nodes for each DaemonSet rolled out
    for (String name : state.notReadyForPods.size() < moving.size() ? state.notReadyForPods : moving) {
      NodeEntry n = state.nodes.get(name);
      if (n == null || n.readyForPods() || !moving.contains(name)) {
        continue;
      }
      if (waited == null) {
        waited = new java.util.HashSet<>(waiting);
      }
      if (waited.contains(name)) {
        continue;
      }
      Placement.Verdict v = n.plan == null ? null : n.plan.verdicts().get(k);
      boolean placed = v != null && (v.shouldRun() || v.shouldContinueRunning() && n.verdict(e.ds.spec().template().spec(), true, now).shouldRun());
      List<io.dsfleet.coordinator.plan.ObservedPod> pods = n.observed.getOrDefault(k, List.of());
      // with maxSurge a moved node holds the rollout while its old pod is still there (RollingUpdate.decideSurge)
      if (placed && (!io.dsfleet.coordinator.plan.RollingUpdate.surges(info)
          || io.dsfleet.coordinator.plan.ObservedPod.bestOld(pods, info.hash()) != null)) {
        if (more == null) {
          more = new ArrayList<>(waiting);
        }
        more.add(name);
      }
    }
    if (more == null) {
      return waiting;
    }
    Collections.sort(more);
    return List.copyOf(more);
  }

  /**
   * Brings {@link FleetState#notReadyForPods} up to date: for the nodes changed since the last view
   * ({@link FleetState#statusChanged}, which every change of a node's condition marks), or every
   * node for the first view. With assertions on, checked against every node.
   */
  private static void notReady(FleetState state) {
    if (state.notReadyForPods == null) {
      state.notReadyForPods = new java.util.HashSet<>();
      state.nodes.values().stream().filter(n -> !n.readyForPods()).forEach(n -> state.notReadyForPods.add(n.name));
    } else {
      for (String name : state.statusChanged) {
        NodeEntry n = state.nodes.get(name);
        if (n != null && !n.readyForPods()) {
          state.notReadyForPods.add(name);
        } else {
          state.notReadyForPods.remove(name);
        }
      }
    }
    assert state.notReadyForPods.equals(state.nodes.values().stream().filter(n -> !n.readyForPods()).map(n -> n.name)
        .collect(java.util.stream.Collectors.toSet())) : "nodes not ready for pods: kept " + state.notReadyForPods;
  }

  /**
   * Every node's condition as it is now, in name order, read without the fleet's lock as heartbeats
   * read the node table (the fields are volatile; the cordon as the store has it, not one being
   * written): the metrics' node series, which a view with its
   * node snapshots, built under the lock, served (about 30 ms at 20,000 nodes, each time the fleet
   * had changed).
   */
  static List<NodeCondition> conditions(FleetState state) {
    List<NodeCondition> out = new ArrayList<>(state.nodes.size());
    for (NodeEntry n : state.nodes.values()) {
      Instant beat = n.lastHeartbeat;
      out.add(new NodeCondition(n.name, n.readyForPods(), n.unschedulableStored, beat != null ? beat : n.silentAtLeastSince));
    }
    return out;
  }

  /** Whether this view has the node snapshots. */
  boolean hasNodes() {
    return nodes != null;
  }

  public List<NodeSnapshot> nodes() {
    return List.copyOf(nodes.values());
  }

  /** The node, or null. */
  public NodeSnapshot node(String name) {
    return nodes.get(name);
  }

  public List<DsSnapshot> daemonSets() {
    return List.copyOf(daemonSets.values());
  }

  /** The DaemonSet, or null. */
  public DsSnapshot daemonSet(String namespace, String name) {
    return daemonSets.get(FleetState.key(namespace, name));
  }

  /** ConfigMaps or Secrets, by namespace and name. */
  public List<StoredObject> configs(String kind) {
    return configs.stream().filter(o -> o.kind().equals(kind)).toList();
  }
}
