package io.dsfleet.agent.session;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.dsfleet.agent.FakeCoordinator;
import io.dsfleet.agent.hostfs.Mounts;
import io.dsfleet.agent.reconcile.Backoff;
import io.dsfleet.agent.reconcile.Reconciler;
import io.dsfleet.agent.reconcile.ReconcilerThreads;
import io.dsfleet.agent.runtime.FakeRuntime;
import io.dsfleet.agent.state.LocalState;
import io.dsfleet.proto.v1.DesiredState;
import io.dsfleet.proto.v1.NodeInfo;
import io.dsfleet.proto.v1.PodStatus;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Reports come from the reconciler's passes: sending one must never throw into the pass, also
 * while the session is being left (a coordinator that went silent: the stream is cancelled and
 * the session reconnects). Before, a report sent between the cancel and the end of the stream threw
 * "call was cancelled" into the pass, and that report never went (found at 10,000 simulated nodes).
 */
class SendAfterCancelTest {
  @TempDir Path dir;

  @Test
  void reportsSentWhileTheSessionIsLeftAndReopenedNeverThrowAndTheNodesStatusArrivesAfterwards() throws Exception {
    Clock clock = Clock.systemUTC();
    ScheduledExecutorService scheduler = Executors.newScheduledThreadPool(4);
    try (FakeCoordinator coordinator = new FakeCoordinator(DesiredState.newBuilder().setVersion(1).build()).start(0)) {
      coordinator.ackHeartbeats = false; // silent: the agent leaves each session after four 100 ms intervals
      FakeRuntime runtime = new FakeRuntime(clock);
      Reconciler reconciler = new Reconciler("n1", "127.0.0.1", runtime, new Mounts(), clock, Backoff.KUBERNETES, Reconciler.RELIST, dir.resolve("state"),
          "test", ReconcilerThreads.standard(), report -> { });
      CoordinatorSession session = new CoordinatorSession(List.of("127.0.0.1:" + coordinator.port()), NodeCredentials.insecure(),
          NodeInfo.newBuilder().setName("n1").build(), reconciler, runtime, new LocalState(dir.resolve("state")), scheduler, clock,
          new Random(1), Duration.ofMillis(100), () -> { });
      session.start();
      AtomicReference<Throwable> thrown = new AtomicReference<>();
      PodStatus ready = PodStatus.newBuilder().setPodName("p").setPhase("Running").setReady(true).build(); // settled: sent at once
      java.util.concurrent.atomic.AtomicBoolean done = new java.util.concurrent.atomic.AtomicBoolean();
      Thread reporter = new Thread(() -> {
        while (!done.get() && thrown.get() == null) {
          try {
            session.sendReport(List.of(ready));
          } catch (Throwable t) {
            thrown.set(t);
          }
        }
      });
      reporter.start();
      // two sessions left for silence and a third opened, however slowly this machine connects
      await().atMost(Duration.ofSeconds(60)).until(() -> coordinator.sessionsOpened.get() >= 3 || thrown.get() != null);
      done.set(true);
      reporter.join();
      assertThat(thrown.get()).as("a report sent while the session was being left").isNull();

      coordinator.ackHeartbeats = true;
      coordinator.reports.clear();
      await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100)).until(() -> {
        session.sendReport(List.of(ready));
        return coordinator.reports.stream().anyMatch(r -> r.getPodsList().contains(ready));
      });
      session.close();
    } finally {
      scheduler.shutdownNow();
    }
  }
}
