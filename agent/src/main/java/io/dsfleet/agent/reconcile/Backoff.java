package io.dsfleet.agent.reconcile;

import java.time.Duration;
import java.time.Instant;

/**
 * Kubernetes' container restart back-off: 10 s after the first crash, doubling to at most 5 min;
 * a container that ran for 10 min before it exited starts over at 10 s. Pure.
 */
public final class Backoff {
  static final Duration INITIAL = Duration.ofSeconds(10);
  static final Duration MAX = Duration.ofMinutes(5);
  static final Duration RESET_AFTER = Duration.ofMinutes(10);

  private Backoff() {}

  /**
   * When a container that exited may start again.
   *
   * @param restarts how often it was restarted already (0 after the first run)
   * @param started when the run that just ended started (null if unknown)
   * @param finished when it ended
   */
  public static Instant nextStart(int restarts, Instant started, Instant finished) {
    if (finished == null) {
      return Instant.MIN;
    }
    if (started != null && Duration.between(started, finished).compareTo(RESET_AFTER) >= 0) {
      return finished.plus(INITIAL);
    }
    return finished.plus(delay(restarts));
  }

  /** The delay after the (restarts + 1)-th crash in a row: 10 s, 20 s, 40 s, ... 5 min. */
  public static Duration delay(int restarts) {
    if (restarts >= 5) {
      return MAX;
    }
    Duration d = INITIAL.multipliedBy(1L << Math.max(0, restarts));
    return d.compareTo(MAX) > 0 ? MAX : d;
  }
}
