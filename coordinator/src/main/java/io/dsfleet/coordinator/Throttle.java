package io.dsfleet.coordinator;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Says yes at most once per period, from any thread: what an attacker can make happen at will
 * (refused connections, undecodable requests) is logged as a count now and then, never per event.
 */
final class Throttle {
  private final long periodNanos;
  private final AtomicLong last;

  Throttle(Duration period) {
    this.periodNanos = period.toNanos();
    this.last = new AtomicLong(System.nanoTime() - periodNanos);
  }

  /** Whether the period has passed since the last yes (and this call takes it). */
  boolean due() {
    long now = System.nanoTime();
    long before = last.get();
    return now - before >= periodNanos && last.compareAndSet(before, now);
  }
}
