package io.dsfleet.coordinator.fleet;

import io.dsfleet.coordinator.metrics.CoordinatorMetrics;
import java.util.function.LongSupplier;

/**
 * When the next rolling-update pass may run ({@link Fleet#rolloutPass} says why so): after a
 * change asked for one (a lease sweep asks for one only as {@link #swept} says), and no sooner than
 * four times the last pass's own walk after it ended, a second at most. Used under the fleet's
 * lock; {@link #waiting} is also read without it.
 */
final class RolloutPacing {
  /** The longest the pacing of rollout passes holds one back (see {@link Fleet#rolloutPass}). */
  static final long MAX_PASS_GAP_NANOS = 1_000_000_000L;

  /**
   * The longest a fleet in which nothing changed and time moves no rollout goes without a pass
   * ({@link #swept}): the controller's resync, should a way time moves one have been missed.
   */
  static final long QUIET_PASS_GAP_NANOS = 10_000_000_000L;

  private final LongSupplier nanoTime;
  private final LongSupplier version;
  /** Written under the lock; volatile for {@link Fleet#rolloutPassWaiting} (metrics), which reads it without. */
  private volatile boolean rolloutsDirty;
  private long nextRolloutPassNanos;
  private long lastPassNanos;
  /** The fleet's version when a pass or a lease sweep last saw it; none yet at the start. */
  private long seenVersion = -1;

  /** @param version the fleet's version ({@link FleetChanges}), which every change moves */
  RolloutPacing(LongSupplier nanoTime, LongSupplier version) {
    this.nanoTime = nanoTime;
    this.version = version;
    this.lastPassNanos = nanoTime.getAsLong();
  }

  /** A lease sweep saw the fleet as it is now: the changes before need no pass of a later sweep's (a pass sees them too). */
  void seen() {
    seenVersion = version.getAsLong();
  }

  /**
   * A lease sweep ran, the fleet at {@code versionBefore} when it started: a pass is due when the
   * fleet changed since a pass or sweep last saw it (a join, a label, a session, a heartbeat changing
   * a condition: changes that ask for no pass themselves), the sweep changed a node
   * ({@code sweepChanged}), time alone may move a rollout ({@code timeMoves},
   * {@link DaemonSetController#timeMoves}), or none ran for {@link #QUIET_PASS_GAP_NANOS}. Before
   * 2026-12-07 every sweep asked for one: a fleet that did nothing walked every DaemonSet over every
   * node each second (a sweep took 8 ms at 10,000 nodes with one DaemonSet, 43 ms with ten:
   * FleetCostMeasurement).
   */
  void swept(long versionBefore, boolean sweepChanged, boolean timeMoves) {
    if (versionBefore != seenVersion || sweepChanged || timeMoves || nanoTime.getAsLong() - lastPassNanos >= QUIET_PASS_GAP_NANOS) {
      due();
    }
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
      lastPassNanos = end;
      seen();
      CoordinatorMetrics.CONTROLLER_PASS.observe((end - start) / 1e9);
      // at most a second apart while something waits: a pass slowed by its store writes (a
      // replicated store waits for a majority, seconds in a leader change) holds the next one back
      // that long at most, as the lease sweep's own pass once a second did before it was paced
      nextRolloutPassNanos = end + Math.min(MAX_PASS_GAP_NANOS, 4 * Math.max(0, end - start - sending));
    }
  }
}
