package io.dsfleet.coordinator.fleet;

import java.time.Clock;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Recent events per DaemonSet and per node, in memory only (a bounded ring per object). */
public final class Events {
  public record Event(long atMillis, String type, String reason, String message) {}

  private final Clock clock;
  private final int keep;
  private final Map<String, Deque<Event>> byObject = new HashMap<>();

  public Events(Clock clock, int keep) {
    this.clock = clock;
    this.keep = keep;
  }

  public synchronized void record(String objectKey, String type, String reason, String message) {
    Deque<Event> ring = byObject.computeIfAbsent(objectKey, k -> new ArrayDeque<>());
    ring.addLast(new Event(clock.millis(), type, reason, message));
    while (ring.size() > keep) {
      ring.removeFirst();
    }
  }

  public synchronized List<Event> of(String objectKey) {
    Deque<Event> ring = byObject.get(objectKey);
    return ring == null ? List.of() : List.copyOf(ring);
  }

  public synchronized void forget(String objectKey) {
    byObject.remove(objectKey);
  }

  public static String dsKey(String namespace, String name) {
    return "ds/" + namespace + "/" + name;
  }

  public static String nodeKey(String name) {
    return "node/" + name;
  }
}
