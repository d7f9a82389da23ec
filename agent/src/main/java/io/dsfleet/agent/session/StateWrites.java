package io.dsfleet.agent.session;

import java.util.concurrent.TimeUnit;

/** The session's writes into the state directory: closing waits for those under way, and none starts after it. */
final class StateWrites {
  private boolean closed;
  private int running;

  /** False once closed: then the caller writes nothing. Otherwise {@link #end()} must follow. */
  synchronized boolean begin() {
    if (closed) {
      return false;
    }
    running++;
    return true;
  }

  synchronized void end() {
    running--;
    notifyAll();
  }

  /** No write starts after this; waits for those under way, up to the timeout (the disk may be slow; not forever). */
  synchronized void close(long timeout, TimeUnit unit) {
    closed = true;
    long until = System.nanoTime() + unit.toNanos(timeout);
    while (running > 0 && System.nanoTime() < until) {
      try {
        wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(until - System.nanoTime())));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }
}
