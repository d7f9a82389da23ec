package io.dsfleet.coordinator.dashboard;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.common.testing.FakeClock;
import io.dsfleet.coordinator.security.Caller;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Dashboard logins and a coordinator wall clock stepped back (NTP correcting one that ran ahead, a VM restored from a snapshot). */
class LoginsClockTest {
  static final Caller VIEWER = new Caller(Caller.Kind.VIEWER, "ops", "0a");

  /**
   * A login that expired while nobody used it stays expired after a step back. Before helper-163
   * its end was the wall clock's alone: a day's step back let its cookie (one left in a browser
   * or stolen with it) in for another day.
   */
  @Test
  void aLoginThatExpiredStaysExpiredWhenTheWallClockStepsBack() {
    FakeClock clock = new FakeClock();
    Logins logins = new Logins(clock, clock::nanos);
    String cookie = logins.redeem(logins.create(VIEWER, Duration.ofHours(1)), null);
    assertThat(logins.check(cookie, null)).isNotNull();
    clock.advance(Duration.ofHours(2));

    clock.stepWall(Duration.ofDays(-1));

    assertThat(logins.check(cookie, null)).as("its hour is over").isNull();
  }

  /** So does a URL's token not redeemed within its minutes. */
  @Test
  void aUrlTokenPastItsMinutesIsNotRedeemedAfterAStepBack() {
    FakeClock clock = new FakeClock();
    Logins logins = new Logins(clock, clock::nanos);
    String url = logins.create(VIEWER, Duration.ofHours(1));
    clock.advance(Logins.REDEEM_WITHIN.plusSeconds(1));
    clock.stepWall(Duration.ofHours(-1));
    assertThat(logins.redeem(url, null)).isNull();
  }

  /** A step ahead ends a login by the wall clock, as before. */
  @Test
  void aStepAheadEndsALoginAsTheWallClockSays() {
    FakeClock clock = new FakeClock();
    Logins logins = new Logins(clock, clock::nanos);
    String cookie = logins.redeem(logins.create(VIEWER, Duration.ofHours(1)), null);
    clock.stepWall(Duration.ofHours(2));
    assertThat(logins.check(cookie, null)).isNull();
  }
}
