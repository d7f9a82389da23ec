package io.dsfleet.coordinator.grpc;

import static io.dsfleet.coordinator.grpc.ControlViews.configView;
import static io.dsfleet.coordinator.grpc.ControlViews.dsView;
import static io.dsfleet.coordinator.grpc.ControlViews.nodeView;
import static io.dsfleet.coordinator.grpc.ControlViews.ns;

import io.dsfleet.common.tls.Pki;
import io.dsfleet.common.model.Taint;
import io.dsfleet.coordinator.fleet.ApplyPlan;
import io.dsfleet.coordinator.fleet.ControlException;
import io.dsfleet.coordinator.fleet.Events;
import io.dsfleet.coordinator.fleet.Fleet;
import io.dsfleet.coordinator.fleet.FleetView.DsSnapshot;
import io.dsfleet.coordinator.fleet.FleetView.NodeSnapshot;
import io.dsfleet.coordinator.security.Authority;
import io.dsfleet.coordinator.security.Caller;
import io.dsfleet.coordinator.store.Store;
import io.dsfleet.coordinator.store.Store.StoredObject;
import java.time.Duration;
import io.dsfleet.proto.v1.*;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/** The operator's API, used by dsctl. Every refusal is a status code with a description; nothing is changed. */
public final class ControlServiceImpl extends ControlServiceGrpc.ControlServiceImplBase {
  private final Fleet fleet;
  private final LogRelay logs;
  private final ScheduledExecutorService scheduler;
  private final String version;
  private final Authority authority;
  private final FollowStreams streams = new FollowStreams();

  /** @param authority null on an insecure coordinator (no tokens, no certificates) */
  public ControlServiceImpl(Fleet fleet, LogRelay logs, ScheduledExecutorService scheduler, String version,
      Authority authority) {
    this(fleet, logs, scheduler, version, authority, null, null, () -> "");
  }

  /**
   * @param replica this coordinator as a replica of a group; null for a single coordinator
   * @param logins the dashboard's logins; null: no dashboard
   * @param dashboardUrl where the dashboard serves ("": it does not)
   */
  public ControlServiceImpl(Fleet fleet, LogRelay logs, ScheduledExecutorService scheduler, String version,
      Authority authority, io.dsfleet.coordinator.replication.Replica replica, io.dsfleet.coordinator.dashboard.Logins logins,
      Supplier<String> dashboardUrl) {
    this.logins = logins;
    this.dashboardUrl = dashboardUrl;
    this.replica = replica;
    this.fleet = fleet;
    this.logs = logs;
    this.scheduler = scheduler;
    this.version = version;
    this.authority = authority;
  }

  private static <T> void unary(StreamObserver<T> out, Supplier<T> body) {
    T result;
    try {
      result = body.get();
    } catch (ControlException | io.dsfleet.coordinator.store.StoreException e) {
      out.onError(refusal(e));
      return;
    }
    out.onNext(result);
    out.onCompleted();
  }

  /** What a call that was refused, or whose store write failed, ends with (a replica that no longer leads: retry elsewhere). */
  private static Throwable refusal(RuntimeException e) {
    if (e instanceof ControlException c) {
      return c.toStatus();
    }
    return ControlException.answered(io.grpc.Status.UNAVAILABLE.withDescription(e instanceof io.dsfleet.coordinator.replication.ReplicatedStore.NotLeaderException
        ? "this coordinator replica no longer leads; retry: " + e.getMessage()
        : e instanceof io.dsfleet.coordinator.store.StoreException se ? se.told() : e.getMessage()));
  }

