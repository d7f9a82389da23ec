package io.dsfleet.agent.session;

import java.time.Duration;

/**
 * How long the session waits before its next try, in rounds of the configured coordinator
 * addresses (one try each; a coordinator group's replicas, or one coordinator). Within a round the
 * agent goes on to the next address in 0.25-1 s (jittered), whatever the last one answered; the
 * back-off ({@link Reconnect}) is waited, and grown, only once a round is over, or after a refusal
 * that keeps the agent on its address. A round in which a replica said that none leads yet is an
 * election's: the next round follows in 0.25-1 s too, no back-off, for {@link #ELECTION} after the
 * first such answer since the last {@link #reset}; after that those rounds back off as any.
 *
 * <p>Before 2026-12-06 every try that reached no coordinator grew the back-off: with the killed
 * leader's address among three, each round doubled it, and an agent came back to the new leader
 * up to 8 s after it served (helper-133, in the replicated e2e test), for every agent of the fleet.
 * With one address every round is one try: the back-off as it always was.
 */
final class Rounds {
  /**
   * How long replicas answering that none leads keep the agent at the round's short pace: elections
   * took 2-5 s and the new leader served 2.5-8 s after the old one was killed (docs/coordinator.md;
   * one election of 10 s seen in CI). A group that cannot elect (no majority) is then backed off
   * from as a coordinator that is down: each of 10,000 agents would otherwise make a TLS handshake
   * with each replica every two seconds or so, for as long as the majority is gone.
   */
  static final Duration ELECTION = Duration.ofSeconds(15);

  private final int addresses;
  private final Reconnect backOff;
  /** The tries of this round so far. */
  private int tries;
  /** A replica answered in this round that none leads. */
  private boolean electing;
  /** When a replica first answered that none leads since the last {@link #reset} (System.nanoTime); valid while {@link #electionSeen}. */
  private long electionSince;
  private boolean electionSeen;

  Rounds(int addresses, Reconnect backOff) {
    if (addresses < 1) {
      throw new IllegalArgumentException("no coordinator address configured");
    }
    this.addresses = addresses;
    this.backOff = backOff;
  }

  /**
   * A session lasted (over 10 s): the back-off starts over, the next end starts a round afresh, and
   * an election seen before is over. Not at every session opened: one that a coordinator ends at
   * once, again and again, counts as a try, and its rounds back off.
   */
  synchronized void reset() {
    backOff.reset();
    tries = 0;
    electing = false;
    electionSeen = false;
  }

  /**
   * A try that failed, or a session that ended. {@code movedOn}: the agent goes to the next address
   * (this one did not answer, or was unavailable); otherwise it stays, and waits the back-off.
   * {@code asked}: the coordinator's RetryInfo, zero for none; one that asks waits the back-off too.
   */
  synchronized Duration failed(boolean movedOn, Duration asked, long nowNanos) {
    if (!movedOn || !asked.isZero()) {
      tries = 0;
      electing = false;
      return backOff.next(asked);
    }
    tries++;
    return tries < addresses ? hop() : endRound(nowNanos);
  }

  /** A replica answered that none leads yet (an election): the next address. */
  synchronized Duration noLeader(long nowNanos) {
    tries++;
    electing = true;
    if (!electionSeen) {
      electionSeen = true;
      electionSince = nowNanos;
    }
    return tries < addresses ? hop() : endRound(nowNanos);
  }

  /** A replica named the leader: there, at the short pace (it counts as a try: a named leader that fails ends the round). */
  synchronized Duration leaderNamed() {
    tries++;
    return hop();
  }

  private Duration endRound(long nowNanos) {
    boolean election = electing && nowNanos - electionSince < ELECTION.toNanos();
    tries = 0;
    electing = false;
    return election ? hop() : backOff.next();
  }

  /** 0.25-1 s: soon, and spread, so a fleet whose sessions ended together does not arrive together. */
  private Duration hop() {
    return Duration.ofMillis(250 + backOff.jitter(750));
  }
}
