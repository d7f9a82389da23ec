package io.dsfleet.agent.session;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.dsfleet.agent.DockerHarness;
import io.dsfleet.agent.FakeCoordinator;
import io.dsfleet.agent.hostfs.Mounts;
import io.dsfleet.agent.reconcile.Backoff;
import io.dsfleet.agent.reconcile.Reconciler;
import io.dsfleet.agent.reconcile.ReconcilerThreads;
import io.dsfleet.agent.runtime.FakeRuntime;
import io.dsfleet.agent.state.LocalState;
import io.dsfleet.proto.v1.CoordinatorMessage;
import io.dsfleet.proto.v1.DesiredPod;
import io.dsfleet.proto.v1.DesiredState;
import io.dsfleet.proto.v1.NodeInfo;
import io.dsfleet.proto.v1.Removed;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * When the agent acts on a desired set against when it is on disk (docs/agent.md, "Static
 * stability"): a set that only adds pods is acted on while it is written, any other after; the
 * acknowledgement always waits for the write; a set the disk refuses is acted on all the same
 * (a node whose disk is full must still take the change that frees it), written again until the
 * disk takes it, and the sets meanwhile are tried on the disk first.
 */
class DesiredSetWriteTest extends SessionTestBase {
  /** A disk whose desired-set writes wait for the test, and fail while it is full. */
  static final class Disk extends LocalState {
    volatile CountDownLatch busy = new CountDownLatch(0);
    volatile boolean full;
    /** Writes begun: the barrier before asserting what a set did while its write waits. */
    final java.util.concurrent.atomic.AtomicInteger begun = new java.util.concurrent.atomic.AtomicInteger();

    Disk(Path dir) {
      super(dir);
    }

    @Override
    public void saveDesired(DesiredState state) {
      CountDownLatch wait = busy; // the latch of this write, taken as it begins
      begun.incrementAndGet();
      try {
        wait.await(30, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      if (full) {
        throw new UncheckedIOException(new IOException("No space left on device"));
      }
      super.saveDesired(state);
    }

    @Override
    public void saveOrphans(Set<String> pods) {
      if (full) {
        throw new UncheckedIOException(new IOException("No space left on device"));
      }
      super.saveOrphans(pods);
    }
  }

  private static final DesiredPod POD = DockerHarness.state(DockerHarness.ds()).getPods(0);

  private static DesiredState set(long version, String... pods) {
    DesiredState.Builder b = DesiredState.newBuilder().setVersion(version);
    for (String p : pods) {
      b.addPods(POD.toBuilder().setPodName(p));
    }
    return b.build();
  }

  private final Clock clock = Clock.systemUTC();
  private final FakeRuntime runtime = new FakeRuntime(clock);
  private Disk disk;
  private Reconciler reconciler;

  @BeforeEach
  void agent() {
    disk = new Disk(dir.resolve("state"));
    reconciler = new Reconciler("n1", "127.0.0.1", runtime, new Mounts(), clock, Backoff.KUBERNETES, Reconciler.RELIST, dir.resolve("state"), "test",
        ReconcilerThreads.standard(), report -> { });
    reconciler.onOrphansChanged(disk::saveOrphans); // as the agent persists an adoption
  }

  @AfterEach
  void closeReconciler() {
    reconciler.close();
  }

  /** Node n1's session to {@code coordinator}, on the slow disk; a set the disk refused tried again every 500 ms (5 s in the agent). */
  private CoordinatorSession session(FakeCoordinator coordinator) {
    CoordinatorSession s = new CoordinatorSession(List.of("127.0.0.1:" + coordinator.port()), NodeCredentials.insecure(),
        NodeInfo.newBuilder().setName("n1").build(), reconciler, runtime, disk, scheduler, clock, new Random(1), Duration.ofSeconds(1), () -> { });
    s.writeRetry(Duration.ofMillis(500));
    return s;
  }

  @Test
  void onlyAddedPodsGoAheadOfTheWriteAndTheAcknowledgementAlwaysWaitsForIt() throws Exception {
    try (FakeCoordinator coordinator = new FakeCoordinator(set(1, "a")).start(0)) {
      CoordinatorSession session = session(coordinator);
      try {
        // the first set: none on disk to compare with, written first
        disk.busy = new CountDownLatch(1);
        session.start();
        await().atMost(Duration.ofSeconds(30)).until(() -> disk.begun.get() == 1);
        assertThat(reconciler.desiredPods()).as("the first set waits for the disk").isEmpty();
        disk.busy.countDown();
        await().atMost(Duration.ofSeconds(30)).until(() -> coordinator.desiredAcks.get() == 1);
        assertThat(reconciler.desiredPods()).containsExactly("ops/a");

        // a pod added: acted on while the disk is busy, acknowledged once written
        disk.busy = new CountDownLatch(1);
        coordinator.send(CoordinatorMessage.newBuilder().setDesired(set(2, "a", "b")).build());
        await().atMost(Duration.ofSeconds(30)).until(() -> reconciler.desiredPods().contains("ops/b"));
        assertThat(coordinator.desiredAcks.get()).as("no acknowledgement before the set is on disk").isEqualTo(1);
        assertThat(new LocalState(dir.resolve("state")).loadDesired().orElseThrow().getVersion()).as("not written yet").isEqualTo(1);
        disk.busy.countDown();
        await().atMost(Duration.ofSeconds(30)).until(() -> coordinator.desiredAcks.get() == 2);
        assertThat(new LocalState(dir.resolve("state")).loadDesired().orElseThrow().getVersion()).as("acknowledged: on disk").isEqualTo(2);

        // a pod removed and one added: nothing of it before the write
        disk.busy = new CountDownLatch(1);
        coordinator.send(CoordinatorMessage.newBuilder().setDesired(set(3, "b", "c")).build());
        await().atMost(Duration.ofSeconds(30)).until(() -> disk.begun.get() == 3);
        assertThat(reconciler.desiredPods()).as("a pod is never stopped on a set not on disk while the disk takes writes").containsExactlyInAnyOrder("ops/a", "ops/b");
        disk.busy.countDown();
        await().atMost(Duration.ofSeconds(30)).until(() -> coordinator.desiredAcks.get() == 3);
        assertThat(reconciler.desiredPods()).containsExactlyInAnyOrder("ops/b", "ops/c");

        // the disk full: a set removing a pod and adding one is acted on all the same (the pod removed
        // may be what fills the disk), and written again until the disk takes it; acknowledged only
        // then (the coordinator forgets released pods on an acknowledgement)
        disk.full = true;
        coordinator.send(CoordinatorMessage.newBuilder().setDesired(set(4, "c", "d")).build());
        await().atMost(Duration.ofSeconds(30)).until(() -> reconciler.desiredPods().equals(Set.of("ops/c", "ops/d")));
        int tries = disk.begun.get();
        await().atMost(Duration.ofSeconds(30)).until(() -> disk.begun.get() > tries); // tried again, refused again
        assertThat(coordinator.desiredAcks.get()).as("not acknowledged while not on disk").isEqualTo(3);
        assertThat(new LocalState(dir.resolve("state")).loadDesired().orElseThrow().getVersion()).as("still the set before").isEqualTo(3);
        assertThat(coordinator.sessionsOpened.get()).as("the session goes on: heartbeats, reports and the next sets").isEqualTo(1);
        await().atMost(Duration.ofSeconds(30)).until(() -> !coordinator.heartbeats.isEmpty()
            && coordinator.heartbeats.get(coordinator.heartbeats.size() - 1).heartbeat().getStateWriteError().contains("No space left on device"));
        // while the disk refuses, an added pod is not acted on ahead of the write: the write is tried first
        // (counted before the latch: a retry of set 4 that begins now holds the sets' lock on the latch, and
        // set 5 waits behind it; the retry's begin is then the one awaited, and set 5 is not taken yet either)
        int before5 = disk.begun.get();
        disk.busy = new CountDownLatch(1);
        coordinator.send(CoordinatorMessage.newBuilder().setDesired(set(5, "c", "d", "e")).build());
        await().atMost(Duration.ofSeconds(30)).until(() -> disk.begun.get() > before5);
        assertThat(reconciler.desiredPods()).doesNotContain("ops/e");
        disk.busy.countDown();
        await().atMost(Duration.ofSeconds(30)).until(() -> reconciler.desiredPods().contains("ops/e"));
        disk.full = false; // space freed: the retry writes the latest set, and acknowledges it
        await().atMost(Duration.ofSeconds(30)).until(() -> coordinator.desiredAcks.get() == 4);
        await().atMost(Duration.ofSeconds(30))
            .until(() -> coordinator.heartbeats.get(coordinator.heartbeats.size() - 1).heartbeat().getStateWriteError().isEmpty());
        assertThat(new LocalState(dir.resolve("state")).loadDesired().orElseThrow().getVersion()).isEqualTo(5);

        // a write that succeeded: added pods go ahead of the write again
        disk.busy = new CountDownLatch(1);
        coordinator.send(CoordinatorMessage.newBuilder().setDesired(set(6, "c", "d", "e", "f")).build());
        await().atMost(Duration.ofSeconds(30)).until(() -> reconciler.desiredPods().contains("ops/f"));
        assertThat(coordinator.desiredAcks.get()).isEqualTo(4);
        disk.busy.countDown();
        await().atMost(Duration.ofSeconds(30)).until(() -> coordinator.desiredAcks.get() == 5);

        // the disk full, and a set releasing pod c (delete --cascade=orphan) and dropping d: acted on, its
        // release first; neither written, so a restart meanwhile finds c desired in the set on disk, never
        // dropped without its release; both written once the disk takes them, then acknowledged
        disk.full = true;
        coordinator.send(CoordinatorMessage.newBuilder().setDesired(set(7, "e", "f").toBuilder().addOrphanedPods("c")).build());
        await().atMost(Duration.ofSeconds(30)).until(() -> reconciler.desiredPods().equals(Set.of("ops/e", "ops/f")));
        assertThat(reconciler.orphans()).contains("c");
        assertThat(new LocalState(dir.resolve("state")).loadOrphans()).doesNotContain("c");
        assertThat(new LocalState(dir.resolve("state")).loadDesired().orElseThrow().getVersion()).as("the set before its release")
            .isEqualTo(6);
        assertThat(coordinator.desiredAcks.get()).isEqualTo(5);
        assertThat(coordinator.sessionsOpened.get()).as("the session goes on").isEqualTo(1);
        // c desired again while the disk still refuses: taken, c adopted (not stopped), the session goes on
        coordinator.send(CoordinatorMessage.newBuilder().setDesired(set(8, "c", "e", "f")).build());
        await().atMost(Duration.ofSeconds(30)).until(() -> reconciler.desiredPods().contains("ops/c"));
        assertThat(reconciler.orphans()).doesNotContain("c");
        assertThat(coordinator.sessionsOpened.get()).isEqualTo(1);
        disk.full = false;
        await().atMost(Duration.ofSeconds(30)).until(() -> coordinator.desiredAcks.get() == 6);
        assertThat(new LocalState(dir.resolve("state")).loadOrphans()).as("written as the agent holds them: c adopted").doesNotContain("c");
        assertThat(new LocalState(dir.resolve("state")).loadDesired().orElseThrow().getVersion()).isEqualTo(8);

        // a release written, then the pod desired again on a full disk: the adoption's own write of the
        // released pods fails, and the next set written brings the file in line (e no longer released)
        coordinator.send(CoordinatorMessage.newBuilder().setDesired(set(9, "c", "f").toBuilder().addOrphanedPods("e")).build());
        await().atMost(Duration.ofSeconds(30)).until(() -> coordinator.desiredAcks.get() == 7);
        assertThat(new LocalState(dir.resolve("state")).loadOrphans()).contains("e");
        disk.full = true;
        coordinator.send(CoordinatorMessage.newBuilder().setDesired(set(10, "c", "e", "f")).build());
        await().atMost(Duration.ofSeconds(30)).until(() -> reconciler.desiredPods().contains("ops/e"));
        disk.full = false;
        await().atMost(Duration.ofSeconds(30)).until(() -> coordinator.desiredAcks.get() == 8);
        assertThat(new LocalState(dir.resolve("state")).loadOrphans()).as("the adoption reached the file with the set").doesNotContain("e");
      } finally {
        disk.busy.countDown();
        session.close();
      }
    }
  }

  /**
   * Leaving waits for a set whose write is under way, and takes none after it: a set in flight
   * brings no pod back and writes nothing after the clear.
   */
  @Test
  void leavingWaitsForTheSetBeingWrittenAndTakesNoneAfterIt() throws Exception {
    AtomicInteger removed = new AtomicInteger();
    try (FakeCoordinator coordinator = new FakeCoordinator(set(1, "a")).start(0)) {
      CoordinatorSession session = new CoordinatorSession(List.of("127.0.0.1:" + coordinator.port()), NodeCredentials.insecure(),
          NodeInfo.newBuilder().setName("n1").build(), reconciler, runtime, disk, scheduler, clock, new Random(1), Duration.ofSeconds(1),
          removed::incrementAndGet);
      try {
        session.start();
        await().atMost(Duration.ofSeconds(30)).until(() -> coordinator.desiredAcks.get() == 1);
        disk.busy = new CountDownLatch(1);
        coordinator.send(CoordinatorMessage.newBuilder().setDesired(set(2, "a", "b")).build());
        await().atMost(Duration.ofSeconds(30)).until(() -> disk.begun.get() == 2);
        // set 3 and the REMOVED wait on the stream behind set 2's write; the leave waits for that write
        coordinator.send(CoordinatorMessage.newBuilder().setDesired(set(3, "a", "b", "c")).build());
        coordinator.send(CoordinatorMessage.newBuilder().setRemoved(Removed.newBuilder().setReason("the node left")).build());
        CompletableFuture<Void> leaving = CompletableFuture.runAsync(session::leaveAndRemove);
        await().atMost(Duration.ofSeconds(30)).until(() -> coordinator.leaves.get() == 1);
        // the removal waits for the write under way: the pods and the state untouched meanwhile
        await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(5))
            .until(() -> !leaving.isDone() && !new LocalState(dir.resolve("state")).left() && reconciler.desiredPods().contains("ops/b"));
        disk.busy.countDown();
        leaving.get(30, TimeUnit.SECONDS);
        // the REMOVED after set 3 is the barrier: set 3 was handled before it
        await().atMost(Duration.ofSeconds(30)).until(() -> removed.get() == 1);
        assertThat(disk.begun.get()).as("set 3 never written").isEqualTo(2);
        // set 2's acknowledgement is on the wire when the removal ends; the fake coordinator may read it later
        await().atMost(Duration.ofSeconds(10)).until(() -> coordinator.desiredAcks.get() == 2);
        assertThat(new LocalState(dir.resolve("state")).left()).isTrue();
      } finally {
        session.close();
      }
    }
  }

  @Test
  void aSetOnlyAddsWhenEveryPodAndConfigOnDiskIsInItUnchangedAndNoReleasedPodIsTakenBack() {
    DesiredState onDisk = set(1, "a");
    assertThat(DesiredSets.onlyAdds(onDisk, set(2, "a", "b"), Set.of())).isTrue();
    assertThat(DesiredSets.onlyAdds(onDisk, set(2, "a"), Set.of())).as("nothing added").isFalse();
    assertThat(DesiredSets.onlyAdds(onDisk, set(2, "b", "c"), Set.of())).as("a removed").isFalse();
    DesiredState changed = set(2, "a", "b").toBuilder().setPods(0, POD.toBuilder().setPodName("a").setRevision(7)).build();
    assertThat(DesiredSets.onlyAdds(onDisk, changed, Set.of())).as("a changed").isFalse();
    assertThat(DesiredSets.onlyAdds(onDisk, set(2, "a", "b"), Set.of("b"))).as("b released before: taken back").isFalse();
    assertThat(DesiredSets.onlyAdds(onDisk, set(2, "a", "b").toBuilder().addOrphanedPods("x").build(), Set.of())).as("releases x").isFalse();
    assertThat(DesiredSets.onlyAdds(onDisk.toBuilder().addOrphanedPods("x").build(), set(2, "a", "b").toBuilder().addOrphanedPods("x").build(),
        Set.of("x"))).as("x released before, in every set since").isTrue();
    var config = DockerHarness.config(io.dsfleet.proto.v1.ConfigObject.Kind.CONFIG_MAP, "cfg", java.util.Map.of("k", "v"));
    DesiredState withConfig = onDisk.toBuilder().addConfigs(config).build();
    assertThat(DesiredSets.onlyAdds(withConfig, set(2, "a", "b").toBuilder().addConfigs(config).build(), Set.of())).isTrue();
    var edited = DockerHarness.config(io.dsfleet.proto.v1.ConfigObject.Kind.CONFIG_MAP, "cfg", java.util.Map.of("k", "w"));
    assertThat(DesiredSets.onlyAdds(withConfig, set(2, "a", "b").toBuilder().addConfigs(edited).build(), Set.of())).as("a config changed").isFalse();
    assertThat(DesiredSets.onlyAdds(onDisk, set(2, "a", "b").toBuilder().addConfigs(config).build(), Set.of()))
        .as("a config added where pod a runs: its volumes change").isFalse();
    var elsewhere = config.toBuilder().setNamespace("elsewhere").build();
    assertThat(DesiredSets.onlyAdds(onDisk, set(2, "a", "b").toBuilder().addConfigs(elsewhere).build(), Set.of()))
        .as("a config added in a namespace where no pod runs").isTrue();
  }
}
