package io.dsfleet.coordinator.grpc;

import io.dsfleet.common.tls.Pki;
import io.dsfleet.coordinator.fleet.ControlException;
import io.dsfleet.coordinator.fleet.Fleet;
import io.dsfleet.coordinator.security.Authority;
import io.dsfleet.coordinator.security.Caller;
import io.dsfleet.proto.v1.*;
import io.grpc.Status;
import java.time.Duration;
import java.util.function.Supplier;

/**
 * dsctl's administration of the coordinator itself ({@link ControlServiceImpl}'s calls for it): the
 * group's replicas, join tokens, credentials and dashboard logins. A refusal is a {@link
 * ControlException} the service answers with: a coordinator that runs alone has no replicas, an
 * insecure one no tokens or credentials, one without a dashboard no logins.
 */
final class ControlAdmin {
  private final Fleet fleet;
  private final Authority authority;
  private final io.dsfleet.coordinator.replication.Replica replica;
  private final ReplicaAdds adds;
  private final io.dsfleet.coordinator.dashboard.Logins logins;
  private final Supplier<String> dashboardUrl;

  /**
   * @param authority null on an insecure coordinator (no tokens, no certificates)
   * @param replica this coordinator as a replica of a group; null for a single coordinator
   * @param adds the replica's adds of replicas that joined; null for a single coordinator
   * @param logins the dashboard's logins; null: no dashboard
   * @param dashboardUrl where the dashboard serves ("": it does not)
   */
  ControlAdmin(Fleet fleet, Authority authority, io.dsfleet.coordinator.replication.Replica replica, ReplicaAdds adds,
      io.dsfleet.coordinator.dashboard.Logins logins, Supplier<String> dashboardUrl) {
    this.fleet = fleet;
    this.authority = authority;
    this.replica = replica;
    this.adds = adds;
    this.logins = logins;
    this.dashboardUrl = dashboardUrl;
  }

  /** `dsctl dashboard`: a login for the caller's credential, as a URL that opens the dashboard. */
  DashboardLoginResponse dashboardLogin(DashboardLoginRequest req) {
    String base = dashboardUrl.get();
    if (logins == null || base.isEmpty()) {
      throw new ControlException(Status.Code.FAILED_PRECONDITION, "this coordinator serves no dashboard (dashboardListen is off)");
    }
    java.time.Duration ttl = req.getTtlSeconds() == 0 ? io.dsfleet.coordinator.dashboard.Logins.DEFAULT_TTL
        : java.time.Duration.ofSeconds(req.getTtlSeconds());
    if (ttl.isNegative() || ttl.compareTo(io.dsfleet.coordinator.dashboard.Logins.MAX_TTL) > 0) {
      throw new ControlException(Status.Code.INVALID_ARGUMENT, "a dashboard login lasts at most 24h, got " + req.getTtlSeconds() + "s");
    }
    Caller caller = Caller.current();
    String token = logins.create(caller, ttl);
    return DashboardLoginResponse.newBuilder().setUrl(base + "login?token=" + token)
        .setRole(caller.kind() == Caller.Kind.VIEWER ? "viewer" : "admin").setExpiresAtMillis(logins.expiry(token).toEpochMilli()).build();
  }

  private io.dsfleet.coordinator.replication.Replica replica() {
    if (replica == null) {
      throw new ControlException(io.grpc.Status.Code.FAILED_PRECONDITION, "this coordinator runs alone, not as a replica of a"
          + " group (docs/operations.md: coordinator replicas)");
    }
    return replica;
  }

  ListReplicasResponse replicas() {
    var r = replica();
    var commits = r.commitIndices();
    String leader = r.leaderId();
    ListReplicasResponse.Builder b = ListReplicasResponse.newBuilder().setTerm(r.currentTerm())
        .setCommitIndex(commits.getOrDefault(r.id(), 0L));
    for (var p : r.members()) {
      b.addReplicas(ReplicaView.newBuilder().setId(p.id()).setPeerAddress(p.peerAddress()).setCoordinatorAddress(p.coordinatorAddress())
          .setLeader(p.id().equals(leader)).setMatchIndex(commits.getOrDefault(p.id(), 0L)));
    }
    if (adds != null) {
      for (ReplicaAdds.Pending j : adds.pending()) {
        b.addJoins(io.dsfleet.proto.v1.ReplicaJoinView.newBuilder().setId(j.peer().id()).setPeerAddress(j.peer().peerAddress())
            .setCoordinatorAddress(j.peer().coordinatorAddress()).setJoinedAtMillis(j.since().toEpochMilli()).setState(j.state())
            .setFailed(j.failed()));
      }
    }
    return b.build();
  }

