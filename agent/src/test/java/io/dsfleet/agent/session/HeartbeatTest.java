package io.dsfleet.agent.session;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.dsfleet.agent.FakeCoordinator;
import io.dsfleet.agent.runtime.FakeRuntime;
import io.dsfleet.proto.v1.CoordinatorMessage;
import io.dsfleet.proto.v1.DesiredState;
import io.dsfleet.proto.v1.Heartbeat;
import io.dsfleet.proto.v1.LogRequest;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;

/**
 * Heartbeats. The agent asks for a heartbeat's ack only when its last one is an interval old (half
 * the coordinator's writes at a fleet's scale), and that keeps its session: a coordinator that acks
 * exactly the heartbeats that ask, as the real one does, is never taken for a silent one. And no
 * work that waits for Docker or the coordinator holds them up (that work: a log request the runtime
 * fails is answered with the reason).
 */
class HeartbeatTest extends SessionTestBase {
  /** Long enough that a scheduling hiccup of the test machine is a fraction of it. */
  static final Duration INTERVAL = Duration.ofMillis(400);

  private CoordinatorSession session(FakeCoordinator coordinator) {
    return session(coordinator, new FakeRuntime(Clock.systemUTC()));
  }

  private CoordinatorSession session(FakeCoordinator coordinator, FakeRuntime runtime) {
    return session(coordinator, runtime, INTERVAL);
  }

  @Test
  void aLogRequestTheRuntimeFailsIsAnsweredWithTheReason() throws Exception {
    FakeRuntime runtime = new FakeRuntime(Clock.systemUTC());
    try (FakeCoordinator coordinator = new FakeCoordinator(DesiredState.newBuilder().setVersion(1).build()).start(0)) {
      CoordinatorSession session = session(coordinator, runtime);
      try {
        session.start();
        await().atMost(Duration.ofSeconds(30)).until(() -> coordinator.sessionsOpened.get() == 1);
        runtime.setDown(true);
        coordinator.send(CoordinatorMessage.newBuilder().setLogRequest(LogRequest.newBuilder().setRequestId("r1").setPodName("p")
            .setTailLines(10)).build());
        // before, the failure ended the task and the user's stream never ended
        await().atMost(Duration.ofSeconds(10)).until(() -> !coordinator.logChunks.isEmpty());
        assertThat(coordinator.logChunks.get(0).getRequestId()).isEqualTo("r1");
        assertThat(coordinator.logChunks.get(0).getEof()).isTrue();
        assertThat(coordinator.logChunks.get(0).getError()).contains("cannot read the logs of pod p", "fake runtime is down");
      } finally {
        session.close();
      }
    }
  }

  @Test
  void everyOtherHeartbeatAsksForAnAckAndTheSessionIsKept() throws Exception {
    try (FakeCoordinator coordinator = new FakeCoordinator(DesiredState.newBuilder().setVersion(1).build()).start(0)) {
      CoordinatorSession session = session(coordinator);
      session.start();
      // 19 intervals: a session left for silence (over four intervals without an ack) would open again
      await().atMost(Duration.ofSeconds(60)).until(() -> coordinator.heartbeats.size() >= 20);
      session.close();

      assertThat(coordinator.sessionsOpened.get()).as("sessions opened: one, never left for silence").isEqualTo(1);
      List<Boolean> asked = coordinator.heartbeats.stream().map(r -> !r.heartbeat().getAckNotNeeded()).toList();
      assertThat(asked.get(1)).as("the heartbeat an interval after the session opened asks, of " + asked).isTrue();
      long notNeeded = asked.stream().filter(a -> !a).count();
      assertThat(notNeeded).as("heartbeats that needed no ack, of " + asked).isGreaterThanOrEqualTo(asked.size() / 3);
      assertThat(asked.size() - notNeeded).as("heartbeats that asked, of " + asked).isGreaterThanOrEqualTo(asked.size() / 3);
    }
  }

  @Test
  void aCoordinatorThatAcksNothingIsLeftAfterFourIntervals() throws Exception {
    try (FakeCoordinator coordinator = new FakeCoordinator(DesiredState.newBuilder().setVersion(1).build()).start(0)) {
      coordinator.ackHeartbeats = false;
      CoordinatorSession session = session(coordinator);
      long started = System.nanoTime();
      try (LoggedLines left = new LoggedLines("acknowledged no heartbeat for")) {
        session.start();
        await().atMost(Duration.ofSeconds(60)).until(() -> coordinator.sessionsOpened.get() >= 2);
        Duration secondAfter = Duration.ofNanos(System.nanoTime() - started);
        session.close();
        // the first session: its opening heartbeat, then one an interval; the one that finds over
        // four intervals without an ack leaves instead of sending (at the fourth or fifth interval,
        // sooner on a busy machine: a late heartbeat, or several run late at once, find it so)
        List<Heartbeat> first = coordinator.heartbeats.stream().filter(r -> r.session() == 1).map(FakeCoordinator.Received::heartbeat).toList();
        assertThat(first.size()).as("heartbeats before the silent coordinator was left: " + first).isLessThanOrEqualTo(6);
        assertThat(first.stream().skip(1).noneMatch(Heartbeat::getAckNotNeeded))
            .as("with no ack coming, every heartbeat after the opening one asks: " + first).isTrue();
        // how long it went unanswered as the agent measured it when it left: a count of the
        // heartbeats sent meanwhile would depend on how late the machine ran them (a CI machine
        // may hold a thread longer than an interval)
        java.util.regex.Matcher quiet = java.util.regex.Pattern.compile("for (\\d+) ms").matcher(left.lines().get(0));
        assertThat(quiet.find()).as(left.lines().get(0)).isTrue();
        // the log's milliseconds cut what was over four intervals by a fraction of one: 1,600 ms for 1,600.4
        assertThat(Duration.ofMillis(Long.parseLong(quiet.group(1)))).as("the first session left after over four silent intervals")
            .isGreaterThanOrEqualTo(INTERVAL.multipliedBy(4));
        assertThat(secondAfter).as("the second session opened only after four silent intervals").isGreaterThan(INTERVAL.multipliedBy(4));
      }
    }
  }

  @Test
  void heartbeatsGoOnWhileLogRequestsWaitForAHungDocker() throws Exception {
    FakeRuntime runtime = new FakeRuntime(Clock.systemUTC());
    CountDownLatch hung = new CountDownLatch(1);
    try (FakeCoordinator coordinator = new FakeCoordinator(DesiredState.newBuilder().setVersion(1).build()).start(0)) {
      CoordinatorSession session = session(coordinator, runtime);
      session.start();
      await().atMost(Duration.ofSeconds(30)).until(() -> coordinator.heartbeats.size() >= 2);
      // Docker stops answering, and users ask for logs: each request lists the pod's containers
      runtime.listsWaitFor = hung;
      for (int i = 0; i < 4; i++) {
        coordinator.send(CoordinatorMessage.newBuilder().setLogRequest(LogRequest.newBuilder().setRequestId("r" + i).setPodName("p")
            .setTailLines(10)).build());
      }
      int before = coordinator.heartbeats.size();
      // the lease is renewed all the while (a node whose heartbeats stop is NotReady in the fleet)
      await().atMost(Duration.ofSeconds(10)).until(() -> coordinator.heartbeats.size() >= before + 5);
      assertThat(coordinator.sessionsOpened.get()).as("the session was kept").isEqualTo(1);
      hung.countDown();
      session.close();
    } finally {
      hung.countDown();
    }
  }
}
