package io.dsfleet.coordinator.grpc;

import io.dsfleet.coordinator.fleet.AgentSink;
import io.dsfleet.coordinator.fleet.ControlException;
import io.dsfleet.coordinator.fleet.Fleet;
import io.dsfleet.proto.v1.AgentMessage;
import io.dsfleet.proto.v1.AgentServiceGrpc;
import io.dsfleet.proto.v1.CoordinatorMessage;
import io.dsfleet.proto.v1.HeartbeatAck;
import io.dsfleet.proto.v1.JoinRequest;
import io.dsfleet.proto.v1.JoinResponse;
import io.dsfleet.proto.v1.LeaveRequest;
import io.dsfleet.proto.v1.LeaveResponse;
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

  public AgentServiceImpl(Fleet fleet, LogRelay logs) {
    this.fleet = fleet;
    this.logs = logs;
  }

  @Override
  public void join(JoinRequest request, StreamObserver<JoinResponse> response) {
    try {
      fleet.join(request.getNode());
      response.onNext(JoinResponse.newBuilder().setNodeName(request.getNode().getName())
          .setHeartbeatIntervalMillis(fleet.options().heartbeatInterval().toMillis())
          .setLeaseMillis(fleet.options().heartbeatGrace().toMillis()).build());
      response.onCompleted();
    } catch (ControlException e) {
      response.onError(e.toStatus());
    }
  }

  @Override
  public void leave(LeaveRequest request, StreamObserver<LeaveResponse> response) {
    try {
      fleet.leave(request.getNodeName());
      response.onNext(LeaveResponse.getDefaultInstance());
      response.onCompleted();
    } catch (ControlException e) {
      response.onError(e.toStatus());
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
          node = m.getOpen().getNodeName();
          fleet.openSession(node, this);
          return;
        }
        switch (m.getMsgCase()) {
          case HEARTBEAT -> {
            if (!fleet.heartbeat(node)) {
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
