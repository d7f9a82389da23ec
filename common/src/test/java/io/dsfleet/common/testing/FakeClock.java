package io.dsfleet.common.testing;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;

/**
 * A clock that moves only when a test advances it, with a monotonic side ({@link #nanos()}) that
 * {@link #advance} moves too and {@link #stepWall} does not (as a wall-clock step moves
 * {@code System.currentTimeMillis} but not {@code System.nanoTime}). Thread-safe.
 */
public final class FakeClock extends Clock {
  private volatile Instant now;
  private volatile long nanos = 1_000_000_000L;

  public FakeClock(Instant start) {
    this.now = start;
  }

  public FakeClock() {
    this(Instant.parse("2026-01-01T00:00:00Z"));
  }

  public synchronized void advance(Duration d) {
    now = now.plus(d);
    nanos += d.toNanos();
  }

  /** The wall clock steps (an NTP correction, an operator's date -s); the monotonic clock does not. */
  public synchronized void stepWall(Duration d) {
    now = now.plus(d);
  }

  public long nanos() {
    return nanos;
  }

  @Override
  public Instant instant() {
    return now;
  }

  @Override
  public ZoneId getZone() {
    return ZoneOffset.UTC;
  }

  @Override
  public Clock withZone(ZoneId zone) {
    return this;
  }
}
