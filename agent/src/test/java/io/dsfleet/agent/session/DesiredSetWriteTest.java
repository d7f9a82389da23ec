package io.dsfleet.agent.session;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.dsfleet.agent.DockerHarness;
import io.dsfleet.agent.FakeCoordinator;
import io.dsfleet.agent.hostfs.Mounts;
import io.dsfleet.agent.reconcile.Backoff;
import io.dsfleet.agent.reconcile.Reconciler;
import io.dsfleet.agent.runtime.FakeRuntime;
import io.dsfleet.agent.state.LocalState;
import io.dsfleet.proto.v1.DesiredState;
import io.dsfleet.proto.v1.NodeInfo;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The agent acts on a desired set as it arrives and writes it meanwhile: a slow disk holds back
 * the acknowledgement (which says the set is on disk), not the node's pods (docs/agent.md,
 * "Static stability").
 */
class DesiredSetWriteTest extends SessionTestBase {
  @Test
  void aSlowDiskHoldsBackTheAcknowledgementNotThePods() throws Exception {
    CountDownLatch disk = new CountDownLatch(1);
    LocalState slow = new LocalState(dir.resolve("state")) {
      @Override
      public void saveDesired(DesiredState state) {
        try {
          disk.await(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        super.saveDesired(state);
      }
    };
    DesiredState desired = DockerHarness.state(DockerHarness.ds());
    Clock clock = Clock.systemUTC();
    FakeRuntime runtime = new FakeRuntime(clock);
    Reconciler reconciler = new Reconciler("n1", "127.0.0.1", runtime, new Mounts(), clock, Backoff.KUBERNETES, Reconciler.RELIST,
        dir.resolve("state"), "test", Reconciler.Threads.standard(), report -> { });
    try (FakeCoordinator coordinator = new FakeCoordinator(desired).start(0)) {
      CoordinatorSession session = new CoordinatorSession(List.of("127.0.0.1:" + coordinator.port()), NodeCredentials.insecure(),
          NodeInfo.newBuilder().setName("n1").build(), reconciler, runtime, slow, scheduler, clock, new Random(1), Duration.ofSeconds(1), () -> { });
      try {
        session.start();
        await().atMost(Duration.ofSeconds(30)).until(() -> !reconciler.desiredPods().isEmpty());
        assertThat(reconciler.desiredPods()).as("the set is acted on while the disk is busy").containsExactly("ops/agent-pod01");
        assertThat(coordinator.desiredAcks.get()).as("no acknowledgement before the set is on disk").isZero();
        assertThat(new LocalState(dir.resolve("state")).loadDesired()).as("nothing written yet").isEmpty();
        disk.countDown();
        await().atMost(Duration.ofSeconds(30)).until(() -> coordinator.desiredAcks.get() == 1);
        assertThat(new LocalState(dir.resolve("state")).loadDesired()).as("acknowledged: on disk").contains(desired);
      } finally {
        disk.countDown();
        session.close();
        reconciler.close();
      }
    }
  }
}
