package io.dsfleet.common;

import java.time.Duration;

/** What agents and coordinators agree on about reconnecting: the agent backs off at most so long, the coordinator waits for it. */
public final class Reconnects {
  /**
   * An agent's longest wait between two tries to reach a coordinator (its back-off's cap): 10 s,
   * as often as a kubelet tries to renew its lease whatever failed before. With 30 s, the last
   * nodes of a 10,000-node fleet came back from a coordinator restart in their 15-30 s step, 20-30 s
   * after the others (docs/benchmarks.md). A try costs a coordinator that is down nothing but a
   * refused connection; one that answers and then refuses the node (a replica that does not lead,
   * a revoked certificate) makes a TLS handshake for each, now three times as often.
   */
  public static final Duration MAX_DELAY = Duration.ofSeconds(10);

  /**
   * The longest wait between two tries a coordinator allows for: agents built before 2026-12-03
   * backed off up to 30 s, and a fleet upgraded agent by agent still runs some of them.
   */
  static final Duration ALLOWED_DELAY = Duration.ofSeconds(30);

  /** How long an agent's try to connect to a coordinator waits for the connection (a host that is gone answers nothing). */
  public static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);

  /**
   * The longest an agent takes to reach a coordinator that answers again, as a coordinator counts
   * it (its restart grace): the longest back-off it allows for, then a connection made.
   */
  public static Duration longestReturn() {
    return ALLOWED_DELAY.plus(CONNECT_TIMEOUT);
  }

  private Reconnects() {}
}
