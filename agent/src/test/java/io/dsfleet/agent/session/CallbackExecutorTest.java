package io.dsfleet.agent.session;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.dsfleet.agent.FakeCoordinator;
import io.dsfleet.agent.runtime.FakeRuntime;
import io.dsfleet.proto.v1.DesiredState;
import java.time.Clock;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * A session given an executor for its gRPC callbacks ({@link CoordinatorSession#callbacksOn}, what
 * the bench's thousands of simulated agents in one JVM share) runs them there, and works as one on
 * gRPC's own pool: the coordinator's messages arrive, heartbeats are acknowledged.
 */
class CallbackExecutorTest extends SessionTestBase {
  @Test
  void theSessionsCallbacksRunOnTheExecutorItWasGiven() throws Exception {
    AtomicInteger ran = new AtomicInteger();
    Set<String> threads = ConcurrentHashMap.newKeySet();
    ExecutorService pool = Executors.newFixedThreadPool(2, io.dsfleet.common.DaemonThreads.named("test-callbacks"));
    try (FakeCoordinator coordinator = new FakeCoordinator(DesiredState.newBuilder().setVersion(1).build()).start(0)) {
      CoordinatorSession session = session(coordinator, new FakeRuntime(Clock.systemUTC()), HeartbeatTest.INTERVAL)
          .callbacksOn(task -> pool.execute(() -> {
            ran.incrementAndGet();
            threads.add(Thread.currentThread().getName());
            task.run();
          }));
      try {
        session.start();
        // acks asked for and received: over four intervals without one and the session would open again
        await().atMost(Duration.ofSeconds(30)).until(() -> coordinator.heartbeats.size() >= 8);
        assertThat(coordinator.sessionsOpened.get()).as("sessions opened").isEqualTo(1);
        assertThat(ran.get()).as("callbacks run on the given executor").isPositive();
        assertThat(threads).allMatch(t -> t.startsWith("test-callbacks"));
      } finally {
        session.close();
        pool.shutdownNow();
      }
    }
  }
}
