package io.dsfleet.agent.reconcile;

import java.time.Duration;
import java.time.Instant;

/**
 * The restart back-off: by default Kubernetes' (a container that crashed is restarted at once the
 * first time, then after 10 s, doubling to at most 5 min, as the kubelet's doBackOff does); a
 * container that ran for twice the maximum (10 min) before it exited starts over, as the kubelet's
 * back-off forgets entries older than twice its maximum. The same delays time the retries of
 * failures that leave no container ({@link Failures}), which wait from the first one. Both bounds
 * are agent options (docs/agent.md). Pure.
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
   * When a container that exited may start again: at once after the first crash of a streak (or
   * after a run that lasted {@link #resetAfter}), then {@link #delay} of the crashes before it.
   *
   * @param streak crashes in a row before the run that just ended (0: it was the first run, or the first after a long one)
   * @param started when the run that just ended started (null if unknown)
   * @param finished when it ended
   */
  public Instant nextStart(int streak, Instant started, Instant finished) {
    if (finished == null) {
      return Instant.MIN;
    }
    if (streak == 0 || started != null && Duration.between(started, finished).compareTo(resetAfter()) >= 0) {
      return finished;
    }
    return finished.plus(delay(streak - 1));
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
