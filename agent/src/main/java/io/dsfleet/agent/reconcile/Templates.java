package io.dsfleet.agent.reconcile;

import io.dsfleet.common.model.PodTemplateSpec;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The pod templates the node was given, by template hash and digest ({@link Id}): a container of a
 * template no longer desired still gets its preStop hook and grace period when it is stopped, its
 * own template's, never that of another template sharing its hash (until 2026-12-06 they were kept
 * by hash alone, and a template sent under a known one's hash replaced it). Kept while a desired pod,
 * an owned container or a held pod's container ({@link HeldPods}) is of it, and forgotten at the second full pass in a row that finds
 * neither (one pass is not enough: a container a pod worker created after the pass listed the
 * node's containers is in the next pass's list), nor while a pod worker handed a pod of it works
 * ({@link #hold}): the passes meanwhile may see neither the pod (a new set dropped it) nor the
 * containers the worker makes (with the event stream followed, the agent's own work is listed
 * once it ends), and until 2026-12-06 two of them forgot the template of the container being
 * started, whose stop then ran no preStop hook (helper-125). Before 2026-12-06 every template the
 * agent was ever given was kept for its life, one more at each rollout (helper-118).
 */
final class Templates {
  /**
   * A template's identity: its hash and digest ({@link DesiredPod#digest}). A null digest, a
   * container's made by an agent before 2026-12-06, stands for any template of the hash.
   */
  record Id(String hash, String digest) {}

  private final Map<Id, PodTemplateSpec> byId = new ConcurrentHashMap<>();
  /** The last template put of each hash: the one a container without a digest gets. */
  private final Map<String, Id> lastOfHash = new ConcurrentHashMap<>();
  /**
   * Templates the last full pass found unused, under this object's monitor: a template given again
   * (a rollback) is taken off here as it is put, so a pass that read the set before it and finds
   * it unused a second time forgets it only before the put, never after.
   */
  private Set<Id> unusedLastPass = new HashSet<>();
  /** How many pod workers hold each template ({@link #hold}), under this object's monitor. */
  private final Map<Id, Integer> held = new HashMap<>();

  synchronized void put(String hash, String digest, PodTemplateSpec template) {
    Id id = new Id(hash, digest);
    byId.put(id, template);
    lastOfHash.put(hash, id);
    unusedLastPass.remove(id);
  }

  /**
   * The template of {@code hash} and {@code digest}, or null when the node was never given it (or
   * forgot it, unused); with a null digest (a container made before 2026-12-06), the last one given
   * of the hash.
   */
  PodTemplateSpec get(String hash, String digest) {
    if (digest != null) {
      return byId.get(new Id(hash, digest));
    }
    Id last = lastOfHash.get(hash);
    PodTemplateSpec t = last == null ? null : byId.get(last);
    if (t != null) {
      return t;
    }
    return byId.entrySet().stream().filter(e -> e.getKey().hash().equals(hash)).map(Map.Entry::getValue).findFirst().orElse(null);
  }

  /**
   * Keeps the template, as in use, until the returned release runs (once; a second run does
   * nothing): a pod worker's, from the pass that hands it its pod until its work ends.
   */
  synchronized Runnable hold(String hash, String digest) {
    Id id = new Id(hash, digest);
    held.merge(id, 1, Integer::sum);
    java.util.concurrent.atomic.AtomicBoolean released = new java.util.concurrent.atomic.AtomicBoolean();
    return () -> {
      if (released.compareAndSet(false, true)) {
        release(id);
      }
    };
  }

  private synchronized void release(Id id) {
    held.computeIfPresent(id, (h, n) -> n == 1 ? null : n - 1);
  }

  /**
   * A full pass found these templates in use (desired or on an owned container; one without a
   * digest keeps every template of its hash); those held are in use too.
   */
  synchronized void retainUsed(Set<Id> used) {
    Set<Id> unused = new HashSet<>();
    for (Id id : byId.keySet()) {
      if (!used.contains(id) && !used.contains(new Id(id.hash(), null)) && !held.containsKey(id)) {
        if (unusedLastPass.contains(id)) {
          byId.remove(id);
          lastOfHash.remove(id.hash(), id);
        } else {
          unused.add(id);
        }
      }
    }
    unusedLastPass = unused;
  }

  int size() {
    return byId.size();
  }
}
