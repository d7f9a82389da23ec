package io.dsfleet.coordinator.plan;

/**
 * A DaemonSet's status counters as sums of what each node adds ({@link Planner#counted}: a set of
 * the bits below), which can be taken out again when the node changes.
 */
public final class StatusCounts {
  public static final int DESIRED = 1;
  public static final int CURRENT = 2;
  public static final int READY = 4;
  public static final int UPDATED = 8;
  public static final int AVAILABLE = 16;
  public static final int MISSCHEDULED = 32;

  private int desired;
  private int current;
  private int ready;
  private int updated;
  private int available;
  private int misscheduled;

  /** A node's bits counted. */
  public void add(int bits) {
    count(bits, 1);
  }

  /** A node's bits, counted before, taken out. */
  public void remove(int bits) {
    count(bits, -1);
  }

  private void count(int bits, int by) {
    desired += (bits & DESIRED) != 0 ? by : 0;
    current += (bits & CURRENT) != 0 ? by : 0;
    ready += (bits & READY) != 0 ? by : 0;
    updated += (bits & UPDATED) != 0 ? by : 0;
    available += (bits & AVAILABLE) != 0 ? by : 0;
    misscheduled += (bits & MISSCHEDULED) != 0 ? by : 0;
  }

  public DsStatus status() {
    return new DsStatus(desired, current, ready, updated, available, misscheduled, desired - available);
  }
}