  @Override
  public void apply(ApplyRequest req, StreamObserver<ApplyResponse> out) {
    unary(out, () -> {
      String source = req.getSource().isEmpty() ? "-" : req.getSource();
      if (req.getPlan() && !req.getDryRun()) {
        throw new ControlException(Status.Code.INVALID_ARGUMENT, "a plan is a dry run: set dry_run with plan");
      }
      Fleet.PlanOutcome planned = req.getPlan() ? fleet.plan(req.getManifests(), source) : null;
      Fleet.ApplyOutcome o = planned != null ? planned.outcome() : fleet.apply(req.getManifests(), source, req.getDryRun());
      ApplyResponse.Builder b = ApplyResponse.newBuilder().addAllWarnings(o.warnings());
      for (int i = 0; i < o.results().size(); i++) {
        Fleet.ApplyResult r = o.results().get(i);
        ApplyResult.Builder result = ApplyResult.newBuilder().setKind(r.kind()).setNamespace(r.namespace()).setName(r.name())
            .setAction(r.action()).setNote(r.note() == null ? "" : r.note());
        ApplyPlan.Plan p = planned == null ? null : planned.plans().get(i);
        if (p != null) {
          result.setPlan(ObjectPlan.newBuilder().setDiff(p.diff()).addAllGain(p.gain()).addAllLose(p.lose())
              .addAllReplace(p.replace()).addAllNotReady(p.notReady()).setStrategy(p.strategy())
              .setMaxUnavailable(p.maxUnavailable()).setMaxSurge(p.maxSurge()).setSteps(p.steps()).addAllUsedBy(p.usedBy())
              .addAllSkip(p.skip().stream().map(k -> NodeSkip.newBuilder().setNode(k.node()).setReason(k.reason()).build()).toList()));
        }
        b.addResults(result);
      }
      return b.build();
    });
  }

  @Override
  public void get(GetRequest req, StreamObserver<GetResponse> out) {
    unary(out, () -> {
      fresh();
      GetResponse.Builder b = GetResponse.newBuilder();
      switch (req.getKind()) {
        case DAEMON_SET -> {
          if (!req.getName().isEmpty()) {
            b.addDaemonSets(dsView(fleet.daemonSet(ns(req.getNamespace()), req.getName())));
          } else {
            fleet.daemonSets().stream().filter(d -> req.getAllNamespaces() || d.namespace().equals(ns(req.getNamespace())))
                .forEach(d -> b.addDaemonSets(dsView(d)));
          }
        }
        case NODE -> {
          if (!req.getName().isEmpty()) {
            b.addNodes(nodeView(fleet.node(req.getName(), true)));
          } else {
            fleet.nodes().forEach(n -> b.addNodes(nodeView(n)));
          }
        }
        case POD -> b.addAllPods(pods(req.getAllNamespaces() ? null : ns(req.getNamespace()), req.getName(), null));
        case CONFIG_MAP, SECRET -> {
          String kind = req.getKind() == ObjectKind.CONFIG_MAP ? "ConfigMap" : "Secret";
          List<StoredObject> found = fleet.configs(kind).stream()
              .filter(o -> req.getAllNamespaces() || o.namespace().equals(ns(req.getNamespace())))
              .filter(o -> req.getName().isEmpty() || o.name().equals(req.getName())).toList();
          if (!req.getName().isEmpty() && found.isEmpty()) {
            throw new ControlException(Status.Code.NOT_FOUND, kind.toLowerCase() + "s \"" + req.getName() + "\" not found in namespace " + ns(req.getNamespace()));
          }
          if (req.getShowSecrets() && Caller.current().kind() == Caller.Kind.VIEWER) {
            throw new ControlException(Status.Code.PERMISSION_DENIED, "a read-only credential cannot show secret values");
          }
          found.forEach(o -> b.addConfigs(configView(o, req.getShowSecrets())));
        }
        default -> throw new ControlException(Status.Code.INVALID_ARGUMENT, "kind is required");
      }
      return b.build();
    });
  }

