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

  /**
   * The next delay, but not sooner than {@code atLeast} (what the coordinator asked, a RetryInfo:
   * a session refused for replacing the node's open one too often) plus up to a tenth more, so
   * two agents told the same wait do not come back together.
   */
  public Duration next(Duration atLeast) {
    Duration backOff = next();
    if (atLeast.isZero()) {
      return backOff;
    }
    Duration asked = atLeast.plusMillis(jitter(Math.max(1, atLeast.toMillis() / 10)));
    return asked.compareTo(backOff) > 0 ? asked : backOff;
  }

  /** The longest wait of a RetryInfo read: a longer one is read as this (66 s at most with the tenth's jitter). */
  static final Duration MAX_ASKED = Duration.ofMinutes(1);

  /**
   * The wait a refusal's RetryInfo asks for (at most {@link #MAX_ASKED}); zero when it carries
   * none, or none this agent can read: status details that do not parse, or whose code is not the
   * refusal's (grpc-java's reader refuses them, IllegalArgumentException), and a delay out of
   * range (seconds near Long.MAX_VALUE with nanos past a second overflowed Duration,
   * ArithmeticException). Before 2026-12-06 both were thrown from the session's end, and no retry
   * was scheduled: a coordinator, or anything answering in its place, that sent such a refusal
   * once had the agent never connect again (its pods ran on, unwatched, until it was restarted).
   */
  public static Duration asked(io.grpc.Status status, io.grpc.Metadata trailers) {
    com.google.rpc.Status details;
    try {
      details = trailers == null ? null : io.grpc.protobuf.StatusProto.fromStatusAndTrailers(status, trailers);
    } catch (RuntimeException unreadable) {
      return Duration.ZERO;
    }
    if (details == null) {
      return Duration.ZERO;
    }
    for (com.google.protobuf.Any a : details.getDetailsList()) {
      if (a.is(com.google.rpc.RetryInfo.class)) {
        try {
          com.google.protobuf.Duration d = a.unpack(com.google.rpc.RetryInfo.class).getRetryDelay();
          // the seconds bounded first: nanos are an int, so no sum of the two overflows
          Duration asked = Duration.ofSeconds(Math.max(-1, Math.min(d.getSeconds(), MAX_ASKED.getSeconds() + 1)), d.getNanos());
          return asked.isNegative() ? Duration.ZERO : asked.compareTo(MAX_ASKED) > 0 ? MAX_ASKED : asked;
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
          return Duration.ZERO;
        }
      }
    }
    return Duration.ZERO;
  }

  /** A uniformly random delay below {@code maxMillis}: spreads a fleet's reconnects. */
  public long jitter(long maxMillis) {
    return (long) (random.nextDouble() * maxMillis);
  }

  public void reset() {
    attempt = 0;
  }
}
