package io.dsfleet.agent.reconcile;

import io.dsfleet.agent.runtime.ContainerInfo;
import io.dsfleet.agent.runtime.RuntimeUnavailableException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The node's containers as the passes see them: listed again only when something may have changed
 * that no container's id names (the agent's own work that failed midway, the event stream's start),
 * when no event stream runs, or every {@code relist} as the safety net for a missed event (the
 * kubelet's PLEG relist); a change that names its container (its event, or the agent's own call on
 * it) has the next pass inspect that container alone, in the last list; otherwise the last list.
 */
final class ContainerView {
  private final Duration relist;
  /** The event stream is followed: without it every pass lists. */
  private volatile boolean watching;
  /** A change no id names came since the last list: the next pass lists. */
  private final AtomicBoolean changed = new AtomicBoolean(true);
  /** The containers that changed since the last look (their events, the agent's own calls): the next pass inspects them. */
  private final Set<String> touched = ConcurrentHashMap.newKeySet();
  /** Counts the changes (as {@link #changed} and {@link #touched}): a look made at one count is the node's containers while it holds. */
  private final AtomicLong changes = new AtomicLong();
  /** {@link #changes} as it was just before the last look; -1 before the first. */
  private volatile long listedAtChanges = -1;
  /** The last list (brought up to date by inspects since) and when it was made (the pass thread's own). */
  private List<ContainerInfo> listed = List.of();
  private Instant listedAt = Instant.MIN;
  private final AtomicLong lists = new AtomicLong();
  private final AtomicLong looks = new AtomicLong();

  /**
   * More containers changed than this since the last look: the pass lists them all, one call,
   * rather than inspecting each. A burst (a rollout's pods starting, many events at once) had a
   * pass make an inspect per container, each slow behind the daemon's own work: a kill's event
   * waited 8 s behind one such pass while 30 pods started on the daemon (a CI rehearsal).
   */
  static final int INSPECTS_AT_MOST = 4;

  ContainerView(Duration relist) {
    this.relist = relist;
  }

  /** Something changed that no container's id names: the next pass lists. */
  void changed() {
    changes.incrementAndGet();
    changed.set(true);
  }

  /** Container {@code id} changed (its event, the agent's own call on it): the next pass inspects it. */
  void changed(String id) {
    touched.add(id); // before the count moves: a pass that reads the new count finds the id
    changes.incrementAndGet();
  }

  /** The event stream started (the next pass lists: events may have been missed before it) or ended. */
  void watching(boolean on) {
    changes.incrementAndGet();
    changed.set(true);
    watching = on;
  }

  /**
   * The containers for a pass at {@code now}: {@code list} when due; else the last list with each
   * container that changed since inspected again ({@code inspect}: empty when it is gone or not the
   * node's), or the last list as it is. Pass thread only.
   */
  List<ContainerInfo> get(Instant now, Supplier<List<ContainerInfo>> list, Function<String, Optional<ContainerInfo>> inspect) {
    // the flag is cleared before the list (and whether or not it is read: `|`), so a change during
    // the list is listed again by the next pass
    long count = changes.get();
    if (watching & !changed.getAndSet(false) && !relistDue(now)) {
      if (touched.isEmpty()) {
        return listed;
      }
      if (touched.size() <= INSPECTS_AT_MOST) {
        List<String> ids = new ArrayList<>(touched);
        touched.removeAll(ids); // before the inspects: one touched again during them stays for the next pass
        try {
          listed = inspected(listed, ids, inspect);
          listedAtChanges = count;
          looks.incrementAndGet();
          return listed;
        } catch (RuntimeUnavailableException e) {
          changed.set(true); // the next pass lists
          throw e;
        } catch (RuntimeException e) {
          // an inspect the runtime answered with an error (over what the agent reads, a layer it cannot
          // read): the list, which stands in for such a container with its line, now
        }
      }
    }
    touched.clear(); // before the list, which sees them: one touched during it stays for the next pass
    try {
      listed = list.get();
    } catch (RuntimeException e) {
      changed.set(true);
      throw e;
    }
    listedAt = now;
    listedAtChanges = count;
    lists.incrementAndGet();
    looks.incrementAndGet();
    return listed;
  }

  /** {@code last} with each of {@code ids} as its inspect says now: replaced, added, or left out when gone. */
  private static List<ContainerInfo> inspected(List<ContainerInfo> last, List<String> ids, Function<String, Optional<ContainerInfo>> inspect) {
    Map<String, ContainerInfo> byId = new LinkedHashMap<>();
    last.forEach(c -> byId.put(c.id(), c));
    for (String id : ids) {
      Optional<ContainerInfo> now = inspect.apply(id);
      if (now.isPresent()) {
        byId.put(now.get().id(), now.get());
      } else {
        byId.remove(id);
      }
    }
    return List.copyOf(byId.values());
  }

  /** Whether a pass at {@code now} would work from the last list as it is: the stream runs, nothing changed, the relist is not due. */
  boolean fresh(Instant now) {
    return watching && !changed.get() && touched.isEmpty() && !relistDue(now);
  }

  /** The relist is due: {@code relist} since the last list, or the wall clock stepped back before it (not waited out for the step). */
  private boolean relistDue(Instant now) {
    return !now.isBefore(listedAt.plus(relist)) || now.isBefore(listedAt);
  }

  /**
   * Where the last look stands: {@link #current} says whether it still shows the node's containers
   * (the kubelet's pod cache, newer than a time): a pod worker handed a pod by the pass acts on
   * what that pass saw of it, rather than listing again, when nothing changed since.
   */
  long mark() {
    return listedAtChanges;
  }

  /** Whether a look made at {@code mark} still shows the node's containers: the event stream runs and no event or work of the agent's came since. */
  boolean current(long mark) {
    return mark >= 0 && watching && changes.get() == mark;
  }

  /** Passes that listed the containers. */
  long lists() {
    return lists.get();
  }

  /** Passes that looked at the containers again: listed them, or inspected the ones that changed. */
  long looks() {
    return looks.get();
  }
}
