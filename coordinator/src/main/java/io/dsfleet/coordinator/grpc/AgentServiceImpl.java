package io.dsfleet.coordinator.grpc;

import io.dsfleet.coordinator.fleet.ControlException;
import io.dsfleet.coordinator.fleet.Fleet;
import io.dsfleet.proto.v1.AgentMessage;
import io.dsfleet.proto.v1.AgentServiceGrpc;
import io.dsfleet.proto.v1.CoordinatorMessage;
import io.dsfleet.proto.v1.JoinRequest;
import io.dsfleet.proto.v1.JoinResponse;
import io.dsfleet.proto.v1.LeaveRequest;
import io.dsfleet.proto.v1.LeaveResponse;
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
 * Agents join, hold one session each ({@link AgentSession}), and leave. A session's messages arrive
 * on the transport threads: a heartbeat of a node that stays as it is renews the lease there
 * without the fleet's lock (and is answered there when it asks for an answer and nothing of its
 * session waits); everything else a session changes is queued to the {@link SessionWorker}.
 */
public final class AgentServiceImpl extends AgentServiceGrpc.AgentServiceImplBase implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(AgentServiceImpl.class);
  private final Fleet fleet;
  private final LogRelay logs;
  private final Authority authority;
  private final SessionWorker worker;
  /** Each node's recent joins with its certificate (the fleet's nanoTime of each, the newest {@link #REJOINS} at most). */
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
              (member, retryOf, ownSecret) -> issued[0] = authority.admit(presented, member, retryOf, ownSecret),
              Authority.Admission::tokenUse, authority::giveBack);
        } finally {
          // also when the node's write then failed: what the admission revoked (a replaced member's
          // certificates, a stolen copy's among them) stays revoked, and before, its calls went on;
          // when the admission itself failed after its revocations, they wait in the authority's unended
          authority.endStreams(issued[0] != null ? issued[0].revoked() : java.util.List.of());
        }
        X509Certificate cert = admission.certificate();
        fleet.securityEvent(name, "CertificateIssued", "certificate " + Pki.serialHex(cert) + " issued with join token "
            + admission.tokenId() + (admission.lapsed() ? " to the node's own agent (its leave secret shown): every certificate it"
            + " was issued had expired" : "") + ", valid until " + cert.getNotAfter().toInstant());
        out.setCertificatePem(Pki.pem(cert)).setCaPem(Pki.pem(authority.pki().ca()));
      } else if (!caller.speaksFor(name)) {
        throw new ControlException(Status.Code.PERMISSION_DENIED, caller + " cannot join as node " + name);
      } else {
        rejoining(name, fleet.nanoTime().getAsLong());
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

  /** Refuses a caller that does not speak for {@code node} (also a session's open, {@link AgentSession}). */
  static void requireSelf(String node) {
    Caller caller = Caller.current();
    if (!caller.speaksFor(node)) {
      throw new ControlException(Status.Code.PERMISSION_DENIED, caller + " cannot act for node " + node);
    }
  }

  @Override
  public StreamObserver<AgentMessage> session(StreamObserver<CoordinatorMessage> response) {
    return new AgentSession((ServerCallStreamObserver<CoordinatorMessage>) response, fleet, logs, authority, worker, pacing, takeovers);
  }
}
