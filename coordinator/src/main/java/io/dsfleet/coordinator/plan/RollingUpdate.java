package io.dsfleet.coordinator.plan;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * Which nodes may move to a DaemonSet's current revision now. Pure.
 *
 * <p>Invariants, for RollingUpdate with budget {@code maxUnavailable} (an integer, or a percentage
 * of the desired node count rounded up; 1 when it comes to 0):
 * <ol>
 *   <li>A node that runs no pod of the DaemonSet gets the current revision at once: nothing is
 *       taken down.
 *   <li>A node whose old pod is already unavailable moves at once, before any other: replacing it
 *       costs no availability (Kubernetes issue #117204: unready old pods must not eat the budget
 *       forever, so they go first).
 *   <li>A node whose old pod is available moves only while the number of Ready desired nodes
 *       without an available pod stays within the budget; the pass moves at most that many.
 *   <li>A NotReady node is neither counted nor moved: it cannot block the rollout (Kubernetes
 *       issue #123232) and is updated when it comes back.
 *   <li>Paused (dsctl rollout pause, or a failed rollout): only rule 1 applies. OnDelete: only
 *       rule 1 applies too; `dsctl delete pod` leaves a node without a pod, so it moves.
 * </ol>
 * Once a node runs the current revision it stays there, so the budget holds over any sequence of
 * passes (tested as a property over random fleets and failures).
 */
public final class RollingUpdate {
  private RollingUpdate() {}

  /** One desired node's situation for one DaemonSet. */
  public record NodeState(String node, boolean nodeReady, ObservedPod pod) {}

  /**
   * @param moving nodes that may run the current revision (their pod is current, or may be replaced now)
   * @param maxUnavailable the budget in nodes
   * @param unavailable Ready desired nodes without an available pod, after this pass
   * @param waitingNotReady NotReady nodes still on an old revision (updated when they come back)
   */
  public record Decision(Set<String> moving, int maxUnavailable, int unavailable, List<String> waitingNotReady) {}

  public static int maxUnavailable(DsInfo ds, int desired) {
    var strategy = ds.ds().spec().updateStrategy();
    if (strategy == null || strategy.rollingUpdate() == null || strategy.rollingUpdate().maxUnavailable() == null) {
      return 1;
    }
    int n = strategy.rollingUpdate().maxUnavailable().scaled(desired, true);
    return Math.max(1, n);
  }

  /**
   * @param alreadyMoving nodes told to move in an earlier pass: they keep moving, and while their
   *     old pod still runs the replacement is in flight, so they count against the budget
   */
  public static Decision decide(DsInfo ds, List<NodeState> nodes, Set<String> alreadyMoving, boolean paused, Instant now) {
    boolean onDelete = ds.ds().spec().updateStrategy() != null && "OnDelete".equals(ds.ds().spec().updateStrategy().type());
    int budget = maxUnavailable(ds, nodes.size());
    Set<String> moving = new TreeSet<>();
    List<String> waiting = new ArrayList<>();
    List<NodeState> oldAvailable = new ArrayList<>();
    int unavailable = 0;
    for (NodeState n : nodes) {
      ObservedPod pod = n.pod();
      boolean current = pod != null && pod.hash().equals(ds.hash());
      if (pod == null || current) {
        moving.add(n.node());
        if (n.nodeReady() && (pod == null || !pod.available(ds.minReadySeconds(), now))) {
          unavailable++;
        }
        continue;
      }
      if (alreadyMoving.contains(n.node())) {
        moving.add(n.node());
        if (n.nodeReady()) {
          unavailable++;
        }
        continue;
      }
      if (!n.nodeReady()) {
        waiting.add(n.node());
        continue;
      }
      if (!pod.available(ds.minReadySeconds(), now)) {
        unavailable++;
        if (!onDelete && !paused) {
          moving.add(n.node());
        }
        continue;
      }
      oldAvailable.add(n);
    }
    if (!onDelete && !paused) {
      for (NodeState n : oldAvailable) {
        if (unavailable >= budget) {
          break;
        }
        moving.add(n.node());
        unavailable++;
      }
    }
    return new Decision(moving, budget, unavailable, waiting);
  }
}
