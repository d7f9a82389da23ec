package io.dsfleet.agent.reconcile;

import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * The pods whose work (a worker's steps, a teardown) has been handed out and not yet ended: at most
 * one piece of work per pod at a time. The node's removal waits for it to drain.
 */
final class PodWork {
  private final Set<String> pods = new HashSet<>();

  /** Whether {@code pod}'s work may start now (none under way); it is then under way until {@link #end}. */
  synchronized boolean begin(String pod) {
    return pods.add(pod);
  }

  synchronized void end(String pod) {
    pods.remove(pod);
    if (pods.isEmpty()) {
      notifyAll();
    }
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
