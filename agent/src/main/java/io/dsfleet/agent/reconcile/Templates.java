package io.dsfleet.agent.reconcile;

import io.dsfleet.common.model.PodTemplateSpec;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The pod templates the node was given, by template hash: a container of a template no longer
 * desired still gets its preStop hook and grace period when it is stopped. Kept while a desired pod
 * or an owned container has the hash, and forgotten at the second full pass in a row that finds
 * neither (one pass is not enough: a container a pod worker created after the pass listed the
 * node's containers is in the next pass's list), nor while a pod worker handed a pod of it works
 * ({@link #hold}): the passes meanwhile may see neither the pod (a new set dropped it) nor the
 * containers the worker makes (with the event stream followed, the agent's own work is listed
 * once it ends), and until 2026-12-06 two of them forgot the template of the container being
 * started, whose stop then ran no preStop hook (helper-125). Before 2026-12-06 every template the
 * agent was ever given was kept for its life, one more at each rollout (helper-118).
 */
final class Templates {
  private final Map<String, PodTemplateSpec> byHash = new ConcurrentHashMap<>();
  /**
   * Hashes the last full pass found unused, under this object's monitor: a template given again
   * (a rollback) is taken off here as it is put, so a pass that read the set before it and finds
   * the hash unused a second time forgets it only before the put, never after.
   */
  private Set<String> unusedLastPass = new HashSet<>();
  /** How many pod workers hold each hash ({@link #hold}), under this object's monitor. */
  private final Map<String, Integer> held = new HashMap<>();

  synchronized void put(String hash, PodTemplateSpec template) {
    byHash.put(hash, template);
    unusedLastPass.remove(hash);
  }

  /** The template of {@code hash}, or null when the node was never given it (or forgot it, unused). */
  PodTemplateSpec get(String hash) {
    return byHash.get(hash);
  }

  /**
   * Keeps {@code hash}'s template, as in use, until the returned release runs (once; a second run
   * does nothing): a pod worker's, from the pass that hands it its pod until its work ends.
   */
  synchronized Runnable hold(String hash) {
    held.merge(hash, 1, Integer::sum);
    java.util.concurrent.atomic.AtomicBoolean released = new java.util.concurrent.atomic.AtomicBoolean();
    return () -> {
      if (released.compareAndSet(false, true)) {
        release(hash);
      }
    };
  }

  private synchronized void release(String hash) {
    held.computeIfPresent(hash, (h, n) -> n == 1 ? null : n - 1);
  }

  /** A full pass found these hashes in use (desired or on an owned container); those held are in use too. */
  synchronized void retainUsed(Set<String> used) {
    Set<String> unused = new HashSet<>();
    for (String hash : byHash.keySet()) {
      if (!used.contains(hash) && !held.containsKey(hash)) {
        if (unusedLastPass.contains(hash)) {
          byHash.remove(hash);
        } else {
          unused.add(hash);
        }
      }
    }
    unusedLastPass = unused;
  }

  int size() {
    return byHash.size();
  }
}
