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
      FakeCoordinator back;
      try (FakeCoordinator.Away away = first.goAway()) {
        // the agent's tries after the session ended: 0.25-0.5 s, then 0.5-1, 1-2 and 2-4 s later
        // (at 3.75 s at the earliest, 7.5 s at the latest), the next one 4-8 s after that
        Thread.sleep(7_000);
        int seen = away.connections.get();
        assertThat(seen).as("connections while the coordinator was away for 7 s: one a try of the agent's back-off").isBetween(3, 4);
        back = new FakeCoordinator(DesiredState.newBuilder().setVersion(1).build()).startInPlaceOf(away);
      }
      try (back) {
        // the next try is at most 8 s away, and it connects at once
        await().atMost(Duration.ofSeconds(12)).until(() -> back.sessionsOpened.get() == 1);
        // and the test ends once the agent has written that session's desired set (it acknowledges
        // it then): not while it still writes into the state directory JUnit removes
        await().atMost(Duration.ofSeconds(30)).until(() -> back.desiredAcks.get() == 1);
      }
    } finally {
      session.close();
    }
  }
}
