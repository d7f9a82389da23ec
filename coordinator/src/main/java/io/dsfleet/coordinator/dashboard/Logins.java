package io.dsfleet.coordinator.dashboard;

import io.dsfleet.coordinator.security.Authority;
import io.dsfleet.coordinator.security.Caller;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Logins to the dashboard, made by `dsctl dashboard` over the control API with a credential: the
 * login carries that credential's role (a viewer reads, an admin also acts) and ends when it
 * expires, when the credential is revoked, or when the coordinator restarts (kept in memory
 * only: a dashboard login is not worth a disk write). Tokens are 256 random bits; the dashboard
 * keeps one in an HttpOnly, Secure, SameSite=Strict cookie.
 */
public final class Logins {
  public static final Duration DEFAULT_TTL = Duration.ofHours(12);
  public static final Duration MAX_TTL = Duration.ofHours(24);

  /** Who is logged in: the credential's role, name and certificate serial, until when, and the token forms must carry. */
  public record Login(boolean admin, String name, String serial, Instant expires, String formToken) {}

  private final Clock clock;
  private final SecureRandom random = new SecureRandom();
  private final ConcurrentHashMap<String, Login> byToken = new ConcurrentHashMap<>();

  public Logins(Clock clock) {
    this.clock = clock;
  }

  /** A login for the caller (a viewer, an admin, or anyone on an insecure coordinator: an admin); its token. */
  public String create(Caller caller, Duration ttl) {
    boolean admin = caller.kind() == Caller.Kind.ADMIN || caller.kind() == Caller.Kind.INSECURE;
    if (!admin && caller.kind() != Caller.Kind.VIEWER) {
      throw new IllegalArgumentException("only an admin or viewer credential logs in to the dashboard");
    }
    String token = secret();
    byToken.put(token, new Login(admin, caller.name(), caller.serial(), clock.instant().plus(ttl), secret()));
    byToken.values().removeIf(l -> l.expires().isBefore(clock.instant()));
    return token;
  }

  /**
   * Opening a login's URL: its token (shown once, but it stays in the browser's history) is
   * exchanged for another that only the cookie holds; null when the URL's token is not valid.
   */
  public String redeem(String urlToken, Authority authority) {
    Login l = check(urlToken, authority);
    if (l == null || byToken.remove(urlToken) == null) {
      return null;
    }
    String cookie = secret();
    byToken.put(cookie, l);
    return cookie;
  }

  /** The login of a token; null when unknown, expired, or its credential was revoked since. */
  public Login check(String token, Authority authority) {
    Login l = token == null ? null : byToken.get(token);
    if (l == null) {
      return null;
    }
    if (!l.expires().isAfter(clock.instant())
        || (authority != null && !l.serial().isEmpty() && authority.revoked(l.serial(), l.admin() ? io.dsfleet.common.tls.Pki.ADMINS : io.dsfleet.common.tls.Pki.VIEWERS, l.name()))) {
      byToken.remove(token);
      return null;
    }
    return l;
  }

  public Instant expiry(String token) {
    return byToken.get(token).expires();
  }

  private String secret() {
    byte[] b = new byte[32];
    random.nextBytes(b);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
  }
}
