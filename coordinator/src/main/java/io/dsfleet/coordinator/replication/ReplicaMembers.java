package io.dsfleet.coordinator.replication;

import io.dsfleet.coordinator.store.StoreException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.apache.ratis.protocol.ClientId;
import org.apache.ratis.protocol.LeaderElectionManagementRequest;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.protocol.SetConfigurationRequest;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.util.LifeCycle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@link Replica}'s group membership: the configuration it starts in (a group of one, none for a
 * joining replica, or the one its log holds), the group's members and their changes (join, add,
 * remove), and its elections paused while its configuration does not list it. Logs under
 * Replica's name, as before it was a class of its own.
 */
final class ReplicaMembers {
  private static final Logger log = LoggerFactory.getLogger(Replica.class);
  private final String id;
  private final RaftPeerId self;
  private final RaftGroupId groupId;
  private final ClientId clientId;
  /**
   * Replica's own counter, not one of this class: its writes use the same client id, and Ratis's
   * retry cache keys a reply on (client id, call id), so a configuration change must not reuse a
   * write's call id (a leader not ready yet answers a cached one with that write's reply).
   */
  private final AtomicLong callIds;
  private final RaftServer server;
  private final Supplier<RaftServer.Division> division;
  private final Consumer<String> fail;

  ReplicaMembers(String id, RaftPeerId self, RaftGroupId groupId, ClientId clientId, AtomicLong callIds, RaftServer server,
      Supplier<RaftServer.Division> division, Consumer<String> fail) {
    this.id = id;
    this.self = self;
    this.groupId = groupId;
    this.clientId = clientId;
    this.callIds = callIds;
    this.server = server;
    this.division = division;
    this.fail = fail;
  }

  /** The group this replica starts in, from its options and whether {@code dataDir} holds a Raft log yet. */
  static RaftGroup initialGroup(ReplicationOptions options, Path dataDir, String groupKey) {
    List<RaftPeer> peers = new ArrayList<>();
    boolean fresh = !java.nio.file.Files.exists(dataDir.resolve("raft"));
    // A group's first replica starts as a group of one. Every later member (a fresh store from
    // `ds-coordinator join`) starts with no configuration at all, so it cannot campaign (Raft
    // shuts down a candidate that is not in the configuration) before the leader adds it; from
    // then on the configuration comes from the log. A replica with a log uses the one it holds.
    if (options.bootstrap() && fresh) {
      peers.add(peer(options.self()));
    } else if (!fresh) {
      for (ReplicationOptions.Peer p : options.peers()) {
        peers.add(peer(p));
      }
    }
    return RaftGroup.valueOf(groupId(groupKey), peers);
  }

  static RaftGroupId groupId(String groupKey) {
    return RaftGroupId.valueOf(UUID.nameUUIDFromBytes(("dsfleet coordinators " + groupKey).getBytes(StandardCharsets.UTF_8)));
  }

  static RaftPeer peer(ReplicationOptions.Peer p) {
    return RaftPeer.newBuilder().setId(p.id()).setAddress(p.peerAddress()).setClientAddress(p.coordinatorAddress()).build();
  }

  /** Whether this replica's elections are paused (touched on Replica's transitions thread only). */
  private boolean electionsPaused;

