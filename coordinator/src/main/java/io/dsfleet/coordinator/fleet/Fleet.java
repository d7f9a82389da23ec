package io.dsfleet.coordinator.fleet;

import com.fasterxml.jackson.core.type.TypeReference;
import io.dsfleet.common.Json;
import io.dsfleet.common.manifest.ManifestParser;
import io.dsfleet.common.model.DaemonSet;
import io.dsfleet.common.model.Taint;
import io.dsfleet.coordinator.fleet.FleetState.DsEntry;
import io.dsfleet.coordinator.plan.DsInfo;
import io.dsfleet.coordinator.plan.DsStatus;
import io.dsfleet.coordinator.plan.Planner;
import io.dsfleet.coordinator.plan.PodAssignment;
import io.dsfleet.coordinator.store.Store;
import io.dsfleet.coordinator.store.Store.StoredNode;
import io.dsfleet.coordinator.store.Store.StoredObject;
import io.dsfleet.coordinator.store.Store.StoredRevision;
import io.dsfleet.proto.v1.ConfigObject;
import io.dsfleet.proto.v1.NodeInfo;
import io.dsfleet.proto.v1.PodStatus;
import io.dsfleet.proto.v1.PodStatusReport;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The coordinator's state and the rules that change it, behind one lock. This class wires the
 * parts and holds the lock; each rule lives in its own class (docs/coordinator.md has the map):
 * {@link Catalog} (apply, delete, revisions), {@link NodeRegistry} (joins, sessions, what dsctl
 * sets on nodes), {@link NodeLifecycle} (leases, NotReady, garbage collection), {@link PodIntake}
 * (pod reports), {@link DaemonSetController} (rollouts), {@link Dispatcher} (plans and desired
 * sets), {@link Events}.
 *
 * <p>Invariants: (1) a write is in the store before the request that made it is acknowledged,
 * and memory changes only after the store committed; (2) a node is sent a DesiredState only when
 * its content (pods, their templates, the configs they use) changed, or when its session opens;
 * (3) heartbeats touch memory only, never the store, and never re-plan a node unless it changed
 * condition; (4) leases are issued and expired on the injected clock.
 */
public final class Fleet {
  private static final Logger log = LoggerFactory.getLogger(Fleet.class);

  /** Restart grace added per known node: the fleet reconnects at 100 nodes a second or faster. */
  static final long RESTART_MILLIS_PER_NODE = 10;

  private final Store store;
  private final Clock clock;
  private final FleetOptions options;
  private final Events events;
  private final Object lock = new Object();
  private final FleetState state = new FleetState();
  private final List<Consumer<String>> changeListeners = new CopyOnWriteArrayList<>();
  private final Dispatcher dispatcher;
  private final DaemonSetController controller;
  private final Catalog catalog;
  private final NodeLifecycle lifecycle;
  private final NodeRegistry registry;
  private final PodIntake intake;

  private boolean deferRolloutPasses;
  private boolean rolloutsDirty;
  private long nextRolloutPassNanos;

  public Fleet(Store store, Clock clock, FleetOptions options, Random random) {
    this.store = store;
    this.clock = clock;
    this.options = options;
    this.events = new Events(clock, options.eventsKept());
    Consumer<String> notify = this::notifyChange;
    this.dispatcher = new Dispatcher(state, events, clock.millis() * 1000);
    this.controller = new DaemonSetController(state, store, events, dispatcher, notify);
    this.catalog = new Catalog(state, store, clock, options, events, controller, this::replanAll);
    this.controller.rollbackWith((ns, name) -> catalog.apply(catalog.parse(catalog.undoManifest(ns, name, 0), "rollout undo"), false));
    this.lifecycle = new NodeLifecycle(state, options, random, events, dispatcher, notify);
    this.registry = new NodeRegistry(state, store, clock, events, dispatcher, lifecycle, notify);
    this.intake = new PodIntake(state, store, dispatcher);
    load();
  }

