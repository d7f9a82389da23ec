package io.dsfleet.coordinator.fleet;

import io.dsfleet.proto.v1.PodStatus;
import java.time.Instant;

/**
 * When a reported pod counts as Ready since, for {@code minReadySeconds}: the node's time (its
 * clock, as the kubelet's condition time in Kubernetes), but never after the report that says it
 * came in by the coordinator's clock, and, while the pod stays Ready, never later than the coordinator
 * took it before. A node whose clock runs ahead reports times still to come: before helper-163 its
 * pods were unavailable for its lead plus {@code minReadySeconds}, which held a rollout's budget and,
 * with a progress deadline and {@code on-failure: rollback}, rolled back a template that ran well
 * (ReadySinceClockTest). A node whose clock runs behind still has its pods available sooner.
 */
final class ReadySince {
  private ReadySince() {}

  /** {@code p} as taken at {@code now}, {@code before} being the node's last report of the pod (or null). */
  static PodStatus taken(PodStatus before, PodStatus p, Instant now) {
    long since = p.getReadySinceMillis();
    if (!p.getReady() || since == 0) {
      return p;
    }
    long taken = Math.min(since, now.toEpochMilli());
    if (before != null && before.getReady() && before.getReadySinceMillis() != 0 && before.getTemplateHash().equals(p.getTemplateHash())) {
      taken = Math.min(taken, before.getReadySinceMillis());
    }
    return taken == since ? p : p.toBuilder().setReadySinceMillis(taken).build();
  }
}
