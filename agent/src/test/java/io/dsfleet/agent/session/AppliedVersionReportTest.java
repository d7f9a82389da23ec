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
import io.dsfleet.proto.v1.CoordinatorMessage;
import io.dsfleet.proto.v1.DesiredState;
import io.dsfleet.proto.v1.NodeInfo;
import io.dsfleet.proto.v1.PodStatusReport;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Each report says which desired set the pass that built it had taken ({@code applied_version}), and a pass that took a
 * newer set reports even when no pod changed: the coordinator holds a node it moved back until such a report says what
 * runs there after the last set it sent (docs/rollouts.md). Before 2026-12-07 a set that changed nothing was reported by
 * nothing, and the coordinator took the node's report from before it for what runs there after 10 s, whatever became of
 * the set (a link stalled right after it).
 */
class AppliedVersionReportTest extends SessionTestBase {
  private final FakeRuntime runtime = new FakeRuntime(Clock.systemUTC());

  @Test
  void aSetThatChangesNoPodIsReportedWithItsVersionOnceAPassTookIt() throws Exception {
    taken(1, (coordinator, session, reconciler) -> {
      coordinator.send(CoordinatorMessage.newBuilder().setDesired(DesiredState.newBuilder().setVersion(2)).build());
      await().atMost(Duration.ofSeconds(30)).until(() -> coordinator.desiredAcks.get() == 2);
      int before = coordinator.reports.size();
      reconciler.tick(); // the set changes no pod: the pass's report is the one before, with the set's version
      await().atMost(Duration.ofSeconds(30)).until(() -> coordinator.reports.size() > before);
      PodStatusReport r = coordinator.lastReport();
      assertThat(r.hasAppliedVersion()).isTrue();
      assertThat(r.getAppliedVersion()).as("the version of the set the pass took").isEqualTo(2);
      assertThat(r.getPodsList()).isEmpty();
    });
  }

  @Test
  void setsTakenBeforeOnePassAreOneReportWithTheNewestVersionAndAPassWithNoNewSetReportsNothing() throws Exception {
    taken(1, (coordinator, session, reconciler) -> {
      coordinator.send(CoordinatorMessage.newBuilder().setDesired(DesiredState.newBuilder().setVersion(2)).build());
      coordinator.send(CoordinatorMessage.newBuilder().setDesired(DesiredState.newBuilder().setVersion(3)).build());
      await().atMost(Duration.ofSeconds(30)).until(() -> coordinator.desiredAcks.get() == 3);
      int before = coordinator.reports.size();
      reconciler.tick();
      await().atMost(Duration.ofSeconds(30)).until(() -> lastApplied(coordinator) == 3);
      reconciler.tick(); // took no newer set, and no pod changed: nothing to say
      // a heartbeat after the passes' reports: the stream delivers in order, so any report of theirs came before it
      int heartbeats = coordinator.heartbeats.size();
      session.heartbeat();
      await().atMost(Duration.ofSeconds(30)).until(() -> coordinator.heartbeats.size() > heartbeats);
      assertThat(coordinator.reports.subList(before, coordinator.reports.size())).extracting(PodStatusReport::getAppliedVersion)
          .as("one report for the two sets, none for the pass after").containsExactly(3L);
    });
  }

  /**
   * A set of a lower version than the last one taken (a coordinator restarted, or a replica taking the lead, whose wall
   * clock, which seeds its versions, is behind the one before's) is reported with its version too: the coordinator ends
   * a rollback's hold only on its own last version, exactly (docs/wire.md), so an agent that took it for no news would
   * hold the node until a pod changed.
   */
  @Test
  void aSetOfALowerVersionThanTheLastIsReportedWithItsVersion() throws Exception {
    taken(5_000, (coordinator, session, reconciler) -> {
      coordinator.send(CoordinatorMessage.newBuilder().setDesired(DesiredState.newBuilder().setVersion(7)).build());
      await().atMost(Duration.ofSeconds(30)).until(() -> coordinator.desiredAcks.get() == 2);
      reconciler.tick();
      await().atMost(Duration.ofSeconds(30)).until(() -> lastApplied(coordinator) == 7);
      assertThat(coordinator.lastReport().getPodsList()).isEmpty();
    });
  }

  interface Steps {
    void run(FakeCoordinator coordinator, CoordinatorSession session, Reconciler reconciler) throws Exception;
  }

  /** A session and a reconciler wired as the agent wires them, the first set ({@code version}) taken and reported, then {@code steps}. */
  private void taken(long version, Steps steps) throws Exception {
    try (FakeCoordinator coordinator = new FakeCoordinator(DesiredState.newBuilder().setVersion(version).build()).start(0)) {
      CoordinatorSession[] session = new CoordinatorSession[1];
      Reconciler reconciler = wired(coordinator, session);
      try {
        session[0].start();
        await().atMost(Duration.ofSeconds(30)).until(() -> coordinator.desiredAcks.get() == 1);
        reconciler.tick();
        await().atMost(Duration.ofSeconds(30)).until(() -> lastApplied(coordinator) == version);
        steps.run(coordinator, session[0], reconciler);
      } finally {
        session[0].close();
        reconciler.close();
      }
    }
  }

  /** A reconciler whose reports go up the session, as the agent wires them. */
  private Reconciler wired(FakeCoordinator coordinator, CoordinatorSession[] session) {
    Clock clock = Clock.systemUTC();
    Reconciler reconciler = new Reconciler("n1", "127.0.0.1", runtime, new Mounts(), clock, Backoff.KUBERNETES, Reconciler.RELIST,
        dir.resolve("state"), "test", ReconcilerThreads.standard(), report -> session[0].sendReport(report));
    session[0] = new CoordinatorSession(List.of("127.0.0.1:" + coordinator.port()), NodeCredentials.insecure(),
        NodeInfo.newBuilder().setName("n1").build(), reconciler, runtime, new LocalState(dir.resolve("state")), scheduler, clock,
        new Random(1), Duration.ofSeconds(5), () -> { });
    return reconciler;
  }

  private static long lastApplied(FakeCoordinator coordinator) {
    PodStatusReport r = coordinator.lastReport();
    return r == null ? -1 : r.getAppliedVersion();
  }
}
