package io.dsfleet.coordinator.fleet;

import java.time.Duration;

/**
 * Membership and limits.
 *
 * @param heartbeatInterval how often agents heartbeat (default 5 s)
 * @param heartbeatGrace a node with no heartbeat for this long (plus jitter) turns NotReady (default 20 s)
 * @param leaseJitter up to this fraction of the grace is added per lease, so a fleet that lost
 *     the coordinator at once does not expire at once (default 0.1)
 * @param nodeGcAfter a node NotReady this long is removed with its pods (default 24 h)
 * @param maxObjectsPerApply objects one apply may carry (default 500)
 * @param eventsKept recent events kept per DaemonSet and per node (default 50)
 */
public record FleetOptions(Duration heartbeatInterval, Duration heartbeatGrace, double leaseJitter,
    Duration nodeGcAfter, int maxObjectsPerApply, int eventsKept) {

  public static FleetOptions defaults() {
    return new FleetOptions(Duration.ofSeconds(5), Duration.ofSeconds(20), 0.1, Duration.ofHours(24), 500, 50);
  }

  public FleetOptions {
    if (heartbeatInterval.isNegative() || heartbeatInterval.isZero()) {
      throw new IllegalArgumentException("heartbeatInterval must be positive");
    }
    if (heartbeatGrace.compareTo(heartbeatInterval) <= 0) {
      throw new IllegalArgumentException("heartbeatGrace (" + heartbeatGrace + ") must be longer than heartbeatInterval (" + heartbeatInterval + ")");
    }
    if (leaseJitter < 0 || leaseJitter > 1) {
      throw new IllegalArgumentException("leaseJitter must be between 0 and 1");
    }
    if (eventsKept < 1) { // none kept would leave the store's older rows unpruned for good
      throw new IllegalArgumentException("eventsKept must be at least 1 (got " + eventsKept + ")");
    }
  }
}
