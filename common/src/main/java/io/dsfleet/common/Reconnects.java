package io.dsfleet.common;

import java.time.Duration;

/** What agents and coordinators agree on about reconnecting: the agent backs off at most this, the coordinator waits for it. */
public final class Reconnects {
  /**
   * An agent's longest wait between two tries to reach a coordinator (its back-off's cap). A
   * coordinator back from a restart, or a replica that just became the leader, gives every node
   * that was Ready at least this on top of the heartbeat grace: an agent that backed off while no
   * coordinator answered may try again only this long after one does.
   */
  public static final Duration MAX_DELAY = Duration.ofSeconds(30);

  /** How long an agent's try to connect to a coordinator waits for the connection (a host that is gone answers nothing). */
  public static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);

  /** The longest an agent takes to reach a coordinator that answers again: its longest back-off, then a connection made. */
  public static Duration longestReturn() {
    return MAX_DELAY.plus(CONNECT_TIMEOUT);
  }

  private Reconnects() {}
}