  @Override
  public void describe(DescribeRequest req, StreamObserver<DescribeResponse> out) {
    unary(out, () -> {
      fresh();
      DescribeResponse.Builder b = DescribeResponse.newBuilder();
      if (req.getKind() == ObjectKind.DAEMON_SET) {
        DsSnapshot d = fleet.daemonSet(ns(req.getNamespace()), req.getName());
        b.setDaemonSet(dsView(d));
        String key = Fleet.key(d.namespace(), d.name());
        for (NodeSnapshot n : fleet.nodes()) {
          var v = n.verdicts().get(key);
          boolean placed = v != null && v.shouldRun();
          b.addPlacements(Placement.newBuilder().setNodeName(n.name()).setPlaced(placed)
              .setReason(v == null || v.reason() == null ? "" : v.reason()
                  + (v.shouldContinueRunning() && n.desired().stream().anyMatch(p -> p.dsKey().equals(key)) ? " (misscheduled: existing pod kept)" : "")));
        }
        b.addAllPods(pods(d.namespace(), null, d.name()));
        events(Events.dsKey(d.namespace(), d.name()), b);
      } else if (req.getKind() == ObjectKind.NODE) {
        NodeSnapshot n = fleet.node(req.getName(), true);
        b.setNode(nodeView(n));
        b.addAllPods(pods(null, null, null).stream().filter(p -> p.getNodeName().equals(n.name())).toList());
        events(Events.nodeKey(n.name()), b);
      } else {
        throw new ControlException(Status.Code.INVALID_ARGUMENT, "describe takes ds or node");
      }
      return b.build();
    });
  }

  private void events(String key, DescribeResponse.Builder b) {
    for (Events.Event e : fleet.events(key)) {
      b.addEvents(Event.newBuilder().setAtMillis(e.atMillis()).setType(e.type()).setReason(e.reason()).setMessage(e.message()));
    }
  }

  @Override
  public void delete(DeleteRequest req, StreamObserver<DeleteResponse> out) {
    unary(out, () -> {
      String ns = ns(req.getNamespace());
      switch (req.getKind()) {
        case DAEMON_SET -> fleet.deleteDaemonSet(ns, req.getName(), req.getCascade());
        case CONFIG_MAP -> fleet.deleteConfig("ConfigMap", ns, req.getName());
        case SECRET -> fleet.deleteConfig("Secret", ns, req.getName());
        case POD -> {
          String node = fleet.deletePod(ns, req.getName());
          return DeleteResponse.newBuilder().setMessage("pod \"" + req.getName() + "\" deleted on " + node + "; it is replaced at the current revision").build();
        }
        default -> throw new ControlException(Status.Code.INVALID_ARGUMENT, "delete takes ds, pod, configmap or secret");
      }
      return DeleteResponse.newBuilder().setMessage(req.getName() + " deleted").build();
    });
  }

  @Override
  public void labelNode(LabelNodeRequest req, StreamObserver<NodeView> out) {
    unary(out, () -> {
      fleet.labelNode(req.getNodeName(), req.getSetMap(), req.getRemoveList(), req.getOverwrite());
      return nodeView(fleet.node(req.getNodeName(), true));
    });
  }

  @Override
  public void taintNode(TaintNodeRequest req, StreamObserver<NodeView> out) {
    unary(out, () -> {
      List<Taint> add = new ArrayList<>();
      for (var t : req.getAddList()) {
        try {
          add.add(Taint.checked(t.getKey(), t.getValue(), t.getEffect()));
        } catch (IllegalArgumentException e) {
          throw new ControlException(Status.Code.INVALID_ARGUMENT, e.getMessage());
        }
      }
      fleet.taintNode(req.getNodeName(), add, removals(req.getRemoveList()), req.getOverwrite());
      return nodeView(fleet.node(req.getNodeName(), true));
    });
  }

  /** Removal requests keep an empty effect to mean "every effect of this key". */
  private static List<Fleet.TaintRemoval> removals(List<io.dsfleet.proto.v1.Taint> remove) {
    return remove.stream().map(t -> new Fleet.TaintRemoval(t.getKey(), t.getEffect())).toList();
  }

  @Override
  public void cordonNode(CordonNodeRequest req, StreamObserver<NodeView> out) {
    unary(out, () -> {
      fleet.cordon(req.getNodeName(), req.getUnschedulable());
      return nodeView(fleet.node(req.getNodeName(), true));
    });
  }