  AddReplicaResponse addReplica(AddReplicaRequest req) {
    replica();
    io.dsfleet.coordinator.replication.ReplicationOptions.Peer peer;
    try {
      peer = io.dsfleet.coordinator.replication.ReplicationOptions.Peer.parse(req.getId() + "," + req.getPeerAddress() + ","
          + req.getCoordinatorAddress());
    } catch (IllegalArgumentException e) {
      throw new ControlException(io.grpc.Status.Code.INVALID_ARGUMENT, e.getMessage());
    }
    Duration ttl = req.getTtlSeconds() == 0 ? Duration.ofHours(1) : Duration.ofSeconds(req.getTtlSeconds());
    return AddReplicaResponse.newBuilder().setToken(tls().createReplicaToken(peer.id(), ttl).text()).build();
  }

  ListReplicasResponse removeReplica(RemoveReplicaRequest req) {
    // a replica that joined and is no member yet: its add ends (no later try makes it one), and a
    // change of its already under way completes before this one takes it out
    boolean joined = adds != null && adds.cancel(req.getId());
    replica().changeMembers(members -> {
      if (!members.removeIf(p -> p.id().equals(req.getId()))) {
        if (joined) {
          return members;
        }
        throw new ControlException(io.grpc.Status.Code.NOT_FOUND, "replica " + req.getId() + " is not a member; the members are "
            + members.stream().map(io.dsfleet.coordinator.replication.ReplicationOptions.Peer::id).toList());
      }
      if (members.isEmpty()) {
        throw new ControlException(io.grpc.Status.Code.FAILED_PRECONDITION, "replica " + req.getId() + " is the last member");
      }
      return members;
    });
    return replicas();
  }

  CreateJoinTokenResponse createJoinToken(CreateJoinTokenRequest req) {
    Duration ttl = req.getTtlSeconds() == 0 ? Authority.DEFAULT_TOKEN_TTL : Duration.ofSeconds(req.getTtlSeconds());
    var token = tls().createToken(ttl, req.getDescription(), req.getNodeName(), req.getMaxUses());
    var view = tls().tokens().stream().filter(t -> t.token().id().equals(token.id())).findFirst().orElseThrow();
    return CreateJoinTokenResponse.newBuilder().setToken(token.text()).setView(CredentialViews.tokenView(view.token(), view.expired())).build();
  }

  ListJoinTokensResponse listJoinTokens(ListJoinTokensRequest req) {
    var b = ListJoinTokensResponse.newBuilder();
    tls().tokens().forEach(t -> b.addTokens(CredentialViews.tokenView(t.token(), t.expired())));
    return b.build();
  }

  JoinTokenView revokeJoinToken(RevokeJoinTokenRequest req) {
    return CredentialViews.tokenView(tls().revokeToken(req.getId()), false);
  }

  IssueCredentialResponse issueCredential(IssueCredentialRequest req) {
    String role = CredentialViews.role(req.getRole(), false);
    String bad = io.dsfleet.common.manifest.Names.dns1123Subdomain(req.getName());
    if (req.getName().isEmpty() || bad != null) {
      throw new ControlException(Status.Code.INVALID_ARGUMENT, "credential name \"" + req.getName() + "\" is invalid: "
          + (bad == null ? "Required value" : bad));
    }
    return IssueCredentialResponse.newBuilder().setPemBundle(tls().credential(req.getName(), role)).build();
  }

  RevokeCredentialResponse revokeCredential(RevokeCredentialRequest req) {
    String role = CredentialViews.role(req.getRole(), true);
    if (role.equals(Pki.NODES)) {
      fleet.revokingNode(req.getName()); // its agent's token and leave secret must not re-admit it
    }
    int n = tls().revoke(req.getName(), role);
    if (n == 0) {
      throw new ControlException(Status.Code.NOT_FOUND, "no valid " + req.getRole() + " certificate named \"" + req.getName() + "\"");
    }
    return RevokeCredentialResponse.newBuilder().setRevoked(n).build();
  }

  private Authority tls() {
    if (authority == null) {
      throw new ControlException(Status.Code.FAILED_PRECONDITION, "this coordinator runs --insecure: there are no join tokens");
    }
    return authority;
  }
}
