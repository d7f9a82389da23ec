package io.dsfleet.agent.reconcile;

import java.time.Duration;
import java.time.Instant;

/**
 * The reconciler's timers run on the wall clock (they compare with Docker's timestamps, which are
 * wall-clock times), and the wall clock steps: NTP correcting a host that booted with its clock
 * ahead, an operator's {@code date -s}. A timer set before a step back would be waited out for as
 * long as the step (a crash back-off, a probe's period, the relist: an hour's step stopped them for
 * the hour). So a wait whose start is found more than {@link #SLACK} ahead of the clock is over: at
 * worst one retry, probe or list comes early. Pure.
 */
final class WallClock {
  /**
   * How far behind a timer's start the clock may be before it counts as stepped back: passes read
   * the clock before they list, so a container that ended during the list ended "after" the pass's
   * time; a step back shorter than this is waited out as it is.
   */
  static final Duration SLACK = Duration.ofMinutes(1);

  private WallClock() {}

  /** Whether {@code now} is more than {@link #SLACK} before {@code from}: the clock stepped back past it. */
  static boolean steppedBack(Instant now, Instant from) {
    return from != null && now.isBefore(from.minus(SLACK));
  }

  /** Whether a wait from {@code from} until {@code until} still holds at {@code now} (not if the clock stepped back past its start). */
  static boolean waiting(Instant now, Instant from, Instant until) {
    return now.isBefore(until) && !steppedBack(now, from);
  }
}
