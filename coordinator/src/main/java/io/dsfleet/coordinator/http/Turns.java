package io.dsfleet.coordinator.http;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * Turns to be answered by one of the coordinator's HTTP listeners (the Kubernetes API, the
 * dashboard, and the Kubernetes API's watches): a few at once in all, and fewer for any one caller, so a credential whose requests
 * wait (logs of pods on a node that does not answer, lists nobody reads) cannot hold every turn
 * and keep the others out (a review's viewer held all 32 of the Kubernetes API's).
 */
public final class Turns {
  private final int total;
  private final int perCaller;
  private final Semaphore free;
  private final long waitMillis;
  private final Map<String, Integer> held = new HashMap<>();

  /** Turns that a caller waits up to 10 s for. */
  public Turns(int total, int perCaller) {
    this(total, perCaller, java.time.Duration.ofSeconds(10));
  }

  /** Turns that a caller waits up to {@code wait} for (zero: taken at once or not at all). */
  public Turns(int total, int perCaller, java.time.Duration wait) {
    this.total = total;
    this.perCaller = perCaller;
    this.free = new Semaphore(total);
    this.waitMillis = wait.toMillis();
  }

  /**
   * A turn for {@code caller}, waiting for one to be free as long as these turns wait; null when the caller holds
   * its share already or none came free (then say why: {@link #refusal}).
   */
  public Turn take(String caller) throws InterruptedException {
    synchronized (held) {
      if (held.getOrDefault(caller, 0) >= perCaller) {
        return null;
      }
      held.merge(caller, 1, Integer::sum);
    }
    boolean taken = false;
    try {
      taken = free.tryAcquire(waitMillis, TimeUnit.MILLISECONDS);
    } finally {
      if (!taken) { // none came free, or the wait was interrupted (the listener stopping): the share is not kept
        give(caller);
      }
    }
    if (!taken) {
      return null;
    }
    java.util.concurrent.atomic.AtomicBoolean given = new java.util.concurrent.atomic.AtomicBoolean();
    return () -> {
      if (given.compareAndSet(false, true)) { // once, however often it is closed: a second release would make a turn out of nothing
        free.release();
        give(caller);
      }
    };
  }

  private void give(String caller) {
    synchronized (held) {
      held.merge(caller, -1, (a, b) -> a + b == 0 ? null : a + b);
    }
  }

  /** The turns {@code caller} holds now. */
  public int held(String caller) {
    synchronized (held) {
      return held.getOrDefault(caller, 0);
    }
  }

  /** Why a turn was refused. */
  public String refusal(String caller) {
    return "answering " + total + " requests at once, at most " + perCaller + " of one credential (" + caller + "); try again";
  }

  /** A turn held: given back once, when the answer is done. */
  @FunctionalInterface
  public interface Turn extends AutoCloseable {
    @Override
    void close();
  }
}
