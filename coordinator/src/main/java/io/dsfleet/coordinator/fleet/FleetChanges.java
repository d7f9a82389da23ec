package io.dsfleet.coordinator.fleet;

import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The fleet's version, which every change moves, and the watchers told of it: what follows the
 * fleet (`dsctl rollout status`) hears of a change instead of asking on a timer.
 *
 * <p>A change moves the version first thing under the fleet's lock; the watchers run afterwards on
 * a thread of their own ("fleet-watchers"), so a change never waits for them, and what they read
 * through the fleet's view waits for the change's lock (the view is rebuilt when the version
 * moved): they see the change whole. Changes close together are told once: a run starts at least
 * nine times as long after the last one ended as that one took, within {@link #MIN_GAP_NANOS} and
 * {@link #MAX_GAP_NANOS}, a change during a run included; the first change after a quiet spell at
 * once. At 10,000 nodes pod reports move the version thousands of times a second, and a run that
 * rebuilds the fleet's view (under the fleet's lock) takes milliseconds: the watchers take a tenth
 * of their thread and of the lock while runs take up to 2 ms, and rest the full 20 ms beyond. A
 * small fleet's runs take a fraction of a millisecond: a change right after another is told
 * within about a millisecond.
 */
final class FleetChanges {
  private static final Logger log = LoggerFactory.getLogger(FleetChanges.class);
  static final long MIN_GAP_NANOS = 1_000_000L;
  static final long MAX_GAP_NANOS = 20_000_000L;

  private final AtomicLong version = new AtomicLong();
  private final CopyOnWriteArrayList<Runnable> watchers = new CopyOnWriteArrayList<>();
  private final AtomicBoolean told = new AtomicBoolean(true);
  private volatile long lastRunNanos = System.nanoTime() - MAX_GAP_NANOS;
  private volatile long gapNanos = MIN_GAP_NANOS;
  private ScheduledExecutorService thread;
  private boolean closed;

  long get() {
    return version.get();
  }

  /** A change: the version moves, and the watchers will run after it. */
  void bump() {
    version.incrementAndGet();
    if (!watchers.isEmpty() && told.compareAndSet(true, false)) {
      long wait = Math.max(0, lastRunNanos + gapNanos - System.nanoTime());
      try {
        executor().schedule(this::tell, wait, TimeUnit.NANOSECONDS);
      } catch (RejectedExecutionException closed) {
        // no longer serving: the change itself must not fail for want of telling
      }
    }
  }

  /**
   * Runs {@code watcher} after changes until the returned runnable runs; it must not block for long
   * (it shares one thread with every other).
   */
  synchronized Runnable watch(Runnable watcher) {
    if (!closed) {
      watchers.add(watcher); // the thread is made by the first change that has someone to tell
    }
    return () -> watchers.remove(watcher);
  }

  private synchronized ScheduledExecutorService executor() {
    if (closed) {
      throw new RejectedExecutionException("the fleet's watchers are closed"); // no thread made after close
    }
    if (thread == null) {
      thread = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "fleet-watchers");
        t.setDaemon(true);
        return t;
      });
    }
    return thread;
  }

  private void tell() {
    long rest = lastRunNanos + gapNanos - System.nanoTime();
    if (rest > 0) { // a change during the last run was scheduled before that run ended: it rests first
      try {
        executor().schedule(this::tell, rest, TimeUnit.NANOSECONDS);
      } catch (RejectedExecutionException closed) {
        // no longer serving
      }
      return;
    }
    told.set(true); // before running them: a change while they run is told again
    long start = System.nanoTime();
    for (Runnable w : watchers) {
      try {
        w.run();
      } catch (RuntimeException e) {
        log.warn("a watcher of the fleet failed: {}", e.toString());
      }
    }
    long end = System.nanoTime();
    gapNanos = gap(end - start);
    lastRunNanos = end; // the gap from the end of a run: watchers that take long never run back to back
  }

  /** The rest after a run that took {@code tookNanos}: nine times as long, within the bounds. */
  static long gap(long tookNanos) {
    return Math.min(MAX_GAP_NANOS, Math.max(MIN_GAP_NANOS, 9 * tookNanos));
  }

  /** Tells no one any more: watchers are dropped, and a watch after this is never run. */
  synchronized void close() {
    closed = true;
    watchers.clear();
    if (thread != null) {
      thread.shutdownNow();
    }
  }
}
