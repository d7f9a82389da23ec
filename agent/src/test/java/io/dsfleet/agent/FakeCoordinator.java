package io.dsfleet.agent;

import io.dsfleet.proto.v1.*;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.epoll.Epoll;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollChannelOption;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.StandardSocketOptions;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/** A coordinator that serves one fixed desired set over real gRPC and records what agents send. */
public final class FakeCoordinator implements AutoCloseable {
  /** What each session opened is sent first. */
  public volatile DesiredState desired;
  private Server server;
  public final AtomicInteger sessionsOpened = new AtomicInteger();
  /** Desired sets the agent acknowledged (it does once it has written the set to its state directory). */
  public final AtomicInteger desiredAcks = new AtomicInteger();
  public final AtomicInteger joins = new AtomicInteger();
  public final AtomicInteger leaves = new AtomicInteger();
  public final List<PodStatusReport> reports = new CopyOnWriteArrayList<>();
  public final List<io.dsfleet.proto.v1.LogChunk> logChunks = new CopyOnWriteArrayList<>();
  /** While set, the coordinator reads nothing more from its sessions (a slow link, a busy coordinator): flow control holds the agents back. */
  public volatile boolean stallReads;
  /** The next session's open is refused with this (then it is cleared); null: none is. */
  public volatile io.grpc.StatusRuntimeException refuseNextSession;
  /** When each session's open arrived (System.nanoTime), refused ones too. */
  public final List<Long> sessionOpensNanos = new CopyOnWriteArrayList<>();
  /** Every heartbeat received, in order, with the session it came on (1 for the first opened). */
  public final List<Received> heartbeats = new CopyOnWriteArrayList<>();

  public record Received(int session, Heartbeat heartbeat) {}
  /** Off: heartbeats go unanswered, as from a coordinator cut off, and agents leave the session after four intervals. */
  public volatile boolean ackHeartbeats = true;
  /** On: a leave sends REMOVED on the session opened last before it is answered, as the coordinator does (in either order). */
  public volatile boolean removesOnLeave;
  /** Set: a leave is answered with this error (and changes nothing). */
  public volatile io.grpc.Status leaveFails;
  /**
   * Set: this is a coordinator replica that does not lead, and refuses every call at once
   * UNAVAILABLE with this leader's address in the dsfleet-leader trailer (empty: none leads yet, an
   * election), as the coordinator's LeaderGate does; null: it serves.
   */
  public volatile String notLeading;
  /** When each call refused for not leading arrived (System.nanoTime). */
  public final List<Long> notLeadingNanos = new CopyOnWriteArrayList<>();

  public FakeCoordinator(DesiredState desired) {
    this.desired = desired;
  }

