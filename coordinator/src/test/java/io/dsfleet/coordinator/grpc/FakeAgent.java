package io.dsfleet.coordinator.grpc;

import io.dsfleet.proto.v1.*;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A fake agent over real gRPC: joins, opens its session, records what the coordinator sends, and
 * sends heartbeats and pod status when told to. Records instead of acting, so tests can assert
 * exactly what a node was sent.
 */
public final class FakeAgent implements AutoCloseable {
  public final String name;
  private final ManagedChannel channel;
  private final AgentServiceGrpc.AgentServiceBlockingStub blocking;
  private final AgentServiceGrpc.AgentServiceStub async;
  public final BlockingQueue<CoordinatorMessage> received = new LinkedBlockingQueue<>();
  public volatile Throwable sessionError;
  /** The last desired set a test took from {@link #received}. */
  public DesiredState last = DesiredState.getDefaultInstance();
  public volatile boolean sessionCompleted;
  /** false: log requests stay open (a follow with nothing to say yet) until the test sends {@link #logChunk}. */
  public volatile boolean answerLogs = true;
  /** What it answers a log request with; null: "log of POD" and "second line". */
  public volatile List<String> logLines;
  private StreamObserver<AgentMessage> session;
  private long seq;
  private volatile long ackedSeq;
  /** false: the session is opened without reading what the coordinator sends (until {@link #startReading}). */
  public volatile boolean reading = true;
  private volatile io.grpc.stub.ClientCallStreamObserver<AgentMessage> call;

  /** An agent that stopped reading (see {@link #reading}) reads again: everything the transport holds for it arrives. */
  public void startReading() {
    call.request(Integer.MAX_VALUE);
  }

  /** Whether the coordinator acknowledged the last heartbeat sent (it took it: the lease is renewed). */
  public synchronized boolean heartbeatAcked() {
    return ackedSeq >= seq;
  }

  public FakeAgent(int port, String name) {
    this(NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build(), name);
  }

  /** Over a channel of the test's making (TLS with a node certificate). */
  public FakeAgent(ManagedChannel channel, String name) {
    this.name = name;
    this.channel = channel;
    this.blocking = AgentServiceGrpc.newBlockingStub(channel);
    this.async = AgentServiceGrpc.newStub(channel);
  }

  /** Each call with its own deadline, generous for a loaded machine (a stub's deadline runs from when it is made). */
  private AgentServiceGrpc.AgentServiceBlockingStub blocking() {
    return blocking.withDeadlineAfter(30, TimeUnit.SECONDS);
  }

  public static NodeInfo info(String name, java.util.Map<String, String> labels) {
    return NodeInfo.newBuilder().setName(name).addAddresses("127.0.0.1").putAllLabels(labels).setOs("linux")
        .setArch("amd64").setAgentVersion("test").setCpuMillis(2000).setMemoryBytes(1L << 30).build();
  }

  public FakeAgent join(java.util.Map<String, String> labels) {
    blocking().join(JoinRequest.newBuilder().setNode(info(name, labels)).build());
    return this;
  }

  public FakeAgent open() {
    return open(List.of());
  }

  /** Opens the session and reports, as the real agent does at once, the pods it runs. */
  public FakeAgent open(List<PodStatus> running) {
    return open(running, true);
  }

  /**
   * Opens the session without the report that follows at once (a test sends it with {@link #report}): the moment
   * between the two, which a real agent's report waiting behind others for the fleet's lock (paced) stretches.
   */
  public FakeAgent openWithoutReport() {
    return open(List.of(), false);
  }

  private FakeAgent open(List<PodStatus> running, boolean report) {
    session = async.session(new io.grpc.stub.ClientResponseObserver<AgentMessage, CoordinatorMessage>() {
      @Override
      public void beforeStart(io.grpc.stub.ClientCallStreamObserver<AgentMessage> call) {
        if (!reading) {
          call.disableAutoRequestWithInitial(0);
        }
        FakeAgent.this.call = call;
      }

      @Override
      public void onNext(CoordinatorMessage m) {
        if (m.hasHeartbeatAck()) {
          ackedSeq = Math.max(ackedSeq, m.getHeartbeatAck().getSeq());
        }
        received.add(m);
        if (m.hasLogRequest() && answerLogs) {
          synchronized (FakeAgent.this) {
            List<String> lines = logLines;
            session.onNext(AgentMessage.newBuilder().setLogChunk(LogChunk.newBuilder().setRequestId(m.getLogRequest().getRequestId())
                .addAllLines(lines != null ? lines : List.of("log of " + m.getLogRequest().getPodName(), "second line")).setEof(true))
                .build());
          }
        }
      }

      @Override
      public void onError(Throwable t) {
        sessionError = t;
      }

      @Override
      public void onCompleted() {
        sessionCompleted = true;
      }
    });
    synchronized (this) {
      session.onNext(AgentMessage.newBuilder().setOpen(SessionOpen.newBuilder().setNodeName(name)).build());
      if (report) {
        // as the real agent: a full report right after open (the coordinator sends nothing before it)
        session.onNext(AgentMessage.newBuilder().setPodStatus(PodStatusReport.newBuilder().setFull(true).addAllPods(running)).build());
      }
    }
    return this;
  }