  @Override
  public void removeNode(RemoveNodeRequest req, StreamObserver<RemoveNodeResponse> out) {
    unary(out, () -> {
      String name = req.getNodeName();
      Fleet.requireName(name);
      // certificates first: no join can slip in on them while the node is being removed, and a
      // name that is no member any more (collected) still loses its certificates; the session
      // carries the removal before it ends
      List<String> revoked = authority == null ? List.of() : authority.revokeKeepingStreams(name, Pki.NODES);
      RemoveNodeResponse.Builder b = RemoveNodeResponse.newBuilder();
      try {
        String token = fleet.admittedBy(name);
        // the token before the node: once the name is no member, a join with that token (the one
        // that leaked with the node, say) admitted it again until the token was revoked, and the
        // command said both done while the name was a member on another key
        if (authority != null && req.getRevokeJoinToken() && authority.tokens().stream().anyMatch(t -> t.id().equals(token))) {
          b.setRevokedJoinToken(authority.revokeToken(token).id());
        }
        fleet.removeNode(name);
      } catch (ControlException e) {
        if (e.code() != Status.Code.NOT_FOUND || revoked.isEmpty()) {
          throw e;
        }
      } finally {
        if (authority != null) {
          authority.endStreams(revoked);
        }
      }
      return b.build();
    });
  }

  @Override
  public void rolloutHistory(RolloutHistoryRequest req, StreamObserver<RolloutHistoryResponse> out) {
    unary(out, () -> {
      fresh();
      DsSnapshot d = fleet.daemonSet(ns(req.getNamespace()), req.getName());
      RolloutHistoryResponse.Builder b = RolloutHistoryResponse.newBuilder();
      d.revisions().forEach(r -> b.addRevisions(RevisionView.newBuilder().setRevision(r.revision()).setTemplateHash(r.hash())
          .setChangeCause(r.changeCause() == null ? "" : r.changeCause()).setCreatedAtMillis(r.createdAtMillis())));
      return b.build();
    });
  }

  @Override
  public void rolloutUndo(RolloutUndoRequest req, StreamObserver<ApplyResponse> out) {
    unary(out, () -> {
      Fleet.ApplyOutcome o = fleet.undo(ns(req.getNamespace()), req.getName(), req.getToRevision(), req.getResourceVersion());
      ApplyResponse.Builder b = ApplyResponse.newBuilder();
      o.results().forEach(r -> b.addResults(ApplyResult.newBuilder().setKind(r.kind()).setNamespace(r.namespace())
          .setName(r.name()).setAction(r.action().equals("unchanged") ? "skipped rollback (current template already matches)" : "rolled back")));
      return b.build();
    });
  }

  @Override
  public void rolloutPause(RolloutPauseRequest req, StreamObserver<RolloutPauseResponse> out) {
    unary(out, () -> {
      fleet.pause(ns(req.getNamespace()), req.getName(), req.getPaused());
      return RolloutPauseResponse.getDefaultInstance();
    });
  }

  @Override
  public void rolloutStatus(RolloutStatusRequest req, StreamObserver<RolloutStatusEvent> out) {
    ServerCallStreamObserver<RolloutStatusEvent> call = (ServerCallStreamObserver<RolloutStatusEvent>) out;
    String ns = ns(req.getNamespace());
    if (!opened(out, () -> {
      fleet.daemonSet(ns, req.getName());
      streams.take();
    })) {
      return;
    }
    RolloutWatch watch = new RolloutWatch(fleet, ns, req.getName(), req.getWatch(), call);
    // checked after every change of the fleet (a pod report, a pass), and once a second whatever happens: a safety net
    Runnable unwatch = fleet.watch(watch::check);
    ScheduledFuture<?> poll = scheduler.scheduleWithFixedDelay(watch::check, 0, 1, TimeUnit.SECONDS);
    Runnable stop = () -> {
      poll.cancel(false);
      unwatch.run();
    };
    watch.onDone(stop);
    // however the call ends (cancelled, completed, or closed by the leader gate when this replica stops serving): its context is cancelled
    io.grpc.Context.current().addListener(ended -> stop.run(), Runnable::run);
    endOnRevoke(() -> watch.fail(revokedStatus()));
  }

