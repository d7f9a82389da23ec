package io.dsfleet.coordinator.security;

import io.dsfleet.common.tls.Pki;
import io.grpc.Context;

/**
 * Who is calling, from the client certificate of the TLS session: a node (its name), an admin, a
 * viewer (read-only), nobody (TLS without a certificate: only a join with a token), or anyone at
 * all on a coordinator started with {@code --insecure}.
 */
public record Caller(Kind kind, String name, String serial) {
  public enum Kind { INSECURE, ANONYMOUS, NODE, ADMIN, VIEWER }

  public static final Caller INSECURE = new Caller(Kind.INSECURE, "", "");
  public static final Caller ANONYMOUS = new Caller(Kind.ANONYMOUS, "", "");
  static final Context.Key<Caller> KEY = Context.key("dsfleet-caller");

  /** The caller of the current call; {@link #INSECURE} outside an intercepted call (in-process use). */
  public static Caller current() {
    Caller c = KEY.get();
    return c == null ? INSECURE : c;
  }

  /** @param serial the certificate's serial, so calls open under it end when it is revoked */
  static Caller of(Pki.Subject subject, String serial) {
    return switch (subject.role()) {
      case Pki.NODES -> new Caller(Kind.NODE, subject.name(), serial);
      case Pki.ADMINS -> new Caller(Kind.ADMIN, subject.name(), serial);
      case Pki.VIEWERS -> new Caller(Kind.VIEWER, subject.name(), serial);
      default -> ANONYMOUS;
    };
  }

  /** Whether this caller may act for the node: itself, or anyone on an insecure coordinator. */
  public boolean speaksFor(String node) {
    return kind == Kind.INSECURE || (kind == Kind.NODE && name.equals(node));
  }

  @Override
  public String toString() {
    return kind == Kind.NODE ? "node " + name : kind.name().toLowerCase() + (name.isEmpty() ? "" : " " + name);
  }
}
