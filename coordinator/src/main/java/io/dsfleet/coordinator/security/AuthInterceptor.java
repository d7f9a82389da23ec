package io.dsfleet.coordinator.security;

import io.dsfleet.common.tls.CertificateAuthority;
import io.dsfleet.common.tls.Pki;
import io.dsfleet.proto.v1.AgentServiceGrpc;
import io.dsfleet.proto.v1.ControlServiceGrpc;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.Set;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * Authentication and the coarse authorization of every call. The TLS handshake has already
 * verified any client certificate against the fleet CA; here a revoked one is refused, the caller
 * is put in the call's context, and each method's rule applies:
 * <ul>
 *   <li>control service: admins; viewers for the read-only methods; never nodes;
 *   <li>agent service: join is open (it needs a join token or the node's own certificate, checked
 *       by the service); everything else needs a node certificate, and the service checks the
 *       node is the one the certificate names.
 * </ul>
 */
public final class AuthInterceptor implements ServerInterceptor {
  static final Set<String> READ_ONLY = Set.of(
      ControlServiceGrpc.getGetMethod().getFullMethodName(),
      ControlServiceGrpc.getDescribeMethod().getFullMethodName(),
      ControlServiceGrpc.getRolloutStatusMethod().getFullMethodName(),
      ControlServiceGrpc.getEventsMethod().getFullMethodName(),
      ControlServiceGrpc.getDashboardLoginMethod().getFullMethodName(),
      ControlServiceGrpc.getRolloutHistoryMethod().getFullMethodName(),
      ControlServiceGrpc.getLogsMethod().getFullMethodName(),
      ControlServiceGrpc.getVersionMethod().getFullMethodName(),
      ControlServiceGrpc.getListReplicasMethod().getFullMethodName());
  static final String JOIN = AgentServiceGrpc.getJoinMethod().getFullMethodName();
  /** A replica's join: its token authenticates it, like an agent's join. */
  static final String REPLICA_JOIN = io.dsfleet.proto.v1.ReplicaServiceGrpc.getJoinMethod().getFullMethodName();

  /** How long a caller without a certificate may keep a call open: a join takes milliseconds. */
  static final java.time.Duration ANONYMOUS_CALL_LIMIT = java.time.Duration.ofSeconds(10);
  /**
   * A replica's join (by token) streams it a copy of the store, which at a large fleet takes more
   * than 10 s on a slow link: as long as the joining side waits for it (ds-coordinator join's
   * deadline). Before 2026-12-05 it was cut at 10 s like any call without a certificate (a review).
   */
  static final java.time.Duration REPLICA_JOIN_LIMIT = java.time.Duration.ofSeconds(120);

  private final boolean insecure;
  private final java.util.function.Supplier<Authority> authority;
  private final java.util.concurrent.ScheduledExecutorService timer;

