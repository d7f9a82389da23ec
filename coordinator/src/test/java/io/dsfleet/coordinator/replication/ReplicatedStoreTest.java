package io.dsfleet.coordinator.replication;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.dsfleet.common.testing.FreePorts;
import io.dsfleet.coordinator.store.Store;
import io.dsfleet.coordinator.store.Store.ObjectWrite;
import io.dsfleet.coordinator.store.Store.StoredObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A 3-replica group on loopback: what a majority acknowledged survives the loss of any one replica. */
class ReplicatedStoreTest {
  @TempDir
  Path root;

  private static ObjectWrite configMap(String name, long expected) {
    return new ObjectWrite(new StoredObject("ConfigMap", "default", name, "{\"data\":{\"k\":\"" + name + "\"}}", 1, 0, 1),
        expected, null, List.of(), null);
  }

  /** Writes {@code count} new objects through the serving leader; returns the names it acknowledged. */
  private static List<String> write(ReplicaGroup group, String prefix, int count) {
    List<String> acknowledged = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      String name = prefix + "-" + i;
      group.leader().store().putObjects(List.of(configMap(name, 0)));
      acknowledged.add(name);
    }
    return acknowledged;
  }

  private static List<String> names(Replica r) {
    return r.store().objects().stream().map(StoredObject::name).sorted().toList();
  }

  /**
   * Every running replica holds exactly these objects (followers apply shortly after the leader; a
   * replica started again first starts its Raft server and is found by the leader, seconds on a
   * loaded machine).
   */
  private static void everyReplicaHolds(ReplicaGroup group, List<String> expected) {
    List<String> sorted = expected.stream().sorted().toList();
    for (Replica r : group.running.values()) {
      Awaitility.await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(names(r)).as("replica " + r.id()).isEqualTo(sorted));
    }
  }

  @Test
  void writesGoOnOnANewLeaderAfterTheLeaderIsKilled() throws Exception {
    // snapshots every 15 entries: the killed replica restarts from one and replays the log after it
    try (ReplicaGroup group = new ReplicaGroup(root, 3, 15)) {
      group.form();
      List<String> acknowledged = new ArrayList<>(write(group, "before", 20));
      Replica old = group.leader();
      long oldTerm = old.servingTerm();
      group.stop(old.id());

      Replica next = group.leader();
      assertThat(next.id()).isNotEqualTo(old.id());
      assertThat(next.servingTerm()).isGreaterThan(oldTerm);
      acknowledged.addAll(write(group, "after", 20));
      everyReplicaHolds(group, acknowledged);

      // resourceVersions are allocated by the replicated store: the new leader goes on from the old one's
      List<Long> versions = next.store().objects().stream().map(StoredObject::resourceVersion).sorted().toList();
      assertThat(versions).doesNotHaveDuplicates().hasSize(40).last().isEqualTo(40L);
      long appliedWhenKilled = group.running.values().iterator().next().lastAppliedIndex();

      // a follower refuses to write: only the serving leader proposes
      Replica follower = group.running.values().stream().filter(r -> r != next).findFirst().orElseThrow();
      assertThatThrownBy(() -> follower.store().putObjects(List.of(configMap("from-a-follower", 0))))
          .isInstanceOf(ReplicatedStore.NotLeaderException.class);

      // the killed replica comes back (from its last snapshot and the log after it) and catches up with what it missed
      Replica back = group.start(old.id());
      everyReplicaHolds(group, acknowledged);
      Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> back.lastAppliedIndex() >= appliedWhenKilled);
      acknowledged.addAll(write(group, "later", 5));
      everyReplicaHolds(group, acknowledged);
    }
  }

  /** Compare-and-set conflicts, and a node admitted with its join token's count of uses (one entry: both or neither). */
  @Test
  void writesDecidedInTheLogAreTheSameOnEveryReplica() throws Exception {
    try (ReplicaGroup group = new ReplicaGroup(root, 3, 10_000)) {
      group.form();
      Store store = group.leader().store();
      store.putToken(new Store.StoredToken("t1", "hash", "once", 1, Long.MAX_VALUE, 0, 0, "", 1));
      store.admitNode(new Store.StoredNode("node-a", "{}", "{}", "{}", false, 1, "{}"), new Store.TokenUse("t1", 1));
      for (Replica r : group.running.values()) {
        Awaitility.await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
          assertThat(r.store().nodes()).as("replica " + r.id()).extracting(Store.StoredNode::name).containsExactly("node-a");
          assertThat(r.store().tokens()).as("replica " + r.id()).extracting(Store.StoredToken::uses).containsExactly(1);
        });
      }
      long rv = store.putObjects(List.of(configMap("cm", 0))).objects().get(0).resourceVersion();
      store.putObjects(List.of(configMap("cm", rv)));
      assertThatThrownBy(() -> store.putObjects(List.of(configMap("cm", rv)))).isInstanceOf(Store.ConflictException.class)
          .hasMessageContaining("resourceVersion is " + (rv + 1));
      for (Replica r : group.running.values()) {
        Awaitility.await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
            assertThat(r.store().objects()).singleElement().extracting(StoredObject::resourceVersion).isEqualTo(rv + 1));
        // the identity desired sets carry: one store to the agents, whichever replica leads
        assertThat(r.store().identity()).as("replica " + r.id()).matches("[0-9a-f]{32}").isEqualTo(store.identity());
      }
    }
  }

  @Test
  void aReplicaRestartedFromAnOldSnapshotCatchesUpFromTheLeadersSnapshot() throws Exception {
    try (ReplicaGroup group = new ReplicaGroup(root, 3, 25)) {
      group.form();
      List<String> acknowledged = new ArrayList<>(write(group, "early", 30));
      everyReplicaHolds(group, acknowledged);
      String lagging = group.running.values().stream().filter(r -> r.servingTerm() == 0).findFirst().orElseThrow().id();
      group.stop(lagging);
      // an old copy of the lagging replica's data: its snapshot and log as they were at about index 30
      Path old = root.resolve("old-" + lagging);
      copyTree(group.dir(lagging), old);

      long oldApplied = group.running.values().iterator().next().lastAppliedIndex();
      acknowledged.addAll(write(group, "late", 100));
      Replica leader = group.leader();
      // the leader took snapshots and purged its log past what the old copy holds: entries alone cannot catch it up
      Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> leader.logStartIndex() > oldApplied + 1);

      deleteTree(group.dir(lagging));
      copyTree(old, group.dir(lagging));
      Replica back = group.start(lagging);
      everyReplicaHolds(group, acknowledged);
      assertThat(back.lastAppliedIndex()).isGreaterThanOrEqualTo(130);
    }
  }

  /** What `ds-coordinator join` does for a member whose data is lost: out of the group, a copy of the leader's store, back in. */
  @Test
  void aReplicaThatLostItsDataRejoinsFromACopyOfTheLeadersStore() throws Exception {
    try (ReplicaGroup group = new ReplicaGroup(root, 3, 10_000)) {
      group.form();
      List<String> acknowledged = new ArrayList<>(write(group, "before", 20));
      Replica leader = group.leader();
      String lost = group.running.values().stream().filter(r -> r != leader).findFirst().orElseThrow().id();
      group.stop(lost);
      deleteTree(group.dir(lost));
      leader.setMembers(group.peers.stream().filter(p -> !p.id().equals(lost)).toList());
      acknowledged.addAll(write(group, "while-out", 10));
      java.nio.file.Files.createDirectories(group.dir(lost).resolve("pki"));
      java.nio.file.Files.copy(group.dir(leader.id()).resolve("pki/secrets.key"), group.dir(lost).resolve("pki/secrets.key"));
      leader.copyStore(group.dir(lost).resolve("dsfleet.db"));
      acknowledged.addAll(write(group, "after-copy", 10)); // not in the copy: Raft brings them
      Replica back = group.start(lost);
      Awaitility.await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> {
        leader.setMembers(group.peers);
        return true;
      });
      acknowledged.addAll(write(group, "back", 10));
      everyReplicaHolds(group, acknowledged);
      assertThat(back.members()).hasSize(3);
    }
  }

  /**
   * Raft closes a replica's group division, not its server, when the replica cannot go on (it
   * stood for election in a configuration that does not list it, or could not apply an entry). It
   * applies nothing more, so it must say it failed: the coordinator then exits for its service
   * manager to start it again.
   */
  @Test
  void aReplicaWhoseRaftDivisionClosedSaysItFailed() throws Exception {
    try (ReplicaGroup group = new ReplicaGroup(root, 3, 10_000)) {
      group.form();
      Replica leader = group.leader();
      Replica follower = group.running.values().stream().filter(r -> r != leader).findFirst().orElseThrow();
      assertThat(follower.failed()).isFalse();
      follower.division().close();
      Awaitility.await("the replica whose division closed says it failed").atMost(Duration.ofSeconds(10)).until(follower::failed);
      assertThat(leader.failed()).isFalse();
    }
  }

  /**
   * The write timeout of the leader in tests that wait one out (10 s in production): the writes
   * they time out are held up until the test lets go of the leader's store, so any will do.
   */
  private static final Duration SHORT_WRITE_TIMEOUT = Duration.ofSeconds(1);

  /** Waits until {@code leader} serves again, in the same {@code term}, after {@code starts} servings. */
  static void awaitServingAgain(ReplicaGroup group, Replica leader, long term, int starts) {
    Awaitility.await("the leader serves again from its store").atMost(Duration.ofSeconds(10))
        .until(() -> group.servingStarts.get(leader.id()).get() > starts && leader.servingTerm() == term);
  }

  /** Returns once what the replica's leadership thread was given before this call has run. */
  static void leadershipThreadRan(Replica replica) throws Exception {
    java.lang.reflect.Field f = Replica.class.getDeclaredField("transitions");
    f.setAccessible(true);
    ((java.util.concurrent.ExecutorService) f.get(replica)).submit(() -> { }).get(10, java.util.concurrent.TimeUnit.SECONDS);
  }

  /**
   * The leader's store lock, held (as a slow disk would hold its apply) on a thread of its own from
   * construction, which returns once it holds it, until {@link #close}: the leader's apply of the
   * next entries waits until the test lets go (once what it checks has happened, not after a fixed time).
   */
  static final class HeldStore implements AutoCloseable {
    private final java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
    private final Thread holder;

    HeldStore(Replica leader) throws Exception {
      java.lang.reflect.Field f = Replica.class.getDeclaredField("machine");
      f.setAccessible(true);
      StoreStateMachine machine = (StoreStateMachine) f.get(leader);
      java.util.concurrent.CountDownLatch holding = new java.util.concurrent.CountDownLatch(1);
      holder = new Thread(() -> machine.read(s -> {
        synchronized (s) {
          holding.countDown();
          try {
            release.await(60, java.util.concurrent.TimeUnit.SECONDS); // a test that failed before letting go
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }
        return null;
      }), "holding the leader's store");
      holder.start();
      assertThat(holding.await(10, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
    }

    /** Lets go of the store; returns once the holder has. */
    @Override
    public void close() throws InterruptedException {
      release.countDown();
      holder.join();
    }
  }

  /**
   * A write the leader gave up waiting for (no answer within the write timeout: here its own apply
   * is held up past it) commits later while the same replica leads. Its store then holds the write
   * and the fleet it serves from memory did not: before 2026-12-05 it stayed so until the next
   * leader (a credential revoked so, and told "may have been applied", still taken). The leader
   * now serves again, loading its fleet from the store, once the write committed.
   */
  @Test
  void aWriteThatTimedOutAndCommittedLaterIsLoadedByTheLeaderThatServes() throws Exception {
    try (ReplicaGroup group = new ReplicaGroup(root, 3, 10_000)) {
      group.form();
      Replica leader = group.leader();
      long term = leader.servingTerm();
      int starts = group.servingStarts.get(leader.id()).get();
      Store servedBefore = leader.store().forThisServing(); // what the fleet served before the reload writes through
      leader.writeTimeout(SHORT_WRITE_TIMEOUT);
      try (HeldStore held = new HeldStore(leader)) {
        assertThatThrownBy(() -> leader.store().putObjects(List.of(configMap("late", 0))))
            .isInstanceOf(io.dsfleet.coordinator.store.StoreException.class).hasMessageContaining("may still commit");
      } // the write timed out: its apply goes on, and it commits late
      awaitServingAgain(group, leader, term, starts);
      assertThat(group.servingStarts.get(leader.id()).get()).as("served again once").isEqualTo(starts + 1);
      assertThat(leader.store().objects()).extracting(StoredObject::name).contains("late");
      // the fleet loaded anew does not hold what the stopped one would write now: in the same term
      // nothing fences it, so its store refuses it (a call still running in it when the reload came)
      assertThatThrownBy(() -> servedBefore.putObjects(List.of(configMap("from-the-stopped-fleet", 0))))
          .isInstanceOf(ReplicatedStore.NotLeaderException.class);
      leader.store().forThisServing().putObjects(List.of(configMap("from-the-fleet-served-now", 0)));
      assertThat(leader.store().objects()).extracting(StoredObject::name).contains("from-the-fleet-served-now")
          .doesNotContain("from-the-stopped-fleet");
    }
  }

  /**
   * A write whose caller is interrupted while it waits was proposed, and may still commit: it is
   * told so (a join keeps its token's use), and once it commits the leader serves again from its
   * store, as for a write that timed out. Before, it was told as not applied.
   */
  @Test
  void aWriteInterruptedWhileItWaitsMayStillCommitAndIsLoadedWhenItDoes() throws Exception {
    try (ReplicaGroup group = new ReplicaGroup(root, 3, 10_000)) {
      group.form();
      Replica leader = group.leader();
      long term = leader.servingTerm();
      int starts = group.servingStarts.get(leader.id()).get();
      HeldStore held = new HeldStore(leader);
      java.util.concurrent.CompletableFuture<Throwable> failed = new java.util.concurrent.CompletableFuture<>();
      Thread writer = new Thread(() -> failed.complete(org.assertj.core.api.Assertions.catchThrowable(
          () -> leader.store().putObjects(List.of(configMap("late", 0))))), "writer");
      long logged = leader.division().getRaftLog().getLastEntryTermIndex().getIndex();
      writer.start();
      Awaitility.await("proposed, waiting for its apply").atMost(Duration.ofSeconds(10))
          .until(() -> leader.division().getRaftLog().getLastEntryTermIndex().getIndex() > logged);
      writer.interrupt();
      assertThat(failed.get(10, java.util.concurrent.TimeUnit.SECONDS)).isInstanceOf(io.dsfleet.coordinator.store.StoreException.class)
          .hasMessageContaining("may still commit")
          .satisfies(e -> assertThat(((io.dsfleet.coordinator.store.StoreException) e).mayHaveApplied()).isTrue());
      held.close(); // the writer was told: its apply goes on, and it commits
      awaitServingAgain(group, leader, term, starts);
      assertThat(group.servingStarts.get(leader.id()).get()).as("served again once").isEqualTo(starts + 1);
      assertThat(leader.store().objects()).extracting(StoredObject::name).contains("late");
    }
  }

  /**
   * Two writes are held up on the leader: the first past the write timeout, the second (proposed
   * after the first timed out, a big one, slow to apply) within it. The first commits late and the
   * leader serves again in the same term; its fleet must be loaded once the second is applied too:
   * the second is acknowledged, and in the same term nothing fences it, so a fleet loaded before it
   * never holds it (before the fix the reload loaded at once, between the two).
   */
  @Test
  void theLeaderServesAgainOnlyOnceEveryWriteItsLogHeldIsApplied() throws Exception {
    try (ReplicaGroup group = new ReplicaGroup(root, 3, 10_000)) {
      group.form();
      Replica leader = group.leader();
      long term = leader.servingTerm();
      int starts = group.servingStarts.get(leader.id()).get();
      leader.writeTimeout(SHORT_WRITE_TIMEOUT);
      HeldStore held = new HeldStore(leader);
      assertThatThrownBy(() -> leader.store().putObjects(List.of(configMap("late", 0))))
          .isInstanceOf(io.dsfleet.coordinator.store.StoreException.class).hasMessageContaining("may still commit");
      // the second write is proposed once the first timed out and must be acknowledged within the product's timeout
      leader.writeTimeout(Replica.WRITE_TIMEOUT);
      List<ObjectWrite> many = new ArrayList<>();
      for (int i = 0; i < 3_000; i++) {
        many.add(configMap("second-" + i, 0));
      }
      java.util.concurrent.CompletableFuture<Void> second = java.util.concurrent.CompletableFuture.runAsync(
          () -> leader.store().putObjects(many));
      long logged = leader.division().getRaftLog().getLastEntryTermIndex().getIndex();
      Awaitility.await("the second write in the leader's log, behind the first").atMost(Duration.ofSeconds(10))
          .until(() -> leader.division().getRaftLog().getLastEntryTermIndex().getIndex() > logged);
      held.close(); // the first commits late: the second is not applied yet
      second.get(30, java.util.concurrent.TimeUnit.SECONDS); // acknowledged: applied after the holder let go
      awaitServingAgain(group, leader, term, starts);
      assertThat(group.loadsBehindTheLog).as("serving starts whose store lacked entries of the leader's log {last, applied}")
          .isEmpty();
    }
  }

  /**
   * Several writes time out together (a slow disk) and all commit late: the leader serves again
   * once, loaded after all of them, not once for each (each reload drops every agent's session;
   * before the fix a backlog of timed-out writes reloaded the fleet that many times).
   */
  @Test
  void writesThatTimedOutTogetherReloadTheLeaderOnce() throws Exception {
    try (ReplicaGroup group = new ReplicaGroup(root, 3, 10_000)) {
      group.form();
      Replica leader = group.leader();
      long term = leader.servingTerm();
      int starts = group.servingStarts.get(leader.id()).get();
      leader.writeTimeout(SHORT_WRITE_TIMEOUT);
      HeldStore held = new HeldStore(leader);
      List<Thread> writers = new ArrayList<>();
      java.util.concurrent.atomic.AtomicInteger timedOut = new java.util.concurrent.atomic.AtomicInteger();
      for (int i = 0; i < 4; i++) {
        String name = "slow-" + i;
        Thread w = new Thread(() -> {
          try {
            leader.store().putObjects(List.of(configMap(name, 0)));
          } catch (io.dsfleet.coordinator.store.StoreException e) {
            timedOut.incrementAndGet();
          }
        });
        w.start();
        writers.add(w);
      }
      for (Thread w : writers) {
        w.join();
      }
      assertThat(timedOut.get()).isEqualTo(4);
      held.close(); // the four commit late, together
      awaitServingAgain(group, leader, term, starts);
      // a write after the four, answered once applied after them: their late answers came first, each
      // queuing its reload check on the leadership thread; a task queued there after those has run them
      leader.store().putObjects(List.of(configMap("after", 0)));
      leadershipThreadRan(leader);
      assertThat(group.servingStarts.get(leader.id()).get()).isEqualTo(starts + 1);
      assertThat(leader.store().objects()).extracting(StoredObject::name).contains("slow-0", "slow-1", "slow-2", "slow-3");
    }
  }

  /**
   * Raft's log writer fails once (a full disk: a replica joined onto a 3 MB tmpfs could not start
   * its first log segment) and then fails every append while the server runs on: the replica
   * answered heartbeats, stayed behind for good, also once the disk had room again, and never
   * exited for its service manager to restart it (the one thing that reopens the log). Ratis tells
   * the state machine (notifyLogFailed, as its log writer does for a failed write): it must say it
   * failed. A restart on a disk with room then catches up (checked with processes on a tmpfs).
   */
  @Test
  void aReplicaWhoseRaftLogFailedSaysItFailed() throws Exception {
    try (ReplicaGroup group = new ReplicaGroup(root, 3, 10_000)) {
      group.form();
      Replica leader = group.leader();
      Replica follower = group.running.values().stream().filter(r -> r != leader).findFirst().orElseThrow();
      follower.division().getStateMachine().event().notifyLogFailed(new java.io.IOException("No space left on device"), null);
      Awaitility.await("the replica whose log failed says it failed").atMost(Duration.ofSeconds(10)).until(follower::failed);
      assertThat(leader.failed()).isFalse();
    }
  }

  /**
   * A replica removed while it runs holds a configuration that does not list it; Raft would close
   * it at its next election (it did, within seconds, before elections were paused for it; the same
   * likely befell a replica catching up after losing its data in CI). It stands for none, and once
   * added back it catches up.
   */
  @Test
  void aReplicaRemovedWhileItRunsStandsForNoElectionAndCatchesUpWhenAddedBack() throws Exception {
    try (ReplicaGroup group = new ReplicaGroup(root, 3, 10_000)) {
      group.form();
      List<String> acknowledged = new ArrayList<>(write(group, "before", 5));
      Replica leader = group.leader();
      Replica removed = group.running.values().stream().filter(r -> r != leader).findFirst().orElseThrow();
      leader.setMembers(group.peers.stream().filter(p -> !p.id().equals(removed.id())).toList());
      long term = removed.currentTerm();
      acknowledged.addAll(write(group, "while-out", 5));
      // its election timer fired: paused, Raft makes it a candidate and runs no election (one it ran
      // would close it, as it did within seconds before elections were paused for it); then four
      // election timeouts of 500 ms for a close that the election would bring (nothing seen follows one)
      Awaitility.await("the removed replica's election timer fired").atMost(Duration.ofSeconds(10))
          .until(() -> removed.division().getInfo().isCandidate());
      Thread.sleep(2000);
      assertThat(removed.failed()).as("closed by its Raft").isFalse();
      assertThat(removed.division().getInfo().isAlive()).isTrue();
      assertThat(removed.currentTerm()).as("a term of its own: it stood for election").isEqualTo(term);
      Awaitility.await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> {
        leader.setMembers(group.peers);
        return true;
      });
      acknowledged.addAll(write(group, "back", 5));
      everyReplicaHolds(group, acknowledged);
      assertThat(removed.failed()).isFalse();
    }
  }

  /**
   * A review's client holding a replica certificate of the fleet's CA (a removed replica keeps its
   * own) but not the group's Secrets key: its plaintext command was applied (a join token of its
   * own), and a junk entry stopped the replica, again at each replay of its log. The leader refuses
   * a request not sealed with the group's key before it reaches the log.
   */
  @Test
  void aRequestNoReplicaSealedIsRefusedBeforeTheLog() throws Exception {
    try (ReplicaGroup group = new ReplicaGroup(root, 1, 10_000)) {
      group.form();
      Replica leader = group.leader();
      write(group, "before", 1);
      var planted = new io.dsfleet.coordinator.store.Store.StoredToken("fffff1", "planted", "an unsealed entry", 1, 4_102_444_800_000L,
          0, 0, "replica/evil", 1);
      byte[] plain = StoreCommand.of(leader.currentTerm(), "putToken", planted).encode();
      Files.createDirectories(root.resolve("other"));
      byte[] otherKey = io.dsfleet.common.SecretBox.loadOrCreate(root.resolve("other/secrets.key")).seal(plain, StoreStateMachine.ENTRY_CONTEXT);
      for (byte[] entry : List.of("junk".getBytes(java.nio.charset.StandardCharsets.UTF_8), plain, otherKey)) {
        assertThat(group.appendAsClient(entry)).as("refused").isNotNull().hasMessageContaining("not written by a replica of this group");
      }
      List<String> after = write(group, "after", 1);
      assertThat(leader.failed()).isFalse();
      assertThat(leader.store().tokens()).noneMatch(t -> t.id().equals("fffff1"));
      assertThat(names(leader)).contains(after.get(0));
    }
  }

  /** A replica whose Secrets key is not the group's cannot open what it is sent: it stops, rather than go on without it. */
  @Test
  void aReplicaWithAnotherKeyStopsRatherThanDrift() throws Exception {
    try (ReplicaGroup group = new ReplicaGroup(root, 3, 10_000)) {
      Files.delete(io.dsfleet.coordinator.store.SqliteStore.secretsKey(group.dir("c3")));
      io.dsfleet.common.SecretBox.loadOrCreate(io.dsfleet.coordinator.store.SqliteStore.secretsKey(group.dir("c3")));
      group.form();
      write(group, "x", 3);
      Replica stray = group.running.get("c3");
      Awaitility.await("stopped, not applying the entries as refusals").atMost(Duration.ofSeconds(30)).until(stray::failed);
    }
  }

  @Test
  void aPeerWhoseCertificateIsNotAReplicasIsRefused() throws Exception {
    try (ReplicaGroup group = new ReplicaGroup(root, 2, 10_000)) {
      group.form();
      // c3 holds a node certificate of the same CA: added to the group, it still may not take part
      group.peers.add(new ReplicationOptions.Peer("c3", "127.0.0.1:" + FreePorts.pick(), "127.0.0.1:" + FreePorts.pick()));
      java.nio.file.Files.createDirectories(group.dir("c3").resolve("pki"));
      java.nio.file.Files.copy(group.dir("c1").resolve("pki/secrets.key"), group.dir("c3").resolve("pki/secrets.key"));
      Replica impostor = group.start("c3", io.dsfleet.common.tls.Pki.NODES);
      Replica leader = group.leader();
      Thread adding = new Thread(() -> {
        try {
          leader.setMembers(group.peers);
        } catch (RuntimeException e) {
          // refused in the end: c3 never catches up
        }
      });
      adding.setDaemon(true);
      adding.start();
      List<String> acknowledged = write(group, "cm", 5);
      Thread.sleep(1500); // several heartbeats: the impostor would have been sent the entries by now
      assertThat(names(impostor)).isEmpty();
      assertThat(names(group.running.get(group.leader().id()))).isEqualTo(acknowledged.stream().sorted().toList());
    }
  }

  static List<Path> snapshotFiles(Path raftDir) throws Exception {
    try (Stream<Path> s = Files.walk(raftDir)) {
      return s.filter(p -> p.getFileName().toString().matches("snapshot\\.\\d+_\\d+")).toList();
    }
  }

  static void copyTree(Path from, Path to) throws Exception {
    try (Stream<Path> s = Files.walk(from)) {
      for (Path p : s.toList()) {
        Path target = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(target);
        } else if (!p.getFileName().toString().endsWith(".lck") && !p.getFileName().toString().equals("in_use.lock")) {
          Files.copy(p, target);
        }
      }
    }
  }

  static void deleteTree(Path dir) throws Exception {
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }
}