  private void load() {
    Instant now = clock.instant();
    for (StoredObject o : store.objects()) {
      state.resourceVersion = Math.max(state.resourceVersion, o.resourceVersion());
      if (o.kind().equals("DaemonSet")) {
        DsEntry e = new DsEntry();
        e.stored = o;
        e.ds = (DaemonSet) ManifestParser.parseOne(o.json());
        state.daemonSets.put(key(o.namespace(), o.name()), e);
      } else {
        state.configs.put(FleetState.configKey(o.kind(), o.namespace(), o.name()), o);
      }
    }
    for (StoredRevision r : store.revisions()) {
      DsEntry e = state.daemonSets.get(key(r.namespace(), r.name()));
      if (e != null) {
        Catalog.addRevision(e, r);
      }
    }
    List<StoredNode> storedNodes = store.nodes();
    // every agent reconnects at once (a TLS handshake, a session, its desired set each): allow at
    // least 100 of them a second on top of the heartbeat grace (measured: docs/benchmarks.md)
    Instant restartLease = lifecycle.lease(now).plusMillis(storedNodes.size() * RESTART_MILLIS_PER_NODE);
    for (StoredNode n : storedNodes) {
      NodeEntry node = new NodeEntry(n.name(), NodeRegistry.parseInfo(n.infoJson()), Instant.ofEpochMilli(n.joinedAtMillis()));
      node.adminLabels.putAll(Json.read(n.adminLabelsJson(), new TypeReference<Map<String, String>>() {}));
      Json.read(n.adminTaintsJson(), new TypeReference<Map<String, Taint>>() {}).forEach(node.adminTaints::put);
      node.unschedulable = n.unschedulable();
      // A restarted coordinator gives every known node a full grace period to reconnect before
      // calling it NotReady, so a coordinator restart never turns the fleet NotReady.
      node.lastHeartbeat = now;
      node.leaseExpiry = restartLease;
      state.nodes.put(n.name(), node);
    }
    store.rollouts().forEach((k, json) -> {
      DsEntry e = state.daemonSets.get(k);
      if (e != null) {
        e.rollout = Json.read(json, RolloutState.class);
      }
    });
    for (Store.Orphan o : store.orphans()) {
      NodeEntry n = state.nodes.get(o.node());
      if (n != null) {
        n.orphans.add(o.pod());
      }
    }
    state.refreshDsInfos();
    for (NodeEntry n : state.nodes.values()) {
      dispatcher.replan(n, now);
    }
    log.info("loaded {} DaemonSets, {} ConfigMaps/Secrets, {} nodes (schema version {})",
        state.daemonSets.size(), state.configs.size(), state.nodes.size(), store.schemaVersion());
  }

  // ------------------------------------------------------------------ nodes

  /** Registers or re-registers a node. Idempotent. */
  public void join(NodeInfo info) {
    synchronized (lock) {
      registry.join(info);
    }
  }

  /**
   * Opens a node's session: attaches the sink, marks the node alive, sends its full desired set.
   *
   * @throws ControlException NOT_FOUND when the node is unknown (the agent must join again)
   */
  public void openSession(String nodeName, AgentSink sink) {
    synchronized (lock) {
      registry.openSession(nodeName, sink);
    }
  }

  /** Whether the node is a member with a session open right now. */
  public boolean connected(String nodeName) {
    synchronized (lock) {
      NodeEntry n = state.nodes.get(nodeName);
      return n != null && n.session != null;
    }
  }

  /** Detaches a session that ended; the node stays Ready until its lease runs out. */
  public void sessionClosed(String nodeName, AgentSink sink) {
    synchronized (lock) {
      registry.sessionClosed(nodeName, sink);
    }
  }

  /** A heartbeat: memory only. Returns false when the node is unknown. See {@link NodeLifecycle#heartbeat}. */
  public boolean heartbeat(String nodeName, boolean runtimeDown, String runtimeMessage) {
    synchronized (lock) {
      return lifecycle.heartbeat(nodeName, runtimeDown, runtimeMessage, clock.instant());
    }
  }

  /** The node applied a desired set: orphans it carried are now the node's to keep, and forgotten here. */
  public void acked(String nodeName, long version) {
    synchronized (lock) {
      intake.acked(nodeName, version);
    }
  }

  public void reportPods(String nodeName, PodStatusReport report) {
    synchronized (lock) {
      Instant now = clock.instant();
      intake.report(nodeName, report, now);
      if (deferRolloutPasses) {
        rolloutsDirty = true;
      } else {
        controller.pass(now);
      }
      notifyChange(nodeName);
    }
  }

  public void leave(String nodeName) {
    synchronized (lock) {
      registry.leave(nodeName);
    }
  }

  public void removeNode(String nodeName) {
    synchronized (lock) {
      registry.removeNode(nodeName);
    }
  }

  /**
   * Expires leases and collects dead nodes; called periodically by the server's scheduler, with
   * a rollout pass.
   */
  public void tick() {
    synchronized (lock) {
      Instant now = clock.instant();
      for (String name : lifecycle.tick(now)) {
        registry.remove(name, "NotReady for longer than " + options.nodeGcAfter());
      }
      controller.pass(now);
    }
  }

