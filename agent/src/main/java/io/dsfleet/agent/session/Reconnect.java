package io.dsfleet.agent.session;

import java.time.Duration;
import java.util.Random;

/** Jittered exponential back-off for reconnecting: 0.5 s doubling to 10 s (Reconnects.MAX_DELAY), each delay between half and all of its step. */
public final class Reconnect {
  static final Duration FIRST = Duration.ofMillis(500);
  static final Duration MAX = io.dsfleet.common.Reconnects.MAX_DELAY;
  private final Random random;
  private int attempt;

  public Reconnect(Random random) {
    this.random = random;
  }

  public Duration next() {
    long step = Math.min(MAX.toMillis(), FIRST.toMillis() << Math.min(attempt, 16));
    attempt++;
    return Duration.ofMillis(step / 2 + (long) (random.nextDouble() * step / 2));
  }

  /** A uniformly random delay below {@code maxMillis}: spreads a fleet's reconnects. */
  public long jitter(long maxMillis) {
    return (long) (random.nextDouble() * maxMillis);
  }

  public void reset() {
    attempt = 0;
  }
}
