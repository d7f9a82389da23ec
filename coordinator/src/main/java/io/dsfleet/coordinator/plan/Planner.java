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
   * @param observed the node's reported pods by DaemonSet key (two of one DaemonSet while a surge is in flight)
   */
  public static NodePlan planNode(List<DsInfo> daemonSets, Node node, Map<String, List<ObservedPod>> observed, Instant now) {
    return planNode(daemonSets, node, observed, now, ds -> true);
  }

  /**
   * @param moving whether this node may move to a DaemonSet's current revision now (the rolling
   *     update's decision, {@link RollingUpdate}); a node that may not keeps the revision it runs.
   *     Moving replaces the old pod in place (same name); with maxSurge the new pod starts next
   *     to the old one under the node's other pod name, and the old one is kept until the new one
   *     is available
   */
  public static NodePlan planNode(List<DsInfo> daemonSets, Node node, Map<String, List<ObservedPod>> observed,
      Instant now, java.util.function.Predicate<String> moving) {
    List<PodAssignment> desired = new ArrayList<>();
    Map<String, Verdict> verdicts = new HashMap<>();
    for (DsInfo ds : daemonSets) {
      Verdict v = Placement.evaluate(ds.ds(), node, now);
      verdicts.put(ds.key(), v);
      List<ObservedPod> pods = observed.getOrDefault(ds.key(), List.of());
      ObservedPod cur = ObservedPod.current(pods, ds.hash());
      ObservedPod old = ObservedPod.bestOld(pods, ds.hash());
      String base = podName(ds.name(), node.name());
      if (v.shouldRun()) {
        if (old == null) {
          desired.add(current(ds, cur != null ? cur.podName() : base));
        } else if (!RollingUpdate.surges(ds)) {
          // replaced in place, or kept; a current pod left from a surge wins over the old one
          desired.add(cur != null ? current(ds, cur.podName())
              : moving.test(ds.key()) ? current(ds, old.podName()) : kept(old, ds));
        } else if (cur != null) {
          if (!cur.available(ds.minReadySeconds(), now)) {
            desired.add(kept(old, ds));
          }
          desired.add(current(ds, cur.podName()));
        } else {
          desired.add(kept(old, ds));
          if (moving.test(ds.key())) {
            desired.add(current(ds, old.podName().equals(base) ? surgeName(base) : base));
          }
        }
      } else if (v.shouldContinueRunning() && !pods.isEmpty()) {
        ObservedPod keep = ObservedPod.primary(pods, ds.hash(), ds.minReadySeconds(), now);
        desired.add(kept(keep, ds));
      }
    }
    desired.sort(java.util.Comparator.comparing(PodAssignment::dsKey).thenComparing(PodAssignment::podName));
    return new NodePlan(node.name(), desired, verdicts);
  }

  private static PodAssignment current(DsInfo ds, String podName) {
    return new PodAssignment(ds.key(), podName, ds.hash(), ds.revision());
  }

  /** A pod kept at the revision it runs (its revision number is looked up when sent). */
  private static PodAssignment kept(ObservedPod pod, DsInfo ds) {
    return new PodAssignment(ds.key(), pod.podName(), pod.hash(), pod.hash().equals(ds.hash()) ? ds.revision() : 0);
  }

  /** The second pod name of a (DaemonSet, node), for the new pod of a surge while the old one holds the first. */
  public static String surgeName(String podName) {
    return podName + "-s";
  }

  /** A stable pod name per (DaemonSet, node): "{ds}-{5 hex digits of the node name}". */
  public static String podName(String dsName, String nodeName) {
    CRC32 crc = new CRC32();
    crc.update(nodeName.getBytes(StandardCharsets.UTF_8));
    String suffix = String.format("%05x", crc.getValue() & 0xFFFFF);
    return dsName + "-" + suffix;
  }

  /** Per-node inputs to the status counters of one DaemonSet. */
  public record NodeFacts(Verdict verdict, List<ObservedPod> pods) {
    public NodeFacts {
      pods = pods == null ? List.of() : List.copyOf(pods);
    }

    public NodeFacts(Verdict verdict, ObservedPod pod) {
      this(verdict, pod == null ? List.of() : List.of(pod));
    }
  }

  /**
   * Status counters as Kubernetes computes them, per node (a node running an old and a new pod
   * during a surge counts once): desired = nodes that should run the pod; current = those that
   * have one; misscheduled = nodes that have one but should not run it; ready, updated (a pod at
   * the current hash) and available (a pod Ready for minReadySeconds) count only nodes that
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
      boolean has = !f.pods().isEmpty();
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
      if (f.pods().stream().anyMatch(ObservedPod::ready)) {
        ready++;
      }
      if (ObservedPod.current(f.pods(), ds.hash()) != null) {
        updated++;
      }
      if (f.pods().stream().anyMatch(p -> p.available(ds.minReadySeconds(), now))) {
        available++;
      }
    }
    return new DsStatus(desired, current, ready, updated, available, misscheduled, desired - available);
  }
}
