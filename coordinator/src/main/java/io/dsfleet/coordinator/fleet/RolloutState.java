package io.dsfleet.coordinator.fleet;

import com.fasterxml.jackson.databind.JsonNode;
import io.dsfleet.common.Json;
import java.util.Map;
import java.util.Set;

/**
 * A DaemonSet's rollout state, stored (as JSON) in the transaction of the change it belongs to:
 * with the apply that makes a new revision, with the automatic rollback, with the pass that tells
 * nodes to move, and with {@code dsctl delete pod}. A restarted coordinator goes on where the last
 * one stopped: the same nodes moving, the same progress deadline, a failure handled once.
 *
 * @param pause why no node moves to the current revision
 * @param reason why the rollout failed, for people (never branched on)
 * @param rolledBackFrom the revision an automatic rollback left (0: none); a rollback is tried once
 * @param hash the revision this state is about; a new template starts a new state
 * @param moving nodes told to replace their pod with the revision {@code hash}
 * @param progress how far the rollout got: pods of the revision started plus those available
 * @param lastProgressAtMillis when {@code progress} last grew (or the rollout started or resumed)
 * @param deleted pods deleted with dsctl, by pod name, with their node: each stops before its node
 *     gets a new pod, under another name; forgotten once the node no longer reports it
 * @param live the revisions (by hash) nodes run or are told to run, and the current one: history
 *     pruning after a restart keeps those stored until every node has reported (stored since
 *     schema 8; absent before)
 * @param complete every desired node ran an available pod of {@code hash} once: the progress
 *     deadline no longer applies (Kubernetes' DeploymentTimedOut is false once the Progressing
 *     condition says NewReplicaSetAvailable); a pod that fails later is no stuck rollout to roll
 *     back. Until the next template (absent before 2026-12-05: false)
 */
public record RolloutState(Pause pause, String reason, long rolledBackFrom, String hash, Set<String> moving,
    int progress, long lastProgressAtMillis, Map<String, String> deleted, Set<String> live, boolean complete) {

  /** Why a rollout does not move nodes. */
  public enum Pause {
    NONE,
    /** dsctl rollout pause */
    USER,
    /** no progress within the deadline, and no rollback configured (or the rollback failed too) */
    FAILED
  }

  public RolloutState {
    reason = reason == null ? "" : reason;
    hash = hash == null ? "" : hash;
    moving = moving == null ? Set.of() : Set.copyOf(moving);
    deleted = deleted == null ? Map.of() : Map.copyOf(deleted);
    live = live == null ? Set.of() : Set.copyOf(live);
  }

  /** A new revision's rollout, started now. */
  static RolloutState start(String hash, long nowMillis) {
    return new RolloutState(Pause.NONE, "", 0, hash, Set.of(), -1, nowMillis, Map.of(), Set.of(), false);
  }

  /** The rollout of a new revision: a pause by dsctl, pending pod deletions and what runs carry over; a failure is history. */
  RolloutState next(String newHash, long nowMillis) {
    return next(newHash, nowMillis, Set.of());
  }

  /**
   * As {@link #next(String, long)}, with {@code replacing}: nodes whose replacement is in flight
   * (told to move, their old pod stopped, the new one not reported yet). They move on to the new
   * revision and keep their share of its budget: a node without a pod that is not moving is taken
   * for one that never had one, which takes no budget.
   */
  RolloutState next(String newHash, long nowMillis, Set<String> replacing) {
    return new RolloutState(pause == Pause.USER ? Pause.USER : Pause.NONE, "", 0, newHash, replacing, -1, nowMillis, deleted, live, false);
  }

  /** The rollout of the previous template after the revision {@code from} failed. */
  RolloutState rolledBack(long from, String why) {
    return new RolloutState(Pause.NONE, why, from, hash, moving, progress, lastProgressAtMillis, deleted, live, false);
  }

  RolloutState failed(String why) {
    return new RolloutState(Pause.FAILED, why, rolledBackFrom, hash, moving, progress, lastProgressAtMillis, deleted, live, complete);
  }

  RolloutState paused(boolean paused, long nowMillis) {
    return paused ? new RolloutState(Pause.USER, "", rolledBackFrom, hash, moving, progress, lastProgressAtMillis, deleted, live, complete)
        : new RolloutState(Pause.NONE, "", 0, hash, moving, progress, nowMillis, deleted, live, complete);
  }

  RolloutState withMoving(Set<String> nodes) {
    return new RolloutState(pause, reason, rolledBackFrom, hash, nodes, progress, lastProgressAtMillis, deleted, live, complete);
  }

  RolloutState withProgress(int newProgress, long atMillis) {
    return new RolloutState(pause, reason, rolledBackFrom, hash, moving, newProgress, atMillis, deleted, live, complete);
  }

  RolloutState withDeleted(Map<String, String> pods) {
    return new RolloutState(pause, reason, rolledBackFrom, hash, moving, progress, lastProgressAtMillis, pods, live, complete);
  }

  RolloutState completed() {
    return new RolloutState(pause, reason, rolledBackFrom, hash, moving, progress, lastProgressAtMillis, deleted, live, true);
  }

  RolloutState withLive(Set<String> hashes) {
    return new RolloutState(pause, reason, rolledBackFrom, hash, moving, progress, lastProgressAtMillis, deleted, hashes, complete);
  }

  public boolean paused() {
    return pause != Pause.NONE;
  }

  /** Failed: paused by a failure, or rolled back automatically (until the next template). */
  public boolean failedOrRolledBack() {
    return pause == Pause.FAILED || rolledBackFrom != 0;
  }

  String toJson() {
    return Json.canonical(this);
  }

  /**
   * Reads a stored state; the first stored form ({@code paused}, {@code message},
   * {@code rolledBackFrom}, before schema 4) is read too: it had no moving set or progress, so
   * those start now.
   */
  static RolloutState fromJson(String json, String currentHash, long nowMillis) {
    JsonNode n = Json.read(json, JsonNode.class);
    if (n.has("pause")) {
      return Json.read(json, RolloutState.class);
    }
    String message = n.path("message").asText("");
    Pause pause = !n.path("paused").asBoolean() ? Pause.NONE : message.startsWith("paused with dsctl") ? Pause.USER : Pause.FAILED;
    return new RolloutState(pause, pause == Pause.USER ? "" : message, n.path("rolledBackFrom").asLong(), currentHash, Set.of(), -1,
        nowMillis, Map.of(), Set.of(), false);
  }
}
