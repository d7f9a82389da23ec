package io.dsfleet.coordinator.fleet;

import io.dsfleet.coordinator.fleet.FleetView.DsSnapshot;
import io.dsfleet.coordinator.fleet.FleetView.NodeSnapshot;
import io.dsfleet.coordinator.store.Store;
import io.dsfleet.coordinator.store.Store.StoredObject;
import io.grpc.Status;
import java.time.Clock;
import java.util.List;
import java.util.function.LongSupplier;

/**
 * The fleet as it is read: what dsctl, the dashboard, kubectl and metrics show (nodes, DaemonSets,
 * configs and events, from a view rebuilt only when the fleet's version moved and read without the
 * lock otherwise), watches of its changes, and what the services ask of a node (a member, connected,
 * its session). Nothing here changes the fleet: {@link Fleet}, the only kind there is, adds the
 * writes, under the lock and on the state held here.
 */
public abstract sealed class FleetReads permits Fleet {
  final Clock clock;
  final LongSupplier nanoTime;
  final FleetOptions options;
  final Events events;
  final Object lock = new Object();
  final FleetState state = new FleetState();
  /** Moves with every change (and every sweep); the view is rebuilt when it moved. */
  final FleetChanges changes = new FleetChanges();
  private volatile FleetView view;

  FleetReads(Store store, Clock clock, LongSupplier nanoTime, FleetOptions options) {
    this.clock = clock;
    this.nanoTime = nanoTime;
    this.options = options;
    this.events = new Events(clock, nanoTime, options.eventsKept(), store);
  }

  /**
   * The fleet as views see it: rebuilt when something changed since the last one (every change
   * and every lease sweep moves the version, so time-dependent counters and heartbeat times are at
   * most a sweep old), read without the lock otherwise. With node snapshots or without
   * ({@link FleetView#build}): a view without them serves the DaemonSets' status and configs.
   */
  private FleetView view(boolean withNodes) {
    FleetView v = view;
    if (v != null && v.version == changes.get() && (v.hasNodes() || !withNodes)) {
      return v;
    }
    synchronized (lock) {
      long current = changes.get();
      v = view;
      if (v == null || v.version != current || (withNodes && !v.hasNodes())) {
        v = FleetView.build(state, current, clock.instant(), nanoTime.getAsLong(), withNodes);
        view = v;
      }
      return v;
    }
  }

  public List<NodeSnapshot> nodes() {
    return view(true).nodes();
  }

  /** Every node's condition and last heartbeat as they are now, read without the lock ({@link FleetView#conditions}). */
  public List<FleetView.NodeCondition> nodeConditions() {
    return FleetView.conditions(state);
  }

  /**
   * Runs {@code watcher} after changes until the handle is closed: soon after each, changes close
   * together once ({@link FleetChanges}); it must not block, and reads what changed through the views.
   *
   * @return what ends the watch
   */
  public Runnable watch(Runnable watcher) {
    return changes.watch(watcher);
  }

  /** No watcher runs any more (this fleet no longer serves). */
  public void stopWatchers() {
    changes.close();
  }

  /** The version the fleet's views have now: it moves with every change and lease sweep (a list's resourceVersion). */
  public long viewVersion() {
    return changes.get();
  }

  /** @throws ControlException NOT_FOUND when the node is unknown and {@code mustExist} */
  public NodeSnapshot node(String name, boolean mustExist) {
    NodeSnapshot n = view(true).node(name);
    if (n == null && mustExist) {
      throw new ControlException(Status.Code.NOT_FOUND, "nodes \"" + name + "\" not found");
    }
    return n;
  }

  public List<DsSnapshot> daemonSets() {
    return view(false).daemonSets();
  }

  /** @throws ControlException NOT_FOUND when there is no such DaemonSet */
  public DsSnapshot daemonSet(String namespace, String name) {
    DsSnapshot d = view(false).daemonSet(namespace, name);
    if (d == null) {
      throw new ControlException(Status.Code.NOT_FOUND, "daemonsets \"" + name + "\" not found in namespace " + namespace);
    }
    return d;
  }

  public List<StoredObject> configs(String kind) {
    return view(false).configs(kind);
  }

  public List<Events.Event> events(String objectKey) {
    return events.of(objectKey);
  }

  /** Every event kept of the objects selected, oldest first, and where a watcher goes on from. */
  public Events.Listing events(java.util.function.Predicate<String> objects) {
    return events.all(objects);
  }

  /** The events of the objects selected recorded after {@code seq} (of a listing or an earlier call). */
  public List<Events.Recorded> eventsAfter(long seq, java.util.function.Predicate<String> objects) {
    return events.after(seq, objects);
  }

  /** The session of a node, for log requests; null when not connected. */
  public AgentSink session(String nodeName) {
    synchronized (lock) {
      NodeEntry n = state.nodes.get(nodeName);
      return n == null ? null : n.session;
    }
  }

  public FleetOptions options() {
    return options;
  }

  /** The monotonic clock leases run on: what else the coordinator times by it agrees with them (and tests drive it). */
  public LongSupplier nanoTime() {
    return nanoTime;
  }

  /** The join token that admitted the node, "" when not known. */
  public String admittedBy(String nodeName) {
    synchronized (lock) {
      return state.node(nodeName).admittedBy;
    }
  }

  /** Whether the node is a member now: read without the lock, as heartbeats read the node table. */
  public boolean member(String nodeName) {
    return state.nodes.containsKey(nodeName);
  }

  /** Whether the node is a member with a session open right now. */
  public boolean connected(String nodeName) {
    synchronized (lock) {
      NodeEntry n = state.nodes.get(nodeName);
      return n != null && n.session != null;
    }
  }
}
