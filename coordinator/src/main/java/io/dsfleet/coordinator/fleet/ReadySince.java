package io.dsfleet.coordinator.fleet;

import io.dsfleet.proto.v1.PodStatus;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * When a node's reported pods count as Ready since, for {@code minReadySeconds}: the node's time (its
 * clock, as the kubelet's condition time in Kubernetes), but never after the report that says it
 * came in by the coordinator's clock, and, while the pod stays Ready since the same time of the
 * node's, never later than the coordinator took it before. A node whose clock runs ahead reports
 * times still to come: before helper-163 its pods were unavailable for its lead plus {@code
 * minReadySeconds}, which held a rollout's budget and, with a progress deadline and {@code
 * on-failure: rollback}, rolled back a template that ran well (ReadySinceClockTest). A node whose
 * clock runs behind still has its pods available sooner. A later time of the node's is a new
 * transition (a NotReady between two reports the coordinator did not see: coalesced, held on a full
 * stream) and is taken anew: helper-163's first version kept the earlier time, and counted a pod
 * just Ready again available at once (helper-166). One per node, under the fleet's lock.
 */
final class ReadySince {
  /** The node's own time of each pod whose time was taken earlier than it (its clock ahead), by pod name. */
  private final Map<String, Long> reportedOfTaken = new HashMap<>();

  /** {@code p} as taken at {@code now}, {@code before} being the node's last report of the pod as taken (or null). */
  PodStatus taken(PodStatus before, PodStatus p, Instant now) {
    Long reportedBefore = reportedOfTaken.remove(p.getPodName());
    long since = p.getReadySinceMillis();
    if (!p.getReady() || since == 0) {
      return p;
    }
    boolean stillReady = before != null && before.getReady() && before.getReadySinceMillis() != 0
        && before.getTemplateHash().equals(p.getTemplateHash())
        && since == (reportedBefore != null ? reportedBefore : before.getReadySinceMillis());
    long taken = stillReady ? before.getReadySinceMillis() : Math.min(since, now.toEpochMilli());
    if (taken == since) {
      return p;
    }
    reportedOfTaken.put(p.getPodName(), since);
    return p.toBuilder().setReadySinceMillis(taken).build();
  }

  /** Forgets the pods the node no longer reports. */
  void retain(Set<String> reported) {
    if (!reportedOfTaken.isEmpty()) {
      reportedOfTaken.keySet().retainAll(reported);
    }
  }
}
