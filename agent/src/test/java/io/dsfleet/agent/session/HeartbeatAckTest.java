package io.dsfleet.agent.session;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.dsfleet.agent.FakeCoordinator;
import io.dsfleet.agent.hostfs.Mounts;
import io.dsfleet.agent.reconcile.Backoff;
import io.dsfleet.agent.reconcile.Reconciler;
import io.dsfleet.agent.runtime.FakeRuntime;
import io.dsfleet.agent.state.LocalState;
import io.dsfleet.proto.v1.DesiredState;
import io.dsfleet.proto.v1.Heartbeat;
import io.dsfleet.proto.v1.NodeInfo;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent asks for a heartbeat's ack only when its last one is an interval old (half the
 * coordinator's writes at a fleet's scale), and that keeps its session: a coordinator that acks
 * exactly the heartbeats that ask, as the real one does, is never taken for a silent one.
 */
class HeartbeatAckTest {
  @TempDir Path dir;

  @Test
  void everyOtherHeartbeatAsksForAnAckAndTheSessionIsKept() throws Exception {
    Clock clock = Clock.systemUTC();
    ScheduledExecutorService scheduler = Executors.newScheduledThreadPool(2);
    Duration interval = Duration.ofMillis(250);
    try (FakeCoordinator coordinator = new FakeCoordinator(DesiredState.newBuilder().setVersion(1).build()).start(0)) {
      FakeRuntime runtime = new FakeRuntime(clock);
      Reconciler reconciler = new Reconciler("n1", "127.0.0.1", runtime, new Mounts(), clock, Backoff.KUBERNETES, Reconciler.RELIST,
          dir.resolve("state"), "test", Reconciler.Threads.standard(), report -> { });
      CoordinatorSession session = new CoordinatorSession(List.of("127.0.0.1:" + coordinator.port()), NodeCredentials.insecure(),
          NodeInfo.newBuilder().setName("n1").build(), reconciler, runtime, new LocalState(dir.resolve("state")), scheduler, clock,
          new Random(1), interval, () -> { });
      session.start();
      // 24 intervals: a session left for silence (four intervals without an ack) would open again
      await().atMost(Duration.ofSeconds(60)).until(() -> coordinator.heartbeats.size() >= 25);
      session.close();

      assertThat(coordinator.sessionsOpened.get()).as("sessions opened: one, never left for silence").isEqualTo(1);
      List<Boolean> asked = coordinator.heartbeats.stream().map(r -> !r.heartbeat().getAckNotNeeded()).toList();
      assertThat(asked.get(1)).as("the heartbeat an interval after the session opened asks, of " + asked).isTrue();
      long notNeeded = asked.stream().filter(a -> !a).count();
      assertThat(notNeeded).as("heartbeats that needed no ack, of " + asked).isGreaterThanOrEqualTo(asked.size() / 3);
      assertThat(asked.size() - notNeeded).as("heartbeats that asked, of " + asked).isGreaterThanOrEqualTo(asked.size() / 3);
    } finally {
      scheduler.shutdownNow();
    }
  }

  @Test
  void aCoordinatorThatAcksNothingIsLeftAfterFourIntervals() throws Exception {
    Clock clock = Clock.systemUTC();
    ScheduledExecutorService scheduler = Executors.newScheduledThreadPool(2);
    Duration interval = Duration.ofMillis(250);
    try (FakeCoordinator coordinator = new FakeCoordinator(DesiredState.newBuilder().setVersion(1).build()).start(0)) {
      coordinator.ackHeartbeats = false;
      FakeRuntime runtime = new FakeRuntime(clock);
      Reconciler reconciler = new Reconciler("n1", "127.0.0.1", runtime, new Mounts(), clock, Backoff.KUBERNETES, Reconciler.RELIST,
          dir.resolve("state"), "test", Reconciler.Threads.standard(), report -> { });
      CoordinatorSession session = new CoordinatorSession(List.of("127.0.0.1:" + coordinator.port()), NodeCredentials.insecure(),
          NodeInfo.newBuilder().setName("n1").build(), reconciler, runtime, new LocalState(dir.resolve("state")), scheduler, clock,
          new Random(1), interval, () -> { });
      session.start();
      await().atMost(Duration.ofSeconds(60)).until(() -> coordinator.sessionsOpened.get() >= 2);
      session.close();
      // the first session: its opening heartbeat, then one an interval until four intervals passed
      // without an ack
      List<Heartbeat> first = coordinator.heartbeats.stream().filter(r -> r.session() == 1).map(FakeCoordinator.Received::heartbeat).toList();
      assertThat(first.size()).as("heartbeats before the silent coordinator was left").isGreaterThanOrEqualTo(4);
      assertThat(first.stream().skip(1).noneMatch(Heartbeat::getAckNotNeeded))
          .as("with no ack coming, every heartbeat after the opening one asks: " + first).isTrue();
    } finally {
      scheduler.shutdownNow();
    }
  }
}
