package io.dsfleet.agent.session;

import io.dsfleet.agent.reconcile.Reconciler;
import io.dsfleet.agent.state.LocalState;
import io.dsfleet.proto.v1.ConfigObject;
import io.dsfleet.proto.v1.DesiredPod;
import io.dsfleet.proto.v1.DesiredState;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How the session takes in a desired set: the pods it releases written first; a set that only adds
 * pods to the one on disk acted on while it is written (the new pods' Docker calls do not wait for
 * the disk's sync); any other written first, so no pod is stopped, replaced or taken back on the
 * strength of a set that is not on disk (docs/agent.md, "Static stability"). One set at a time:
 * the session's calls come one after another.
 */
final class DesiredSets {
  private static final Logger log = LoggerFactory.getLogger(DesiredSets.class);
  private final LocalState state;
  private final Reconciler reconciler;
  /** The last set could not be written: the next ones are written before they are acted on. */
  private volatile boolean writeFailed;

  DesiredSets(LocalState state, Reconciler reconciler) {
    this.state = state;
    this.reconciler = reconciler;
  }

  /** Acts on {@code d} and writes it; it is on disk when this returns (a failed write throws, and what the set added goes again). */
  void take(DesiredState d) {
    if (d.getOrphanedPodsCount() > 0) {
      // before the set is acted on: a released pod is never taken for one no longer desired
      Set<String> orphans = state.loadOrphans();
      if (orphans.addAll(d.getOrphanedPodsList())) {
        state.saveOrphans(orphans);
        reconciler.setOrphans(orphans);
        log.info("released pods {}: their containers keep running, unmanaged", d.getOrphanedPodsList());
      }
    }
    DesiredState onDisk = state.written().orElse(null);
    boolean early = !writeFailed && onDisk != null && onlyAdds(onDisk, d, reconciler.orphans());
    if (early) {
      reconciler.setDesired(d);
    }
    try {
      state.saveDesired(d);
      writeFailed = false;
    } catch (RuntimeException e) {
      writeFailed = true; // until a write succeeds, every set is written first
      if (early) {
        reconciler.setDesired(onDisk); // back to what is on disk: the pods it added go
      }
      throw e;
    }
    if (!early) {
      reconciler.setDesired(d);
    }
  }

  /**
   * Whether {@code next} only adds pods to {@code onDisk}: every pod and config object of it is in
   * {@code next} unchanged, no config object is added in a namespace where it has a pod (a pod's
   * volumes follow every ConfigMap and Secret of its namespace), at least one pod is new, none of
   * the new ones is a released pod taken back, and {@code next} releases none. Such a set may be
   * acted on before it is written: a crash in between costs only the new pods (the set on disk
   * does not have them), never a running one.
   */
  static boolean onlyAdds(DesiredState onDisk, DesiredState next, Set<String> released) {
    if (next.getOrphanedPodsCount() > 0 || next.getPodsCount() <= onDisk.getPodsCount()) {
      return false;
    }
    Map<String, DesiredPod> now = new HashMap<>();
    for (DesiredPod p : next.getPodsList()) {
      now.put(p.getNamespace() + "/" + p.getPodName(), p);
    }
    for (DesiredPod p : onDisk.getPodsList()) {
      if (!p.equals(now.remove(p.getNamespace() + "/" + p.getPodName()))) {
        return false;
      }
    }
    if (now.values().stream().anyMatch(p -> released.contains(p.getPodName()))) {
      return false;
    }
    Set<ConfigObject> before = new HashSet<>(onDisk.getConfigsList());
    if (!new HashSet<>(next.getConfigsList()).containsAll(before)) {
      return false;
    }
    Set<String> running = new HashSet<>();
    onDisk.getPodsList().forEach(p -> running.add(p.getNamespace()));
    return next.getConfigsList().stream().noneMatch(c -> !before.contains(c) && running.contains(c.getNamespace()));
  }
}
