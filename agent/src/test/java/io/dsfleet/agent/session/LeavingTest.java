package io.dsfleet.agent.session;

import io.dsfleet.agent.reconcile.ReconcilerThreads;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.dsfleet.agent.FakeCoordinator;
import io.dsfleet.agent.runtime.FakeRuntime;
import io.dsfleet.agent.state.LocalState;
import io.dsfleet.proto.v1.CoordinatorMessage;
import io.dsfleet.proto.v1.DesiredState;
import io.dsfleet.proto.v1.Removed;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Leaving on shutdown against the coordinator's REMOVED, which answers a leave on the session too:
 * one removal of the node's pods, which the leaver waits for.
 */
class LeavingTest extends SessionTestBase {
  private final FakeRuntime runtime = LogRequestLimitsTest.runtimeWithPodP();
  private final CountDownLatch docker = new CountDownLatch(1);
  private final AtomicInteger removed = new AtomicInteger();

  /** The removal's list of every owned container waits for {@link #docker}: a removal under way is seen, and held. */
  private CoordinatorSession opened(FakeCoordinator coordinator) {
    CoordinatorSession session = session(coordinator, runtime, Duration.ofSeconds(5), removed::incrementAndGet);
    session.start();
    await().atMost(Duration.ofSeconds(30)).until(() -> coordinator.desiredAcks.get() == 1);
    runtime.listsThatWait = java.util.Map::isEmpty;
    runtime.listsWaitFor = docker;
    return session;
  }

