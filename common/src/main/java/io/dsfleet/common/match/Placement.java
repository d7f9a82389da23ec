package io.dsfleet.common.match;

import io.dsfleet.common.model.DaemonSet;
import io.dsfleet.common.model.Node;
import io.dsfleet.common.model.PodSpec;
import io.dsfleet.common.model.Taint;
import io.dsfleet.common.model.Toleration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * Kubernetes' NodeShouldRunDaemonPod: two answers per (node, DaemonSet). {@code shouldRun}: a pod
 * may be placed here. {@code shouldContinueRunning}: an existing pod may stay. A node selector or
 * affinity mismatch answers no to both; an untolerated NoSchedule taint answers no to the first
 * only (the pod is "misscheduled" but stays); an untolerated NoExecute taint answers no to both,
 * unless the toleration's tolerationSeconds has not yet run out, in which case {@code evictAt}
 * says when it does.
 */
public final class Placement {
  private Placement() {}

  /**
   * @param reason why not (null when shouldRun)
   * @param evictAt when a tolerated-for-a-while NoExecute taint ends the pod; null if never
   */
  public record Verdict(boolean shouldRun, boolean shouldContinueRunning, String reason, Instant evictAt) {
    static final Verdict RUN = new Verdict(true, true, null, null);
  }

  public static Verdict evaluate(DaemonSet ds, Node node, Instant now) {
    return evaluate(ds.spec().template().spec(), node, now);
  }

  /** The verdict for a pod of this spec (a DaemonSet's template, current or of an older revision). */
  public static Verdict evaluate(PodSpec pod, Node node, Instant now) {
    Optional<String> why = NodeMatch.nodeSelector(pod.nodeSelector(), node.labels());
    if (why.isEmpty() && pod.affinity() != null && pod.affinity().nodeAffinity() != null) {
      why = NodeMatch.requiredAffinity(
          pod.affinity().nodeAffinity().requiredDuringSchedulingIgnoredDuringExecution(), node.name(), node.labels());
    }
    if (why.isPresent()) {
      return new Verdict(false, false, why.get(), null);
    }
    List<Toleration> tolerations = DaemonTolerations.effective(pod);
    Instant evictAt = null;
    for (Taint taint : node.taints()) {
      if (!taint.effect().equals(Taint.NO_EXECUTE)) {
        continue;
      }
      // the taint manager's rule (GetMatchingTolerations, getMinTolerationTime): each taint is judged by
      // the first toleration that tolerates it, and the shortest of those times evicts
      Optional<Toleration> tolerating = tolerations.stream().filter(t -> Taints.tolerates(t, taint)).findFirst();
      if (tolerating.isEmpty()) {
        return new Verdict(false, false, "taint " + taint + " not tolerated", null);
      }
      Long seconds = tolerating.get().tolerationSeconds();
      if (seconds != null) {
        Instant added = taint.timeAdded() == null ? now : taint.timeAdded();
        Instant until = added.plusSeconds(Math.max(0, seconds));
        if (!now.isBefore(until)) {
          return new Verdict(false, false, "taint " + taint + " tolerated only for " + seconds + "s", null);
        }
        evictAt = evictAt == null || until.isBefore(evictAt) ? until : evictAt;
      }
    }
    Optional<Taint> noSchedule = Taints.firstUntolerated(node.taints(), tolerations,
        t -> t.effect().equals(Taint.NO_SCHEDULE));
    if (noSchedule.isPresent()) {
      return new Verdict(false, true, "taint " + noSchedule.get() + " not tolerated", evictAt);
    }
    return evictAt == null ? Verdict.RUN : new Verdict(true, true, null, evictAt);
  }
}