  /** Sets and removes dsctl labels; see docs/coordinator.md for how they combine with the agent's. */
  public void labelNode(String nodeName, Map<String, String> set, List<String> remove, boolean overwrite) {
    synchronized (lock) {
      registry.label(nodeName, set, remove, overwrite);
    }
  }

  /** A taint to remove: its key, and its effect or "" for every effect of the key (kubectl's {@code key-}). */
  public record TaintRemoval(String key, String effect) {
    @Override
    public String toString() {
      return key + (effect.isEmpty() ? "" : ":" + effect) + "-";
    }
  }

  public void taintNode(String nodeName, List<Taint> add, List<TaintRemoval> remove, boolean overwrite) {
    synchronized (lock) {
      registry.taint(nodeName, add, remove, overwrite);
    }
  }

  public void cordon(String nodeName, boolean unschedulable) {
    synchronized (lock) {
      registry.cordon(nodeName, unschedulable);
    }
  }

  // ------------------------------------------------------------------ rollouts

  /**
   * From now on a pod report only marks the rollouts for the next {@link #rolloutPass()} (which
   * the serving coordinator runs every few milliseconds) instead of running a pass itself: a pass
   * looks at every node, so one per report would cost nodes x reports when a fleet reports at
   * once. Tests on a fake clock leave it off and get one pass per report.
   */
  public void deferRolloutPasses() {
    synchronized (lock) {
      deferRolloutPasses = true;
    }
  }

  /**
   * Runs a rolling-update pass if a pod report came in since the last one, and no sooner than
   * four times the last pass's own duration after it ended: a pass walks every node, so on a
   * large fleet this keeps rollouts to a fifth of the coordinator's time at most.
   */
  public void rolloutPass() {
    synchronized (lock) {
      long start = System.nanoTime();
      if (rolloutsDirty && start >= nextRolloutPassNanos) {
        rolloutsDirty = false;
        controller.pass(clock.instant());
        long end = System.nanoTime();
        nextRolloutPassNanos = end + 4 * (end - start);
      }
    }
  }

  /** Pauses or resumes a DaemonSet's rollout; resuming also clears a failure. */
  public void pause(String namespace, String name, boolean paused) {
    synchronized (lock) {
      controller.pause(namespace, name, paused, clock.instant());
    }
  }

  /**
   * Deletes a DaemonSet's pod on its node: the node then gets the DaemonSet's current revision
   * (how OnDelete updates move on). A pod that already runs the current revision is refused.
   */
  public String deletePod(String namespace, String podName) {
    synchronized (lock) {
      return controller.deletePod(namespace, podName, clock.instant());
    }
  }

  // ------------------------------------------------------------------ objects

  /** The outcome of one object of an apply. */
  public record ApplyResult(String kind, String namespace, String name, String action, String note) {}

  public record ApplyOutcome(List<ApplyResult> results, List<String> warnings) {}

  /** Applies manifests all or nothing; see {@link Catalog#apply}. */
  public ApplyOutcome apply(String text, String source, boolean dryRun) {
    var docs = catalog.parse(text, source);
    synchronized (lock) {
      return catalog.apply(docs, dryRun);
    }
  }

  /**
   * Rolls back to an earlier revision's template (0: the one before the current), which becomes a
   * new revision, as `kubectl rollout undo` does.
   */
  public ApplyOutcome undo(String namespace, String name, long toRevision) {
    synchronized (lock) {
      return catalog.apply(catalog.parse(catalog.undoManifest(namespace, name, toRevision), "rollout undo"), false);
    }
  }

  /**
   * Deletes a DaemonSet. With cascade, every node's pod of it is removed; with orphan, the
   * DaemonSet's record goes but agents are told to leave its containers running unmanaged.
   */
  public void deleteDaemonSet(String namespace, String name, boolean cascade) {
    synchronized (lock) {
      catalog.deleteDaemonSet(namespace, name, cascade);
    }
  }

  public void deleteConfig(String kind, String namespace, String name) {
    synchronized (lock) {
      catalog.deleteConfig(kind, namespace, name);
    }
  }

  /** Every node planned again after a change of the catalog, then a rollout pass. */
  private void replanAll() {
    Instant now = clock.instant();
    dispatcher.replanAll(now);
    controller.pass(now);
    notifyChange("*");
  }

  /** A stored ConfigMap or Secret as it travels on the wire (values decoded from base64). */
  public static ConfigObject configObject(StoredObject o) {
    return Dispatcher.configObject(o);
  }

  // ------------------------------------------------------------------ reading

