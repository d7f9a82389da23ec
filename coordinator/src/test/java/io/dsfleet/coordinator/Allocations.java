package io.dsfleet.coordinator;

import java.util.HashMap;
import java.util.Map;

/**
 * What the threads of one name allocate from the moment this is made (the JVM's count per thread):
 * a test bounds what answering a request costs the server's threads without timing it.
 */
public final class Allocations {
  private static final com.sun.management.ThreadMXBean THREADS =
      (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
  private final String name;
  private final Map<Long, Long> before;

  private Allocations(String name) {
    this.name = name;
    this.before = now(name);
  }

  /** Counts from now what the threads named {@code name}, those alive now and those made later, allocate. */
  public static Allocations ofThreadsNamed(String name) {
    return new Allocations(name);
  }

  /** Bytes they allocated since this was made. */
  public long since() {
    return now(name).entrySet().stream().mapToLong(e -> e.getValue() - before.getOrDefault(e.getKey(), 0L)).sum();
  }

  private static Map<Long, Long> now(String name) {
    Map<Long, Long> by = new HashMap<>();
    for (Thread t : Thread.getAllStackTraces().keySet()) {
      if (t.getName().equals(name)) {
        by.put(t.getId(), THREADS.getThreadAllocatedBytes(t.getId()));
      }
    }
    return by;
  }
}
