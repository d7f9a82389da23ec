package io.dsfleet.agent.session;

import io.dsfleet.agent.reconcile.Reconciler;
import io.dsfleet.agent.runtime.ContainerRuntime;
import io.dsfleet.agent.state.LocalState;
import io.dsfleet.proto.v1.*;
import io.dsfleet.proto.v1.RenewCertificateRequest;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.StreamObserver;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Joins the coordinator and keeps one session: heartbeats and pod status ({@link StatusReports}) up;
 * desired sets ({@link DesiredSetIntake}) and log requests ({@link LogRequests}) down. When the session breaks it reconnects with jittered exponential back-off (trying
 * the configured coordinators in turn, in rounds: {@link Rounds}); when the coordinator answers
 * NOT_FOUND (status code, not message text) it joins again. Nothing here waits on a thread: every
 * retry is scheduled.
 */
public final class CoordinatorSession implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(CoordinatorSession.class);
  private final NodeInfo info;
  private final Reconciler reconciler;
  private final LocalState state;
  private final DesiredSets desiredSets;
  private final DesiredSetIntake intake;
  private final StatusReports reports;
  private final ScheduledExecutorService scheduler;
  private final Clock clock;
  /** The waits between tries, in rounds of the configured addresses, on a jittered exponential back-off. */
  private final Rounds rounds;
  private final Runnable onRemoved;
  private final Duration heartbeatOverride;
  private final NodeCredentials credentials;
  private final CertificateRefusals refusals;
  private final RefusedPort refusedPort = new RefusedPort();
  private volatile boolean renewing;

  private final CoordinatorChannel channel;
  private volatile boolean joined;
  private volatile boolean closed;
  private final StateWrites writes = new StateWrites();
  private final NodeRemoval removal;
  private StreamObserver<AgentMessage> stream;
  private ScheduledFuture<?> heartbeats;
  /** When the session last opened (System.nanoTime: a wall clock stepped back does not make a long session look short); 0: never. */
  private long openedAtNanos;
  private long seq;
  /** When the coordinator last acknowledged a heartbeat (or the session opened): a silent session is a dead one. */
  private volatile long lastAckNanos;
  /** The coordinator's heartbeat interval, told at join (5 s until then); the open session's may be overridden. */
  private volatile Duration heartbeatInterval = Duration.ofSeconds(5);
  private Duration sessionInterval = heartbeatInterval;
  /** The session is being ended because the coordinator went silent: reconnect elsewhere. */
  private boolean silent;
  private final LogRequests logs;
  /** Where work that may wait long runs (a renewal, the node's removal, a refused desired set written again, log requests): never the scheduler. */
  private final SessionThreads threads = new SessionThreads();

  public CoordinatorSession(List<String> coordinators, NodeCredentials credentials, NodeInfo info, Reconciler reconciler,
      ContainerRuntime runtime, LocalState state, ScheduledExecutorService scheduler, Clock clock, Random random,
      Duration heartbeatOverride, Runnable onRemoved) {
    if (coordinators.isEmpty()) {
      throw new IllegalArgumentException("no coordinator address configured");
    }
    this.credentials = credentials;
    this.info = info;
    this.reconciler = reconciler;
    this.state = state;
    this.desiredSets = new DesiredSets(state, reconciler);
    this.removal = new NodeRemoval(reconciler, state, credentials, writes);
    this.scheduler = scheduler;
    this.clock = clock;
    this.rounds = new Rounds(coordinators.size(), new Reconnect(random));
    this.heartbeatOverride = heartbeatOverride;
    this.onRemoved = onRemoved;
    this.logs = new LogRequests(info.getName(), runtime, scheduler, this::send, this::streamReady);
    this.channel = new CoordinatorChannel(coordinators, credentials, () -> closed);
    this.refusals = new CertificateRefusals(credentials, channel, info.getName());
    this.intake = new DesiredSetIntake(desiredSets, writes, scheduler, threads.work, this::send);
    this.reports = new StatusReports(this, scheduler, () -> stream, this::streamReady, this::send);
  }

  public void start() {
    scheduler.execute(this::connect);
  }

  /**
   * Runs this session's gRPC callbacks (messages from the coordinator, call endings) on
   * {@code executor} instead of gRPC's shared pool, which starts a thread for every callback that
   * finds no idle one. One agent has one session, so its default is fine; thousands of simulated
   * agents in one JVM (bench) share a small pool here, or a fleet-wide apply starts hundreds of
   * threads in that JVM. Call before {@link #start}: a channel already made keeps its executor.
   */
  public CoordinatorSession callbacksOn(java.util.concurrent.Executor executor) {
    channel.callbacksOn(executor);
    return this;
  }

  /** Reaches the coordinator over {@code transport} instead of {@link Transport#OKHTTP} (the agent's). Call before {@link #start}. */
  public CoordinatorSession over(Transport transport) {
    channel.over(transport);
    return this;
  }

  public synchronized boolean connected() {
    return stream != null;
  }

  private void connect() {
    if (closed) {
      return;
    }
    String refusing = refusedPort.refusesAgain(channel.target());
    if (refusing != null) {
      retry(refusing, Status.Code.UNAVAILABLE);
      return;
    }
    boolean bootstrap = !credentials.isInsecure() && !credentials.hasCertificate();
    try {
      // a certificate that expired while no coordinator answered (an outage longer than its life) is no
      // session's: join again, with the token if there is one (before, sessions without a certificate were
      // refused until the agent was restarted; helper-82)
      if (!joined || bootstrap) {
        JoinRequest.Builder req = JoinRequest.newBuilder().setNode(info).setLeaveSecretSha256(credentials.leaveSecretSha256());
        ManagedChannel ch = channel.get();
        if (bootstrap) {
          // the secret proves this is the agent a lost answer admitted, should that have happened
          req.setJoinToken(credentials.joinToken()).setCsrPem(credentials.newRequest()).setLeaveSecret(credentials.leaveSecret());
        }
        JoinResponse r = AgentServiceGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS).join(req.build());
        if (bootstrap) {
          credentials.accept(r.getCertificatePem(), r.getCaPem());
          channel.reset();
          log.info("joined with the join token; node certificate stored (valid until {}); mutual TLS from now on",
              credentials.certificate().getNotAfter().toInstant());
        }
        joined = true;
        // kept for every later session: a reconnect does not join again, and must not fall back to a default
        heartbeatInterval = Duration.ofMillis(r.getHeartbeatIntervalMillis());
        log.info("joined the fleet as {} via {}", info.getName(), channel.target());
      }
      openStream(heartbeatOverride != null ? heartbeatOverride : heartbeatInterval);
    } catch (StatusRuntimeException e) {
      refusedPort.ended(e.getStatus().getCause());
      refusedCertificate(e.getStatus());
      refusals.joinFailed(bootstrap, e.getStatus());
      if (followLeader(e.getTrailers())) {
        return;
      }
      retry("join failed: " + e.getStatus().getCode() + " " + firstLine(e.getStatus().getDescription()) + rootCause(e)
          + (bootstrap && credentials.expiredByThisClock() ? " (joined with the join token: " + credentials.expiredHere() + ")" : ""),
          e.getStatus().getCode(), Reconnect.asked(e.getStatus(), e.getTrailers()));
    } catch (IllegalStateException e) {
      refusals.joinFailed(bootstrap, null);
      channel.reset();
      retry("cannot join: " + e.getMessage(), Status.Code.FAILED_PRECONDITION);
    } catch (RuntimeException e) {
      refusals.joinFailed(bootstrap, null);
      retry("join failed: " + e, Status.Code.UNKNOWN);
    }
  }

  /** The innermost cause (a TLS refusal, e.g. the coordinator's CA is not the pinned one), or nothing. */
  private static String rootCause(Throwable e) {
    Throwable c = e;
    while (c.getCause() != null) {
      c = c.getCause();
    }
    return c == e || c.getMessage() == null ? "" : " (" + firstLine(c.getMessage()) + ")";
  }

  /** Netty appends its channel pipeline to a TLS failure's description, on lines of their own: the first says it all. */
  private static String firstLine(String text) {
    return text == null ? "" : text.lines().findFirst().orElse("");
  }

  /** The dsfleet-leader trailer of a coordinator replica that does not lead: where the leader serves. */
  static final io.grpc.Metadata.Key<String> LEADER = io.grpc.Metadata.Key.of("dsfleet-leader", io.grpc.Metadata.ASCII_STRING_MARSHALLER);

  /**
   * A replica that does not lead named the one that does (or said none does yet): connect there
   * (or to the next replica) within a second, jittered so a fleet does not arrive at once, without
   * growing the back-off ({@link Rounds}: while the replicas elect, for a bounded time). The address
   * is only a hint: the leader must still prove it holds a certificate of the fleet's CA.
   */
  private boolean followLeader(io.grpc.Metadata trailers) {
    String leader = trailers == null ? null : trailers.get(LEADER);
    if (closed || leader == null) {
      return false;
    }
    Duration delay;
    if (leader.isBlank()) {
      // the replicas are electing a leader (a second or two): ask around again soon
      channel.nextCoordinator();
      delay = rounds.noLeader(System.nanoTime());
      log.info("no coordinator replica leads yet (an election); asking again in {} ms (pods keep running)", delay.toMillis());
    } else {
      channel.toLeader(leader);
      delay = rounds.leaderNamed();
      log.info("the coordinator replica does not lead; the leader is at {}: connecting in {} ms (pods keep running)", leader,
          delay.toMillis());
    }
    scheduler.schedule(this::connect, delay.toMillis(), TimeUnit.MILLISECONDS);
    return true;
  }

  private void retry(String why, Status.Code code) {
    retry(why, code, Duration.ZERO);
  }

  /** Connects again after the back-off, and not sooner than {@code asked} (the coordinator's RetryInfo). */
  private void retry(String why, Status.Code code, Duration asked) {
    if (closed) {
      return;
    }
    boolean movedOn = (code == Status.Code.UNAVAILABLE || code == Status.Code.DEADLINE_EXCEEDED) && channel.nextCoordinator();
    channel.dropLostConnection();
    Duration delay = rounds.failed(movedOn, asked, System.nanoTime());
    log.warn("{}; retrying in {} ms (pods keep running)", why, delay.toMillis());
    scheduler.schedule(this::connect, delay.toMillis(), TimeUnit.MILLISECONDS);
  }

  private void openStream(Duration interval) {
    StreamObserver<AgentMessage> out = AgentServiceGrpc.newStub(channel.get()).session(new ClientResponseObserver<AgentMessage, CoordinatorMessage>() {
      @Override
      public void beforeStart(ClientCallStreamObserver<AgentMessage> requests) {
        requests.setOnReadyHandler(() -> reports.onStreamReady(requests));
      }

      @Override
      public void onNext(CoordinatorMessage m) {
        handle(m);
      }

      @Override
      public void onError(Throwable t) {
        ended(Status.fromThrowable(t), Status.trailersFromThrowable(t));
      }

      @Override
      public void onCompleted() {
        ended(Status.UNAVAILABLE.withDescription("the coordinator ended the session"));
      }
    });
    synchronized (this) {
      if (closed) { // closed while this stream opened: close() has torn down what it found
        out.onCompleted();
        return;
      }
      stream = out;
      openedAtNanos = System.nanoTime();
      lastAckNanos = System.nanoTime();
      sessionInterval = interval;
      out.onNext(AgentMessage.newBuilder().setOpen(DesiredSets.open(info.getName(), reconciler.held())).build());
      // re-report everything on (re)connect, at once: the coordinator keeps pod status in memory
      // only, and sends this node nothing before it heard what runs here
      long applied = reconciler.reportedVersion(); // before the report: never a version newer than the pass that built it
      reports.sendOnOpen(reconciler.lastReport(), applied);
      heartbeat(); // at once: it carries whether this node can run pods now
      heartbeats = scheduler.scheduleAtFixedRate(this::heartbeat, interval.toMillis(), interval.toMillis(), TimeUnit.MILLISECONDS);
    }
  }

  /** Sends a heartbeat now (the runtime condition changed, say), when connected. */
  public synchronized void heartbeat() {
    if (stream != null && silentFor() != null) {
      // a coordinator cut off (its link down, its host gone) never ends the stream: no RST arrives;
      // heartbeats go into the void while another replica leads. Four intervals unanswered: leave.
      log.warn("the coordinator acknowledged no heartbeat for {} ms; reconnecting (pods keep running)", silentFor().toMillis());
      silent = true;
      ((ClientCallStreamObserver<AgentMessage>) stream).cancel("the coordinator went silent", null);
      stream = null; // nothing more goes out on it; ended() follows
      return;
    }
    if (stream == null) {
      return;
    }
    Reconciler.RuntimeCondition c = reconciler.runtimeCondition();
    // an ack only when the last one is an interval old: every other heartbeat while the coordinator
    // answers, half the coordinator's writes at thousands of heartbeats a second (docs/wire.md)
    boolean ackNeeded = System.nanoTime() - lastAckNanos >= sessionInterval.toNanos();
    if (send(AgentMessage.newBuilder().setHeartbeat(Heartbeat.newBuilder().setSeq(++seq).setRuntimeUnavailable(c.down())
        .setRuntimeMessage(c.message() == null ? "" : c.message()).setAckNotNeeded(!ackNeeded)
        .setStateWriteError(desiredSets.writeError())).build())) {
      if (!renewing && credentials.dueForRenewal(clock.instant())) {
        renewing = true;
        threads.work.execute(this::renew);
      }
    }
  }

  /**
   * How long the coordinator has not acknowledged a heartbeat, when that is over four intervals;
   * else null. An ack is asked for every other interval ({@link #heartbeat}), so four intervals are
   * the same three unanswered heartbeats that asked as when every heartbeat was acked.
   */
  private Duration silentFor() {
    Duration quiet = Duration.ofNanos(System.nanoTime() - lastAckNanos);
    return quiet.compareTo(sessionInterval.multipliedBy(4)) > 0 ? quiet : null;
  }

  /**
   * Set when this side ends the session itself to reconnect with a renewed certificate: the next
   * session opens at once, whatever back-off earlier short sessions built up (it once kept a node
   * away for 20 s after each renewal).
   */
  private volatile boolean reconnectAtOnce;

  /**
   * Renews the node certificate (a third of its life left) with a new key, then reconnects with
   * it: the session reopens, the pods are not touched.
   */
  private void renew() {
    try {
      String certPem = AgentServiceGrpc.newBlockingStub(channel.get()).withDeadlineAfter(10, TimeUnit.SECONDS)
          .renewCertificate(RenewCertificateRequest.newBuilder().setCsrPem(credentials.newRequest()).build())
          .getCertificatePem();
      credentials.accept(certPem, null);
      log.info("node certificate renewed (valid until {}); reconnecting with it, pods keep running",
          credentials.certificate().getNotAfter().toInstant());
      reconnectAtOnce = true;
      channel.reset();
    } catch (RuntimeException e) {
      log.warn("node certificate renewal failed, retrying at the next heartbeat: {}", e.getMessage());
    } finally {
      renewing = false;
    }
  }

  /** A refused certificate (revoked: the node was removed, or a wrong store serves): join again ({@link CertificateRefusals}). */
  private void refusedCertificate(Status status) {
    if (refusals.certificateRefused(status)) {
      joined = false;
    }
  }

  private void ended(Status status) {
    ended(status, null);
  }

  private void ended(Status status, io.grpc.Metadata trailers) {
    refusedPort.ended(status.getCause());
    synchronized (this) {
      if (silent) {
        silent = false;
        status = Status.UNAVAILABLE.withDescription("no heartbeat acknowledged for over four intervals");
      }
      if (heartbeats != null) {
        heartbeats.cancel(false);
      }
      stream = null;
      if (openedAtNanos != 0 && System.nanoTime() - openedAtNanos > Duration.ofSeconds(10).toNanos()) {
        rounds.reset();
      }
    }
    logs.closeAll();
    if (status.getCode() == Status.Code.NOT_FOUND) {
      joined = false;
      log.warn("the coordinator does not know this node ({}); joining again", status.getDescription());
    }
    refusedCertificate(status);
    if (reconnectAtOnce && !closed) {
      reconnectAtOnce = false;
      rounds.reset();
      log.info("reconnecting with the renewed certificate now (pods keep running)");
      scheduler.execute(this::connect);
      return;
    }
    if (followLeader(trailers)) {
      return;
    }
    retry("session ended: " + status.getCode() + (status.getDescription() == null ? "" : " " + firstLine(status.getDescription())),
        status.getCode(), Reconnect.asked(status, trailers));
  }

  /**
   * Sends the full pod status of the node, when connected, coalesced while its pods settle and
   * held while the stream takes no more ({@link StatusReports}). Called by the reconciler's pass
   * with the report it built: the version of the set that pass had taken goes with it
   * ({@link Reconciler#reportedVersion}, set before the call; passes do not overlap).
   */
  public void sendReport(List<PodStatus> pods) {
    reports.send(pods, reconciler.reportedVersion());
  }

  /** Whether the open stream takes more now (gRPC's flow control); false with none. */
  synchronized boolean streamReady() {
    return stream != null && ((ClientCallStreamObserver<AgentMessage>) stream).isReady();
  }

  /**
   * Sends on the open stream, if any; never throws (its callers are the reconciler's passes and
   * timers). A stream that cannot take a message (cancelled, broken) is ended here and the session
   * reconnects; what was not sent goes with the next session (its first report is the node's full
   * status). Returns whether the message went out.
   */
  private synchronized boolean send(AgentMessage m) {
    if (stream == null) {
      return false;
    }
    try {
      stream.onNext(m);
      return true;
    } catch (RuntimeException e) {
      log.warn("sending to the coordinator failed ({}); reconnecting (pods keep running)", e.toString());
      ((ClientCallStreamObserver<AgentMessage>) stream).cancel("a message could not be sent", e);
      stream = null; // ended() follows
      return false;
    }
  }

  /** Tries a refused set again after {@code every} instead of {@link DesiredSetIntake#WRITE_RETRY} (tests). */
  void writeRetry(Duration every) {
    intake.writeRetry(every);
  }

  private void handle(CoordinatorMessage m) {
    switch (m.getMsgCase()) {
      case DESIRED -> intake.take(m.getDesired());
      case LOG_REQUEST -> {
        if (!closed) {
          logs.take(m.getLogRequest(), threads.logs);
        }
      }
      case LOG_CANCEL -> logs.cancel(m.getLogCancel().getRequestId());
      case REMOVED -> {
        log.warn("this node was removed from the fleet: {}; stopping and removing every owned container", m.getRemoved().getReason());
        closed = true;
        removal.start(threads.work).whenComplete((done, failed) -> onRemoved.run()); // removed either way: what failed is logged
      }
      case HEARTBEAT_ACK -> lastAckNanos = System.nanoTime();
      default -> { }
    }
  }

  /**
   * Leaves the fleet and removes this node's pods and state (leaving on shutdown): the leave first,
   * unless the coordinator removed the node already; then the removal, which the coordinator's
   * REMOVED answer to the leave starts too: it runs once, and this waits for it (up to 100 s from its
   * start, one budget with the session's close). A leave the coordinator did not take (unreachable)
   * is logged and the pods are removed anyway, as `ds-agent leave` does.
   */
  public void leaveAndRemove() {
    if (!removal.started()) {
      try {
        leave();
      } catch (RuntimeException e) { // NOT_FOUND too: removed meanwhile, its REMOVED on the way
        log.warn("leaving the fleet failed at the coordinator ({}); removing this node's pods anyway (until `dsctl node rm`"
            + " the fleet lists the node)", e.toString());
      }
    }
    closed = true;
    removal.start(threads.work);
    removal.await();
  }

  /** Leaves the fleet: the coordinator removes the node and revokes its certificate, which is forgotten here. */
  public void leave() {
    AgentServiceGrpc.newBlockingStub(channel.get()).withDeadlineAfter(10, TimeUnit.SECONDS)
        .leave(LeaveRequest.newBuilder().setNodeName(info.getName()).setLeaveSecret(credentials.leaveSecret()).build());
    credentials.forget();
  }

  @Override
  public void close() {
    closed = true;
    // the node's removal under way (a REMOVED) ends before its thread is interrupted; waited for
    // outside the session's monitor, which the removal's last reconcile pass may report through
    removal.awaitQuietly();
    synchronized (this) {
      if (heartbeats != null) {
        heartbeats.cancel(false);
      }
      if (stream != null) {
        try {
          stream.onCompleted();
        } catch (RuntimeException ignored) {
          // already closed
        }
        stream = null;
      }
      channel.reset();
    }
    removal.awaitQuietly(); // a REMOVED that came meanwhile: the same budget, nothing more if none did
    threads.shutdownNow();
    writes.close(30, TimeUnit.SECONDS);
  }
}