  /** A consistent copy of one node, for views. */
  public record NodeSnapshot(String name, NodeInfo info, Map<String, String> labels, List<Taint> taints,
      Map<String, String> adminLabels, List<Taint> adminTaints, boolean ready, String notReadyReason, boolean unschedulable,
      Instant joinedAt, Instant lastHeartbeat, List<PodStatus> pods, List<PodAssignment> desired,
      Map<String, io.dsfleet.common.match.Placement.Verdict> verdicts) {}

  public record DsSnapshot(String namespace, String name, DaemonSet ds, long generation, long resourceVersion,
      long createdAtMillis, long revision, String hash, DsStatus status, List<StoredRevision> revisions,
      RolloutState rollout, int maxUnavailable, List<String> waitingNotReady) {}

  public List<NodeSnapshot> nodes() {
    synchronized (lock) {
      return state.nodes.values().stream().map(Fleet::snapshot).toList();
    }
  }

  public NodeSnapshot node(String name, boolean mustExist) {
    synchronized (lock) {
      return mustExist ? snapshot(state.node(name)) : state.nodes.containsKey(name) ? snapshot(state.nodes.get(name)) : null;
    }
  }

  private static NodeSnapshot snapshot(NodeEntry n) {
    List<Taint> admin = new ArrayList<>();
    n.adminTaints.values().stream().filter(Objects::nonNull).forEach(admin::add);
    Map<String, String> adminLabels = new TreeMap<>();
    n.adminLabels.forEach((k, v) -> {
      if (v != null) {
        adminLabels.put(k, v);
      }
    });
    return new NodeSnapshot(n.name, n.info, n.effectiveLabels(), n.effectiveTaints(), adminLabels, admin, n.readyForPods(),
        n.notReadyReason(), n.unschedulable, n.joinedAt, n.lastHeartbeat, List.copyOf(n.reported.values()),
        n.plan == null ? List.of() : n.plan.desired(), n.plan == null ? Map.of() : n.plan.verdicts());
  }

  public List<DsSnapshot> daemonSets() {
    synchronized (lock) {
      Instant now = clock.instant();
      return state.daemonSets.keySet().stream().map(k -> dsSnapshot(k, now)).toList();
    }
  }

  public DsSnapshot daemonSet(String namespace, String name) {
    synchronized (lock) {
      state.daemonSet(namespace, name);
      return dsSnapshot(key(namespace, name), clock.instant());
    }
  }

  private DsSnapshot dsSnapshot(String k, Instant now) {
    DsEntry e = state.daemonSets.get(k);
    StoredRevision cur = e.current();
    DsInfo info = new DsInfo(k, e.ds, cur.revision(), cur.hash());
    List<Planner.NodeFacts> facts = new ArrayList<>(state.nodes.size());
    for (NodeEntry n : state.nodes.values()) {
      facts.add(new Planner.NodeFacts(n.plan == null ? null : n.plan.verdicts().get(k), n.observed.get(k)));
    }
    return new DsSnapshot(e.ds.namespace(), e.ds.name(), e.ds, e.stored.generation(), e.stored.resourceVersion(),
        e.stored.createdAtMillis(), cur.revision(), cur.hash(), Planner.status(info, facts, now),
        List.copyOf(e.revisions.values()), e.rollout, e.decision == null ? 0 : e.decision.maxUnavailable(),
        e.decision == null ? List.of() : e.decision.waitingNotReady());
  }

  public List<StoredObject> configs(String kind) {
    synchronized (lock) {
      return state.configs.values().stream().filter(o -> o.kind().equals(kind))
          .sorted(Comparator.comparing(StoredObject::namespace).thenComparing(StoredObject::name)).toList();
    }
  }

  public List<Events.Event> events(String objectKey) {
    return events.of(objectKey);
  }

  /** The session of a node, for log requests; null when not connected. */
  public AgentSink session(String nodeName) {
    synchronized (lock) {
      NodeEntry n = state.nodes.get(nodeName);
      return n == null ? null : n.session;
    }
  }

  /** Called (outside no particular lock order) whenever status may have changed: rollout watchers poll on it. */
  public void addChangeListener(Consumer<String> listener) {
    changeListeners.add(listener);
  }

  private void notifyChange(String what) {
    for (Consumer<String> l : changeListeners) {
      l.accept(what);
    }
  }

  public Clock clock() {
    return clock;
  }

  public FleetOptions options() {
    return options;
  }

  public static String key(String namespace, String name) {
    return FleetState.key(namespace, name);
  }

  /** @throws ControlException INVALID_ARGUMENT unless the name is a valid node name (an RFC 1123 subdomain) */
  public static void requireName(String name) {
    NodeRegistry.requireName(name);
  }
}