  /** `dsctl events [-w] [--for ds/NAME|node/NAME]`: the events kept, then (watch) each new one ({@link EventsFollow}). */
  @Override
  public void events(EventsRequest req, StreamObserver<EventView> out) {
    ServerCallStreamObserver<EventView> call = (ServerCallStreamObserver<EventView>) out;
    String ns = ns(req.getNamespace());
    String o = req.getObject();
    String name = o.substring(o.indexOf('/') + 1);
    java.util.function.Predicate<String> which = o.isEmpty()
        ? k -> req.getAllNamespaces() || k.startsWith("node/") || k.startsWith("ds/" + ns + "/")
        : o.startsWith("ds/") || o.startsWith("daemonset/") || o.startsWith("daemonsets/") ? Events.dsKey(ns, name)::equals
        : o.startsWith("node/") || o.startsWith("nodes/") ? Events.nodeKey(name)::equals : null;
    if (!opened(out, () -> {
      if (which == null) {
        throw new ControlException(Status.Code.INVALID_ARGUMENT, "events are kept for ds/NAME and node/NAME, not \"" + o + "\"");
      } else if (!o.isEmpty() && o.startsWith("node")) {
        fleet.node(name, true);
      } else if (!o.isEmpty()) {
        fleet.daemonSet(ns, name);
      }
      streams.take();
    })) {
      return;
    }
    // handed to the call only as fast as the client takes them (EventsFollow): a client that does not read grows no queue
    EventsFollow follow = new EventsFollow(fleet, which, fleet.events(which), req.getWatch(), call);
    call.setOnReadyHandler(follow::drain);
    call.setOnCancelHandler(follow::cancel);
    follow.start(scheduler);
    // a listing too waits for a client that does not read: it ends with the credential, as every stream
    endOnRevoke(() -> follow.end(revokedStatus()));
  }

  @Override
  public void logs(LogsRequest req, StreamObserver<LogLine> out) {
    ServerCallStreamObserver<LogLine> call = (ServerCallStreamObserver<LogLine>) out;
    LogRelay.Relay relay;
    try {
      streams.take();
      relay = logs.start(fleet, req, FollowStreams.credential(), LogRelay.reader(call));
    } catch (ControlException e) {
      out.onError(e.toStatus());
      return;
    }
    call.setOnReadyHandler(relay::drain);
    call.setOnCancelHandler(relay::cancel);
    endOnRevoke(() -> relay.fail(revokedStatus()));
  }

  /**
   * A stream's checks before it starts, on fresh state (a replica's leadership confirmed): true, or
   * false after ending the stream with why (a refusal, or a replica that no longer leads: retry).
   */
  private boolean opened(StreamObserver<?> out, Runnable check) {
    try {
      fresh();
      check.run();
      return true;
    } catch (ControlException | io.dsfleet.coordinator.store.StoreException e) {
      out.onError(refusal(e));
      return false;
    }
  }

  /** A stream open under a credential that gets revoked ends within the revoking call, not at the client's leisure. */
  private void endOnRevoke(Runnable end) {
    if (authority != null) {
      Runnable unwatch = authority.onRevoke(Caller.current().serial(), end);
      io.grpc.Context.current().addListener(c -> unwatch.run(), Runnable::run);
    }
  }

  private static Status revokedStatus() {
    return Status.UNAUTHENTICATED.withDescription("the credential this stream was opened with was revoked");
  }

  private final io.dsfleet.coordinator.replication.Replica replica;
  private final io.dsfleet.coordinator.dashboard.Logins logins;
  private final Supplier<String> dashboardUrl;

  /** `dsctl dashboard`: a login for the caller's credential, as a URL that opens the dashboard. */
  @Override
  public void dashboardLogin(DashboardLoginRequest req, StreamObserver<DashboardLoginResponse> out) {
    unary(out, () -> {
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
    });
  }

  /**
   * Before a read that must see every acknowledged write: a replica confirms with a majority
   * that it still leads (a deposed leader that does not know it yet must not answer from memory).
   */
  private void fresh() {
    if (replica != null) {
      replica.confirmLeadership();
    }
  }

  private io.dsfleet.coordinator.replication.Replica replica() {
    if (replica == null) {
      throw new ControlException(io.grpc.Status.Code.FAILED_PRECONDITION, "this coordinator runs alone, not as a replica of a"
          + " group (docs/operations.md: coordinator replicas)");
    }
    return replica;
  }

