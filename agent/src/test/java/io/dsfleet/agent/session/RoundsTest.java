package io.dsfleet.agent.session;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The waits between the session's tries, in rounds of the configured addresses: read like a
 * script, each try's outcome and the wait it gets, on a clock the test moves.
 */
class RoundsTest {
  static final Duration HOP_MIN = Duration.ofMillis(250);
  static final Duration HOP_MAX = Duration.ofSeconds(1);
  static final long S = 1_000_000_000L;

  /** A back-off on the rounds' seed: its waits are the rounds' where nothing else drew from it. */
  static Reconnect reference() {
    return new Reconnect(new Random(7));
  }

  static Rounds rounds(int addresses) {
    return new Rounds(addresses, new Reconnect(new Random(7)));
  }

  static void assertHop(Duration wait) {
    assertThat(wait).isBetween(HOP_MIN, HOP_MAX);
  }

  @Test
  void withOneAddressEveryFailedTryWaitsTheBackOffAsBefore() {
    Rounds rounds = rounds(1);
    Reconnect backOff = reference();
    for (int i = 0; i < 8; i++) {
      // a coordinator that does not answer (the try stays on its address), or a named leader that does not (back to the list)
      assertThat(rounds.failed(i % 2 == 0, Duration.ZERO, i * S)).as("try %d", i).isEqualTo(backOff.next());
    }
    assertThat(backOff.next()).as("at its cap").isGreaterThanOrEqualTo(Duration.ofSeconds(5));
  }

  /** The back-off's step {@code attempt} (0.5 s doubling to 10 s): a wait between half and all of it. */
  static void assertBackOff(Duration wait, int attempt) {
    long step = Math.min(10_000, 500L << attempt);
    assertThat(wait.toMillis()).as("the back-off's step %d", attempt).isBetween(step / 2, step);
  }

  @Test
  void aDeadAddressAmongReplicasThatElectDoesNotGrowTheBackOff() {
    Rounds rounds = rounds(3);
    long now = 0;
    for (int round = 0; round < 6; round++, now += 2 * S) { // 12 s of election, rounds of c1 (dead), c2, c3 (no leader)
      assertHop(rounds.failed(true, Duration.ZERO, now));
      assertHop(rounds.noLeader(now));
      assertHop(rounds.noLeader(now)); // the round's end: an election's, so no back-off
    }
    // c2 leads, c3 names it: there at the same pace
    assertHop(rounds.leaderNamed());
    // the back-off never grew: should c2's session end at once and no address answer, the round's
    // end waits its first step
    assertHop(rounds.failed(true, Duration.ZERO, now));
    assertBackOff(rounds.failed(true, Duration.ZERO, now), 0);
    for (int round = 1; round < 4; round++) {
      assertHop(rounds.failed(true, Duration.ZERO, now));
      assertHop(rounds.failed(true, Duration.ZERO, now));
      assertBackOff(rounds.failed(true, Duration.ZERO, now), round);
    }
  }

  @Test
  void replicasThatCannotElectAreBackedOffFromAfterTheElectionsBound() {
    Rounds rounds = rounds(3);
    long start = 5 * S;
    long now = start;
    for (; now - start < Rounds.ELECTION.toNanos(); now += S) {
      assertHop(rounds.noLeader(now));
      assertHop(rounds.failed(true, Duration.ZERO, now));
      assertHop(rounds.failed(true, Duration.ZERO, now)); // an election's round
    }
    for (int round = 0; round < 6; round++, now += S) {
      assertHop(rounds.noLeader(now));
      assertHop(rounds.failed(true, Duration.ZERO, now));
      assertBackOff(rounds.failed(true, Duration.ZERO, now), round);
    }
    // a session that lasted ends the election and the back-off: the next election gets its own bound
    rounds.reset();
    for (int round = 0; round < 3; round++) {
      assertHop(rounds.noLeader(now));
      assertHop(rounds.noLeader(now));
      assertHop(rounds.noLeader(now));
    }
  }

  @Test
  void roundsOfAddressesNoneAnswersBackOffOnceARound() {
    Rounds rounds = rounds(3);
    for (int round = 0; round < 8; round++) {
      assertHop(rounds.failed(true, Duration.ZERO, round * S));
      assertHop(rounds.failed(true, Duration.ZERO, round * S));
      assertBackOff(rounds.failed(true, Duration.ZERO, round * S), round);
    }
  }

  @Test
  void sessionsThatEndAtOnceAreTriesOfTheRound() {
    // c1 leads, opens the session and ends it at once (not naming another); c2 names c1 again
    Rounds rounds = rounds(3);
    for (int round = 0; round < 4; round++) {
      assertHop(rounds.failed(true, Duration.ZERO, 0));
      assertHop(rounds.leaderNamed());
      assertBackOff(rounds.failed(true, Duration.ZERO, 0), round);
    }
    rounds.reset();
    assertHop(rounds.failed(true, Duration.ZERO, 0));
    assertHop(rounds.leaderNamed());
    assertBackOff(rounds.failed(true, Duration.ZERO, 0), 0);
  }

  @Test
  void aNamedLeaderThatDoesNotAnswerEndsTheRound() {
    // c2 names c1, which does not answer: back and forth at most a round's tries, then the back-off
    Rounds rounds = rounds(3);
    for (int round = 0; round < 4; round++) {
      assertHop(rounds.leaderNamed());
      assertHop(rounds.failed(true, Duration.ZERO, 0));
      assertHop(rounds.leaderNamed());
      assertBackOff(rounds.failed(true, Duration.ZERO, 0), round);
    }
  }

  @Test
  void aRefusalThatKeepsTheAgentOnItsAddressWaitsTheBackOffEvenInAnElection() {
    Rounds rounds = rounds(3);
    for (int i = 0; i < 4; i++) {
      assertHop(rounds.noLeader(0));
      // a certificate refused, say: the same address again, after the back-off
      assertBackOff(rounds.failed(false, Duration.ZERO, 0), i);
    }
    // a RetryInfo is honoured whatever the round (plus up to a tenth), and grows the back-off
    assertHop(rounds.noLeader(0));
    assertThat(rounds.failed(true, Duration.ofSeconds(20), 0)).isBetween(Duration.ofSeconds(20), Duration.ofSeconds(22));
    assertHop(rounds.noLeader(0));
    assertBackOff(rounds.failed(false, Duration.ZERO, 0), 5);
  }
}
