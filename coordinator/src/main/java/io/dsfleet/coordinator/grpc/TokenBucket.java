package io.dsfleet.coordinator.grpc;

import java.time.Duration;

/**
 * A token bucket on the JVM's monotonic clock: {@code burst} tokens at once, then one more each
 * {@code refill}. Not synchronized: its owner guards it ({@link SessionTakeovers}' map entry,
 * {@link ReportPacing}'s session).
 */
final class TokenBucket {
  private final int burst;
  private final long refillNanos;
  /** Tokens left; below 0 when one was taken on credit ({@link ReportPacing}). */
  int tokens;
  private long stampNanos;

  TokenBucket(int burst, Duration refill, long now) {
    this.burst = burst;
    this.refillNanos = refill.toNanos();
    this.tokens = burst;
    this.stampNanos = now;
  }

  /** Adds the tokens grown since the last one was added, up to {@code burst}. */
  void refill(long now) {
    if (tokens >= burst) {
      stampNanos = now;
      return;
    }
    long grown = (now - stampNanos) / refillNanos;
    if (grown > 0) {
      tokens = (int) Math.min(burst, tokens + grown);
      stampNanos = tokens >= burst ? now : stampNanos + grown * refillNanos;
    }
  }

  boolean full() {
    return tokens >= burst;
  }

  /** How long until the next token. */
  Duration untilNext(long now) {
    return Duration.ofNanos(Math.max(0, refillNanos - (now - stampNanos)));
  }
}
