package io.dsfleet.coordinator.fleet;

import io.dsfleet.coordinator.store.Store;
import io.dsfleet.coordinator.store.Store.StoredEvent;
import java.time.Clock;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The event recorder: recent events per DaemonSet and per node, a bounded ring per object, kept
 * on disk too so {@code describe} after a restart still shows why. Recording never waits for the
 * disk: {@link #flush()} (every lease sweep, about once a second) writes what was recorded since,
 * in one transaction; a crash loses at most that second of events, never an acknowledged change.
 */
public final class Events {
  private static final Logger log = LoggerFactory.getLogger(Events.class);
  /** Events waiting for the disk when the store keeps failing are capped: the oldest go first. */
  private static final int MAX_PENDING = 10_000;

  public record Event(long atMillis, String type, String reason, String message) {}

  /** An event with its object ("ds/NAMESPACE/NAME", "node/NAME") and its place in the order events were recorded. */
  public record Recorded(long seq, String object, Event event) {}

  /** The most recent events of every object, for watchers: {@code dsctl events -w} reads what came after what it saw. */
  private static final int RECENT = 10_000;
  private final Deque<Recorded> recent = new ArrayDeque<>();
  private long seq;

  private final Clock clock;
  private final java.util.function.LongSupplier nanoTime;
  private final int keep;
  private final Store store;
  private final Map<String, Deque<Event>> byObject = new HashMap<>();
  private final Deque<StoredEvent> pending = new ArrayDeque<>();
  /** Objects forgotten since the last flush, each with how many times (a flush takes off only those not forgotten again meanwhile). */
  private final Map<String, Integer> forgotten = new java.util.LinkedHashMap<>();

  /** Loads the stored events. */
  public Events(Clock clock, int keep, Store store) {
    this(clock, System::nanoTime, keep, store);
  }

  /**
   * @param nanoTime the monotonic clock the nodes' budgets refill on ({@code System::nanoTime}): on
   *     the wall clock, a step back of a day dropped every event a node that had used up its budget
   *     caused for the day (helper-163, EventBudgetClockTest)
   */
  public Events(Clock clock, java.util.function.LongSupplier nanoTime, int keep, Store store) {
    this.clock = clock;
    this.nanoTime = nanoTime;
    this.keep = keep;
    this.store = store;
    for (StoredEvent e : store.events()) {
      add(e.object(), new Event(e.atMillis(), e.type(), e.reason(), e.message()), null);
    }
  }

  /**
   * Events a node's agent causes, of one kind (its conditions flipping; its pods failing), that
   * each node may have recorded at once, then one every {@link #AGENT_REFILL_MILLIS}: Kubernetes'
   * event spam filter allows 25 per source and object, then one every 5 minutes. Without it, a
   * node flipping its runtime condition 12,000 times in a second pushed every other object's
   * events out of what waits for the disk and what `events -w` reads (a review's compromised node).
   * The kinds have budgets of their own, so failing pods never silence a NotReady.
   */
  static final int AGENT_BURST = 25;
  static final long AGENT_REFILL_MILLIS = 30_000;
  /** The most of another object's kept events (a DaemonSet's) a single node's agent may have caused: it cannot push out the rest. */
  static final int AGENT_SHARE = 10;

  /** What a node's agent causes events about. */
  public enum AgentKind {
    CONDITIONS, PODS,
    /** Its joins with its certificate and its refused leaves: calls a node (or a copy of its certificate) may make in a loop. */
    JOINS,
    /** Its reports moving its plan (the pods it is to run): PodScheduled, PodUpdated, PodRemoved on it and its DaemonSets. */
    PLACEMENT
  }

  /** A node's budget of events of one kind: tokens left, when it last grew, and whether its last event was dropped. */
  private static final class Budget {
    int tokens = AGENT_BURST;
    /** When the last refill counted up to (System.nanoTime). */
    long stampNanos;
    boolean dropping;

    Budget(long nowNanos) {
      stampNanos = nowNanos;
    }
  }

  private final Map<String, Budget> agentBudgets = new HashMap<>();
  /** Per object, the node whose agent caused each kept event ("" for the others), in the ring's order. */
  private final Map<String, Deque<String>> sources = new HashMap<>();

  /**
   * Records one event that {@code node}'s agent caused on each of {@code objectKeys}, unless the
   * node used up its budget of that kind ({@link #AGENT_BURST}); returns whether it was recorded
   * (what it says stays in the node's conditions and pods, which views show). In each other
   * object's kept events the node has at most {@link #AGENT_SHARE}: its own oldest make room. The first
   * event dropped after one recorded is logged.
   */
  public synchronized boolean recordFromAgent(String node, AgentKind kind, List<String> objectKeys, String type, String reason,
      String message) {
    long now = nanoTime.getAsLong();
    Budget b = agentBudgets.computeIfAbsent(node + "|" + kind, k -> new Budget(now));
    if (b.tokens >= AGENT_BURST) {
      b.stampNanos = now;
    }
    long grown = Math.max(0, now - b.stampNanos) / (AGENT_REFILL_MILLIS * 1_000_000);
    if (grown > 0) {
      b.tokens = (int) Math.min(AGENT_BURST, b.tokens + grown);
      b.stampNanos += grown * AGENT_REFILL_MILLIS * 1_000_000;
    }
    if (b.tokens == 0) {
      if (!b.dropping) {
        b.dropping = true;
        log.warn("node {} causes events ({}) faster than {} at once and then one every {} s: dropping them until it slows"
            + " (its conditions and pods still show)", node, kind.name().toLowerCase(java.util.Locale.ROOT), AGENT_BURST,
            AGENT_REFILL_MILLIS / 1000);
      }
      return false;
    }
    b.tokens--;
    b.dropping = false;
    for (String objectKey : objectKeys) {
      record(objectKey, type, reason, message, node);
    }
    return true;
  }

  public synchronized void record(String objectKey, String type, String reason, String message) {
    record(objectKey, type, reason, message, null);
  }

  private void record(String objectKey, String type, String reason, String message, String sourceNode) {
    Event e = new Event(clock.millis(), type, reason, message);
    add(objectKey, e, sourceNode);
    recent.addLast(new Recorded(++seq, objectKey, e));
    while (recent.size() > RECENT) {
      recent.removeFirst();
    }
    pending.addLast(new StoredEvent(objectKey, e.atMillis(), type, reason, message));
    while (pending.size() > MAX_PENDING) {
      pending.removeFirst();
    }
  }

  private void add(String objectKey, Event e, String sourceNode) {
    Deque<Event> ring = byObject.computeIfAbsent(objectKey, k -> new ArrayDeque<>());
    Deque<String> from = sources.computeIfAbsent(objectKey, k -> new ArrayDeque<>());
    if (sourceNode != null && !objectKey.equals(nodeKey(sourceNode))
        && from.stream().filter(sourceNode::equals).count() >= AGENT_SHARE) {
      // the node's own oldest in this object makes room (rings hold 50 at most: walked in place)
      java.util.Iterator<Event> events = ring.iterator();
      for (java.util.Iterator<String> it = from.iterator(); it.hasNext(); ) {
        events.next();
        if (sourceNode.equals(it.next())) {
          it.remove();
          events.remove();
          break;
        }
      }
    }
    ring.addLast(e);
    from.addLast(sourceNode == null ? "" : sourceNode);
    while (ring.size() > keep) {
      ring.removeFirst();
      from.removeFirst();
    }
  }

  public synchronized List<Event> of(String objectKey) {
    Deque<Event> ring = byObject.get(objectKey);
    return ring == null ? List.of() : List.copyOf(ring);
  }

  /** Events listed, with the sequence number a watcher goes on from ({@link #after}). */
  public record Listing(List<Recorded> events, long seq) {}

  /** Every event kept of the objects {@code object} selects, oldest first. */
  public synchronized Listing all(java.util.function.Predicate<String> object) {
    List<Recorded> out = new ArrayList<>();
    byObject.forEach((key, ring) -> {
      if (object.test(key)) {
        ring.forEach(e -> out.add(new Recorded(0, key, e)));
      }
    });
    out.sort(java.util.Comparator.comparingLong((Recorded r) -> r.event().atMillis()));
    return new Listing(out, seq);
  }

  /** Events recorded after {@code seq} of the objects {@code object} selects, oldest first (the last {@value #RECENT} at most). */
  public synchronized List<Recorded> after(long seq, java.util.function.Predicate<String> object) {
    List<Recorded> out = new ArrayList<>();
    for (java.util.Iterator<Recorded> it = recent.descendingIterator(); it.hasNext(); ) {
      Recorded r = it.next();
      if (r.seq() <= seq) {
        break;
      }
      if (object.test(r.object())) {
        out.add(r);
      }
    }
    java.util.Collections.reverse(out);
    return out;
  }

  /** The object is gone: its events go too (from disk at the next flush). */
  public synchronized void forget(String objectKey) {
    if (objectKey.startsWith("node/")) {
      String node = objectKey.substring("node/".length());
      for (AgentKind kind : AgentKind.values()) {
        agentBudgets.remove(node + "|" + kind);
      }
    }
    byObject.remove(objectKey);
    sources.remove(objectKey);
    pending.removeIf(e -> e.object().equals(objectKey));
    forgotten.merge(objectKey, 1, Integer::sum);
  }

  /** One flush at a time: two would both write what waits before either takes it off. */
  private final Object flushing = new Object();
  /** The store refused the last flush's write (under {@link #flushing}). */
  private boolean refused;
  /** Failed flushes in a row, and when the last was logged (under {@link #flushing}). */
  private int failures;
  private long failureSaid;
  private static final long FAILURE_EVERY_MILLIS = 60_000;

  /**
   * Writes the events recorded and the objects forgotten since the last flush; on failure, tries
   * again next time. Recording goes on meanwhile (the disk is written without this recorder's
   * monitor, and callers need hold no lock of theirs).
   *
   * @return whether the store took this flush's write after refusing the last one's: a full or
   *     failing disk works again. While the store refuses writes, events wait (every failed
   *     rollout pass records one), so a flush tries it once a sweep: the coordinator's probe of its
   *     store, which writes nothing of its own.
   */
  public boolean flush() {
    synchronized (flushing) {
      List<StoredEvent> taken;
      Map<String, Integer> gone;
      synchronized (this) {
        if (pending.isEmpty() && forgotten.isEmpty()) {
          return false;
        }
        taken = new ArrayList<>(pending);
        gone = new java.util.LinkedHashMap<>(forgotten);
      }
      List<StoredEvent> batch = newestOfEachObject(taken, keep);
      try {
        gone.keySet().forEach(store::deleteEvents);
        store.putEvents(batch, keep);
      } catch (RuntimeException e) {
        // tried again at every flush (about a second): the first failure, then a line a minute, as the
        // nodes' conditions (NodeLifecycle), not a line a second into the log of a coordinator whose
        // disk is full (before 2026-12-06; helper-139)
        long now = clock.millis();
        if (failures++ == 0) {
          log.warn("writing {} events failed; trying again at each flush: {}", batch.size(), e.toString());
          failureSaid = now;
        } else if (now - failureSaid >= FAILURE_EVERY_MILLIS || now < failureSaid) {
          // a wall clock stepped back (this clock is the events' own, not the nodes' nanoTime) says it at once:
          // before this fix (helper-149) a step back of an hour kept the minute's line for that hour
          log.warn("writing {} events failed {} times in a row, lately: {}", batch.size(), failures, e.getMessage());
          failureSaid = now;
        }
        refused = true;
        return false;
      }
      if (failures > 0) {
        log.info("{} events written, after {} failed tries", batch.size(), failures);
        failures = 0;
      }
      synchronized (this) {
        // what this flush took, by identity: meanwhile events were recorded after it, and an
        // object's forgotten or the oldest dropped (over MAX_PENDING) before it
        Set<StoredEvent> written = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        written.addAll(taken);
        pending.removeIf(written::contains);
        // an object forgotten again meanwhile stays forgotten: events of it this flush wrote go at the next
        gone.forEach((object, times) -> forgotten.remove(object, times));
      }
      boolean recovered = refused;
      refused = false;
      return recovered;
    }
  }

  /**
   * The last {@code keep} events of each object of {@code events}, in their order: the store keeps
   * no more of an object than that, newest first, so the older ones of a batch would be written
   * only to be deleted in the same transaction (at 10,000 nodes an apply records a PodScheduled
   * for each node on its DaemonSet, of which 50 are kept).
   */
  static List<StoredEvent> newestOfEachObject(List<StoredEvent> events, int keep) {
    Map<String, Integer> left = new HashMap<>();
    boolean[] kept = new boolean[events.size()];
    int n = 0;
    for (int i = events.size() - 1; i >= 0; i--) {
      int room = left.merge(events.get(i).object(), 1, Integer::sum);
      kept[i] = room <= keep;
      n += kept[i] ? 1 : 0;
    }
    if (n == events.size()) {
      return events;
    }
    List<StoredEvent> out = new ArrayList<>(n);
    for (int i = 0; i < events.size(); i++) {
      if (kept[i]) {
        out.add(events.get(i));
      }
    }
    return out;
  }

  public static String dsKey(String namespace, String name) {
    return "ds/" + namespace + "/" + name;
  }

  public static String nodeKey(String name) {
    return "node/" + name;
  }
}