  public synchronized void ack(long version) {
    session.onNext(AgentMessage.newBuilder().setAck(DesiredStateAck.newBuilder().setVersion(version)).build());
  }

  public synchronized void heartbeat() {
    heartbeat(false, "");
  }

  /** A heartbeat that says it needs no ack (the agent had one less than an interval ago). */
  public synchronized void heartbeatNeedingNoAck() {
    session.onNext(AgentMessage.newBuilder().setHeartbeat(Heartbeat.newBuilder().setSeq(++seq).setAckNotNeeded(true)).build());
  }

  /** A heartbeat saying whether the node's container runtime answers. */
  public synchronized void heartbeat(boolean runtimeUnavailable, String message) {
    session.onNext(AgentMessage.newBuilder().setHeartbeat(Heartbeat.newBuilder().setSeq(++seq).setRuntimeUnavailable(runtimeUnavailable)
        .setRuntimeMessage(message)).build());
  }

  /** Reports every pod of the last desired set Running and Ready (as a healthy agent would). */
  public synchronized void reportAllReady(DesiredState s, long readySinceMillis) {
    List<PodStatus> pods = new ArrayList<>();
    for (DesiredPod p : s.getPodsList()) {
      pods.add(PodStatus.newBuilder().setNamespace(p.getNamespace()).setDaemonSet(p.getDaemonSet()).setPodName(p.getPodName())
          .setTemplateHash(p.getTemplateHash()).setPhase("Running").setReady(true).setReadySinceMillis(readySinceMillis)
          .setStartedAtMillis(readySinceMillis).addContainers(ContainerStatus.newBuilder().setName("main").setState("running").setReady(true)).build());
    }
    report(pods.toArray(PodStatus[]::new));
  }

  public synchronized void report(PodStatus... pods) {
    session.onNext(AgentMessage.newBuilder().setPodStatus(PodStatusReport.newBuilder().setFull(true).addAllPods(List.of(pods))).build());
  }

  public void leave() {
    leave("");
  }

  /** Leaves showing this leave secret (the real agent's comes from its state directory). */
  public void leave(String leaveSecret) {
    blocking().leave(LeaveRequest.newBuilder().setNodeName(name).setLeaveSecret(leaveSecret).build());
  }

  /** Any message on the session, as a broken or hostile agent would send it. */
  public synchronized void send(AgentMessage m) {
    session.onNext(m);
  }

  /** Log lines for an open log request. */
  public synchronized void logChunk(String requestId, List<String> lines) {
    session.onNext(AgentMessage.newBuilder().setLogChunk(LogChunk.newBuilder().setRequestId(requestId).addAllLines(lines)).build());
  }

  /** The next DesiredState, skipping other messages; fails after the timeout. */
  public DesiredState nextDesired(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      CoordinatorMessage m = received.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      if (m == null) {
        throw new AssertionError(name + ": no DesiredState within " + timeout);
      }
      if (m.hasDesired()) {
        return m.getDesired();
      }
    }
  }

  /** DesiredStates received so far (drains the queue). */
  public List<DesiredState> drainDesired() {
    List<CoordinatorMessage> all = new ArrayList<>();
    received.drainTo(all);
    return all.stream().filter(CoordinatorMessage::hasDesired).map(CoordinatorMessage::getDesired).toList();
  }

  public StatusRuntimeException joinExpectingError(NodeInfo info) {
    try {
      blocking().join(JoinRequest.newBuilder().setNode(info).build());
      return null;
    } catch (StatusRuntimeException e) {
      return e;
    }
  }

  /** Ends the session from this side (the coordinator ends it too), keeping the connection for another. */
  public synchronized void endSession() {
    session.onCompleted();
  }

  @Override
  public void close() {
    if (session != null) {
      try {
        session.onCompleted();
      } catch (RuntimeException ignored) {
        // already closed by the coordinator
      }
    }
    channel.shutdownNow();
  }
}
