package io.dsfleet.coordinator.plan;

import io.dsfleet.common.match.Placement.Verdict;
import java.util.List;
import java.util.Map;

/**
 * The plan for one node.
 *
 * @param desired the pods it should run, sorted by DaemonSet key (so equal plans are equal lists)
 * @param verdicts per DaemonSet key: may a pod be placed / stay, and why not
 */
public record NodePlan(String node, List<PodAssignment> desired, Map<String, Verdict> verdicts) {
  public NodePlan {
    desired = List.copyOf(desired);
    verdicts = Map.copyOf(verdicts);
  }
}
