package io.dsfleet.coordinator.fleet;

import io.dsfleet.coordinator.metrics.CoordinatorMetrics;
import java.util.function.LongSupplier;

/**
 * When the next rolling-update pass may run ({@link Fleet#rolloutPass} says why so): after a
 * change asked for one, and no sooner than four times the last pass's own walk after it ended, a
 * second at most. Used under the fleet's lock; {@link #waiting} is also read without it.
 */
final class RolloutPacing {
  /** The longest the pacing of rollout passes holds one back (see {@link Fleet#rolloutPass}). */
  static final long MAX_PASS_GAP_NANOS = 1_000_000_000L;

  private final LongSupplier nanoTime;
  /** Written under the lock; volatile for {@link Fleet#rolloutPassWaiting} (metrics), which reads it without. */
  private volatile boolean rolloutsDirty;
  private long nextRolloutPassNanos;

  RolloutPacing(LongSupplier nanoTime) {
    this.nanoTime = nanoTime;
  }

  /** Something changed that a rollout pass should see. */
  void due() {
    rolloutsDirty = true;
  }

  /** Whether a change waits for a rollout pass. */
  boolean waiting() {
    return rolloutsDirty;
  }

  /** Runs {@code pass}, which answers the nanoseconds it spent sending (not counted as its walk), when one is due. */
  void passIfDue(LongSupplier pass) {
    long start = nanoTime.getAsLong();
    if (rolloutsDirty && start >= nextRolloutPassNanos) {
      rolloutsDirty = false;
      long sending = pass.getAsLong();
      long end = nanoTime.getAsLong();
      CoordinatorMetrics.CONTROLLER_PASS.observe((end - start) / 1e9);
      // at most a second apart while something waits: a pass slowed by its store writes (a
      // replicated store waits for a majority, seconds in a leader change) holds the next one back
      // that long at most, as the lease sweep's own pass once a second did before it was paced
      nextRolloutPassNanos = end + Math.min(MAX_PASS_GAP_NANOS, 4 * Math.max(0, end - start - sending));
    }
  }
}
