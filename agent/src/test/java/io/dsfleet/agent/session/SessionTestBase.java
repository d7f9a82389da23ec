package io.dsfleet.agent.session;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.agent.FakeCoordinator;
import io.dsfleet.agent.hostfs.Mounts;
import io.dsfleet.agent.reconcile.Backoff;
import io.dsfleet.agent.reconcile.Reconciler;
import io.dsfleet.agent.reconcile.ReconcilerThreads;
import io.dsfleet.agent.runtime.FakeRuntime;
import io.dsfleet.agent.state.LocalState;
import io.dsfleet.proto.v1.NodeInfo;
import io.dsfleet.proto.v1.PodStatus;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tests of an insecure agent session of node n1 to a fake coordinator, over a fake runtime: the
 * session's scheduler (two threads, as the agent's) ends before JUnit removes its state directory.
 */
abstract class SessionTestBase {
  /** Report {@code n} (the report tests' unit, far more than a flow-control window in a few): 256 settled pods, about 200 KiB, its number in the first pod's message. */
  static List<PodStatus> report(int n) {
    List<PodStatus> pods = new ArrayList<>();
    for (int i = 0; i < 256; i++) {
      pods.add(PodStatus.newBuilder().setNamespace("ops").setDaemonSet("ds" + i).setPodName("ds" + i + "-n1").setPhase("Running")
          .setReady(true).setMessage(i == 0 ? "report " + n : "x".repeat(800)).build());
    }
    return pods;
  }

  @TempDir Path dir;
  final ScheduledExecutorService scheduler = newScheduler();

  /** The session's scheduler: two threads, as the agent's. */
  ScheduledExecutorService newScheduler() {
    return Executors.newScheduledThreadPool(2);
  }

  @AfterEach
  void stopTheAgent() throws InterruptedException {
    // nothing of the agent may still write its state directory when JUnit removes it
    scheduler.shutdownNow();
    assertThat(scheduler.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
  }

  CoordinatorSession session(FakeCoordinator coordinator, FakeRuntime runtime, Duration heartbeatInterval) {
    return session(coordinator, runtime, heartbeatInterval, () -> { });
  }

  /** The same, running {@code onRemoved} once the coordinator removed the node and its pods are gone. */
  CoordinatorSession session(FakeCoordinator coordinator, FakeRuntime runtime, Duration heartbeatInterval, Runnable onRemoved) {
    return session(List.of(coordinator), runtime, heartbeatInterval, onRemoved);
  }

  /** A session given every one of {@code coordinators}' addresses, in this order (a coordinator group's replicas). */
  CoordinatorSession session(List<FakeCoordinator> coordinators, FakeRuntime runtime, Duration heartbeatInterval, Runnable onRemoved) {
    Clock clock = Clock.systemUTC();
    Reconciler reconciler = new Reconciler("n1", "127.0.0.1", runtime, new Mounts(), clock, Backoff.KUBERNETES, Reconciler.RELIST,
        dir.resolve("state"), "test", ReconcilerThreads.standard(), report -> { });
    return new CoordinatorSession(coordinators.stream().map(c -> "127.0.0.1:" + c.port()).toList(), NodeCredentials.insecure(),
        NodeInfo.newBuilder().setName("n1").build(), reconciler, runtime, new LocalState(dir.resolve("state")), scheduler, clock,
        new Random(1), heartbeatInterval, onRemoved);
  }
}
