package io.dsfleet.coordinator.plan;

import java.time.Instant;
import java.util.List;

/**
 * A pod an agent reported running (or starting) on its node.
 *
 * @param readySince when the pod became Ready; null when not ready
 */
public record ObservedPod(String dsKey, String podName, String hash, boolean ready, Instant readySince) {

  /**
   * Available = Ready for at least minReadySeconds (Kubernetes' podutil.IsPodAvailable): without
   * minReadySeconds, Ready is available, whatever the node's clock says (its readySince is the
   * node's wall-clock time: a node whose clock ran ahead held its pods unavailable for the skew).
   */
  public boolean available(int minReadySeconds, Instant now) {
    return ready && (minReadySeconds <= 0 || readySince != null && !readySince.plusSeconds(minReadySeconds).isAfter(now));
  }

  /** This pod Ready since no earlier than {@code floor} (null: as it is): its node was NotReady until then. */
  public ObservedPod readyNoEarlierThan(Instant floor) {
    return floor == null || !ready || readySince == null || !readySince.isBefore(floor) ? this
        : new ObservedPod(dsKey, podName, hash, true, floor);
  }

  /** The pod at {@code hash} among one DaemonSet's pods on a node, or null. */
  public static ObservedPod current(List<ObservedPod> pods, String hash) {
    for (ObservedPod p : pods) {
      if (p.hash().equals(hash)) {
        return p;
      }
    }
    return null;
  }

  /**
   * The old pod worth keeping among one DaemonSet's pods on a node (those not at {@code hash}):
   * the one Ready longest, else the first reported; null when there is none. A node has two old
   * pods only when the template changed again while a surge was in flight; the other one goes.
   */
  public static ObservedPod bestOld(List<ObservedPod> pods, String hash) {
    ObservedPod best = null;
    for (ObservedPod p : pods) {
      if (p.hash().equals(hash)) {
        continue;
      }
      if (best == null || (p.ready() && (!best.ready() || readyLonger(p, best)))) {
        best = p;
      }
    }
    return best;
  }

  private static boolean readyLonger(ObservedPod a, ObservedPod b) {
    return a.readySince() != null && (b.readySince() == null || a.readySince().isBefore(b.readySince()));
  }

  /** The pod that speaks for the node: the current one when available or alone, else the old one. */
  public static ObservedPod primary(List<ObservedPod> pods, String hash, int minReadySeconds, Instant now) {
    ObservedPod cur = current(pods, hash);
    ObservedPod old = bestOld(pods, hash);
    return cur != null && (old == null || cur.available(minReadySeconds, now)) ? cur : old;
  }
}
