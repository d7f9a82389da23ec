package io.dsfleet.coordinator.fleet;

import io.dsfleet.common.match.DaemonTolerations;
import io.dsfleet.coordinator.store.Store;
import io.dsfleet.coordinator.store.Store.StoredNode;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node lifecycle, as Kubernetes' node lifecycle controller does it:
 * <ul>
 *   <li>Leases from heartbeats (memory only), on the monotonic clock: a step of the wall clock
 *       never expires a lease. A node whose lease ran out is NotReady at once.
 *   <li>A NotReady node is tainted {@code node.kubernetes.io/unreachable} (NoSchedule and
 *       NoExecute; DaemonSet pods tolerate both, so nothing is evicted), at most
 *       {@link #TAINTS_PER_SWEEP_FRACTION} of the fleet (at least one node) per sweep.
 *   <li>Full disruption: when at least {@link #DISRUPTION_MIN_NODES} nodes and
 *       {@link #DISRUPTION_FRACTION} of the fleet are NotReady at once, the fault is most likely
 *       the coordinator's own or its network's, as Kubernetes assumes beyond its unhealthy-zone
 *       threshold: no node is tainted unreachable (existing such taints are lifted), and no node is
 *       collected, until the fleet is healthy again.
 *   <li>A node whose agent reports its container runtime down is NotReady and tainted
 *       {@code node.kubernetes.io/not-ready} (the agent says so itself: not rate-limited).
 *   <li>A node NotReady for {@code nodeGcAfter} (wall clock: the time survives restarts) is removed.
 *   <li>After a restart the fleet reconnects at once, at whatever rate this host's CPU allows: a
 *       node not yet heard from keeps its lease past the restart grace while others are still
 *       coming back (one within a heartbeat grace), up to three restart graces; so a slow
 *       reconnect storm, the coordinator's own doing, marks no node NotReady, and a node that is
 *       really gone is NotReady once the others stop arriving.
 * </ul>
 * Conditions and taint times are stored with the node, in one transaction per sweep, so
 * {@code timeAdded} survives a restart.
 */
final class NodeLifecycle {
  private static final Logger log = LoggerFactory.getLogger(NodeLifecycle.class);
  static final int DISRUPTION_MIN_NODES = 3;
  static final double DISRUPTION_FRACTION = 0.55;
  static final double TAINTS_PER_SWEEP_FRACTION = 0.1;

  private final FleetState state;
  private final Store store;
  private final FleetOptions options;
  private final Random random;
  private final LongSupplier nanoTime;
  private final Events events;
  private final Dispatcher dispatcher;
  /** Nodes whose condition changed since the last sweep wrote them. */
  private final Set<String> dirty = new LinkedHashSet<>();
  private boolean disrupted;
  /** When a node loaded at the restart was first heard from, latest; and the end of the time such returns extend leases. */
  private volatile long lastReturnNanos;
  private long returnsUntilNanos;

  NodeLifecycle(FleetState state, Store store, FleetOptions options, Random random, LongSupplier nanoTime, Events events,
      Dispatcher dispatcher) {
    this.state = state;
    this.store = store;
    this.options = options;
    this.random = random;
    this.nanoTime = nanoTime;
    this.events = events;
    this.dispatcher = dispatcher;
  }

  /**
   * The coordinator started with these nodes from the store, each given {@code stormMillis} (the
   * fleet's reconnect storm, which grows with its size) and {@code returnMillis} (an agent's
   * longest wait before it tries again, fixed) on top of the lease to reconnect. Returns that go
   * on extend leases up to three times the lease and the storm, plus the wait once.
   */
  void restarted(long stormMillis, long returnMillis) {
    long now = nanoTime.getAsLong();
    lastReturnNanos = now;
    returnsUntilNanos = now + (3 * (options.heartbeatGrace().toMillis() + stormMillis) + returnMillis) * 1_000_000L;
  }

  private void heard(NodeEntry n) {
    if (!n.heardSinceStart) {
      n.heardSinceStart = true;
      lastReturnNanos = nanoTime.getAsLong();
    }
  }

  /** Whether the nodes known at the restart are still coming back: one did within a heartbeat grace, and not for too long. */
  private boolean stillReturning(long nanos) {
    return nanos - lastReturnNanos < options.heartbeatGrace().toNanos() && nanos - returnsUntilNanos < 0;
  }

  /** The node was heard from (a join, a session, a heartbeat): a new lease, Ready again if it was not. */
  boolean alive(NodeEntry n, Instant now) {
    heard(n);
    n.lastHeartbeat = now;
    n.leaseDeadlineNanos = leaseDeadline(0);
    if (n.ready) {
      return false;
    }
    n.ready = true;
    state.statusChanged.add(n.name);
    if (n.runtimeDownSince == null) {
      n.readyAgain(now);
    }
    n.notReadySince = null;
    n.unreachableTaintedAt = null;
    dirty.add(n.name);
    events.record(Events.nodeKey(n.name), "Normal", "NodeReady", "heartbeats resumed");
    log.info("node {} Ready", n.name);
    return true;
  }

  /**
   * A heartbeat's fast path, without the lock: renews the lease of a node that is Ready and whose
   * runtime state the heartbeat does not change. Returns false when the heartbeat needs the locked
   * path ({@link #heartbeat}): an unknown node, a NotReady one, a runtime state change.
   *
   * <p>Against the sweep ({@link #tick}), which runs under the lock: the renewal writes the deadline
   * and then reads {@code ready}; the sweep writes {@code ready = false} and then reads the deadline
   * again, undoing the expiry if it moved. Both fields are volatile, so one of the two sees the
   * other's write: a heartbeat is never lost to a concurrent expiry.
   */
  boolean renew(String nodeName, boolean runtimeDown, String stateWriteError, Instant now) {
    NodeEntry n = state.nodes.get(nodeName);
    if (n == null || runtimeDown != (n.runtimeDownSince != null) || stateWriteError.isEmpty() != n.stateWriteError.isEmpty()) {
      return false;
    }
    heard(n);
    n.lastHeartbeat = now;
    n.leaseDeadlineNanos = leaseDeadline(0);
    return n.ready;
  }

  /**
   * A heartbeat. Returns false when the node is unknown.
   *
   * @param runtimeDown the agent says its container runtime does not answer: the node is NotReady
   *     and tainted {@code node.kubernetes.io/not-ready} until it says otherwise
   * @param stateWriteError why the agent's state directory refuses writes, or "": an event when it changes
   */
  boolean heartbeat(String nodeName, boolean runtimeDown, String message, String stateWriteError, Instant now) {
    String runtimeMessage = AgentText.bounded(message, AgentText.MESSAGE);
    NodeEntry n = state.nodes.get(nodeName);
    if (n == null) {
      return false;
    }
    boolean changed = alive(n, now);
    if (stateWriteError.isEmpty() != n.stateWriteError.isEmpty()) { // the node stays Ready: its pods run, it acts on its sets
      n.stateWriteError = AgentText.bounded(stateWriteError, AgentText.MESSAGE);
      if (n.stateWriteError.isEmpty()) {
        events.recordFromAgent(n.name, Events.AgentKind.CONDITIONS, List.of(Events.nodeKey(n.name)), "Normal", "StateWritten", "the agent's state directory takes writes again");
      } else if (events.recordFromAgent(n.name, Events.AgentKind.CONDITIONS, List.of(Events.nodeKey(n.name)), "Warning", "StateNotWritten", "the agent's state directory"
          + " refuses writes (a full or failing disk): " + n.stateWriteError + "; it acts on its sets and writes them again every 5 s")) {
        log.warn("node {}: its agent's state directory refuses writes: {}", n.name, n.stateWriteError);
      }
    }
    if (runtimeDown != (n.runtimeDownSince != null)) {
      n.runtimeDownSince = runtimeDown ? now : null;
      if (!runtimeDown && n.ready) {
        n.readyAgain(now);
      }
      state.statusChanged.add(n.name);
      n.runtimeMessage = runtimeDown ? runtimeMessage : "";
      dirty.add(n.name);
      if (runtimeDown) {
        if (events.recordFromAgent(n.name, Events.AgentKind.CONDITIONS, List.of(Events.nodeKey(n.name)), "Warning", "NodeNotReady", "container runtime unavailable: "
            + runtimeMessage + "; tainted " + DaemonTolerations.NOT_READY)) {
          log.warn("node {} NotReady: its container runtime is unavailable: {}", n.name, runtimeMessage);
        }
      } else if (events.recordFromAgent(n.name, Events.AgentKind.CONDITIONS, List.of(Events.nodeKey(n.name)), "Normal", "NodeReady", "container runtime available again")) {
        log.info("node {} Ready: its container runtime is back", n.name);
      }
      changed = true;
    }
    if (changed) {
      dispatcher.replanAndPush(n, now);
    }
    return true;
  }

  /**
   * One sweep: expires leases, taints within the rate and outside a disruption, writes what
   * changed; returns the nodes NotReady for longer than {@code nodeGcAfter}, to be removed.
   * Nodes whose toleration time ran out are planned again.
   */
  List<String> tick(Instant now) {
    long nanos = nanoTime.getAsLong();
    int notReady = 0;
    for (NodeEntry n : state.nodes.values()) {
      if (n.ready && nanos - n.leaseDeadlineNanos > 0) {
        if (!n.heardSinceStart && stillReturning(nanos)) {
          continue; // the fleet is still reconnecting after this coordinator's restart
        }
        n.ready = false;
        if (nanos - n.leaseDeadlineNanos <= 0) { // a heartbeat renewed it meanwhile (see renew)
          n.ready = true;
          continue;
        }
        state.statusChanged.add(n.name);
        n.notReadySince = now;
        n.notReadySinceNanos = nanos;
        dirty.add(n.name);
        events.record(Events.nodeKey(n.name), "Warning", "NodeNotReady", "no heartbeat since " + n.lastHeartbeat);
        log.warn("node {} NotReady: no heartbeat since {}", n.name, n.lastHeartbeat);
        dispatcher.replanAndPush(n, now);
      }
      if (!n.ready) {
        notReady++;
      }
    }
    boolean nowDisrupted = notReady >= DISRUPTION_MIN_NODES && notReady >= DISRUPTION_FRACTION * state.nodes.size();
    if (nowDisrupted != disrupted) {
      disrupted = nowDisrupted;
      if (disrupted) {
        log.warn("{} of {} nodes are NotReady at once: assuming the fault is the coordinator's or its network's; "
            + "no unreachable taints and no node collection until most nodes are back", notReady, state.nodes.size());
      } else {
        log.info("most nodes are Ready again ({} of {} NotReady): unreachable taints and node collection resume", notReady,
            state.nodes.size());
      }
    }
    int taintBudget = Math.max(1, (int) Math.ceil(TAINTS_PER_SWEEP_FRACTION * state.nodes.size()));
    List<String> collect = new ArrayList<>();
    for (NodeEntry n : state.nodes.values()) {
      // a toleration's time ran out (or a surge's new pod became available): Ready or not, as the taint manager evicts
      // from a node down too (before helper-188 a node down kept such a pod in its plan until it came back)
      if (n.nextEvaluation != null && !now.isBefore(n.nextEvaluation)) {
        dispatcher.replanAndPush(n, now);
      }
      if (n.ready) {
        continue;
      }
      if (disrupted && n.unreachableTaintedAt != null) {
        n.unreachableTaintedAt = null;
        dirty.add(n.name);
        dispatcher.replanAndPush(n, now);
      } else if (!disrupted && n.unreachableTaintedAt == null && taintBudget > 0) {
        taintBudget--;
        n.unreachableTaintedAt = now;
        dirty.add(n.name);
        events.record(Events.nodeKey(n.name), "Warning", "NodeTainted", "tainted " + DaemonTolerations.UNREACHABLE);
        dispatcher.replanAndPush(n, now);
      }
      // NotReady for nodeGcAfter on the monotonic clock (a wall clock stepped ahead collected every NotReady node at once);
      // a node NotReady since before this coordinator started has the window every node has to come back first
      if (!disrupted && nanos - n.notReadySinceNanos >= options.nodeGcAfter().toNanos() && (n.heardSinceStart || !stillReturning(nanos))) {
        collect.add(n.name);
      }
    }
    flush();
    return collect;
  }

  /** Whether most of the fleet is NotReady at once (see the class comment). */
  boolean disrupted() {
    return disrupted;
  }

  /** Writes the nodes whose condition changed, in one transaction; on failure they are written at the next sweep. */
  void flush() {
    if (dirty.isEmpty()) {
      return;
    }
    List<StoredNode> rows = new ArrayList<>();
    for (String name : dirty) {
      NodeEntry n = state.nodes.get(name);
      if (n != null) {
        rows.add(n.stored());
      }
    }
    try {
      store.putNodes(rows);
      dirty.clear();
      if (flushFailures > 0) {
        log.info("the condition of {} nodes written, after {} failed tries", rows.size(), flushFailures);
        flushFailures = 0;
      }
    } catch (RuntimeException e) {
      // tried again at every sweep (about a second): the first failure with its trace, then a line a minute, not a
      // stack trace a second into the log of a coordinator whose disk is full (helper-94)
      long now = nanoTime.getAsLong();
      if (flushFailures++ == 0) {
        log.error("writing the condition of {} nodes failed; trying again at each sweep", rows.size(), e);
        flushFailureSaid = now;
      } else if (now - flushFailureSaid >= FLUSH_FAILURE_EVERY_NANOS) {
        log.error("writing the condition of {} nodes failed {} times in a row, lately: {}", rows.size(), flushFailures, e.getMessage());
        flushFailureSaid = now;
      }
    }
  }

  /** How often a write of conditions that keeps failing is logged again. */
  private static final long FLUSH_FAILURE_EVERY_NANOS = 60_000_000_000L;
  /** Failed writes of conditions in a row, and when the last was logged (nanoTime). */
  private int flushFailures;
  private long flushFailureSaid;

  /** The node's row holds grants it no longer needs, or could not be written with a new one: written with the next sweep's. */
  void grantsChanged(NodeEntry n) {
    dirty.add(n.name);
  }

  /** This node's condition is written by the registry (with the operator's change): nothing left to write here. */
  void written(String nodeName) {
    dirty.remove(nodeName);
  }

  /** A lease from now, plus {@code extraMillis}, with jitter. */
  long leaseDeadline(long extraMillis) {
    long graceMillis = options.heartbeatGrace().toMillis();
    long jitter = (long) (graceMillis * options.leaseJitter() * random.nextDouble());
    return nanoTime.getAsLong() + (graceMillis + jitter + extraMillis) * 1_000_000L;
  }
}
