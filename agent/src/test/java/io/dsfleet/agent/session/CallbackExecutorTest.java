package io.dsfleet.agent.session;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.dsfleet.agent.FakeCoordinator;
import io.dsfleet.agent.runtime.FakeRuntime;
import io.dsfleet.proto.v1.DesiredState;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * A session given an executor for its gRPC callbacks ({@link CoordinatorSession#callbacksOn}, what
 * the bench's thousands of simulated agents in one JVM share) runs them there, and works as one on
 * gRPC's own pool: the coordinator's messages arrive and its heartbeat acks are taken in.
 */
class CallbackExecutorTest extends SessionTestBase {
  @Test
  void theSessionsCallbacksRunOnTheExecutorItWasGiven() throws Exception {
    AtomicInteger ran = new AtomicInteger();
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try (FakeCoordinator coordinator = new FakeCoordinator(DesiredState.newBuilder().setVersion(1).build()).start(0)) {
      CoordinatorSession session = session(coordinator, new FakeRuntime(Clock.systemUTC()), Duration.ofSeconds(1))
          .callbacksOn(task -> pool.execute(() -> {
            ran.incrementAndGet();
            task.run();
          }));
      try {
        session.start();
        // after a heartbeat that asked for an ack, one that needs none: the session took the ack in (a
        // callback, so on the pool); without it every heartbeat after the first asks
        await().atMost(Duration.ofSeconds(30)).until(() -> ackTakenIn(coordinator.heartbeats.stream().map(r -> r.heartbeat().getAckNotNeeded()).toList()));
        assertThat(ran.get()).as("callbacks run on the given executor").isPositive();
        assertThat(org.assertj.core.api.Assertions.catchThrowable(() -> session.callbacksOn(Runnable::run)))
            .as("too late once the channel is made").isInstanceOf(IllegalStateException.class);
      } finally {
        session.close();
      }
    } finally {
      pool.shutdown(); // late callbacks of the closing call still run
      assertThat(pool.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
    }
  }

  /** Whether a heartbeat that needed no ack came after one that asked for it. */
  private static boolean ackTakenIn(java.util.List<Boolean> ackNotNeeded) {
    int asked = ackNotNeeded.indexOf(false);
    return asked >= 0 && ackNotNeeded.subList(asked + 1, ackNotNeeded.size()).contains(true);
  }
}
