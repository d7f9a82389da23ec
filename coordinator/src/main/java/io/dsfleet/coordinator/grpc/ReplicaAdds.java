package io.dsfleet.coordinator.grpc;

import io.dsfleet.coordinator.replication.MemberNotAnswering;
import io.dsfleet.coordinator.replication.Replica;
import io.dsfleet.coordinator.replication.ReplicationOptions;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The leader's adds of replicas that joined (ds-coordinator join), each until it is a member or
 * failed, with what `dsctl replica list` shows of it meanwhile: a join ends a member, or listed
 * as not added with why, never silently neither.
 *
 * <p>An add waits as long as Raft's own limit for a new member, the staging timeout (two minutes
 * in which the replica does not answer the leader at all: not started, or not reachable): a
 * failure Raft reports then ends the add. Other failures (the leader stepped down while the new
 * member caught up, another change in progress) are retried for {@link #GIVE_UP_AFTER}. Before
 * 2026-12-07 every add ended two minutes after its join, counting the time it waited for another
 * add to finish (one change at a time): three replicas joined one after another and a second
 * replica slow to catch up used up the third's two minutes, which then was given up after one
 * failed try, with a line in the leader's log alone, and the group stayed at two (one way stop
 * 68's bench run of record could have ended without its group formed; not reproduced here).
 */
public final class ReplicaAdds {
  private static final Logger log = LoggerFactory.getLogger(ReplicaAdds.class);
  /** How long an add is retried after failures other than the new replica not answering. */
  static final Duration GIVE_UP_AFTER = Duration.ofMinutes(10);

  /** The group as an add sees it: {@link Replica}'s, or a test's. */
  interface Group {
    /** Whether this replica serves as the leader now. */
    boolean leading();

    List<ReplicationOptions.Peer> changeMembers(UnaryOperator<List<ReplicationOptions.Peer>> change);
  }

  /** Waits between tries: {@link Thread#sleep} here, a test's fake clock there. */
  interface Pause {
    void sleep(Duration d) throws InterruptedException;
  }

  /**
   * A join's add as `dsctl replica list` shows it: in progress ({@code failed} false) or ended
   * without making the replica a member ({@code failed} true, {@code state} says why).
   */
  public record Pending(ReplicationOptions.Peer peer, Instant since, String state, boolean failed) {}

  private final Group group;
  /** The wall clock, for when each join began (shown); how long an add has tried is the monotonic clock's. */
  private final Clock clock;
  private final java.util.function.LongSupplier nanoTime;
  private final Pause pause;
  private final Map<String, Pending> pending = new ConcurrentSkipListMap<>();
  /**
   * Each id's add going on, by a mark only it holds: {@link #cancel} (`dsctl replica remove`) or a
   * later join of the same id takes it, and the add ends at its next try without a change and
   * without writing its state over the later one's.
   */
  private final Map<String, Object> adding = new java.util.concurrent.ConcurrentHashMap<>();

  ReplicaAdds(Group group, Clock clock, java.util.function.LongSupplier nanoTime, Pause pause) {
    this.group = group;
    this.clock = clock;
    this.nanoTime = nanoTime;
    this.pause = pause;
  }

  /** The adds of {@code replica}, timed by the coordinator's clocks; its waits between tries are real sleeps of a background thread. */
  public static ReplicaAdds of(Replica replica, Clock clock, java.util.function.LongSupplier nanoTime) {
    return new ReplicaAdds(new Group() {
      @Override
      public boolean leading() {
        return replica.servingTerm() != 0;
      }

      @Override
      public List<ReplicationOptions.Peer> changeMembers(UnaryOperator<List<ReplicationOptions.Peer>> change) {
        return replica.changeMembers(change);
      }
    }, clock, nanoTime, d -> Thread.sleep(d.toMillis()));
  }

  /** The adds not ended a member (in progress, or failed), by id. */
  public List<Pending> pending() {
    return List.copyOf(pending.values());
  }

  /**
   * Ends the add of this id, if one goes on or failed (`dsctl replica remove` of a replica that
   * joined and is no member yet): it makes the replica a member at no later try, and the join is
   * no longer listed. A change already under way completes first (the membership lock): the caller's
   * removal, made after it, takes the replica out. Whether there was one.
   */
  public synchronized boolean cancel(String id) {
    adding.remove(id);
    return pending.remove(id) != null;
  }

  /** Thrown from within a change by an add that is no longer the id's own: the change makes none. */
  private static final class Ended extends RuntimeException {
    Ended() {
      super(null, null, false, false);
    }
  }

  /**
   * Adds a replica that joined, on the calling thread (a background one): returns once it is a
   * member or its add failed.
   */
  void add(ReplicationOptions.Peer joining) {
    begin(joining).run();
  }

  /**
   * Lists the join at once (so a removal right after it ends its add) and returns the add, to run on
   * a background thread ({@link #add}).
   */
  Runnable begin(ReplicationOptions.Peer joining) {
    Instant since = clock.instant();
    long began = nanoTime.getAsLong();
    Object mine = new Object();
    adding.put(joining.id(), mine);
    note(mine, joining, since, "joined: waiting for it to start and catch up (the leader reaches it at " + joining.peerAddress() + ")", false);
    return () -> run(joining, since, began, mine);
  }

  private void run(ReplicationOptions.Peer joining, Instant since, long began, Object mine) {
    String id = joining.id();
    try {
      String lastFailure = "";
      while (adding.get(id) == mine) {
        boolean leading = group.leading(); // not leading now: perhaps again soon
        if (leading) {
          try {
            // from the members as they are now, one change at a time: other replicas may be joining too
            List<ReplicationOptions.Peer> members = group.changeMembers(now -> {
              if (adding.get(id) != mine) {
                throw new Ended(); // removed, or joined again, while this add waited its turn
              }
              now.removeIf(p -> p.id().equals(id));
              now.add(joining);
              return now;
            });
            synchronized (this) {
              if (adding.get(id) == mine) {
                pending.remove(id);
              }
            }
            log.info("replica {} is a member of the group: {}", id, members);
            return;
          } catch (Ended e) {
            break;
          } catch (MemberNotAnswering e) {
            fail(mine, joining, since, "it did not answer the leader at " + joining.peerAddress() + " for " + e.waited().toSeconds()
                + " s (is `ds-coordinator serve` running there, and that address reachable from the leader?)");
            return;
          } catch (RuntimeException e) {
            log.info("adding replica {} to the group: {}; retrying", id, e.getMessage());
            lastFailure = "joined: adding it failed, retrying: " + e.getMessage();
            note(mine, joining, since, lastFailure, false);
          }
        }
        if (nanoTime.getAsLong() - began > GIVE_UP_AFTER.toNanos()) {
          fail(mine, joining, since, leading ? "adding it failed for " + GIVE_UP_AFTER.toMinutes() + " minutes: " + lastFailure
              : "this replica no longer leads the group (the leader now knows nothing of the join)");
          return;
        }
        try {
          pause.sleep(Duration.ofMillis(leading ? 2000 : 500));
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          return;
        }
      }
      log.info("the add of replica {} ended: it was removed, or joined again, meanwhile", id);
    } finally {
      adding.remove(id, mine);
    }
  }

  /** Lists the add's state, while the add is still the id's own; whether it was. */
  private synchronized boolean note(Object mine, ReplicationOptions.Peer joining, Instant since, String state, boolean failed) {
    if (adding.get(joining.id()) != mine) {
      return false;
    }
    pending.put(joining.id(), new Pending(joining, since, state, failed));
    return true;
  }

  private void fail(Object mine, ReplicationOptions.Peer joining, Instant since, String why) {
    String state = "not added: " + why + "; stop it, empty its data directory, then `dsctl replica add " + joining.id()
        + "` and join again";
    if (note(mine, joining, since, state, true)) {
      log.error("replica {} was not added to the group: {}", joining.id(), state);
    } else {
      log.info("the add of replica {} ended: it was removed, or joined again, meanwhile", joining.id());
    }
  }
}
