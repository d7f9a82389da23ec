package io.dsfleet.agent.session;

import io.dsfleet.agent.FakeCoordinator;
import io.dsfleet.agent.hostfs.Mounts;
import io.dsfleet.agent.reconcile.Backoff;
import io.dsfleet.agent.reconcile.Reconciler;
import io.dsfleet.agent.runtime.FakeRuntime;
import io.dsfleet.agent.state.LocalState;
import io.dsfleet.proto.v1.NodeInfo;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ScheduledExecutorService;

/** An insecure agent session of node n1 to a fake coordinator, over a fake runtime, its state in {@code dir}. */
final class Sessions {
  private Sessions() {}

  static CoordinatorSession of(FakeCoordinator coordinator, FakeRuntime runtime, Path dir, ScheduledExecutorService scheduler,
      Duration heartbeatInterval) {
    Clock clock = Clock.systemUTC();
    Reconciler reconciler = new Reconciler("n1", "127.0.0.1", runtime, new Mounts(), clock, Backoff.KUBERNETES, Reconciler.RELIST,
        dir.resolve("state"), "test", Reconciler.Threads.standard(), report -> { });
    return new CoordinatorSession(List.of("127.0.0.1:" + coordinator.port()), NodeCredentials.insecure(),
        NodeInfo.newBuilder().setName("n1").build(), reconciler, runtime, new LocalState(dir.resolve("state")), scheduler, clock,
        new Random(1), heartbeatInterval, () -> { });
  }
}
