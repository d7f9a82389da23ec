package io.dsfleet.coordinator.grpc;

import io.dsfleet.common.tls.Pki;
import io.dsfleet.coordinator.fleet.AgentSink;
import io.dsfleet.coordinator.fleet.AgentText;
import io.dsfleet.coordinator.fleet.ControlException;
import io.dsfleet.coordinator.fleet.Fleet;
import io.dsfleet.coordinator.security.Authority;
import io.dsfleet.coordinator.security.Caller;
import io.dsfleet.proto.v1.AgentMessage;
import io.dsfleet.proto.v1.CoordinatorMessage;
import io.dsfleet.proto.v1.Heartbeat;
import io.dsfleet.proto.v1.HeartbeatAck;
import io.dsfleet.proto.v1.PodStatusReport;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One agent's stream ({@link AgentServiceImpl#session}). Every message after the first is taken as
 * from the node named in it. Its messages arrive on the transport threads; what changes the fleet
 * is queued to the {@link SessionWorker} ({@link #later}), and what goes back to the agent waits
 * while the agent is not reading ({@link #send}). Logs under the service's name, as before it was a
 * class of its own.
 */
final class AgentSession implements StreamObserver<AgentMessage>, AgentSink {
  private static final Logger log = LoggerFactory.getLogger(AgentServiceImpl.class);
  private final Fleet fleet;
  private final LogRelay logs;
  private final Authority authority;
  private final SessionWorker worker;
  private final SessionTakeovers takeovers;
  private final ServerCallStreamObserver<CoordinatorMessage> out;
  private volatile String node;
  private boolean closed;
  private volatile Runnable unwatch = () -> { };

  /** The newest desired set not sent yet: the agent was not reading (flow control); sent when it is, or replaced. */
  private CoordinatorMessage heldDesired;

  /** @param authority null on an insecure coordinator */
  AgentSession(ServerCallStreamObserver<CoordinatorMessage> out, Fleet fleet, LogRelay logs, Authority authority, SessionWorker worker,
      ReportPacing pacing, SessionTakeovers takeovers) {
    this.fleet = fleet;
    this.logs = logs;
    this.authority = authority;
    this.worker = worker;
    this.takeovers = takeovers;
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
        AgentServiceImpl.requireSelf(m.getOpen().getNodeName());
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
        String digest = m.getOpen().getHeldDigest(); // the set the agent holds: a digest, nothing longer, waits in the queue
        String held = digest.length() == io.dsfleet.coordinator.fleet.SetDigest.LENGTH ? digest : null;
        long heldVersion = m.getOpen().getAppliedVersion();
        later(() -> fleet.openSession(opened, this, held, heldVersion));
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
