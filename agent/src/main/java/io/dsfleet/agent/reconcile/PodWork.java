package io.dsfleet.agent.reconcile;

import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * The pods whose work (a worker's steps, a teardown, a directory's removal) has been handed out and
 * not yet ended: at most one piece of work per pod at a time. The node's removal leaves a teardown
 * under way to go on (its pod is stopping already), and waits for all of it to end before its last look.
 */
final class PodWork {
  private final Set<String> pods = new HashSet<>();
  private final Set<String> teardowns = new HashSet<>();

  /**
   * Whether {@code pod}'s work may start now (none under way); it is then under way until {@link #end}.
   *
   * @param teardown the work stops the pod's containers (the node's removal leaves it to end by itself)
   */
  synchronized boolean begin(String pod, boolean teardown) {
    if (!pods.add(pod)) {
      return false;
    }
    if (teardown) {
      teardowns.add(pod);
    }
    return true;
  }

  synchronized void end(String pod) {
    pods.remove(pod);
    teardowns.remove(pod);
    if (pods.isEmpty()) {
      notifyAll();
    }
  }

  /** The pods whose teardown is under way now. */
  synchronized Set<String> teardowns() {
    return Set.copyOf(teardowns);
  }

  synchronized boolean underWay(String pod) {
    return pods.contains(pod);
  }

  synchronized boolean none() {
    return pods.isEmpty();
  }

  /**
   * Waits until no work is under way, or {@code untilNanos} ({@link System#nanoTime}: a bound on a
   * real wait, as a lock's timeout is) passes.
   */
  synchronized void awaitNone(long untilNanos) throws InterruptedException {
    for (long left = untilNanos - System.nanoTime(); !pods.isEmpty() && left > 0; left = untilNanos - System.nanoTime()) {
      TimeUnit.NANOSECONDS.timedWait(this, left);
    }
  }
}
