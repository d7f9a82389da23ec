package io.dsfleet.coordinator.grpc;

import io.dsfleet.coordinator.fleet.AgentSink;
import io.dsfleet.coordinator.fleet.ControlException;
import io.dsfleet.coordinator.fleet.Fleet;
import io.dsfleet.proto.v1.AgentMessage;
import io.dsfleet.proto.v1.AgentServiceGrpc;
import io.dsfleet.proto.v1.CoordinatorMessage;
import io.dsfleet.proto.v1.Heartbeat;
import io.dsfleet.proto.v1.HeartbeatAck;
import io.dsfleet.proto.v1.JoinRequest;
import io.dsfleet.proto.v1.JoinResponse;
import io.dsfleet.proto.v1.LeaveRequest;
import io.dsfleet.proto.v1.LeaveResponse;
import io.dsfleet.proto.v1.RenewCertificateRequest;
import io.dsfleet.proto.v1.RenewCertificateResponse;
import io.dsfleet.common.tls.Pki;
import io.dsfleet.coordinator.security.Authority;
import io.dsfleet.coordinator.security.Caller;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Agents join, hold one session each, and leave. */
public final class AgentServiceImpl extends AgentServiceGrpc.AgentServiceImplBase {
  private static final Logger log = LoggerFactory.getLogger(AgentServiceImpl.class);
  private final Fleet fleet;
  private final LogRelay logs;
  private final Authority authority;

  /** @param authority null on an insecure coordinator */
  public AgentServiceImpl(Fleet fleet, LogRelay logs, Authority authority) {
    this.fleet = fleet;
    this.logs = logs;
    this.authority = authority;
  }

  /**
   * A node with its certificate re-joins as itself. A node without one joins with a join token
   * and a certificate request for its own name, and gets its certificate; a token cannot take
   * over a node that is connected right now.
   */
  @Override
  public void join(JoinRequest request, StreamObserver<JoinResponse> response) {
    try {
      String name = request.getNode().getName();
      Caller caller = Caller.current();
      JoinResponse.Builder out = JoinResponse.newBuilder().setNodeName(name)
          .setHeartbeatIntervalMillis(fleet.options().heartbeatInterval().toMillis())
          .setLeaseMillis(fleet.options().heartbeatGrace().toMillis());
      if (caller.kind() == Caller.Kind.ANONYMOUS) {
        if (request.getJoinToken().isEmpty() || request.getCsrPem().isEmpty()) {
          throw new ControlException(Status.Code.UNAUTHENTICATED, "joining needs a join token and a certificate request");
        }
        Fleet.requireName(name);
        if (fleet.connected(name)) {
          throw new ControlException(Status.Code.ALREADY_EXISTS, "node " + name
              + " is connected with its certificate; a join token cannot take it over");
        }
        var cert = authority.admit(request.getJoinToken(), name, request.getCsrPem());
        out.setCertificatePem(Pki.pem(cert)).setCaPem(Pki.pem(authority.pki().ca()));
      } else if (!caller.speaksFor(name)) {
        throw new ControlException(Status.Code.PERMISSION_DENIED, caller + " cannot join as node " + name);
      }
      fleet.join(request.getNode());
      response.onNext(out.build());
      response.onCompleted();
    } catch (ControlException e) {
      response.onError(e.toStatus());
    }
  }

  @Override
  public void leave(LeaveRequest request, StreamObserver<LeaveResponse> response) {
    try {
      requireSelf(request.getNodeName());
      fleet.leave(request.getNodeName());
      if (authority != null) {
        authority.revokeNode(request.getNodeName());
      }
      response.onNext(LeaveResponse.getDefaultInstance());
      response.onCompleted();
    } catch (ControlException e) {
      response.onError(e.toStatus());
    }
  }

  @Override
  public void renewCertificate(RenewCertificateRequest request, StreamObserver<RenewCertificateResponse> response) {
    try {
      Caller caller = Caller.current();
      if (authority == null || caller.kind() != Caller.Kind.NODE) {
        throw new ControlException(Status.Code.FAILED_PRECONDITION, "certificates are renewed over mutual TLS only");
      }
      var cert = authority.renew(caller.name(), request.getCsrPem());
      response.onNext(RenewCertificateResponse.newBuilder().setCertificatePem(Pki.pem(cert)).build());
      response.onCompleted();
    } catch (ControlException e) {
      response.onError(e.toStatus());
    }
  }

  private static void requireSelf(String node) {
    Caller caller = Caller.current();
    if (!caller.speaksFor(node)) {
      throw new ControlException(Status.Code.PERMISSION_DENIED, caller + " cannot act for node " + node);
    }
  }

  @Override
  public StreamObserver<AgentMessage> session(StreamObserver<CoordinatorMessage> response) {
    return new Session((ServerCallStreamObserver<CoordinatorMessage>) response);
  }

  /** One agent's stream. Every message after the first is taken as from the node named in it. */
  private final class Session implements StreamObserver<AgentMessage>, AgentSink {
    private final ServerCallStreamObserver<CoordinatorMessage> out;
    private String node;
    private boolean closed;

    Session(ServerCallStreamObserver<CoordinatorMessage> out) {
      this.out = out;
    }

    @Override
    public synchronized void send(CoordinatorMessage message) {
      if (!closed && !out.isCancelled()) {
        out.onNext(message);
      }
    }

    @Override
    public synchronized void close() {
      if (!closed) {
        closed = true;
        out.onCompleted();
      }
    }

    private synchronized void fail(Status status) {
      if (!closed) {
        closed = true;
        out.onError(status.asRuntimeException());
      }
    }

    @Override
    public void onNext(AgentMessage m) {
      try {
        if (node == null) {
          if (!m.hasOpen()) {
            fail(Status.FAILED_PRECONDITION.withDescription("the first session message must be open"));
            return;
          }
          requireSelf(m.getOpen().getNodeName());
          node = m.getOpen().getNodeName();
          fleet.openSession(node, this);
          return;
        }
        switch (m.getMsgCase()) {
          case HEARTBEAT -> {
            Heartbeat hb = m.getHeartbeat();
            if (!fleet.heartbeat(node, hb.getRuntimeUnavailable(), hb.getRuntimeMessage())) {
              fail(Status.NOT_FOUND.withDescription("node " + node + " is not a member; join again"));
              return;
            }
            send(CoordinatorMessage.newBuilder().setHeartbeatAck(HeartbeatAck.newBuilder()
                .setSeq(m.getHeartbeat().getSeq()).setLeaseMillis(fleet.options().heartbeatGrace().toMillis())).build());
          }
          case POD_STATUS -> fleet.reportPods(node, m.getPodStatus());
          case LOG_CHUNK -> logs.deliver(node, m.getLogChunk());
          case ACK -> fleet.acked(node, m.getAck().getVersion());
          case OPEN -> fail(Status.FAILED_PRECONDITION.withDescription("session already open for " + node));
          default -> fail(Status.INVALID_ARGUMENT.withDescription("unknown session message"));
        }
      } catch (ControlException e) {
        fail(Status.fromCode(e.code()).withDescription(e.getMessage()));
      } catch (RuntimeException e) {
        log.error("session of {} failed", node, e);
        fail(Status.INTERNAL.withDescription("coordinator error: " + e.getMessage()));
      }
    }

    @Override
    public void onError(Throwable t) {
      ended();
    }

    @Override
    public void onCompleted() {
      ended();
      close();
    }

    private void ended() {
      if (node != null) {
        fleet.sessionClosed(node, this);
        logs.nodeGone(node);
      }
    }
  }
}
