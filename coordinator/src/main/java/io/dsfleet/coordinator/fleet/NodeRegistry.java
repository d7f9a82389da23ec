package io.dsfleet.coordinator.fleet;

import io.dsfleet.coordinator.metrics.CoordinatorMetrics;
import io.dsfleet.coordinator.plan.PodAssignment;
import io.dsfleet.coordinator.store.Store;
import io.dsfleet.proto.v1.CoordinatorMessage;
import io.dsfleet.proto.v1.NodeInfo;
import io.dsfleet.proto.v1.Removed;
import io.grpc.Status;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node registry: joins and sessions, leaving and removal (what an operator sets on a node,
 * labels, taints, cordon, is {@link NodeSettings}'s). A node's durable fields are written before
 * memory changes; a refused write changes nothing ({@link NodeWrites}).
 */
final class NodeRegistry {
  private static final Logger log = LoggerFactory.getLogger(NodeRegistry.class);

  private final FleetState state;
  private final Store store;
  private final Clock clock;
  private final Events events;
  private final Dispatcher dispatcher;
  private final NodeLifecycle lifecycle;
  private final NodeWrites writes;

  NodeRegistry(FleetState state, Store store, Clock clock, Events events, Dispatcher dispatcher, NodeLifecycle lifecycle,
      NodeWrites writes) {
    this.state = state;
    this.store = store;
    this.clock = clock;
    this.events = events;
    this.dispatcher = dispatcher;
    this.lifecycle = lifecycle;
    this.writes = writes;
  }

  /**
   * A node admitted by join token ({@code member}: an admin's token for this name replaces a
   * member, or {@code sameAgent}: the member's own agent, whose first answer was lost). The labels, taints, OS and architecture it reports now are the ones scheduling uses
   * from here on ({@link #join}); its leave secret is set once. A member re-admitted by its own
   * agent ({@code ownAgent}: the join showed the member's leave secret; its certificates lapsed, or
   * its first answer was lost) is the same host: it keeps the labels, taints, OS and architecture
   * it was admitted with and what it was granted, as a join with its certificate does, and as a
   * kubelet bootstrapping again keeps its Node. Until 2026-12-06 that admission took what the agent
   * reported, and root on a node whose certificates had lapsed moved it into another pool with any
   * join token, and lost the Secrets of the pods it kept after an admin's taint.
   */
  void admitted(NodeInfo sent, String leaveSecretSha256, Store.TokenUse token, boolean member, boolean sameAgent,
      boolean ownAgent) {
    NodeInfo reported = NodeInfoRules.known(sent);
    String tokenId = token.tokenId();
    java.util.function.Consumer<NodeEntry> write = token.uses() > 0 ? e -> store.admitNode(e.stored(), token) : e -> store.putNode(e.stored());
    Instant now = clock.instant();
    NodeEntry n = state.nodes.get(reported.getName());
    boolean sameHost = member && ownAgent;
    NodeInfo info = sameHost ? restricted(n, reported) : NodeInfoRules.stamped(reported, now, n == null ? NodeInfo.getDefaultInstance() : n.info);
    if (member) {
      NodeEntry existing = n;
      writes.persist(existing, write, () -> {
        existing.info = info;
        existing.leaveSecretSha256 = leaveSecretSha256;
        existing.admittedBy = tokenId;
        existing.readmitsBySecret = true;
        if (!sameHost) {
          existing.sentWithTemplate.clear(); // what the replaced node was sent is not this one's
          existing.heldGrants.clear();
        }
      });
      if (existing.session != null) {
        existing.session.close(); // the replaced node's certificate is revoked; its session ends here
        existing.session = null;
      }
    } else {
      n = new NodeEntry(info.getName(), info, now);
      n.leaveSecretSha256 = leaveSecretSha256;
      n.admittedBy = tokenId;
      n.readmitsBySecret = true;
      try {
        releasedBefore(n); // before the write: the write is the admission's first, so a refused one means nothing was registered
      } catch (io.dsfleet.coordinator.store.StoreException e) {
        // nothing written: told as a refused write, so the token's use counted for it is given back
        // (before 2026-12-06 it stayed counted, and a single-use token refused the agent's retry until a restart)
        throw new ControlException(Status.Code.UNAVAILABLE, "the store refused a read, nothing changed: " + e.getMessage(), true);
      }
      writes.persist(n, write, () -> { });
      state.nodes.put(n.name, n);
      CoordinatorMetrics.NODE_JOINS.inc();
    }
    events.record(Events.nodeKey(n.name), "Normal", member ? "Readmitted" : "Admitted", "node admitted with join token " + tokenId
        + (sameAgent ? " again: the agent it was admitted as (it holds the leave secret), whose earlier answer was lost" : "")
        + " (agent " + info.getAgentVersion() + ")");
    lifecycle.alive(n, now);
    dispatcher.replanAndPush(n, now);
  }

  /** A new entry's released pods from when the name was a member before (rows outlive a removal), as a restart loads them. */
  private void releasedBefore(NodeEntry n) {
    n.orphans.addAll(store.orphans(n.name));
  }

  /**
   * What the member reports, with the labels, taints, OS and architecture it was admitted with
   * (what scheduling reads: Kubernetes' NodeRestriction); a difference is ignored with a Warning
   * event, within the node's budget (an agent calling Join in a loop, with other labels each time,
   * must not flood the events or the log).
   */
  private NodeInfo restricted(NodeEntry n, NodeInfo reported) {
    NodeInfo admitted = n.info;
    NodeInfo info = reported.toBuilder().clearLabels().putAllLabels(admitted.getLabelsMap()).clearTaints()
        .addAllTaints(admitted.getTaintsList()).setOs(admitted.getOs()).setArch(admitted.getArch()).build();
    // the taints' times are the coordinator's
    if (!NodeInfoRules.stamped(info, Instant.EPOCH).equals(NodeInfoRules.stamped(reported, Instant.EPOCH))
        && events.recordFromAgent(n.name, Events.AgentKind.JOINS, List.of(Events.nodeKey(n.name)), "Warning", "NodeRestricted",
        "the agent reports labels, taints, OS or architecture other than those it was admitted with; ignored (an admin changes"
        + " them with dsctl label/taint)")) {
      log.warn("security: node {} reported labels/taints/os/arch other than those it was admitted with; ignored", n.name);
    }
    return info;
  }

  /**
   * A node re-joins with its own certificate (or anything joins on an insecure coordinator). What
   * scheduling reads (labels, taints, OS, architecture) stays as admitted: a node cannot move
   * itself into other DaemonSets' pools and receive their Secrets (Kubernetes' NodeRestriction);
   * a change is ignored with a Warning event and made with dsctl. The agent version and addresses
   * are taken.
   *
   * @param register whether a name that is not a member is registered as it reports itself (an
   *     insecure coordinator); with certificates it is refused: a node that was removed, left or
   *     was collected comes back through admission (a join token), never on an old certificate
   */
  void join(NodeInfo sent, String leaveSecretSha256, boolean register) {
    NodeInfo reported = NodeInfoRules.known(sent);
    NodeInfoRules.requireAdmissible(reported);
    Instant now = clock.instant();
    NodeEntry n = state.nodes.get(reported.getName());
    boolean isNew = n == null;
    if (isNew) {
      if (!register) {
        throw new ControlException(Status.Code.UNAUTHENTICATED, "node " + reported.getName() + " is not a member of the fleet"
            + " (removed, left, or collected after being NotReady too long): its certificate no longer admits it; join with a"
            + " join token");
      }
      n = new NodeEntry(reported.getName(), NodeInfoRules.stamped(reported, now), now);
      n.leaveSecretSha256 = leaveSecretSha256;
      writes.persist(n, () -> { });
      releasedBefore(n);
      state.nodes.put(n.name, n);
      CoordinatorMetrics.NODE_JOINS.inc();
    } else {
      NodeInfo info = restricted(n, reported);
      NodeEntry existing = n;
      boolean firstSecret = existing.leaveSecretSha256.isEmpty() && !leaveSecretSha256.isEmpty();
      if (!existing.info.equals(info) || firstSecret || existing.readmitsBySecret) {
        writes.persist(existing, () -> {
          existing.info = info;
          existing.readmitsBySecret = false; // its certificate reached it
          if (firstSecret) { // a node admitted before leave secrets existed: its first one is kept, never replaced
            existing.leaveSecretSha256 = leaveSecretSha256;
          }
        });
      }
    }
    lifecycle.alive(n, now);
    events.recordFromAgent(n.name, Events.AgentKind.JOINS, List.of(Events.nodeKey(n.name)), "Normal", isNew ? "Joined" : "Rejoined",
        "node joined with agent " + reported.getAgentVersion());
    dispatcher.replanAndPush(n, now);
  }

  /**
   * Opens a node's session: attaches the sink, marks the node alive, sends its full desired set
   * once the node has said what it runs, unless its agent holds that set ({@link Dispatcher#push}).
   *
   * @param held what the agent said it holds: the set of this digest (null: none), at {@code heldVersion}
   * @throws ControlException NOT_FOUND when the node is unknown (the agent must join again)
   */
  void openSession(String nodeName, AgentSink sink, String held, long heldVersion) {
    NodeEntry n = state.nodes.get(nodeName);
    if (n == null) {
      throw new ControlException(Status.Code.NOT_FOUND, "node " + nodeName + " is not a member; join first");
    }
    if (n.session != null && n.session != sink) {
      n.session.close();
    }
    if (n.readmitsBySecret) { // the certificate of its admission reached the agent: the answer was not lost
      writes.persist(n, () -> n.readmitsBySecret = false);
    }
    n.session = sink;
    lifecycle.alive(n, clock.instant());
    n.sentFingerprint = null; // the full set on open, once the node has said what it runs, unless the agent holds it
    n.heldDigest = held;
    n.heldVersion = heldVersion;
    n.awaitingReport = true;
  }

  /** An admin revoked the node's certificates: its leave secret no longer admits it again by token. */
  void revokedByAdmin(String nodeName) {
    NodeEntry n = state.nodes.get(nodeName);
    if (n != null && n.readmitsBySecret) {
      writes.persist(n, () -> n.readmitsBySecret = false);
    }
  }

  /** The grants the node needs changed (Dispatcher): written now; at the next sweep if the store refuses. */
  void writeGrants(NodeEntry n) {
    try {
      writes.persist(n, () -> { });
    } catch (ControlException e) {
      lifecycle.grantsChanged(n);
    }
  }

  /** Detaches a session that ended; the node stays Ready until its lease runs out. */
  void sessionClosed(String nodeName, AgentSink sink) {
    NodeEntry n = state.nodes.get(nodeName);
    if (n != null && n.session == sink) {
      n.session = null;
    }
  }

  /**
   * The agent leaves: it must present the leave secret whose hash it gave at admission, so a copied
   * node certificate alone cannot remove the node (and make the real agent remove its pods). A
   * node that never gave one (admitted before leave secrets) leaves with its certificate.
   *
   * @param presentedSha256 hex SHA-256 of the secret the caller presented
   */
  void leave(String nodeName, String presentedSha256, Runnable revoke) {
    requireLeaveSecret(nodeName, presentedSha256); // again under the lock: an admission since may have changed the hash
    revoke.run();
    remove(nodeName, "the agent left");
    CoordinatorMetrics.NODE_REMOVALS.labelValues("left").inc();
  }


  /** The hash of no leave secret (an empty one). */
  private static final String NO_SECRET = io.dsfleet.common.Sha256.hex("");

  /**
   * Refuses a leave of a node that is no member (NOT_FOUND) or without its leave secret
   * (PERMISSION_DENIED; an event within the node's budget of JOINS). Safe without the fleet's lock
   * (the node table and the hash are read as heartbeats read them), so {@link Fleet#leave} refuses
   * a wrong secret before taking it.
   */
  void requireLeaveSecret(String nodeName, String presentedSha256) {
    NodeEntry n = state.nodes.get(nodeName);
    if (n == null) {
      throw new ControlException(Status.Code.NOT_FOUND, "node " + nodeName + " is not a member");
    }
    String kept = n.leaveSecretSha256;
    if (!kept.isEmpty() && !java.security.MessageDigest.isEqual(presentedSha256.getBytes(java.nio.charset.StandardCharsets.US_ASCII),
        kept.getBytes(java.nio.charset.StandardCharsets.US_ASCII))) {
      if (events.recordFromAgent(nodeName, Events.AgentKind.JOINS, List.of(Events.nodeKey(nodeName)), "Warning", "LeaveRefused",
          "a leave without the node's leave secret was refused")) { // within the node's budget: a copied certificate may loop
        log.warn("security: leave for node {} refused: {} leave secret", nodeName,
            presentedSha256.equals(NO_SECRET) ? "no" : "wrong");
      }
      throw new ControlException(Status.Code.PERMISSION_DENIED, "leaving needs node " + nodeName + "'s leave secret (kept in"
          + " the agent's state directory); a node certificate alone cannot remove the node. An admin removes it with"
          + " dsctl node rm " + nodeName);
    }
  }

  void removeNode(String nodeName) {
    state.node(nodeName);
    remove(nodeName, "removed with dsctl node rm");
    CoordinatorMetrics.NODE_REMOVALS.labelValues("removed").inc();
  }

  void remove(String nodeName, String reason) {
    store.deleteNode(nodeName);
    NodeEntry n = state.nodes.remove(nodeName);
    state.podNames.forgetNode(nodeName);
    // what a rollout holds for the node until it reports or a time runs out: only a pass's look at the node forgot it,
    // and a removed node's kept DaemonSetController.timeMoves true, a pass at every lease sweep (before helper-188)
    state.daemonSets.values().forEach(e -> {
      e.unsureReports.remove(nodeName);
      e.adopted.remove(nodeName);
    });
    if (n.session != null) {
      n.session.send(CoordinatorMessage.newBuilder().setRemoved(Removed.newBuilder().setReason(reason)).build());
      n.session.close();
    }
    for (PodAssignment p : n.plan == null ? List.<PodAssignment>of() : n.plan.desired()) {
      events.record("ds/" + p.dsKey(), "Normal", "PodRemoved", "pod " + p.podName() + " removed: node " + nodeName + " " + reason);
    }
    events.forget(Events.nodeKey(nodeName));
    log.info("node {} removed: {}", nodeName, reason);
  }
}
