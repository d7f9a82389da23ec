package io.dsfleet.coordinator.fleet;

import io.dsfleet.common.match.DaemonTolerations;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node lifecycle, as Kubernetes' node lifecycle controller: leases from heartbeats (memory
 * only); a node whose lease ran out is NotReady and tainted {@code node.kubernetes.io/unreachable};
 * a node whose agent reports its container runtime down is NotReady and tainted
 * {@code node.kubernetes.io/not-ready}; a node NotReady for {@code nodeGcAfter} is removed.
 */
final class NodeLifecycle {
  private static final Logger log = LoggerFactory.getLogger(NodeLifecycle.class);

  private final FleetState state;
  private final FleetOptions options;
  private final Random random;
  private final Events events;
  private final Dispatcher dispatcher;
  private final Consumer<String> notify;

  NodeLifecycle(FleetState state, FleetOptions options, Random random, Events events, Dispatcher dispatcher, Consumer<String> notify) {
    this.state = state;
    this.options = options;
    this.random = random;
    this.events = events;
    this.dispatcher = dispatcher;
    this.notify = notify;
  }

  /** The node was heard from (a join, a session, a heartbeat): a new lease, Ready again if it was not. */
  boolean alive(NodeEntry n, Instant now) {
    n.lastHeartbeat = now;
    n.leaseExpiry = lease(now);
    if (n.ready) {
      return false;
    }
    n.ready = true;
    n.notReadySince = null;
    events.record(Events.nodeKey(n.name), "Normal", "NodeReady", "heartbeats resumed");
    log.info("node {} Ready", n.name);
    notify.accept(n.name);
    return true;
  }

  /**
   * A heartbeat. Returns false when the node is unknown.
   *
   * @param runtimeDown the agent says its container runtime does not answer: the node is NotReady
   *     and tainted {@code node.kubernetes.io/not-ready} until it says otherwise
   */
  boolean heartbeat(String nodeName, boolean runtimeDown, String runtimeMessage, Instant now) {
    NodeEntry n = state.nodes.get(nodeName);
    if (n == null) {
      return false;
    }
    boolean changed = alive(n, now);
    if (runtimeDown != (n.runtimeDownSince != null)) {
      n.runtimeDownSince = runtimeDown ? now : null;
      n.runtimeMessage = runtimeDown ? runtimeMessage : "";
      if (runtimeDown) {
        events.record(Events.nodeKey(n.name), "Warning", "NodeNotReady", "container runtime unavailable: " + runtimeMessage
            + "; tainted " + DaemonTolerations.NOT_READY);
        log.warn("node {} NotReady: its container runtime is unavailable: {}", n.name, runtimeMessage);
      } else {
        events.record(Events.nodeKey(n.name), "Normal", "NodeReady", "container runtime available again");
        log.info("node {} Ready: its container runtime is back", n.name);
      }
      changed = true;
    }
    if (changed) {
      dispatcher.replanAndPush(n, now);
      notify.accept(n.name);
    }
    return true;
  }

  /**
   * Expires leases; returns the nodes NotReady for longer than {@code nodeGcAfter}, to be removed.
   * Nodes whose toleration time ran out are planned again.
   */
  List<String> tick(Instant now) {
    List<String> collect = new ArrayList<>();
    for (NodeEntry n : state.nodes.values()) {
      if (n.ready && now.isAfter(n.leaseExpiry)) {
        n.ready = false;
        n.notReadySince = now;
        events.record(Events.nodeKey(n.name), "Warning", "NodeNotReady",
            "no heartbeat since " + n.lastHeartbeat + "; tainted " + DaemonTolerations.UNREACHABLE);
        log.warn("node {} NotReady: no heartbeat since {}", n.name, n.lastHeartbeat);
        dispatcher.replanAndPush(n, now);
        notify.accept(n.name);
      } else if (!n.ready && !now.isBefore(n.notReadySince.plus(options.nodeGcAfter()))) {
        collect.add(n.name);
      } else if (n.nextEvaluation != null && !now.isBefore(n.nextEvaluation)) {
        dispatcher.replanAndPush(n, now);
      }
    }
    return collect;
  }

  Instant lease(Instant now) {
    long graceMillis = options.heartbeatGrace().toMillis();
    long jitter = (long) (graceMillis * options.leaseJitter() * random.nextDouble());
    return now.plusMillis(graceMillis + jitter);
  }
}
