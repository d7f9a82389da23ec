package io.dsfleet.coordinator.fleet;

/**
 * A DaemonSet's durable rollout state.
 *
 * @param paused no node moves to the current revision (dsctl rollout pause, or a failed rollout)
 * @param message why, for dsctl rollout status and describe
 * @param rolledBackFrom the revision an automatic rollback left (0: none); a rollback is tried once
 */
public record RolloutState(boolean paused, String message, long rolledBackFrom) {
  public static final RolloutState NONE = new RolloutState(false, "", 0);
}
