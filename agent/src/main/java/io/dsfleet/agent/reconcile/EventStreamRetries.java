package io.dsfleet.agent.reconcile;

import java.time.Duration;

/**
 * When the runtime's event stream is asked for again: 1 s after one that could not be opened or
 * ended, doubling to 30 s for each in a row that could not be opened or ended within a minute of
 * its start; a stream that ran a minute starts the count over. Docker refusing the stream while it
 * answers everything else (an authorization plugin, a socket proxy that does not pass events) made
 * every stream end at once, and each was asked for again a second later: a request, a ping and a
 * line in the journal every second for as long as it lasted.
 */
final class EventStreamRetries {
  /** A stream that ran this long before it ended was a stream: the next try comes at once (1 s), the count starts over. */
  static final Duration LASTED = Duration.ofMinutes(1);
  static final long MAX_DELAY_SECONDS = 30;

  private EventStreamRetries() {}

  /** The wait in seconds before the next try, after {@code failures} tries in a row that failed (0: none): 1, 1, 2, 4, ... 30. */
  static long delaySeconds(int failures) {
    return Math.min(MAX_DELAY_SECONDS, 1L << Math.min(Math.max(failures - 1, 0), 5));
  }

  /** The tries in a row that failed, once a stream that ran {@code ran} ended after {@code before} of them. */
  static int afterEnd(int before, Duration ran) {
    return ran.compareTo(LASTED) >= 0 ? 0 : before + 1;
  }
}