  @Test
  void leavingRunsTheOneRemovalItsRemovedAnswerStartsTooAndWaitsForIt() throws Exception {
    try (FakeCoordinator coordinator = new FakeCoordinator(DesiredState.newBuilder().setVersion(1).build()).start(0)) {
      coordinator.removesOnLeave = true;
      CoordinatorSession session = opened(coordinator);
      try {
        CompletableFuture<Void> leaving = CompletableFuture.runAsync(session::leaveAndRemove);
        await().atMost(Duration.ofSeconds(30)).until(() -> runtime.listsWaiting.size() == 1);
        // two removals would both be listing by now: the REMOVED reached the session before the leave's answer
        await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(5)).until(() -> runtime.listsWaiting.size() == 1);
        assertThat(leaving).as("the leaver waits for the removal").isNotDone();
        docker.countDown();
        leaving.get(30, TimeUnit.SECONDS);
        assertThat(runtime.listOwned("n1")).as("every owned container removed").isEmpty();
        assertThat(runtime.calls.stream().filter(c -> c.equals("stop app"))).as("stopped once").hasSize(1);
        assertThat(new LocalState(dir.resolve("state")).left()).isTrue();
        assertThat(coordinator.leaves.get()).isEqualTo(1);
        await().atMost(Duration.ofSeconds(10)).until(() -> removed.get() == 1);
      } finally {
        docker.countDown();
        session.close();
      }
    }
  }

  @Test
  void aNodeTheCoordinatorRemovedDoesNotLeaveAgainOnShutdownButWaitsForItsRemoval() throws Exception {
    try (FakeCoordinator coordinator = new FakeCoordinator(DesiredState.newBuilder().setVersion(1).build()).start(0)) {
      CoordinatorSession session = opened(coordinator);
      try {
        coordinator.send(CoordinatorMessage.newBuilder().setRemoved(Removed.newBuilder().setReason("removed by an admin")).build());
        await().atMost(Duration.ofSeconds(30)).until(() -> runtime.listsWaiting.size() == 1);
        CompletableFuture<Void> leaving = CompletableFuture.runAsync(session::leaveAndRemove);
        await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(5)).until(() -> runtime.listsWaiting.size() == 1 && !leaving.isDone());
        docker.countDown();
        leaving.get(30, TimeUnit.SECONDS);
        assertThat(runtime.listOwned("n1")).isEmpty();
        assertThat(coordinator.leaves.get()).as("the node is no member to leave").isZero();
        await().atMost(Duration.ofSeconds(10)).until(() -> removed.get() == 1);
      } finally {
        docker.countDown();
        session.close();
      }
    }
  }

  /** As `ds-agent leave`: a leave the coordinator does not take still stops and removes the node's pods. */
  @Test
  void aLeaveTheCoordinatorRefusesStillRemovesThePods() throws Exception {
    try (FakeCoordinator coordinator = new FakeCoordinator(DesiredState.newBuilder().setVersion(1).build()).start(0)) {
      coordinator.leaveFails = io.grpc.Status.UNAVAILABLE.withDescription("no leader");
      CoordinatorSession session = opened(coordinator);
      docker.countDown();
      session.leaveAndRemove();
      assertThat(coordinator.leaves.get()).isEqualTo(1);
      assertThat(runtime.listOwned("n1")).isEmpty();
      assertThat(new LocalState(dir.resolve("state")).left()).isTrue();
      session.close();
    }
  }

  /** A removal Docker fails still ends the membership: the state is cleared and the agent told to exit. */
  @Test
  void aRemovalDockerFailsStillClearsTheStateAndEndsTheAgent() throws Exception {
    try (FakeCoordinator coordinator = new FakeCoordinator(DesiredState.newBuilder().setVersion(1).build()).start(0)) {
      CoordinatorSession session = opened(coordinator);
      try {
        runtime.setDown(true);
        docker.countDown();
        coordinator.send(CoordinatorMessage.newBuilder().setRemoved(Removed.newBuilder().setReason("removed by an admin")).build());
        await().atMost(Duration.ofSeconds(30)).until(() -> removed.get() == 1);
        assertThat(new LocalState(dir.resolve("state")).left()).as("a restart resumes no pods").isTrue();
        assertThat(new LocalState(dir.resolve("state")).loadDesired()).isEmpty();
      } finally {
        session.close();
      }
    }
  }

  /**
   * The agent stopped while the coordinator's removal waits for a reconcile pass under way, which
   * reports through the session: the session's close waits for the removal without holding what
   * the pass needs (it held the session's monitor, and the three waited on each other).
   */
  @Test
  void aStopDuringTheRemovalWaitsForItWithoutBlockingThePassItWaitsFor() throws Exception {
    try (FakeCoordinator coordinator = new FakeCoordinator(DesiredState.newBuilder().setVersion(1).build()).start(0)) {
      CoordinatorSession[] session = new CoordinatorSession[1];
      io.dsfleet.agent.reconcile.Reconciler reconciler = new io.dsfleet.agent.reconcile.Reconciler("n1", "127.0.0.1", runtime,
          new io.dsfleet.agent.hostfs.Mounts(), java.time.Clock.systemUTC(), io.dsfleet.agent.reconcile.Backoff.KUBERNETES,
          io.dsfleet.agent.reconcile.Reconciler.RELIST, dir.resolve("state"), "test", io.dsfleet.agent.reconcile.ReconcilerThreads.standard(),
          report -> session[0].sendReport(report)); // as the agent wires them
      session[0] = new CoordinatorSession(java.util.List.of("127.0.0.1:" + coordinator.port()), NodeCredentials.insecure(),
          io.dsfleet.proto.v1.NodeInfo.newBuilder().setName("n1").build(), reconciler, runtime, new LocalState(dir.resolve("state")),
          scheduler, java.time.Clock.systemUTC(), new java.util.Random(1), Duration.ofSeconds(5), removed::incrementAndGet);
      try {
        session[0].start();
        await().atMost(Duration.ofSeconds(30)).until(() -> coordinator.desiredAcks.get() == 1);
        runtime.listsThatWait = java.util.Map::isEmpty;
        runtime.listsWaitFor = docker;
        CompletableFuture<Void> pass = CompletableFuture.runAsync(reconciler::tick); // waits in its list, holding the pass
        await().atMost(Duration.ofSeconds(30)).until(() -> runtime.listsWaiting.size() == 1);
        coordinator.send(CoordinatorMessage.newBuilder().setRemoved(Removed.newBuilder().setReason("removed by an admin")).build());
        await().atMost(Duration.ofSeconds(30)).until(() -> new LocalState(dir.resolve("state")).left()); // the removal began
        Thread stopping = new Thread(session[0]::close, "stopping");
        stopping.start();
        await().atMost(Duration.ofSeconds(30)).until(() -> stopping.getState() == Thread.State.TIMED_WAITING); // waits for the removal
        docker.countDown(); // the pass goes on: it reports, then ends
        pass.get(10, TimeUnit.SECONDS); // its report is not held up by the stopping agent
        stopping.join(20_000); // the removal waits up to 30 s for a pass: well before that
        assertThat(stopping.isAlive()).as("the close ended with the removal").isFalse();
        assertThat(runtime.listOwned("n1")).isEmpty();
        // told once the removal's future completed, on its thread: a close waiting for that future
        // may wake first (a CI run saw 0 here)
        await().atMost(Duration.ofSeconds(10)).until(() -> removed.get() == 1);
      } finally {
        docker.countDown();
        session[0].close();
        reconciler.close();
      }
    }
  }
}
