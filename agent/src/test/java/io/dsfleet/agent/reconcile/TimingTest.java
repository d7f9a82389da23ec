package io.dsfleet.agent.reconcile;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.common.model.ExecAction;
import io.dsfleet.common.model.Probe;
import io.dsfleet.common.testing.FakeClock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Back-off and probe timing on a fake clock. */
class TimingTest {
  static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

  @Test
  void backoffDoublesFromTenSecondsToFiveMinutes() {
    assertThat(List.of(0, 1, 2, 3, 4, 5, 9).stream().map(Backoff.KUBERNETES::delay).map(Duration::toSeconds).toList())
        .containsExactly(10L, 20L, 40L, 80L, 160L, 300L, 300L);
  }

  @Test
  void aFirstCrashRestartsAtOnceAndTheNextOnesBackOff() {
    assertThat(List.of(0, 1, 2, 3, 7).stream().map(streak -> Duration.between(T0, Backoff.KUBERNETES.nextStart(streak, T0, T0)).toSeconds())
        .toList()).containsExactly(0L, 10L, 20L, 40L, 300L);
  }

  @Test
  void backoffResetsAfterTenMinutesOfCleanRunning() {
    Instant finished = T0.plus(Duration.ofMinutes(11));
    assertThat(Backoff.KUBERNETES.nextStart(7, T0, finished)).as("a run of ten minutes: at once").isEqualTo(finished);
    assertThat(Backoff.KUBERNETES.nextStart(7, T0.plus(Duration.ofMinutes(2)), finished)).isEqualTo(finished.plusSeconds(300));
  }

  static Probe probe(int initialDelay, int period, int success, int failure) {
    return new Probe(new ExecAction(List.of("true")), null, null, initialDelay, 1, period, success, failure);
  }

  @Test
  void probeIsDueAfterTheInitialDelayThenEveryPeriod() {
    FakeClock clock = new FakeClock(T0);
    ProbeState s = new ProbeState(probe(5, 10, 1, 3), T0);
    assertThat(s.due(clock.instant())).isFalse();
    clock.advance(Duration.ofSeconds(5));
    assertThat(s.due(clock.instant())).isTrue();
    s.started(clock.instant());
    clock.advance(Duration.ofSeconds(9));
    assertThat(s.due(clock.instant())).isFalse();
    clock.advance(Duration.ofSeconds(1));
    assertThat(s.due(clock.instant())).isTrue();
  }

  @Test
  void failureThresholdAndSuccessThresholdAreConsecutive() {
    ProbeState s = new ProbeState(probe(0, 1, 2, 3), T0);
    assertThat(s.result()).isNull();
    s.record(false, "", T0);
    s.record(false, "", T0);
    s.record(true, "", T0);
    s.record(false, "", T0);
    s.record(false, "", T0);
    assertThat(s.failed()).as("only two in a row").isFalse();
    s.record(false, "", T0);
    assertThat(s.failed()).isTrue();
    s.record(true, "", T0);
    assertThat(s.failed()).as("one success is below successThreshold 2").isTrue();
    s.record(true, "", T0);
    assertThat(s.succeeded()).isTrue();
  }

  @Test
  void reconnectBackoffIsJitteredAndCapped() {
    var r = new io.dsfleet.agent.session.Reconnect(new java.util.Random(1));
    Duration last = Duration.ZERO;
    for (int i = 0; i < 20; i++) {
      last = r.next();
      assertThat(last).isLessThanOrEqualTo(Duration.ofSeconds(10));
    }
    assertThat(last).isGreaterThanOrEqualTo(Duration.ofSeconds(5));
    r.reset();
    assertThat(r.next()).isLessThanOrEqualTo(Duration.ofMillis(500));
  }
}