  private ListReplicasResponse replicas() {
    var r = replica();
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

  @Override
  public void listReplicas(ListReplicasRequest req, StreamObserver<ListReplicasResponse> out) {
    unary(out, this::replicas);
  }

  @Override
  public void addReplica(AddReplicaRequest req, StreamObserver<AddReplicaResponse> out) {
    unary(out, () -> {
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
    });
  }

  @Override
  public void removeReplica(RemoveReplicaRequest req, StreamObserver<ListReplicasResponse> out) {
    unary(out, () -> {
      replica().changeMembers(members -> {
        if (!members.removeIf(p -> p.id().equals(req.getId()))) {
          throw new ControlException(io.grpc.Status.Code.NOT_FOUND, "replica " + req.getId() + " is not a member; the members are "
              + members.stream().map(io.dsfleet.coordinator.replication.ReplicationOptions.Peer::id).toList());
        }
        if (members.isEmpty()) {
          throw new ControlException(io.grpc.Status.Code.FAILED_PRECONDITION, "replica " + req.getId() + " is the last member");
        }
        return members;
      });
      return replicas();
    });
  }

  @Override
  public void version(VersionRequest req, StreamObserver<VersionResponse> out) {
    unary(out, () -> VersionResponse.newBuilder().setVersion(version).build());
  }

  @Override
  public void createJoinToken(CreateJoinTokenRequest req, StreamObserver<CreateJoinTokenResponse> out) {
    unary(out, () -> {
      Duration ttl = req.getTtlSeconds() == 0 ? Authority.DEFAULT_TOKEN_TTL : Duration.ofSeconds(req.getTtlSeconds());
      var token = tls().createToken(ttl, req.getDescription(), req.getNodeName(), req.getMaxUses());
      var view = tls().tokens().stream().filter(t -> t.id().equals(token.id())).findFirst().orElseThrow();
      return CreateJoinTokenResponse.newBuilder().setToken(token.text()).setView(CredentialViews.tokenView(view)).build();
    });
  }

  @Override
  public void listJoinTokens(ListJoinTokensRequest req, StreamObserver<ListJoinTokensResponse> out) {
    unary(out, () -> {
      var b = ListJoinTokensResponse.newBuilder();
      tls().tokens().forEach(t -> b.addTokens(CredentialViews.tokenView(t)));
      return b.build();
    });
  }

  @Override
  public void revokeJoinToken(RevokeJoinTokenRequest req, StreamObserver<JoinTokenView> out) {
    unary(out, () -> CredentialViews.tokenView(tls().revokeToken(req.getId())));
  }

  @Override
  public void issueCredential(IssueCredentialRequest req, StreamObserver<IssueCredentialResponse> out) {
    unary(out, () -> {
      String role = CredentialViews.role(req.getRole(), false);
      String bad = io.dsfleet.common.manifest.Names.dns1123Subdomain(req.getName());
      if (req.getName().isEmpty() || bad != null) {
        throw new ControlException(Status.Code.INVALID_ARGUMENT, "credential name \"" + req.getName() + "\" is invalid: "
            + (bad == null ? "Required value" : bad));
      }
      return IssueCredentialResponse.newBuilder().setPemBundle(tls().credential(req.getName(), role)).build();
    });
  }

  @Override
  public void revokeCredential(RevokeCredentialRequest req, StreamObserver<RevokeCredentialResponse> out) {
    unary(out, () -> {
      String role = CredentialViews.role(req.getRole(), true);
      if (role.equals(Pki.NODES)) {
        fleet.revokingNode(req.getName()); // its agent's token and leave secret must not re-admit it
      }
      int n = tls().revoke(req.getName(), role);
      if (n == 0) {
        throw new ControlException(Status.Code.NOT_FOUND, "no valid " + req.getRole() + " certificate named \"" + req.getName() + "\"");
      }
      return RevokeCredentialResponse.newBuilder().setRevoked(n).build();
    });
  }

  private Authority tls() {
    if (authority == null) {
      throw new ControlException(Status.Code.FAILED_PRECONDITION, "this coordinator runs --insecure: there are no join tokens");
    }
    return authority;
  }

  private List<PodView> pods(String namespace, String podName, String dsName) {
    return PodViews.of(fleet, namespace, podName, dsName);
  }
}
