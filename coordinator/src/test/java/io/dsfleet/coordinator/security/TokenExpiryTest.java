package io.dsfleet.coordinator.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.dsfleet.common.testing.FakeClock;
import io.dsfleet.common.tls.JoinToken;
import io.dsfleet.coordinator.fleet.ControlException;
import io.dsfleet.coordinator.store.SqliteStore;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A join token's expiry and a coordinator clock that steps: NTP stepping back a clock that ran
 * ahead, a VM restored from a snapshot, an operator's {@code date -s}. Every step is of the wall
 * clock alone ({@link FakeClock#stepWall}), as such steps leave {@code System.nanoTime}.
 */
class TokenExpiryTest {
  static final String CA_HASH = "ab".repeat(32);
  @TempDir Path dir;

  /**
   * Before helper-163 a token was checked against the wall clock alone: once expired, a step back
   * made it admit nodes again for the step's length (a token that leaked with an old node's
   * configuration, long expired, among them).
   */
  @Test
  void aTokenThatExpiredStaysExpiredWhenTheWallClockStepsBack() {
    FakeClock clock = new FakeClock();
    try (SqliteStore store = new SqliteStore(dir.resolve("data"))) {
      JoinTokens tokens = new JoinTokens(store, clock, clock::nanos, CA_HASH);
      JoinToken token = tokens.create(Duration.ofHours(1), "", "", 0);
      clock.advance(Duration.ofMinutes(59));
      assertThat(tokens.check(JoinToken.parse(token.text())).id()).isEqualTo(token.id());
      clock.advance(Duration.ofMinutes(2));
      assertThatThrownBy(() -> tokens.check(JoinToken.parse(token.text()))).isInstanceOf(ControlException.class).hasMessageContaining("expired");

      clock.stepWall(Duration.ofDays(-1));

      assertThatThrownBy(() -> tokens.check(JoinToken.parse(token.text()))).isInstanceOf(ControlException.class)
          .hasMessageContaining("join token " + token.id() + " expired").hasMessageContaining("stepped back");
    }
  }

  /** A token loaded at a start counts what it had left then: the step back after that start revives it no more. */
  @Test
  void aTokenLoadedAtAStartExpiresOnTheMonotonicClockToo() {
    FakeClock clock = new FakeClock();
    JoinToken token;
    try (SqliteStore store = new SqliteStore(dir.resolve("data"))) {
      token = new JoinTokens(store, clock, clock::nanos, CA_HASH).create(Duration.ofHours(1), "", "", 0);
    }
    clock.advance(Duration.ofMinutes(30));
    try (SqliteStore store = new SqliteStore(dir.resolve("data"))) {
      JoinTokens tokens = new JoinTokens(store, clock, clock::nanos, CA_HASH);
      clock.stepWall(Duration.ofHours(-5));
      clock.advance(Duration.ofMinutes(29));
      assertThat(tokens.check(JoinToken.parse(token.text())).id()).as("30 minutes were left at the start: 29 passed").isEqualTo(token.id());
      clock.advance(Duration.ofMinutes(2));
      assertThatThrownBy(() -> tokens.check(JoinToken.parse(token.text()))).isInstanceOf(ControlException.class).hasMessageContaining("expired");
    }
  }

  /**
   * A token made while the coordinator's clock ran ahead carries an expiry that far ahead: loaded at
   * a later start (or by a replica taking the lead) once the clock was set right, it has no more
   * left than its whole time to live. Before helper-166 it had what its stored expiry said by the
   * right clock, its time to live and the clock's lead: a 1-hour token made a year ahead admitted
   * nodes for a year after a restart, though it expired after the hour in the coordinator that made it.
   */
  @Test
  void aTokenMadeWhileTheClockRanAheadHasNoMoreThanItsTimeToLiveAfterARestart() {
    FakeClock clock = new FakeClock();
    clock.stepWall(Duration.ofDays(365));
    JoinToken token;
    try (SqliteStore store = new SqliteStore(dir.resolve("data"))) {
      token = new JoinTokens(store, clock, clock::nanos, CA_HASH).create(Duration.ofHours(1), "", "", 0);
    }
    clock.stepWall(Duration.ofDays(-365));
    try (SqliteStore store = new SqliteStore(dir.resolve("data"))) {
      JoinTokens tokens = new JoinTokens(store, clock, clock::nanos, CA_HASH);
      clock.advance(Duration.ofMinutes(59));
      assertThat(tokens.check(JoinToken.parse(token.text())).id()).isEqualTo(token.id());
      clock.advance(Duration.ofMinutes(2));
      assertThatThrownBy(() -> tokens.check(JoinToken.parse(token.text()))).isInstanceOf(ControlException.class)
          .hasMessageContaining("join token " + token.id() + " expired");
    }
  }

  /** A step forward expires tokens early, as the wall clock says (the earlier of the two clocks). */
  @Test
  void aStepForwardExpiresATokenAsTheWallClockSays() {
    FakeClock clock = new FakeClock();
    try (SqliteStore store = new SqliteStore(dir.resolve("data"))) {
      JoinTokens tokens = new JoinTokens(store, clock, clock::nanos, CA_HASH);
      JoinToken token = tokens.create(Duration.ofHours(1), "", "", 0);
      clock.stepWall(Duration.ofHours(2));
      assertThatThrownBy(() -> tokens.check(JoinToken.parse(token.text()))).isInstanceOf(ControlException.class)
          .hasMessageContaining("expired at");
    }
  }
}
