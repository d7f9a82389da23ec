package io.dsfleet.agent;

import io.dsfleet.proto.v1.*;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/** A coordinator that serves one fixed desired set over real gRPC and records what agents send. */
public final class FakeCoordinator implements AutoCloseable {
  private final DesiredState desired;
  private Server server;
  public final AtomicInteger sessionsOpened = new AtomicInteger();
  public final AtomicInteger joins = new AtomicInteger();
  public final AtomicInteger leaves = new AtomicInteger();
  public final List<PodStatusReport> reports = new CopyOnWriteArrayList<>();
  public final List<io.dsfleet.proto.v1.LogChunk> logChunks = new CopyOnWriteArrayList<>();
  /** Every heartbeat received, in order, with the session it came on (1 for the first opened). */
  public final List<Received> heartbeats = new CopyOnWriteArrayList<>();

  public record Received(int session, Heartbeat heartbeat) {}
  /** Off: heartbeats go unanswered, as from a coordinator cut off, and agents leave the session after four intervals. */
  public volatile boolean ackHeartbeats = true;

  public FakeCoordinator(DesiredState desired) {
    this.desired = desired;
  }

  public FakeCoordinator start(int port) throws IOException {
    server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", port)).addService(new AgentServiceGrpc.AgentServiceImplBase() {
      @Override
      public void join(JoinRequest request, StreamObserver<JoinResponse> response) {
        joins.incrementAndGet();
        response.onNext(JoinResponse.newBuilder().setNodeName(request.getNode().getName()).setHeartbeatIntervalMillis(1000).build());
        response.onCompleted();
      }

      @Override
      public void leave(LeaveRequest request, StreamObserver<LeaveResponse> response) {
        leaves.incrementAndGet();
        response.onNext(LeaveResponse.getDefaultInstance());
        response.onCompleted();
      }

      @Override
      public StreamObserver<AgentMessage> session(StreamObserver<CoordinatorMessage> response) {
        return new StreamObserver<>() {
          private int session;

          @Override
          public void onNext(AgentMessage m) {
            if (m.hasOpen()) {
              session = sessionsOpened.incrementAndGet();
              latest = response;
              synchronized (response) {
                response.onNext(CoordinatorMessage.newBuilder().setDesired(desired).build());
              }
            } else if (m.hasPodStatus()) {
              reports.add(m.getPodStatus());
            } else if (m.hasLogChunk()) {
              logChunks.add(m.getLogChunk());
            } else if (m.hasHeartbeat()) {
              heartbeats.add(new Received(session, m.getHeartbeat()));
              if (!ackHeartbeats || m.getHeartbeat().getAckNotNeeded()) { // as the coordinator: no ack where none is needed
                return;
              }
              synchronized (response) {
                response.onNext(CoordinatorMessage.newBuilder().setHeartbeatAck(HeartbeatAck.newBuilder().setSeq(m.getHeartbeat().getSeq()))
                    .build());
              }
            }
          }

          @Override
          public void onError(Throwable t) {}

          @Override
          public void onCompleted() {}
        };
      }
    }).build().start();
    return this;
  }

  /** The response side of the session opened last. */
  private volatile StreamObserver<CoordinatorMessage> latest;

  /** Sends a message on the session opened last. */
  public void send(CoordinatorMessage m) {
    StreamObserver<CoordinatorMessage> to = latest;
    synchronized (to) {
      to.onNext(m);
    }
  }

  public int port() {
    return server.getPort();
  }

  public PodStatusReport lastReport() {
    return reports.isEmpty() ? null : reports.get(reports.size() - 1);
  }

  public boolean podReady() {
    PodStatusReport r = lastReport();
    return r != null && r.getPodsCount() > 0 && r.getPods(0).getReady();
  }

  /** Every desired pod reported Ready. */
  public boolean allReady() {
    PodStatusReport r = lastReport();
    return r != null && r.getPodsCount() == desired.getPodsCount() && r.getPodsList().stream().allMatch(PodStatus::getReady);
  }

  @Override
  public void close() {
    server.shutdownNow();
    try {
      server.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
