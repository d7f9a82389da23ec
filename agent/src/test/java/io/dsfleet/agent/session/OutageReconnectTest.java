package io.dsfleet.agent.session;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.dsfleet.agent.FakeCoordinator;
import io.dsfleet.agent.runtime.FakeRuntime;
import io.dsfleet.proto.v1.DesiredState;
import java.time.Clock;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * While its coordinator is away the agent connects only when its own back-off says so: each try
 * one connection, made at once, and nothing in between. Before, gRPC also reconnected on its own
 * between the agent's tries (its back-off reset before each), and 5,000 simulated agents made
 * 3,600 connections a second 10-15 s into an outage, their CPU taking the restarting
 * coordinator's (docs/benchmarks.md).
 *
 * <p>The agent's tries are counted from its log ("...; retrying in N ms", one a try that failed,
 * one when the session ended), not from a window of time: a busy machine delays the tries, and a
 * fixed 7 s saw fewer of them than the back-off schedules.
 */
class OutageReconnectTest extends SessionTestBase {
  @Test
  void aCoordinatorAwayGetsOneConnectionATryAndTheSessionOpensWhenItIsBack() throws Exception {
    FakeCoordinator first = new FakeCoordinator(DesiredState.newBuilder().setVersion(1).build()).start(0);
    CoordinatorSession session = session(first, new FakeRuntime(Clock.systemUTC()), Duration.ofSeconds(5));
    try {
      session.start();
      await().atMost(Duration.ofSeconds(30)).until(() -> first.sessionsOpened.get() == 1);

      // the coordinator goes; in its place something that takes each connection and closes it
      // (a coordinator starting up, say), counting them
      try (LoggedLines retries = new LoggedLines("; retrying in "); FakeCoordinator.Away away = first.goAway()) {
        long awaySince = System.nanoTime();
        // the session's end, then four tries: 0.25-0.5 s, then 0.5-1, 1-2 and 2-4 s after the one before
        await().atMost(Duration.ofSeconds(60)).until(() -> retries.count() >= 5);
        assertThat(Duration.ofNanos(System.nanoTime() - awaySince)).as("four tries on the back-off, none sooner")
            .isGreaterThanOrEqualTo(Duration.ofMillis(3_750));
        // the next try is 4-8 s away: the coordinator is back for it
        try (FakeCoordinator back = new FakeCoordinator(DesiredState.newBuilder().setVersion(1).build()).startInPlaceOf(away)) {
          await().atMost(Duration.ofSeconds(60)).until(() -> back.sessionsOpened.get() == 1);
          // every try that failed (every retry but the session's end's) was one connection to the
          // coordinator away, and none failed once it was back: the next connected at once
          assertThat(away.connections.get()).as("connections while the coordinator was away, one a try of the %d", retries.count() - 1)
              .isEqualTo(retries.count() - 1);
          // and the test ends once the agent has written that session's desired set (it acknowledges
          // it then): not while it still writes into the state directory JUnit removes
          await().atMost(Duration.ofSeconds(30)).until(() -> back.desiredAcks.get() == 1);
        }
      }
    } finally {
      session.close();
    }
  }

  /**
   * A coordinator whose port refuses connections (its process restarting): after the first refused
   * try, each try is a plain connect, refused, and no gRPC channel or TLS handshake is made for it;
   * the first try after the port answers again opens the session.
   */
  @Test
  void aPortThatRefusesIsProbedWithAPlainConnectUntilItAnswers() throws Exception {
    FakeCoordinator first = new FakeCoordinator(DesiredState.newBuilder().setVersion(1).build()).start(0);
    CoordinatorSession session = session(first, new FakeRuntime(Clock.systemUTC()), Duration.ofSeconds(5));
    try {
      session.start();
      await().atMost(Duration.ofSeconds(30)).until(() -> first.sessionsOpened.get() == 1);
      try (LoggedLines retries = new LoggedLines("; retrying in "); LoggedLines probed = new LoggedLines("no TLS or gRPC tried");
          FakeCoordinator.Refusing refusing = first.refuse()) {
        // the session's end, a gRPC try refused, then tries that are plain connects (0.5-1, 1-2, 2-4 s apart)
        await().atMost(Duration.ofSeconds(60)).until(() -> retries.count() >= 5);
        assertThat(probed.count()).as("tries after the first refusal made as a plain connect, of %d retries", retries.count())
            .isGreaterThanOrEqualTo(3);
        try (FakeCoordinator back = new FakeCoordinator(DesiredState.newBuilder().setVersion(1).build()).startInPlaceOf(refusing)) {
          await().atMost(Duration.ofSeconds(60)).until(() -> back.sessionsOpened.get() == 1);
          await().atMost(Duration.ofSeconds(30)).until(() -> back.desiredAcks.get() == 1);
        }
      }
    } finally {
      session.close();
    }
  }
}
