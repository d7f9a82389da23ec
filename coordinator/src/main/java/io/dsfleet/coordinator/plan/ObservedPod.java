package io.dsfleet.coordinator.plan;

import java.time.Instant;

/**
 * A pod an agent reported running (or starting) on its node.
 *
 * @param readySince when the pod became Ready; null when not ready
 */
public record ObservedPod(String dsKey, String podName, String hash, String phase, boolean ready, Instant readySince,
    int restarts) {

  /** Available = Ready for at least minReadySeconds (Kubernetes' podutil.IsPodAvailable). */
  public boolean available(int minReadySeconds, Instant now) {
    return ready && readySince != null && !readySince.plusSeconds(minReadySeconds).isAfter(now);
  }
}
