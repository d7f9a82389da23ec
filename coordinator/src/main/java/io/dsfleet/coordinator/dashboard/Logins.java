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
 * only: a dashboard login is not worth a disk write). Tokens are 256 random bits. The URL's
 * token is only a way in: redeemed once within {@link #REDEEM_WITHIN} for another that only the
 * browser's cookie holds, and never accepted as a cookie itself. Logins are capped per
 * credential and in all: a stolen viewer credential cannot fill the coordinator's memory.
 */
public final class Logins {
  public static final Duration DEFAULT_TTL = Duration.ofHours(12);
  public static final Duration MAX_TTL = Duration.ofHours(24);
  static final Duration REDEEM_WITHIN = Duration.ofMinutes(5);
  static final int PER_CREDENTIAL = 20;
  static final int MAX = 10_000;

  /** Who is logged in: the credential's role, name and certificate serial, until when, and the token forms must carry. */
  public record Login(boolean admin, String name, String serial, Instant expires, String formToken, long expiresNanos) {
    /** The login's credential, its role and name ("admin/NAME", "viewer/NAME"): a viewer named as an admin is another one. */
    public String credential() {
      return (admin ? "admin/" : "viewer/") + name;
    }
  }

  private final Clock clock;
  private final SecureRandom random = new SecureRandom();
  private final ConcurrentHashMap<String, Login> byToken = new ConcurrentHashMap<>();
  /** URL tokens not yet opened, with the login each opens and until when it may. */
  private final ConcurrentHashMap<String, Pending> pending = new ConcurrentHashMap<>();

  private record Pending(Login login, Instant until, long untilNanos) {}

  /**
   * The monotonic clock ({@code System::nanoTime}): a login and a URL's token end at their wall-clock
   * time or once their time to live has passed on it, whichever comes first, so a wall clock stepped
   * back (NTP correcting one that ran ahead) gives no login, a stolen cookie's among them, the step
   * more (helper-163, LoginsClockTest). Logins live in memory only: no restart re-reads them.
   */
  private final java.util.function.LongSupplier nanoTime;

  public Logins(Clock clock) {
    this(clock, System::nanoTime);
  }

  public Logins(Clock clock, java.util.function.LongSupplier nanoTime) {
    this.clock = clock;
    this.nanoTime = nanoTime;
  }

  /** Whether a time reached by the wall clock or the monotonic one has come. */
  private boolean over(Instant wall, long nanos) {
    return !wall.isAfter(clock.instant()) || nanoTime.getAsLong() - nanos >= 0;
  }

  /** A login for the caller (a viewer, an admin, or anyone on an insecure coordinator: an admin); its token. */
  public synchronized String create(Caller caller, Duration ttl) {
    boolean admin = caller.kind() == Caller.Kind.ADMIN || caller.kind() == Caller.Kind.INSECURE;
    if (!admin && caller.kind() != Caller.Kind.VIEWER) {
      throw new IllegalArgumentException("only an admin or viewer credential logs in to the dashboard");
    }
    Instant now = clock.instant();
    byToken.values().removeIf(l -> over(l.expires(), l.expiresNanos()));
    pending.values().removeIf(p -> over(p.until(), p.untilNanos()));
    // past a cap the oldest logins end first: this credential's, or anyone's past the overall one
    java.util.function.Predicate<Login> mine = l -> l.name().equals(caller.name()) && l.serial().equals(caller.serial());
    while (count(mine) >= PER_CREDENTIAL || byToken.size() + pending.size() >= MAX) {
      java.util.function.Predicate<Login> which = byToken.size() + pending.size() >= MAX ? l -> true : mine;
      byToken.entrySet().stream().filter(e -> which.test(e.getValue())).min(java.util.Comparator.comparing(e -> e.getValue().expires()))
          .map(java.util.Map.Entry::getKey).ifPresentOrElse(byToken::remove, () -> pending.entrySet().stream()
              .filter(e -> which.test(e.getValue().login())).min(java.util.Comparator.comparing(e -> e.getValue().until()))
              .map(java.util.Map.Entry::getKey).ifPresent(pending::remove));
    }
    String token = secret();
    Duration redeemWithin = ttl.compareTo(REDEEM_WITHIN) < 0 ? ttl : REDEEM_WITHIN;
    long nanos = nanoTime.getAsLong();
    pending.put(token, new Pending(new Login(admin, caller.name(), caller.serial(), now.plus(ttl), secret(), nanos + ttl.toNanos()),
        now.plus(redeemWithin), nanos + redeemWithin.toNanos()));
    return token;
  }

  private long count(java.util.function.Predicate<Login> which) {
    return byToken.values().stream().filter(which).count() + pending.values().stream().map(Pending::login).filter(which).count();
  }

  /**
   * Opening a login's URL: its token (shown once, but it stays in the browser's history) is
   * exchanged for another that only the cookie holds; null when the URL's token is not valid.
   */
  public String redeem(String urlToken, Authority authority) {
    Pending p = urlToken == null ? null : pending.remove(urlToken);
    if (p == null || over(p.until(), p.untilNanos()) || revoked(p.login(), authority)) {
      return null;
    }
    String cookie = secret();
    byToken.put(cookie, p.login());
    return cookie;
  }

  /** @param authority the CA at work; null only on an insecure coordinator (no credentials to revoke) */
  private static boolean revoked(Login l, Authority authority) {
    return authority != null && !l.serial().isEmpty()
        && authority.revoked(l.serial(), l.admin() ? io.dsfleet.common.tls.Pki.ADMINS : io.dsfleet.common.tls.Pki.VIEWERS, l.name());
  }

  /** The login of a token; null when unknown, expired, or its credential was revoked since. */
  public Login check(String token, Authority authority) {
    Login l = token == null ? null : byToken.get(token);
    if (l == null) {
      return null;
    }
    if (over(l.expires(), l.expiresNanos()) || revoked(l, authority)) {
      byToken.remove(token);
      return null;
    }
    return l;
  }

  /** Ends the login of a cookie's token (a logout): its pages and streams are refused from now on. */
  public void end(String token) {
    if (token != null) {
      byToken.remove(token);
    }
  }

  /** When the login of a token (a URL's or a cookie's) ends. */
  public Instant expiry(String token) {
    Login l = byToken.get(token);
    return l != null ? l.expires() : pending.get(token).login().expires();
  }

  private String secret() {
    byte[] b = new byte[32];
    random.nextBytes(b);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
  }
}
