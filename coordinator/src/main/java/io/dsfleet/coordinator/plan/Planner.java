package io.dsfleet.coordinator.plan;

import io.dsfleet.common.match.Placement;
import io.dsfleet.common.match.Placement.Verdict;
import io.dsfleet.common.model.Node;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;

/**
 * Decides, for one node at a time, which DaemonSet pods it runs. Pure: same inputs, same plan.
 *
 * <p>Rules (Kubernetes' DaemonSet controller): a node gets a DaemonSet's pod when the pod may be
 * placed there ({@link Placement#evaluate}: node selector, required node affinity, every
 * NoSchedule/NoExecute taint tolerated, automatic tolerations included). A pod already on a node
 * that may no longer be placed there, but may continue running (an untolerated NoSchedule taint
 * added later), stays at the revision it runs: it is "misscheduled". Everything else is not
 * desired, so the agent removes it.
 *
 * <p>A template change moves a node to the new revision only when the rolling update allows it
 * ({@link RollingUpdate}); until then the node keeps the revision it runs.
 */
public final class Planner {
  private Planner() {}

  /**
   * @param daemonSets every DaemonSet, in a stable order
   * @param observed the node's reported pods by DaemonSet key
   */
  public static NodePlan planNode(List<DsInfo> daemonSets, Node node, Map<String, ObservedPod> observed, Instant now) {
    return planNode(daemonSets, node, observed, now, ds -> true);
  }

  /**
   * @param moving whether this node may move to a DaemonSet's current revision now (the rolling
   *     update's decision, {@link RollingUpdate}); a node that may not keeps the revision it runs
   */
  public static NodePlan planNode(List<DsInfo> daemonSets, Node node, Map<String, ObservedPod> observed, Instant now,
      java.util.function.Predicate<String> moving) {
    List<PodAssignment> desired = new ArrayList<>();
    Map<String, Verdict> verdicts = new HashMap<>();
    for (DsInfo ds : daemonSets) {
      Verdict v = Placement.evaluate(ds.ds(), node, now);
      verdicts.put(ds.key(), v);
      ObservedPod pod = observed.get(ds.key());
      if (v.shouldRun()) {
        boolean move = pod == null || pod.hash().equals(ds.hash()) || moving.test(ds.key());
        desired.add(move ? new PodAssignment(ds.key(), podName(ds.name(), node.name()), ds.hash(), ds.revision())
            : new PodAssignment(ds.key(), pod.podName(), pod.hash(), 0));
      } else if (v.shouldContinueRunning() && pod != null) {
        desired.add(new PodAssignment(ds.key(), pod.podName(), pod.hash(),
            pod.hash().equals(ds.hash()) ? ds.revision() : 0));
      }
    }
    desired.sort(java.util.Comparator.comparing(PodAssignment::dsKey));
    return new NodePlan(node.name(), desired, verdicts);
  }

  /** A stable pod name per (DaemonSet, node): "{ds}-{5 hex digits of the node name}". */
  public static String podName(String dsName, String nodeName) {
    CRC32 crc = new CRC32();
    crc.update(nodeName.getBytes(StandardCharsets.UTF_8));
    String suffix = String.format("%05x", crc.getValue() & 0xFFFFF);
    return dsName + "-" + suffix;
  }

  /** Per-node inputs to the status counters of one DaemonSet. */
  public record NodeFacts(Verdict verdict, ObservedPod pod) {}

  /**
   * Status counters as Kubernetes computes them: desired = nodes that should run the pod;
   * current = those that have one; misscheduled = nodes that have one but should not run it;
   * ready, updated (current hash) and available (Ready for minReadySeconds) count only nodes that
   * should run it; unavailable = desired - available.
   */
  public static DsStatus status(DsInfo ds, Collection<NodeFacts> nodes, Instant now) {
    int desired = 0;
    int current = 0;
    int ready = 0;
    int updated = 0;
    int available = 0;
    int misscheduled = 0;
    for (NodeFacts f : nodes) {
      boolean has = f.pod() != null;
      if (f.verdict() == null || !f.verdict().shouldRun()) {
        if (has) {
          misscheduled++;
        }
        continue;
      }
      desired++;
      if (!has) {
        continue;
      }
      current++;
      if (f.pod().ready()) {
        ready++;
      }
      if (f.pod().hash().equals(ds.hash())) {
        updated++;
      }
      if (f.pod().available(ds.minReadySeconds(), now)) {
        available++;
      }
    }
    return new DsStatus(desired, current, ready, updated, available, misscheduled, desired - available);
  }
}