  /**
   * Serves on 127.0.0.1:port (0: any free port). The socket is bound with SO_REUSEPORT, so a test
   * can bind the next listener on the same port before closing this one ({@link #startInPlaceOf}):
   * a port closed and bound again leaves a moment in which any other process on the machine may
   * take it, and one CI run failed with "Address already in use" that way.
   */
  public FakeCoordinator start(int port) throws IOException {
    if (!Epoll.isAvailable()) {
      throw new IllegalStateException("the fake coordinator binds with SO_REUSEPORT, which needs Netty's epoll transport", Epoll.unavailabilityCause());
    }
    server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", port)).withOption(EpollChannelOption.SO_REUSEPORT, true).addService(io.grpc.ServerInterceptors.intercept(new AgentServiceGrpc.AgentServiceImplBase() {
      @Override
      public void join(JoinRequest request, StreamObserver<JoinResponse> response) {
        joins.incrementAndGet();
        response.onNext(JoinResponse.newBuilder().setNodeName(request.getNode().getName()).setHeartbeatIntervalMillis(1000).build());
        response.onCompleted();
      }

      @Override
      public void leave(LeaveRequest request, StreamObserver<LeaveResponse> response) {
        leaves.incrementAndGet();
        if (leaveFails != null) {
          response.onError(leaveFails.asRuntimeException());
          return;
        }
        if (removesOnLeave) { // as the coordinator: the node's session hears REMOVED, here before the leave is answered
          send(CoordinatorMessage.newBuilder().setRemoved(io.dsfleet.proto.v1.Removed.newBuilder().setReason("the node left")).build());
        }
        response.onNext(LeaveResponse.getDefaultInstance());
        response.onCompleted();
      }

      @Override
      public StreamObserver<AgentMessage> session(StreamObserver<CoordinatorMessage> response) {
        return new StreamObserver<>() {
          private int session;

          @Override
          public void onNext(AgentMessage m) {
            while (stallReads) { // gRPC asks the agent for the next message only once this one is handled
              java.util.concurrent.locks.LockSupport.parkNanos(10_000_000);
            }
            if (m.hasOpen()) {
              sessionOpensNanos.add(System.nanoTime());
              opens.add(m.getOpen());
              io.grpc.StatusRuntimeException refusal = refuseNextSession;
              if (refusal != null) {
                refuseNextSession = null;
                response.onError(refusal);
                return;
              }
              session = sessionsOpened.incrementAndGet();
              latest = response;
              synchronized (response) {
                response.onNext(CoordinatorMessage.newBuilder().setDesired(desired).build());
              }
            } else if (m.hasAck()) {
              desiredAcks.incrementAndGet();
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
    }, new io.grpc.ServerInterceptor() {
      @Override
      public <Q, R> io.grpc.ServerCall.Listener<Q> interceptCall(io.grpc.ServerCall<Q, R> call, io.grpc.Metadata headers,
          io.grpc.ServerCallHandler<Q, R> next) {
        String leader = notLeading;
        if (leader == null) {
          return next.startCall(call, headers);
        }
        notLeadingNanos.add(System.nanoTime());
        io.grpc.Metadata trailers = new io.grpc.Metadata();
        trailers.put(io.grpc.Metadata.Key.of("dsfleet-leader", io.grpc.Metadata.ASCII_STRING_MARSHALLER), leader);
        call.close(io.grpc.Status.UNAVAILABLE.withDescription("this replica is not the leader"), trailers);
        return new io.grpc.ServerCall.Listener<>() {};
      }
    })).build().start();
    return this;
  }

  /** Every session's open as the agent sent it (refused ones too), in order. */
  public final java.util.List<io.dsfleet.proto.v1.SessionOpen> opens = new java.util.concurrent.CopyOnWriteArrayList<>();

  /** The response side of the session opened last. */
  private volatile StreamObserver<CoordinatorMessage> latest;

  /** Sends a message on the session opened last. */
  public void send(CoordinatorMessage m) {
    StreamObserver<CoordinatorMessage> to = latest;
    synchronized (to) {
      to.onNext(m);
    }
  }

  /** Serves on the port of {@code old}, then closes {@code old}: the port is never free in between. */
  public FakeCoordinator startInPlaceOf(FakeCoordinator old) throws IOException {
    start(old.port());
    old.close();
    return this;
  }

  /** Serves on the port {@code away} kept, then closes it. */
  public FakeCoordinator startInPlaceOf(Away away) throws IOException {
    start(away.port());
    away.close();
    return this;
  }

  /**
   * Closes this coordinator and keeps its port with a listener that takes each connection and
   * closes it at once, as a coordinator still starting up would, counting them.
   */
  public Away goAway() throws IOException {
    Away away = new Away(port());
    close();
    return away;
  }

  /** Closes this coordinator, its port kept by a socket bound there that does not listen: connections to it are refused. */
  public Refusing refuse() throws IOException {
    Refusing refusing = new Refusing(port());
    close();
    return refusing;
  }

  /** Serves on the port {@code refusing} kept, then closes it. */
  public FakeCoordinator startInPlaceOf(Refusing refusing) throws IOException {
    start(refusing.port());
    refusing.close();
    return this;
  }

  /** A coordinator's port that nothing listens on (a coordinator restarting), kept from other processes. */
  public static final class Refusing implements AutoCloseable {
    private final Socket socket = new Socket();

    private Refusing(int port) throws IOException {
      socket.setOption(StandardSocketOptions.SO_REUSEPORT, true);
      socket.bind(new InetSocketAddress("127.0.0.1", port));
    }

    public int port() {
      return socket.getLocalPort();
    }

    @Override
    public void close() throws IOException {
      socket.close();
    }
  }

  /** A coordinator's port with no coordinator behind it. */
  public static final class Away implements AutoCloseable {
    private final ServerSocket socket = new ServerSocket();
    public final AtomicInteger connections = new AtomicInteger();

    private Away(int port) throws IOException {
      socket.setOption(StandardSocketOptions.SO_REUSEPORT, true);
      socket.bind(new InetSocketAddress("127.0.0.1", port)); // where the fake coordinator serves
      Thread taker = new Thread(() -> {
        while (!socket.isClosed()) {
          try (Socket s = socket.accept()) {
            connections.incrementAndGet();
          } catch (IOException closed) {
            return;
          }
        }
      }, "away-" + port);
      taker.setDaemon(true);
      taker.start();
    }

    public int port() {
      return socket.getLocalPort();
    }

    @Override
    public void close() throws IOException {
      socket.close();
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
