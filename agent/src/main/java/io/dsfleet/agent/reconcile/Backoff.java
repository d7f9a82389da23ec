package io.dsfleet.agent.reconcile;

import java.time.Duration;
import java.time.Instant;

/**
 * The restart back-off: by default Kubernetes' (10 s after the first crash, doubling to at most
 * 5 min); a container that ran for twice the maximum (10 min) before it exited starts over at the
 * initial delay, as the kubelet's back-off forgets entries older than twice its maximum. Both
 * bounds are agent options (docs/agent.md). Pure.
 *
 * @param initial the delay after the first failure
 * @param max the longest delay
 */
public record Backoff(Duration initial, Duration max) {
  /** The kubelet's: 10 s doubling to 5 min. */
  public static final Backoff KUBERNETES = new Backoff(Duration.ofSeconds(10), Duration.ofMinutes(5));

  public Backoff {
    if (initial.isNegative() || initial.isZero()) {
      throw new IllegalArgumentException("restart back-off must be positive, not " + initial);
    }
    if (max.compareTo(initial) < 0) {
      throw new IllegalArgumentException("restart back-off maximum " + max + " is shorter than its initial delay " + initial);
    }
  }

  /** A run or failure streak this long ago (or a run this long) starts the back-off over. */
  public Duration resetAfter() {
    return max.multipliedBy(2);
  }

  /**
   * When a container that exited may start again.
   *
   * @param restarts how often it was restarted already (0 after the first run)
   * @param started when the run that just ended started (null if unknown)
   * @param finished when it ended
   */
  public Instant nextStart(int restarts, Instant started, Instant finished) {
    if (finished == null) {
      return Instant.MIN;
    }
    if (started != null && Duration.between(started, finished).compareTo(resetAfter()) >= 0) {
      return finished.plus(initial);
    }
    return finished.plus(delay(restarts));
  }

  /** The delay after the (restarts + 1)-th failure in a row: initial, doubling, at most max. */
  public Duration delay(int restarts) {
    Duration d = initial;
    for (int i = 0; i < restarts && d.compareTo(max) < 0; i++) {
      d = d.multipliedBy(2);
    }
    return d.compareTo(max) > 0 ? max : d;
  }
}
