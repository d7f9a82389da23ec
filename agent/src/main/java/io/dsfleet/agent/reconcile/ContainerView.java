package io.dsfleet.agent.reconcile;

import io.dsfleet.agent.runtime.OwnedContainer;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * The node's containers as the passes see them: listed again only when something may have changed
 * (an event, the agent's own work), when no event stream runs, or every {@code relist} as the
 * safety net for a missed event (the kubelet's PLEG relist); otherwise the last list.
 */
final class ContainerView {
  private final Duration relist;
  /** The event stream is followed: without it every pass lists. */
  private volatile boolean watching;
  /** An event came, or the agent's own work touched containers, since the last list. */
  private final AtomicBoolean changed = new AtomicBoolean(true);
  /** Counts the changes (as {@link #changed}): a list made at one count is the node's containers while it holds. */
  private final AtomicLong changes = new AtomicLong();
  /** {@link #changes} as it was just before the last list; -1 before the first. */
  private volatile long listedAtChanges = -1;
  /** The last list and when it was made (the pass thread's own). */
  private List<OwnedContainer> listed = List.of();
  private Instant listedAt = Instant.MIN;
  private final AtomicLong lists = new AtomicLong();

  ContainerView(Duration relist) {
    this.relist = relist;
  }

  void changed() {
    changes.incrementAndGet();
    changed.set(true);
  }

  /** The event stream started (the next pass lists: events may have been missed before it) or ended. */
  void watching(boolean on) {
    changes.incrementAndGet();
    changed.set(true);
    watching = on;
  }

  /** The containers for a pass at {@code now}: {@code list} when due, else the last list. Pass thread only. */
  List<OwnedContainer> get(Instant now, Supplier<List<OwnedContainer>> list) {
    // the flag is cleared before the list (and whether or not it is read: `|`), so a change during
    // the list is listed again by the next pass
    long count = changes.get();
    if (!watching | changed.getAndSet(false) || relistDue(now)) {
      try {
        listed = list.get();
      } catch (RuntimeException e) {
        changed.set(true);
        throw e;
      }
      listedAt = now;
      listedAtChanges = count;
      lists.incrementAndGet();
    }
    return listed;
  }

  /** Whether a pass at {@code now} would work from the last list: the stream runs, nothing changed, the relist is not due. */
  boolean fresh(Instant now) {
    return watching && !changed.get() && !relistDue(now);
  }

  /** The relist is due: {@code relist} since the last list, or the wall clock stepped back before it (not waited out for the step). */
  private boolean relistDue(Instant now) {
    return !now.isBefore(listedAt.plus(relist)) || now.isBefore(listedAt);
  }

  /**
   * Where the last list stands: {@link #current} says whether it still shows the node's containers
   * (the kubelet's pod cache, newer than a time): a pod worker handed a pod by the pass acts on
   * what that pass saw of it, rather than listing again, when nothing changed since.
   */
  long mark() {
    return listedAtChanges;
  }

  /** Whether a list made at {@code mark} still shows the node's containers: the event stream runs and no event or work of the agent's came since. */
  boolean current(long mark) {
    return mark >= 0 && watching && changes.get() == mark;
  }

  /** Passes that listed the containers. */
  long lists() {
    return lists.get();
  }
}
