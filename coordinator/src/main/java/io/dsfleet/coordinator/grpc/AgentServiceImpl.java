package io.dsfleet.coordinator.grpc;

import io.dsfleet.coordinator.fleet.AgentSink;
import io.dsfleet.coordinator.fleet.AgentText;
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
import io.dsfleet.proto.v1.PodStatusReport;
import io.dsfleet.proto.v1.RenewCertificateRequest;
import io.dsfleet.proto.v1.RenewCertificateResponse;
import io.dsfleet.common.tls.Pki;
import io.dsfleet.coordinator.security.Authority;
import io.dsfleet.coordinator.security.Caller;
import io.dsfleet.coordinator.store.StoreException;
import io.grpc.Status;
import java.security.cert.X509Certificate;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Agents join, hold one session each, and leave. A session's messages arrive on the transport
 * threads: a heartbeat of a node that stays as it is renews the lease there without the fleet's
 * lock (and is answered there when it asks for an answer and nothing of its session waits);
 * everything else a session changes is queued to the {@link SessionWorker}.
 */
public final class AgentServiceImpl extends AgentServiceGrpc.AgentServiceImplBase implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(AgentServiceImpl.class);
  private final Fleet fleet;
  private final LogRelay logs;
  private final Authority authority;
  private final SessionWorker worker;
  /** Each node's recent joins with its certificate (System.nanoTime of each, the newest {@link #REJOINS} at most). */
  private final java.util.concurrent.ConcurrentHashMap<String, java.util.ArrayDeque<Long>> rejoins = new java.util.concurrent.ConcurrentHashMap<>();

  /**
   * A node joins with its certificate at most this often in {@link #REJOIN_WINDOW}; more is refused
   * (RESOURCE_EXHAUSTED, which the agent tries again after its back-off). An agent joins so when it
   * starts and when the coordinator no longer knows it; each such join takes the fleet's lock,
   * plans the node again and writes it to the store, on the call threads dsctl shares, and before
   * 2026-12-05 root on one node (or a copy of its certificate) could call Join in a loop and keep
   * the store and the fleet's lock busy for every other caller (helper-89).
   */
  static final int REJOINS = 5;
  static final java.time.Duration REJOIN_WINDOW = java.time.Duration.ofMinutes(1);

  /** @param authority null on an insecure coordinator */
  public AgentServiceImpl(Fleet fleet, LogRelay logs, Authority authority) {
    this.fleet = fleet;
    this.logs = logs;
    this.authority = authority;
    this.worker = new SessionWorker(fleet);
    this.takeovers = new SessionTakeovers(fleet.nanoTime());
  }

  /** How fast each session's pod reports are read. */
  private final ReportPacing pacing = new ReportPacing();

  /** How often a node's open session may be replaced by another (two holders of its certificate taking it in turns). */
  private final SessionTakeovers takeovers;

  /** Session messages waiting for the fleet's lock (the session worker's queue). */
  public int queuedSessionMessages() {
    return worker.queued();
  }

  /** Stops applying session messages (this coordinator stopped serving this fleet). */
  @Override
  public void close() {
    worker.close();
    pacing.close();
  }

  /**
   * A node with its certificate re-joins as itself (what scheduling reads stays as admitted). A
   * node without one joins with a join token and a certificate request for its own name, and gets
   * its certificate: a token admits a name that is not a member, never takes over one (only a
   * token an admin scoped to that name does). Membership is the stored registry, so this holds
   * right after a coordinator restart as well as while the node's agent is stopped.
   */
  @Override
  public void join(JoinRequest request, StreamObserver<JoinResponse> response) {
    try {
      String name = request.getNode().getName();
      Caller caller = Caller.current();
      JoinResponse.Builder out = JoinResponse.newBuilder().setNodeName(name)
          .setHeartbeatIntervalMillis(fleet.options().heartbeatInterval().toMillis())
          .setLeaseMillis(fleet.options().heartbeatGrace().toMillis());
      String leaveHash = request.getLeaveSecretSha256();
      if (!leaveHash.isEmpty() && !leaveHash.matches("[0-9a-f]{64}")) {
        throw new ControlException(Status.Code.INVALID_ARGUMENT, "leave_secret_sha256 must be 64 lowercase hex digits");
      }
      requireLeaveSecretSize(request.getLeaveSecret());
      if (caller.kind() == Caller.Kind.ANONYMOUS) {
        if (request.getJoinToken().isEmpty() || request.getCsrPem().isEmpty()) {
          throw new ControlException(Status.Code.UNAUTHENTICATED, "joining needs a join token and a certificate request");
        }
        if (leaveHash.isEmpty()) {
          throw new ControlException(Status.Code.INVALID_ARGUMENT, "a join by token must carry the agent's leave secret hash");
        }
        // before the fleet's lock: anyone can call Join
        Authority.Presented presented = authority.present(request.getJoinToken(), name, request.getCsrPem(),
            !request.getLeaveSecret().isEmpty());
        if (!request.getLeaveSecret().isEmpty() && !io.dsfleet.common.Sha256.matches(request.getLeaveSecret(), leaveHash)) {
          throw new ControlException(Status.Code.INVALID_ARGUMENT, "leave_secret does not match leave_secret_sha256");
        }
        Authority.Admission[] issued = new Authority.Admission[1];
        Authority.Admission admission;
        try {
          admission = fleet.admit(request.getNode(), leaveHash, request.getLeaveSecret(),
              (member, retryOf) -> issued[0] = authority.admit(presented, member, retryOf),
              Authority.Admission::tokenUse, authority::giveBack);
        } finally {
          // also when the node's write then failed: what the admission revoked (a replaced member's
          // certificates, a stolen copy's among them) stays revoked, and before, its calls went on;
          // when the admission itself failed after its revocations, they wait in the authority's unended
          authority.endStreams(issued[0] != null ? issued[0].revoked() : java.util.List.of());
        }
        X509Certificate cert = admission.certificate();
        fleet.securityEvent(name, "CertificateIssued", "certificate " + Pki.serialHex(cert) + " issued with join token "
            + admission.tokenId() + ", valid until " + cert.getNotAfter().toInstant());
        out.setCertificatePem(Pki.pem(cert)).setCaPem(Pki.pem(authority.pki().ca()));
      } else if (!caller.speaksFor(name)) {
        throw new ControlException(Status.Code.PERMISSION_DENIED, caller + " cannot join as node " + name);
      } else {
        rejoining(name, System.nanoTime());
        fleet.join(request.getNode(), leaveHash, caller.kind() == Caller.Kind.INSECURE);
      }
      response.onNext(out.build());
      response.onCompleted();
    } catch (ControlException e) {
      response.onError(e.toStatus());
    } catch (StoreException e) {
      response.onError(storeRefused(e));
    }
  }

  /** Counts a join of {@code name} with its certificate at {@code nanos}; refuses one over {@link #REJOINS} in {@link #REJOIN_WINDOW}. */
  void rejoining(String name, long nanos) {
    boolean[] refused = new boolean[1];
    rejoins.compute(name, (k, times) -> {
      java.util.ArrayDeque<Long> t = times == null ? new java.util.ArrayDeque<>() : times;
      while (!t.isEmpty() && nanos - t.peekFirst() >= REJOIN_WINDOW.toNanos()) {
        t.pollFirst();
      }
      refused[0] = t.size() >= REJOINS;
      if (!refused[0]) {
        t.addLast(nanos);
      }
      return t;
    });
    if (refused[0]) {
      throw new ControlException(Status.Code.RESOURCE_EXHAUSTED, "node " + name + " joined " + REJOINS + " times in the last "
          + REJOIN_WINDOW.toSeconds() + " s with its certificate; try again later");
    }
  }

  /**
   * A write the store refused (a full or failing disk) in a join, leave or renewal: UNAVAILABLE,
   * which the agent tries again, not UNKNOWN with a stack trace (helper-75). Not "nothing changed":
   * a join writes more than once.
   */
  private static io.grpc.StatusRuntimeException storeRefused(StoreException e) {
    log.error("the store refused a write: {}", e.getMessage());
    return Status.UNAVAILABLE.withDescription("the coordinator's store refused a write (" + e.getMessage() + "); try again").asRuntimeException();
  }

  /**
   * The most characters of a leave secret read. The agent's is 64 hex digits; a caller's of up to
   * a message's 4 MiB was hashed whole, about 20 ms of a call thread for each Leave a copy of a
   * node's certificate sent in a loop (each refused only after it), twice what the message's
   * decoding costs.
   */
  static final int MAX_LEAVE_SECRET = 1024;

  private static void requireLeaveSecretSize(String secret) {
    if (secret.length() > MAX_LEAVE_SECRET) {
      throw new ControlException(Status.Code.INVALID_ARGUMENT, "leave_secret is " + secret.length() + " characters, more than the "
          + MAX_LEAVE_SECRET + " read: an agent's leave secret is 64 hex digits (its state directory's leave-secret file)");
    }
  }

  @Override
  public void leave(LeaveRequest request, StreamObserver<LeaveResponse> response) {
    try {
      requireSelf(request.getNodeName());
      requireLeaveSecretSize(request.getLeaveSecret()); // before it is hashed
      java.util.List<String> revoked = new java.util.ArrayList<>();
      try {
        fleet.leave(request.getNodeName(), request.getLeaveSecret(), () -> {
          if (authority != null) {
            revoked.addAll(authority.revokeKeepingStreams(request.getNodeName(), Pki.NODES));
          }
        });
      } finally {
        if (authority != null) {
          authority.endStreams(revoked); // after the node's session carried the removal
        }
      }
      response.onNext(LeaveResponse.getDefaultInstance());
      response.onCompleted();
    } catch (ControlException e) {
      response.onError(e.toStatus());
    } catch (StoreException e) {
      response.onError(storeRefused(e));
    }
  }

  /**
   * A node's new certificate ({@link Authority#renew}), for a member only: a node collected after
   * being NotReady for {@code nodeGcAfter} keeps its certificates (only a removal or a leave revokes
   * them), and before 2026-12-05 a copy of one renewed them for good, though they admit the name
   * nowhere. Its agent, which renews only within a session, comes back with a join token. A
   * collection between this check and the signing leaves one certificate, which the next renewal
   * cannot renew.
   */
  @Override
  public void renewCertificate(RenewCertificateRequest request, StreamObserver<RenewCertificateResponse> response) {
    try {
      Caller caller = Caller.current();
      if (authority == null || caller.kind() != Caller.Kind.NODE) {
        throw new ControlException(Status.Code.FAILED_PRECONDITION, "certificates are renewed over mutual TLS only");
      }
      if (!fleet.member(caller.name())) {
        throw new ControlException(Status.Code.FAILED_PRECONDITION, "node " + caller.name() + " is not a member of the fleet"
            + " (removed, left, or collected after being NotReady too long): its certificate is not renewed; join with a join token");
      }
      var cert = authority.renew(caller.name(), caller.serial(), request.getCsrPem());
      fleet.securityEvent(caller.name(), "CertificateRenewed", "certificate " + Pki.serialHex(cert) + " issued (renewal),"
          + " valid until " + cert.getNotAfter().toInstant());
      response.onNext(RenewCertificateResponse.newBuilder().setCertificatePem(Pki.pem(cert)).build());
      response.onCompleted();
    } catch (ControlException e) {
      response.onError(e.toStatus());
    } catch (StoreException e) {
      response.onError(storeRefused(e));
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
    private volatile String node;
    private boolean closed;
    private volatile Runnable unwatch = () -> { };

    /** The newest desired set not sent yet: the agent was not reading (flow control); sent when it is, or replaced. */
    private CoordinatorMessage heldDesired;

    Session(ServerCallStreamObserver<CoordinatorMessage> out) {
      this.out = out;
      out.setOnReadyHandler(this::sendHeld);
      this.reads = pacing.reads(out);
    }

    /** What this session reads next, and when ({@link ReportPacing}). */
    private final ReportPacing.Reads reads;

    /**
     * Sends a message; a desired set waits while the stream is not ready (an agent that stopped
     * reading, a half-open connection until the keepalive ends it), and a newer one replaces it:
     * the coordinator holds at most one desired set per node, never a backlog. A heartbeat's answer
     * likewise: the newest waits (after a waiting desired set). Log requests and cancels go as they
     * come (as many as readers ask for).
     */
    @Override
    public synchronized void send(CoordinatorMessage message) {
      if (closed || out.isCancelled()) {
        return;
      }
      if (message.hasDesired()) {
        if (!out.isReady()) {
          heldDesired = message;
          return;
        }
        heldDesired = null;
      }
      if (message.hasHeartbeatAck()) {
        // the newest answer waits too: a node that asks for answers and reads none (each a few hundred
        // bytes queued for a heartbeat of a dozen) grew the coordinator's memory without end (SessionMemoryTest)
        if (!out.isReady() || heldDesired != null) {
          heldAck = message;
          return;
        }
        heldAck = null;
      }
      out.onNext(message);
    }

    /** The newest heartbeat answer not sent yet (the agent was not reading): sent after the held desired set. */
    private CoordinatorMessage heldAck;

    private synchronized void sendHeld() {
      if (closed || out.isCancelled()) {
        return;
      }
      if (heldDesired != null && out.isReady()) {
        CoordinatorMessage m = heldDesired;
        heldDesired = null;
        out.onNext(m);
      }
      if (heldAck != null && heldDesired == null && out.isReady()) {
        CoordinatorMessage m = heldAck;
        heldAck = null;
        out.onNext(m);
      }
    }

    /** The coordinator ends the session (replaced, removed): completed, then cleaned up as if the agent had hung up. */
    @Override
    public void close() {
      synchronized (this) {
        if (closed) {
          return;
        }
        closed = true;
        out.onCompleted();
      }
      ended(); // outside the session's lock
    }

    private void fail(Status status) {
      fail(status, null);
    }

    private void fail(Status status, io.grpc.Metadata trailers) {
      synchronized (this) {
        if (closed) {
          return;
        }
        closed = true;
        out.onError(status.asRuntimeException(trailers));
      }
      ended();
    }

    /** The node's certificate was revoked: the session ends now, not at the agent's next reconnect. */
    private void revoked() {
      fail(Status.UNAUTHENTICATED.withDescription("the certificate of node " + node + " was revoked"));
    }

    @Override
    public void onNext(AgentMessage m) {
      worked = false;
      try {
        handle(m);
      } finally {
        reads.handled(worked);
      }
    }

    /** The message being handled went to the worker as a report or a change of the node's condition: it counts against the pace. */
    private boolean worked;

    private void handle(AgentMessage m) {
      try {
        if (node == null) {
          if (!m.hasOpen()) {
            fail(Status.FAILED_PRECONDITION.withDescription("the first session message must be open"));
            return;
          }
          requireSelf(m.getOpen().getNodeName());
          Caller caller = Caller.current();
          if (authority != null && authority.revoked(caller.serial(), Pki.NODES, caller.name())) {
            // revoked after this stream was opened (a replaced node's stream, held open until now)
            fail(Status.UNAUTHENTICATED.withDescription("the certificate of node " + caller.name() + " was revoked"));
            return;
          }
          String opened = m.getOpen().getNodeName();
          if (!mayOpen(opened)) {
            return;
          }
          node = opened;
          later(() -> fleet.openSession(opened, this));
          if (authority != null) {
            unwatch = authority.onRevoke(caller.serial(), this::revoked);
            if (ended.get()) { // ended while registering: unregister here
              unwatch.run();
            }
          }
          return;
        }
        String from = node;
        switch (m.getMsgCase()) {
          case HEARTBEAT -> {
            Heartbeat hb = bounded(m.getHeartbeat());
            // lock-free only while no heartbeat of this session that changes the node's condition
            // waits in the queue: renew compares with the node as it is, not as that one will make it
            if (conditionsQueued.get() == 0 && fleet.renew(from, hb.getRuntimeUnavailable(), hb.getStateWriteError())) {
              // the lease is renewed now; an answer (if asked for) keeps its place behind what this session queued
              if (hb.getAckNotNeeded() || queued.get() == 0) {
                ackHeartbeat(hb);
              } else {
                later(() -> ackHeartbeat(hb));
              }
            } else {
              worked = true;
              conditionsQueued.incrementAndGet();
              later(() -> {
                try {
                  if (fleet.heartbeat(from, hb.getRuntimeUnavailable(), hb.getRuntimeMessage(), hb.getStateWriteError())) {
                    ackHeartbeat(hb);
                  } else {
                    fail(Status.NOT_FOUND.withDescription("node " + from + " is not a member; join again"));
                  }
                } finally {
                  conditionsQueued.decrementAndGet();
                }
              });
            }
          }
          case POD_STATUS -> {
            worked = true;
            report(from, m.getPodStatus());
          }
          case LOG_CHUNK -> logs.deliver(from, m.getLogChunk());
          case ACK -> { } // nothing rests on it: released pods go in every set (an agent's lost file loses none)
          case OPEN -> fail(Status.FAILED_PRECONDITION.withDescription("session already open for " + node));
          default -> fail(Status.INVALID_ARGUMENT.withDescription("unknown session message"));
        }
      } catch (RuntimeException e) {
        failWith(e);
      }
    }

    /**
     * Whether this session may open for {@code opened} ({@link SessionTakeovers}): one that would
     * replace the node's open session, or open one, more often than that allows ends here,
     * RESOURCE_EXHAUSTED with the time to wait in a RetryInfo (which the agent honours), before the
     * fleet sees it; of replacements refused, the first, then one a minute, is a Warning event on
     * the node and in the log (of opens refused, in the log).
     */
    private boolean mayOpen(String opened) {
      SessionTakeovers.Refusal refused = takeovers.open(opened, this);
      if (refused == null) {
        return true;
      }
      if (refused.warning() != null) {
        log.warn("security: {}", refused.warning());
        if (!refused.logOnly()) {
          worker.submit(() -> fleet.securityEvent(opened, "Warning", "SessionTakeovers", refused.warning()));
        }
      }
      io.grpc.StatusRuntimeException refusal = refused.toException();
      fail(refusal.getStatus(), refusal.getTrailers());
      return false;
    }

    /**
     * A heartbeat's texts bounded as the fleet keeps them ({@link AgentText}) before it may wait in
     * the queue, and without the fields protobuf kept unread: a 4 MiB message of unknown fields
     * waited whole, 128 of them 512 MiB a session while the worker was held up (SessionMemoryTest).
     */
    private static Heartbeat bounded(Heartbeat hb) {
      String message = AgentText.bounded(hb.getRuntimeMessage(), AgentText.MESSAGE);
      String error = AgentText.bounded(hb.getStateWriteError(), AgentText.MESSAGE);
      return message == hb.getRuntimeMessage() && error == hb.getStateWriteError() && hb.getUnknownFields().asMap().isEmpty() ? hb
          : hb.toBuilder().setRuntimeMessage(message).setStateWriteError(error)
              .setUnknownFields(com.google.protobuf.UnknownFieldSet.getDefaultInstance()).build();
    }

    /** Ends the session with what went wrong: a refusal as its code, anything else as an internal error. */
    private void failWith(RuntimeException e) {
      if (e instanceof ControlException c) {
        fail(Status.fromCode(c.code()).withDescription(c.getMessage()));
      } else {
        log.error("session of {} failed", node, e);
        fail(Status.INTERNAL.withDescription("coordinator error: " + e.getMessage()));
      }
    }

    private void ackHeartbeat(Heartbeat hb) {
      if (hb.getAckNotNeeded()) {
        return;
      }
      send(CoordinatorMessage.newBuilder().setHeartbeatAck(HeartbeatAck.newBuilder()
          .setSeq(hb.getSeq()).setLeaseMillis(fleet.options().heartbeatGrace().toMillis())).build());
    }

    /** This session's messages queued to the worker and not yet applied. */
    private final java.util.concurrent.atomic.AtomicInteger queued = new java.util.concurrent.atomic.AtomicInteger();
    /** This session's heartbeats queued because they change the node's condition (or it is unknown), not yet applied. */
    private final java.util.concurrent.atomic.AtomicInteger conditionsQueued = new java.util.concurrent.atomic.AtomicInteger();
    /** The newest full pod report not applied yet: a newer one replaces it, so a session queues one report at most. */
    private final java.util.concurrent.atomic.AtomicReference<PodStatusReport> pendingReport = new java.util.concurrent.atomic.AtomicReference<>();
    /** The most messages a session sending partial reports may have queued (the agent sends full ones, which replace each other). */
    static final int MAX_QUEUED_PARTIAL = 8;
    /**
     * The most messages of any kind a session may have queued for the worker: an agent's are a
     * report, an acknowledgement per desired set and a heartbeat's answer every 5 s while others
     * wait, a few dozen in a minute of a stalled worker; a node sending acknowledgements by the
     * million queued thousands (a review).
     */
    static final int MAX_QUEUED = 128;
    /** The agent sent a partial report: from then on every report is applied, in order (only full ones replace each other). */
    private volatile boolean partialReports;

    /**
     * A pod report. A full report (the agent sends only those) says everything the node runs, so
     * one still waiting for the worker is replaced by a newer one rather than queued behind it: an
     * agent reporting faster than the coordinator applies costs one pending report, not a backlog.
     */
    private void report(String from, PodStatusReport r) {
      if (!r.getFull() || partialReports) {
        partialReports = true;
        if (queued.get() >= MAX_QUEUED_PARTIAL) { // each applied in order: a backlog that grows is refused, not queued
          fail(Status.RESOURCE_EXHAUSTED.withDescription("node " + from + " sends pod reports faster than the coordinator applies them ("
              + queued.get() + " queued); reconnect and send a full report"));
          return;
        }
        later(() -> fleet.reportPods(from, r));
        return;
      }
      if (pendingReport.getAndSet(r) == null) {
        later(() -> {
          PodStatusReport newest = pendingReport.getAndSet(null);
          if (newest != null) {
            fleet.reportPods(from, newest);
          }
        });
      }
    }

    /**
     * Queues a change to the fleet (see {@link SessionWorker}); if it fails, this session ends, as it
     * would have here, and what the session queued after a session ended is dropped (a new session
     * starts with the agent's full report). What the agent is sent keeps the order of what it sent:
     * a heartbeat's answer waits behind this session's queued messages (and whatever they make the
     * coordinator send).
     */
    private void later(Runnable change) {
      if (queued.get() >= MAX_QUEUED) {
        fail(Status.RESOURCE_EXHAUSTED.withDescription("node " + node + " sends messages faster than the coordinator applies them ("
            + queued.get() + " queued); reconnect and send a full report"));
        return;
      }
      queued.incrementAndGet();
      worker.submit(() -> {
        try {
          if (!ended.get()) {
            change.run();
          }
        } catch (RuntimeException e) {
          failWith(e);
        } finally {
          queued.decrementAndGet();
        }
      });
    }

    @Override
    public void onError(Throwable t) {
      ended();
    }

    @Override
    public void onCompleted() {
      close();
    }

    private final java.util.concurrent.atomic.AtomicBoolean ended = new java.util.concurrent.atomic.AtomicBoolean();

    /** Once per session, whoever ends it: the agent, the coordinator, a revocation. */
    private void ended() {
      if (!ended.compareAndSet(false, true)) {
        return;
      }
      unwatch.run();
      String from = node;
      if (from != null) {
        takeovers.ended(from, this);
        worker.submit(() -> fleet.sessionClosed(from, this));
        logs.nodeGone(from);
      }
    }
  }
}
