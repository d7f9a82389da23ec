package io.dsfleet.coordinator.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.coordinator.replication.ReplicationOptions;
import io.dsfleet.coordinator.store.StoreException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/**
 * The leader's add of a replica that joined ends a member, or failed and listed with why: never
 * given up silently, and never for time it only waited for another replica's add.
 */
class ReplicaAddsTest {
  private static final ReplicationOptions.Peer C1 = ReplicationOptions.Peer.parse("c1,127.0.0.1:7444,127.0.0.1:7443");
  private static final ReplicationOptions.Peer C3 = ReplicationOptions.Peer.parse("c3,127.0.0.1:8444,127.0.0.1:8443");

  /** A clock the group's changes and the adds' pauses move. */
  static final class FakeClock extends Clock {
    Instant now = Instant.parse("2026-12-07T01:00:00Z");

    @Override
    public Instant instant() {
      return now;
    }

    @Override
    public java.time.ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      return this;
    }

    void advance(Duration d) {
      now = now.plus(d);
    }
  }

  /**
   * A change Raft stages until {@code answer} (saying it began on {@code changing}), then, after
   * {@code meanwhile}, fails as Raft's staging timeout fails it: the new member never answered.
   */
  static Runnable notAnswering(java.util.concurrent.CountDownLatch changing, java.util.concurrent.CountDownLatch answer, Runnable meanwhile) {
    return () -> {
      changing.countDown();
      try {
        answer.await();
      } catch (InterruptedException e) {
        throw new IllegalStateException(e);
      }
      meanwhile.run();
      throw new io.dsfleet.coordinator.replication.MemberNotAnswering(Duration.ofMinutes(2), new java.io.IOException("NOPROGRESS"));
    };
  }

  /** A group led by this replica whose changes run the steps given, one per change, in order. */
  static final class ScriptedGroup implements ReplicaAdds.Group {
    final List<ReplicationOptions.Peer> members = new ArrayList<>(List.of(C1));
    final List<Runnable> steps = new ArrayList<>();
    int changes;
    boolean leading = true;

    @Override
    public boolean leading() {
      return leading;
    }

    @Override
    public List<ReplicationOptions.Peer> changeMembers(UnaryOperator<List<ReplicationOptions.Peer>> change) {
      steps.get(changes++).run();
      List<ReplicationOptions.Peer> next = change.apply(new ArrayList<>(members));
      members.clear();
      members.addAll(next);
      return next;
    }
  }

  @Test
  void anAddThatWaitedPastTwoMinutesForAnotherAndThenFailedOnceIsTriedAgainAndEndsAMember() {
    FakeClock clock = new FakeClock();
    ScriptedGroup group = new ScriptedGroup();
    group.steps.add(() -> {
      clock.advance(Duration.ofSeconds(150)); // queued behind another replica's add, which took its time catching up
      throw new StoreException("changing the members failed: c1 is not the leader (it stepped down while c3 caught up)", null);
    });
    group.steps.add(() -> {});
    ReplicaAdds adds = new ReplicaAdds(group, clock, () -> clock.millis() * 1_000_000, clock::advance);

    adds.add(C3);

    assertThat(group.changes).as("tried again").isEqualTo(2);
    assertThat(group.members).containsExactly(C1, C3);
    assertThat(adds.pending()).as("a member: no longer listed as joining").isEmpty();
  }

  @Test
  void aReplicaThatNeverAnswersTheLeaderIsListedAsNotAddedWithWhy() throws Exception {
    FakeClock clock = new FakeClock();
    ScriptedGroup group = new ScriptedGroup();
    java.util.concurrent.CountDownLatch changing = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.CountDownLatch answer = new java.util.concurrent.CountDownLatch(1);
    group.steps.add(notAnswering(changing, answer, () -> clock.advance(Duration.ofMinutes(2))));
    ReplicaAdds adds = new ReplicaAdds(group, clock, () -> clock.millis() * 1_000_000, clock::advance);
    Thread adding = new Thread(() -> adds.add(C3));
    adding.start();
    changing.await();
    // while Raft waits for it, dsctl replica list says so
    assertThat(adds.pending()).singleElement().satisfies(p -> {
      assertThat(p.peer()).isEqualTo(C3);
      assertThat(p.failed()).isFalse();
      assertThat(p.state()).contains("waiting for it to start and catch up").contains("127.0.0.1:8444");
    });
    answer.countDown();
    adding.join(10_000);

    assertThat(adding.isAlive()).isFalse();
    assertThat(group.changes).as("not tried again: it would not answer this time either").isEqualTo(1);
    assertThat(group.members).containsExactly(C1);
    assertThat(adds.pending()).singleElement().satisfies(p -> {
      assertThat(p.failed()).isTrue();
      assertThat(p.since()).isEqualTo(Instant.parse("2026-12-07T01:00:00Z"));
      assertThat(p.state()).startsWith("not added: it did not answer the leader at 127.0.0.1:8444 for 120 s")
          .contains("ds-coordinator serve").contains("dsctl replica add c3");
    });
  }

  @Test
  void anAddOfALeaderThatNoLongerLeadsEndsListedAsNotAddedWithWhy() {
    FakeClock clock = new FakeClock();
    ScriptedGroup group = new ScriptedGroup();
    group.leading = false; // deposed right after the join: another replica leads, and knows nothing of it
    ReplicaAdds adds = new ReplicaAdds(group, clock, () -> clock.millis() * 1_000_000, clock::advance);

    adds.add(C3);

    assertThat(group.changes).isZero();
    assertThat(clock.now).isAfter(Instant.parse("2026-12-07T01:10:00Z"));
    assertThat(adds.pending()).singleElement().satisfies(p -> {
      assertThat(p.failed()).isTrue();
      assertThat(p.state()).startsWith("not added: this replica no longer leads the group").contains("dsctl replica add c3");
    });
  }

  @Test
  void aReplicaRemovedWhileItsAddIsRetriedIsNeitherAddedAfterwardsNorListed() {
    FakeClock clock = new FakeClock();
    ScriptedGroup group = new ScriptedGroup();
    group.steps.add(() -> {
      throw new StoreException("changing the members failed: another change is in progress", null);
    });
    group.steps.add(() -> {});
    ReplicaAdds[] adds = new ReplicaAdds[1];
    List<Boolean> cancels = new ArrayList<>();
    adds[0] = new ReplicaAdds(group, clock, () -> clock.millis() * 1_000_000, d -> {
      if (cancels.isEmpty()) {
        // between two tries: dsctl replica remove c3 (ControlAdmin.removeReplica)
        assertThat(adds[0].pending()).singleElement().satisfies(p -> assertThat(p.state()).contains("retrying"));
        cancels.add(adds[0].cancel("c3"));
      }
      clock.advance(d);
    });

    adds[0].add(C3);

    assertThat(cancels).as("the add was found and ended").containsExactly(true);
    assertThat(group.changes).as("no try after the removal").isEqualTo(1);
    assertThat(group.members).containsExactly(C1);
    assertThat(adds[0].pending()).isEmpty();
    assertThat(adds[0].cancel("c3")).as("nothing left to end").isFalse();
  }

  @Test
  void anEarlierAddOfAnIdJoinedAgainEndsWithoutListingItsFailureOverTheLaterJoin() throws Exception {
    FakeClock clock = new FakeClock();
    ScriptedGroup group = new ScriptedGroup();
    java.util.concurrent.CountDownLatch changing = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.CountDownLatch answer = new java.util.concurrent.CountDownLatch(1);
    group.steps.add(notAnswering(changing, answer, () -> {}));
    group.steps.add(() -> {});
    ReplicaAdds adds = new ReplicaAdds(group, clock, () -> clock.millis() * 1_000_000, clock::advance);
    Thread first = new Thread(() -> adds.add(C3));
    first.start();
    changing.await();
    // c3 joins again, from another address, and its add ends a member
    ReplicationOptions.Peer again = ReplicationOptions.Peer.parse("c3,127.0.0.1:9444,127.0.0.1:9443");
    Thread second = new Thread(() -> adds.add(again));
    second.start();
    second.join(10_000);
    assertThat(group.members).containsExactly(C1, again);
    answer.countDown();
    first.join(10_000);

    assertThat(first.isAlive()).isFalse();
    assertThat(adds.pending()).as("c3 is a member: the first add's failure is not listed").isEmpty();
  }
}
