package io.dsfleet.coordinator.grpc;

import io.dsfleet.coordinator.fleet.ControlException;
import io.dsfleet.coordinator.replication.Replica;
import io.dsfleet.coordinator.replication.ReplicationOptions;
import io.dsfleet.coordinator.security.Authority;
import io.dsfleet.proto.v1.AddReplicaRequest;
import io.dsfleet.proto.v1.AddReplicaResponse;
import io.dsfleet.proto.v1.ListReplicasResponse;
import io.dsfleet.proto.v1.ReplicaView;
import io.grpc.Status;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** The control service's replica verbs (`dsctl replica list|add|remove`) over this coordinator's {@link Replica}. */
final class ReplicaAdmin {
  private ReplicaAdmin() {}

  private static Replica require(Replica replica) {
    if (replica == null) {
      throw new ControlException(Status.Code.FAILED_PRECONDITION, "this coordinator runs alone, not as a replica of a"
          + " group (docs/operations.md: coordinator replicas)");
    }
    return replica;
  }

  static ListReplicasResponse list(Replica replica) {
    Replica r = require(replica);
    var commits = r.commitIndices();
    String leader = r.leaderId();
    ListReplicasResponse.Builder b = ListReplicasResponse.newBuilder().setTerm(r.currentTerm())
        .setCommitIndex(commits.getOrDefault(r.id(), 0L));
    for (var p : r.members()) {
      b.addReplicas(ReplicaView.newBuilder().setId(p.id()).setPeerAddress(p.peerAddress()).setCoordinatorAddress(p.coordinatorAddress())
          .setLeader(p.id().equals(leader)).setMatchIndex(commits.getOrDefault(p.id(), 0L)));
    }
    return b.build();
  }

  /** A single-use token for the replica to join with; the leader adds it to the group when it joins. */
  static AddReplicaResponse add(Replica replica, java.util.function.Supplier<Authority> authority, AddReplicaRequest req) {
    require(replica);
    ReplicationOptions.Peer peer;
    try {
      peer = ReplicationOptions.Peer.parse(req.getId() + "," + req.getPeerAddress() + "," + req.getCoordinatorAddress());
    } catch (IllegalArgumentException e) {
      throw new ControlException(Status.Code.INVALID_ARGUMENT, e.getMessage());
    }
    Duration ttl = req.getTtlSeconds() == 0 ? Duration.ofHours(1) : Duration.ofSeconds(req.getTtlSeconds());
    return AddReplicaResponse.newBuilder().setToken(authority.get().createReplicaToken(peer.id(), ttl).text()).build();
  }

  static ListReplicasResponse remove(Replica replica, String id) {
    Replica r = require(replica);
    List<ReplicationOptions.Peer> members = new ArrayList<>(r.members());
    if (!members.removeIf(p -> p.id().equals(id))) {
      throw new ControlException(Status.Code.NOT_FOUND, "replica " + id + " is not a member; the members are "
          + members.stream().map(ReplicationOptions.Peer::id).toList());
    }
    if (members.isEmpty()) {
      throw new ControlException(Status.Code.FAILED_PRECONDITION, "replica " + id + " is the last member");
    }
    r.setMembers(members);
    return list(r);
  }
}
