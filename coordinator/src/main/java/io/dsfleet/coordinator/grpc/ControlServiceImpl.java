package io.dsfleet.coordinator.grpc;

import static io.dsfleet.coordinator.grpc.ControlViews.nodeView;
import static io.dsfleet.coordinator.grpc.ControlViews.ns;

import io.dsfleet.common.tls.Pki;
import io.dsfleet.common.model.Taint;
import io.dsfleet.coordinator.fleet.ApplyPlan;
import io.dsfleet.coordinator.fleet.ControlException;
import io.dsfleet.coordinator.fleet.Events;
import io.dsfleet.coordinator.fleet.Fleet;
import io.dsfleet.coordinator.security.Authority;
import io.dsfleet.coordinator.security.Caller;
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

/**
 * The operator's API, used by dsctl. Every refusal is a status code with a description; nothing is
 * changed. The writes, rollout verbs and streams are answered here; the reads by {@link
 * ControlReads}, the coordinator's own administration (replicas, join tokens, credentials,
 * dashboard logins) by {@link ControlAdmin}.
 */
public final class ControlServiceImpl extends ControlServiceGrpc.ControlServiceImplBase {
  private final Fleet fleet;
  private final LogRelay logs;
  private final ScheduledExecutorService scheduler;
  private final String version;
  private final Authority authority;
  private final FollowStreams streams = new FollowStreams();
  private final ControlReads reads;
  private final ControlAdmin admin;

  /** @param authority null on an insecure coordinator (no tokens, no certificates) */
  public ControlServiceImpl(Fleet fleet, LogRelay logs, ScheduledExecutorService scheduler, String version,
      Authority authority) {
    this(fleet, logs, scheduler, version, authority, null, null, null, () -> "");
  }

  /**
   * @param replica this coordinator as a replica of a group; null for a single coordinator
   * @param adds the replica's adds of replicas that joined; null for a single coordinator
   * @param logins the dashboard's logins; null: no dashboard
   * @param dashboardUrl where the dashboard serves ("": it does not)
   */
  public ControlServiceImpl(Fleet fleet, LogRelay logs, ScheduledExecutorService scheduler, String version,
      Authority authority, io.dsfleet.coordinator.replication.Replica replica, ReplicaAdds adds,
      io.dsfleet.coordinator.dashboard.Logins logins, Supplier<String> dashboardUrl) {
    this.fleet = fleet;
    this.logs = logs;
    this.scheduler = scheduler;
    this.version = version;
    this.authority = authority;
    this.reads = new ControlReads(fleet, replica);
    this.admin = new ControlAdmin(fleet, authority, replica, adds, logins, dashboardUrl);
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
    unary(out, () -> reads.get(req));
  }

  @Override
  public void describe(DescribeRequest req, StreamObserver<DescribeResponse> out) {
    unary(out, () -> reads.describe(req));
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
        if (authority != null && req.getRevokeJoinToken() && authority.tokens().stream().anyMatch(t -> t.token().id().equals(token))) {
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
    unary(out, () -> reads.rolloutHistory(req));
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
      reads.fresh();
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

  @Override
  public void dashboardLogin(DashboardLoginRequest req, StreamObserver<DashboardLoginResponse> out) {
    unary(out, () -> admin.dashboardLogin(req));
  }

  @Override
  public void listReplicas(ListReplicasRequest req, StreamObserver<ListReplicasResponse> out) {
    unary(out, admin::replicas);
  }

  @Override
  public void addReplica(AddReplicaRequest req, StreamObserver<AddReplicaResponse> out) {
    unary(out, () -> admin.addReplica(req));
  }

  @Override
  public void removeReplica(RemoveReplicaRequest req, StreamObserver<ListReplicasResponse> out) {
    unary(out, () -> admin.removeReplica(req));
  }

  @Override
  public void version(VersionRequest req, StreamObserver<VersionResponse> out) {
    unary(out, () -> VersionResponse.newBuilder().setVersion(version).build());
  }

  @Override
  public void createJoinToken(CreateJoinTokenRequest req, StreamObserver<CreateJoinTokenResponse> out) {
    unary(out, () -> admin.createJoinToken(req));
  }

  @Override
  public void listJoinTokens(ListJoinTokensRequest req, StreamObserver<ListJoinTokensResponse> out) {
    unary(out, () -> admin.listJoinTokens(req));
  }

  @Override
  public void revokeJoinToken(RevokeJoinTokenRequest req, StreamObserver<JoinTokenView> out) {
    unary(out, () -> admin.revokeJoinToken(req));
  }

  @Override
  public void issueCredential(IssueCredentialRequest req, StreamObserver<IssueCredentialResponse> out) {
    unary(out, () -> admin.issueCredential(req));
  }

  @Override
  public void revokeCredential(RevokeCredentialRequest req, StreamObserver<RevokeCredentialResponse> out) {
    unary(out, () -> admin.revokeCredential(req));
  }

}