  /**
   * @param insecure every caller may do everything (a coordinator run --insecure)
   * @param authority the CA at work; a replica has one only while it serves, and refuses calls without it
   * @param timer ends calls without a certificate that outlive {@link #ANONYMOUS_CALL_LIMIT}
   */
  public AuthInterceptor(boolean insecure, java.util.function.Supplier<Authority> authority,
      java.util.concurrent.ScheduledExecutorService timer) {
    this.insecure = insecure;
    this.authority = authority;
    this.timer = timer;
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    Caller caller;
    try {
      caller = insecure ? Caller.INSECURE : caller(call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION));
    } catch (Refused r) {
      call.close(r.status, new Metadata());
      return new ServerCall.Listener<>() {};
    }
    String method = call.getMethodDescriptor().getFullMethodName();
    Status refusal = refusal(caller, method, call.getMethodDescriptor().getServiceName());
    if (refusal != null) {
      call.close(refusal, new Metadata());
      return new ServerCall.Listener<>() {};
    }
    Context context = Context.current().withValue(Caller.KEY, caller);
    if (caller.kind() != Caller.Kind.ANONYMOUS) {
      return Contexts.interceptCall(context, call, headers, next);
    }
    // a join that never sends its request would hold its connection open (not idle) for ever
    TimeLimited<Q, R> limited = new TimeLimited<>(call, timer, method.equals(REPLICA_JOIN) ? REPLICA_JOIN_LIMIT : ANONYMOUS_CALL_LIMIT);
    // a call its client cancels is never closed: its timer, which holds it, goes with it all the same (before helper-192 a
    // client resetting each call it opened left each in the heap for 10 s: 190,000 on 1,000 connections, 376 MiB)
    return new io.grpc.ForwardingServerCallListener.SimpleForwardingServerCallListener<>(Contexts.interceptCall(context, limited, headers, next)) {
      @Override
      public void onCancel() {
        limited.onClosed();
        super.onCancel();
      }
    };
  }

  /** A call closed DEADLINE_EXCEEDED when it outlives its limit. */
  private static final class TimeLimited<Q, R> extends ClosableCall<Q, R> {
    private final java.util.concurrent.ScheduledFuture<?> deadline;

    TimeLimited(ServerCall<Q, R> call, java.util.concurrent.ScheduledExecutorService timer, java.time.Duration limit) {
      super(call);
      deadline = timer.schedule(() -> close(Status.DEADLINE_EXCEEDED.withDescription("a call without a certificate may"
          + " take at most " + limit.toSeconds() + " s"), new Metadata()), limit.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
    }

    @Override
    protected void onClosed() {
      deadline.cancel(false);
    }
  }

  private Caller caller(SSLSession session) throws Refused {
    if (session == null) {
      throw new Refused(Status.UNAUTHENTICATED.withDescription("TLS required"));
    }
    Certificate[] chain;
    try {
      chain = session.getPeerCertificates();
    } catch (SSLPeerUnverifiedException e) {
      return Caller.ANONYMOUS;
    }
    X509Certificate cert = (X509Certificate) chain[0];
    Pki.Subject subject = CertificateAuthority.subject(cert);
    String serial = Pki.serialHex(cert);
    Authority ca = authority.get();
    if (ca == null) {
      throw new Refused(Status.UNAVAILABLE.withDescription("this coordinator replica does not serve now; retry"));
    }
    if (ca.revoked(serial, subject.role(), subject.name())) {
      throw new Refused(Status.UNAUTHENTICATED.withDescription(subject.role().equals(Pki.NODES)
          ? "the certificate of node " + subject.name() + " was revoked (a removed node needs a new join token)"
          : "credential " + subject.name() + " was revoked: an admin makes a new one with dsctl credential create"));
    }
    return Caller.of(subject, serial);
  }

  static Status refusal(Caller caller, String method, String service) {
    Caller.Kind k = caller.kind();
    if (k == Caller.Kind.INSECURE) {
      return null;
    }
    if (service.equals(ControlServiceGrpc.SERVICE_NAME)) {
      return switch (k) {
        case ADMIN -> null;
        case VIEWER -> READ_ONLY.contains(method) ? null
            : Status.PERMISSION_DENIED.withDescription("viewer credential " + caller.name() + " is read-only: "
                + method.substring(method.lastIndexOf('/') + 1) + " needs an admin credential");
        case NODE -> Status.PERMISSION_DENIED.withDescription("a node certificate cannot use the control service");
        default -> Status.UNAUTHENTICATED.withDescription("no credential: dsctl needs an admin or viewer credential"
            + " (--credentials, DSCTL_CREDENTIALS, or the config file; docs/security.md)");
      };
    }
    if (method.equals(JOIN) || method.equals(REPLICA_JOIN)) {
      return null;
    }
    return switch (k) {
      case NODE -> null;
      case ANONYMOUS -> Status.UNAUTHENTICATED.withDescription("a node certificate is needed for " + method + "; join first");
      default -> Status.PERMISSION_DENIED.withDescription("only a node certificate may use " + method);
    };
  }

  private static final class Refused extends Exception {
    final Status status;

    Refused(Status status) {
      super(status.getDescription(), null, false, false);
      this.status = status;
    }
  }
}
