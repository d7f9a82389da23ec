package io.dsfleet.agent.reconcile;

import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Whether a reconcile pass can be skipped: nothing it reads changed since the last full pass (a
 * desired set, an event, the agent's own work: {@link #changed}), that pass left nothing on the
 * clock (a back-off, a probe, pod work: {@link #fullPassDone}), and it was less than
 * {@link #MAX} ago. The caller adds what only it knows (work in flight, a fresh container list).
 */
final class QuietPasses {
  /** The longest a node goes without a full pass, however quiet it is. */
  static final Duration MAX = Duration.ofSeconds(10);

  private final AtomicBoolean changed = new AtomicBoolean(true);
  private final AtomicLong skipped = new AtomicLong();
  /** Pass thread only. */
  private boolean timed = true;
  private Instant lastFull = Instant.MIN;

  /** Something a pass reads changed: the next pass is a full one. Any thread. */
  void changed() {
    changed.set(true);
  }

  /**
   * Whether the pass at {@code now} may be skipped (counted when it is); when not, a full pass
   * starts now and nothing on the clock is assumed until {@link #fullPassDone} says so.
   *
   * @param quietOtherwise the caller's own conditions hold (no work in flight, the last list fresh)
   */
  boolean skip(Instant now, boolean quietOtherwise) {
    if (!changed.getAndSet(false) && !timed && quietOtherwise && now.isBefore(lastFull.plus(MAX))
        && !now.isBefore(lastFull)) {
      skipped.incrementAndGet();
      return true;
    }
    lastFull = now;
    timed = true;
    return false;
  }

  /** The full pass ended; {@code timed}: it left something that runs on the clock. */
  void fullPassDone(boolean timed) {
    this.timed = timed;
  }

  long skipped() {
    return skipped.get();
  }
}
