package io.dsfleet.agent.reconcile;

import java.time.Duration;
import java.time.Instant;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The passes' lists of the node's containers failing while the runtime answers (an error of
 * Docker's, an answer over what the agent reads): the pass cannot see the node, so it plans
 * nothing, and once the lists have failed for {@link #DOWN_AFTER} in a row the node says its
 * runtime is down, as the kubelet's node goes NotReady when its relist has not completed for 3
 * minutes (a runtime that does not answer at all says so at once). Logged once a streak, not at
 * every pass. Before 2026-12-06 each such pass ended in an exception: its stack trace in the
 * journal every second, and the node Ready, reporting its pods as the last list saw them, for as
 * long as it lasted. The pass thread's own.
 */
final class FailingLists {
  private static final Logger log = LoggerFactory.getLogger(FailingLists.class);
  /** Lists failing this long in a row make the runtime down: a failure now and then (one answer in ten) does not flap the node. */
  static final Duration DOWN_AFTER = Duration.ofSeconds(30);

  /** When the lists began to fail; null while they succeed. */
  private Instant since;

  /**
   * A pass's list failed at {@code now}.
   *
   * @return the runtime's condition to report (down), once the lists have failed {@link #DOWN_AFTER} in a row; null before
   */
  String failed(Instant now, RuntimeException e) {
    if (since == null || now.isBefore(since)) { // a wall clock stepped back: counted from now, never waited out for the step
      if (since == null) {
        log.warn("cannot list the node's containers, its pods keep running and each pass tries again (the node says its container"
            + " runtime is down if this lasts {} s): {}", DOWN_AFTER.toSeconds(), e.toString().strip());
      }
      since = now;
    } else {
      log.debug("cannot list the node's containers still: {}", e.toString().strip());
    }
    Duration failing = Duration.between(since, now);
    return failing.compareTo(DOWN_AFTER) < 0 ? null
        : "the container runtime's list of the node's containers has failed for " + failing.toSeconds() + " s: "
            + String.valueOf(e.getMessage()).strip();
  }

  /** A pass listed the node's containers. */
  void listed() {
    if (since != null) {
      log.info("the node's containers listed again");
      since = null;
    }
  }
}