  /**
   * Raft closes a replica that stands for election in a configuration that does not list it. One
   * catching up after a join holds such a configuration (none yet, or its own removal, from the
   * log) until the leader's entries bring the one that adds it, and one removed while it runs holds
   * one for good: while its configuration does not list it, this replica's elections are paused
   * (it could not win one anyway), and resumed once it does. Raft takes the request only from a
   * running division: a joining replica's starts running with the leader's first append after it
   * caught up, at least an election timeout before it could stand (Replica's checkRole runs this
   * check every 200 ms, on its transitions thread).
   */
  void standForElectionOnlyWhenListed() {
    RaftServer.Division d;
    try {
      d = division.get();
    } catch (StoreException e) {
      return;
    }
    if (d.getInfo().getLifeCycleState() != LifeCycle.State.RUNNING) {
      return;
    }
    boolean listed = d.getRaftConf().getCurrentPeers().stream().anyMatch(p -> p.getId().equals(self));
    if (listed != electionsPaused) {
      return; // listed and standing, or unlisted and paused
    }
    long call = callIds.incrementAndGet();
    try {
      RaftClientReply reply = server.leaderElectionManagement(listed
          ? LeaderElectionManagementRequest.newResume(clientId, self, groupId, call)
          : LeaderElectionManagementRequest.newPause(clientId, self, groupId, call));
      if (!reply.isSuccess()) {
        log.warn("replica {}: {} its elections was refused: {}", id, listed ? "resuming" : "pausing", reply.getException());
        return;
      }
      electionsPaused = !listed;
      log.info("replica {}: {}", id, listed ? "its configuration lists it again: it stands for election again"
          : "its configuration does not list it (joining, or removed): it does not stand for election until one does");
      if (listed && d.getInfo().isCandidate()) {
        // its election timed out while paused: Raft made it a candidate and ran no election, and only
        // a leader's append or another candidate's request would make it a follower again
        fail.accept("a candidate whose election was skipped while paused");
      }
    } catch (IOException e) {
      log.warn("replica {}: {} its elections failed: {}", id, listed ? "resuming" : "pausing", e.toString());
    }
  }

  /** The commit index each member reported to this replica (the leader knows all of them), by id. */
  java.util.Map<String, Long> commitIndices() {
    java.util.Map<String, Long> out = new java.util.TreeMap<>();
    for (var info : division.get().getCommitInfos()) {
      out.put(info.getServer().getId().toStringUtf8(), info.getCommitIndex());
    }
    return out;
  }

  /** The group's members as this replica's configuration lists them. */
  List<ReplicationOptions.Peer> members() {
    List<ReplicationOptions.Peer> out = new ArrayList<>();
    for (RaftPeer p : division.get().getRaftConf().getCurrentPeers()) {
      out.add(new ReplicationOptions.Peer(p.getId().toString(), p.getAddress(), p.getClientAddress()));
    }
    out.sort(java.util.Comparator.comparing(ReplicationOptions.Peer::id));
    return out;
  }

  private final Object membership = new Object();

  /**
   * Changes the group's members from what they are now (the leader only), one change at a time:
   * two joins at once each read the members and then set them, and without this the second could
   * set a list read before the first committed, dropping the first's new member. Blocks while Raft
   * brings a new member up to date (see {@link #configure}).
   */
  List<ReplicationOptions.Peer> changeMembers(java.util.function.UnaryOperator<List<ReplicationOptions.Peer>> change) {
    synchronized (membership) {
      List<ReplicationOptions.Peer> now = members();
      List<ReplicationOptions.Peer> next = change.apply(new ArrayList<>(now));
      if (!new java.util.HashSet<>(next).equals(new java.util.HashSet<>(now))) { // no change: no Raft call
        configure(next);
      }
      return next;
    }
  }

  /**
   * Raft's configuration change: a new member is added once it caught up with the log (a
   * snapshot, then entries), and the new configuration is committed on both majorities.
   */
  private void configure(List<ReplicationOptions.Peer> members) {
    List<RaftPeer> peers = members.stream().map(ReplicaMembers::peer).toList();
    try {
      RaftClientReply reply = server.setConfiguration(new SetConfigurationRequest(clientId, self, groupId,
          callIds.incrementAndGet(), peers));
      if (reply.getException() instanceof org.apache.ratis.protocol.exceptions.ReconfigurationTimeoutException e) {
        throw new MemberNotAnswering(RaftSettings.STAGING_TIMEOUT, e);
      }
      if (!reply.isSuccess()) {
        throw new StoreException("changing the members failed: " + reply.getException(), reply.getException());
      }
    } catch (org.apache.ratis.protocol.exceptions.ReconfigurationTimeoutException e) {
      // a new member did not answer for the staging timeout (Raft's LeaderStateImpl.checkProgress, NOPROGRESS)
      throw new MemberNotAnswering(RaftSettings.STAGING_TIMEOUT, e);
    } catch (IOException e) {
      throw new StoreException("changing the members failed: " + e.getMessage(), e);
    }
  }
}
