package io.dsfleet.coordinator.security;

import io.dsfleet.coordinator.store.Store.StoredToken;
import java.time.Clock;
import java.util.HashMap;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * When a join token expires: at its stored expiry by the wall clock, or once what it had left when
 * this coordinator first knew it (made here, or loaded at the start or as it took the lead; never
 * more than its time to live) has passed on the monotonic clock, whichever comes first. A wall clock stepped back (NTP correcting a clock that ran ahead, a
 * VM restored from a snapshot, an operator's date -s) so revives no expired token while the
 * coordinator runs: before helper-163 a token that had expired, one that leaked with a node's old
 * configuration among them, admitted nodes again for the length of the step. A step forward still
 * expires tokens early, as the wall clock says. Not thread-safe: {@link JoinTokens}' caller holds
 * the monitor.
 */
final class TokenExpiry {
  /** Far enough that no time to live reaches it, near enough that adding it to System.nanoTime cannot overflow. */
  private static final long MOST_NANOS = Long.MAX_VALUE / 4;
  private final Clock clock;
  private final LongSupplier nanoTime;
  /** Per token id, when its time to live runs out on the monotonic clock. */
  private final Map<String, Long> deadlines = new HashMap<>();

  TokenExpiry(Clock clock, LongSupplier nanoTime) {
    this.clock = clock;
    this.nanoTime = nanoTime;
  }

  /**
   * Anchors the token's time left, as the wall clock says now but never more than its whole time to
   * live, on the monotonic clock (once: a token known already keeps its anchor). The cap: one made
   * while the clock ran ahead carries an expiry that far ahead, which a start (or a replica taking
   * the lead) on the right time read as that much more left (helper-166).
   */
  void known(StoredToken t) {
    if (!deadlines.containsKey(t.id())) {
      long leftMillis = Math.max(0, Math.min(t.expiresMillis() - clock.millis(), t.expiresMillis() - t.createdMillis()));
      long leftNanos = leftMillis >= MOST_NANOS / 1_000_000 ? MOST_NANOS : leftMillis * 1_000_000;
      deadlines.put(t.id(), nanoTime.getAsLong() + leftNanos);
    }
  }

  /** Whether the token has expired by either clock. */
  boolean expired(StoredToken t) {
    if (clock.millis() >= t.expiresMillis()) {
      return true;
    }
    known(t);
    return nanoTime.getAsLong() - deadlines.get(t.id()) >= 0;
  }
}
