package io.dsfleet.agent.reconcile;

import io.dsfleet.agent.runtime.OwnedContainer;
import java.util.ArrayList;
import java.util.List;

/**
 * Second running copies of one container of a pod: an older run of it started again by hand
 * ({@code docker start} of the run the garbage collector keeps as the previous one), or a copy an
 * older agent made from a list that left the first out. The run the pod's containers say is current
 * ({@link PodPlanner#latest}: the highest run number, then the newest by creation, as the kubelet
 * takes the newest) is kept; every other running copy is stopped, as any of the pod's containers is
 * (preStop hook, grace period, its back-off when Docker refuses: {@link FailedStops}). Before
 * 2026-12-06 the agent tracked the latest run alone and left the other running beside it for good:
 * two log shippers, a port taken twice, twice the memory ({@code DuplicateRunsTest}). Pure.
 */
final class DuplicateRuns {
  private DuplicateRuns() {}

  /**
   * The stops of the running containers of {@code current} (the pod's containers of its template)
   * in sandbox {@code attempt} (-1: in any, for a pod without a sandbox) that are not the latest run
   * of their container there.
   */
  static List<PodPlanner.Action> stops(DesiredPod pod, List<OwnedContainer> current, int attempt) {
    List<PodPlanner.Action> out = new ArrayList<>();
    for (OwnedContainer c : current) {
      if (!c.running() || c.isSandbox() || (attempt >= 0 && c.attempt() != attempt)) {
        continue;
      }
      OwnedContainer latest = PodPlanner.latest(current, c.container(), c.role(), attempt);
      if (latest != c) {
        out.addAll(PodPlanner.kill(List.of(c), pod.grace(), "a second running copy of " + c.container() + " (run " + c.restarts()
            + ", " + shortId(c) + "): run " + latest.restarts() + " (" + shortId(latest) + ") is the current one"));
      }
    }
    return out;
  }

  private static String shortId(OwnedContainer c) {
    return c.id().length() > 12 ? c.id().substring(0, 12) : c.id();
  }
}
