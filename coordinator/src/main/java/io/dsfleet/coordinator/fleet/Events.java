package io.dsfleet.coordinator.fleet;

import io.dsfleet.coordinator.store.Store;
import io.dsfleet.coordinator.store.Store.StoredEvent;
import java.time.Clock;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashSet;
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
  private final int keep;
  private final Store store;
  private final Map<String, Deque<Event>> byObject = new HashMap<>();
  private final Deque<StoredEvent> pending = new ArrayDeque<>();
  private final Set<String> forgotten = new LinkedHashSet<>();

  /** Loads the stored events. */
  public Events(Clock clock, int keep, Store store) {
    this.clock = clock;
    this.keep = keep;
    this.store = store;
    for (StoredEvent e : store.events()) {
      add(e.object(), new Event(e.atMillis(), e.type(), e.reason(), e.message()));
    }
  }

  public synchronized void record(String objectKey, String type, String reason, String message) {
    Event e = new Event(clock.millis(), type, reason, message);
    add(objectKey, e);
    recent.addLast(new Recorded(++seq, objectKey, e));
    while (recent.size() > RECENT) {
      recent.removeFirst();
    }
    pending.addLast(new StoredEvent(objectKey, e.atMillis(), type, reason, message));
    while (pending.size() > MAX_PENDING) {
      pending.removeFirst();
    }
  }

  private void add(String objectKey, Event e) {
    Deque<Event> ring = byObject.computeIfAbsent(objectKey, k -> new ArrayDeque<>());
    ring.addLast(e);
    while (ring.size() > keep) {
      ring.removeFirst();
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
    byObject.remove(objectKey);
    pending.removeIf(e -> e.object().equals(objectKey));
    forgotten.add(objectKey);
  }

  /** Writes the events recorded and the objects forgotten since the last flush; on failure, tries again next time. */
  public void flush() {
    List<StoredEvent> batch;
    List<String> gone;
    synchronized (this) {
      if (pending.isEmpty() && forgotten.isEmpty()) {
        return;
      }
      batch = new ArrayList<>(pending);
      gone = new ArrayList<>(forgotten);
    }
    try {
      gone.forEach(store::deleteEvents);
      store.putEvents(batch, keep);
    } catch (RuntimeException e) {
      log.warn("writing {} events failed; trying again at the next flush: {}", batch.size(), e.toString());
      return;
    }
    synchronized (this) {
      for (int i = 0; i < batch.size() && !pending.isEmpty(); i++) {
        pending.removeFirst();
      }
      forgotten.removeAll(gone);
    }
  }

  public static String dsKey(String namespace, String name) {
    return "ds/" + namespace + "/" + name;
  }

  public static String nodeKey(String name) {
    return "node/" + name;
  }
}
