package io.dsfleet.coordinator.replication;

import io.dsfleet.coordinator.store.StoreException;
import java.time.Duration;

/**
 * A change of the members failed because a new member did not answer the leader for Raft's
 * staging timeout (not started, or not reachable): trying again at once fails the same way.
 */
public final class MemberNotAnswering extends StoreException {
  private final Duration waited;

  public MemberNotAnswering(Duration waited, Throwable cause) {
    super("a new member did not answer the leader for " + waited.toSeconds() + " s: " + cause.getMessage(), cause);
    this.waited = waited;
  }

  /** How long the leader waited for an answer (Raft's staging timeout). */
  public Duration waited() {
    return waited;
  }
}
