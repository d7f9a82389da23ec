package io.dsfleet.coordinator.plan;

import io.dsfleet.common.match.Placement;
import io.dsfleet.common.match.Placement.Verdict;
import io.dsfleet.common.model.Node;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiPredicate;
import java.util.function.Predicate;

/**
 * Decides, for one node at a time, which DaemonSet pods it runs. Pure: same inputs, same plan.
 *
 * <p>Rules (Kubernetes' DaemonSet controller): a node gets a DaemonSet's pod when the pod may be
 * placed there ({@link Placement#evaluate}: node selector, required node affinity, every
 * NoSchedule/NoExecute taint tolerated, automatic tolerations included). A pod already on a node
 * that may no longer be placed there, but may continue running (an untolerated NoSchedule taint
 * added later), stays at the revision it runs: it is "misscheduled", until a rolling update
 * reaches it, which removes such a pod of an old revision (Kubernetes' rollingUpdate deletes it,
 * and its manage loop puts none back). Everything else is not desired, so the agent removes it.
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
    return planNode(daemonSets, node, observed, now, ds -> true, (ds, pod) -> false, PodNames.FIRST);
  }

  /**
   * @param moving whether this node may move to a DaemonSet's current revision now (the rolling
   *     update's decision, {@link RollingUpdate}); a node that may not keeps the revision it runs.
   *     Moving replaces the old pod in place (same name); with maxSurge the new pod starts next
   *     to the old one under the node's other pod name, and the old one is kept until the new one
   *     is available
   * @param deleted pods deleted with dsctl (DaemonSet key, pod name): such a pod goes, and its node
   *     gets a new pod of the current revision, under another name, once it no longer reports it
   *     (stop first, then start, as Kubernetes' controller waits for the old pod); with maxSurge at
   *     once, next to the one stopping, as Kubernetes' controller does for a surging DaemonSet
   *     (unless its pods hold host ports: {@link #holdsHostPorts})
   * @param namer the name of a new pod
   */
  public static NodePlan planNode(List<DsInfo> daemonSets, Node node, Map<String, List<ObservedPod>> observed,
      Instant now, Predicate<String> moving, BiPredicate<String, String> deleted, PodNames.Namer namer) {
    return planNode(daemonSets, node.name(), ds -> Placement.evaluate(ds.ds(), node, now), observed, now, moving, deleted, namer, Map.of());
  }

  /**
   * @param placement each DaemonSet's verdict on the node ({@link Placement#evaluate} at {@code now}),
   *     which the caller may have kept from an earlier plan of the same node ({@code PlacementMemo})
   * @param released by DaemonSet key, the name of a pod of it released on this node ({@link ReleasedPodNames}):
   *     a DaemonSet with no pod here adopts it under that name, as it runs
   */
  public static NodePlan planNode(List<DsInfo> daemonSets, String nodeName, java.util.function.Function<DsInfo, Verdict> placement,
      Map<String, List<ObservedPod>> observed, Instant now, Predicate<String> moving, BiPredicate<String, String> deleted,
      PodNames.Namer namer, Map<String, String> released) {
    List<PodAssignment> desired = new ArrayList<>();
    Map<String, Verdict> verdicts = new HashMap<>();
    for (DsInfo ds : daemonSets) {
      Verdict v = placement.apply(ds);
      verdicts.put(ds.key(), v);
      List<ObservedPod> all = observed.getOrDefault(ds.key(), List.of());
      List<ObservedPod> pods = all.stream().filter(p -> !deleted.test(ds.key(), p.podName())).toList();
      if (pods.size() < all.size()) {
        // a deleted pod still runs: it stops before anything else starts; the others stay as they are. With maxSurge
        // its replacement starts at once, next to it, as Kubernetes' manage loop makes one when a surging DaemonSet's
        // node runs no pod but the terminating one (podsShouldBeOnNode); not a pod holding host ports, which Kubernetes'
        // scheduler leaves Pending until the terminating pod lets them go (NodePorts): here the agent would fail it on
        // the taken port and try again only after its back-off, longer without a pod than waiting for the stop
        pods.forEach(p -> desired.add(kept(p, ds)));
        if (pods.isEmpty() && v.shouldRun() && RollingUpdate.surges(ds) && !holdsHostPorts(ds.ds().spec().template().spec())) {
          desired.add(current(ds, namer.name(ds, nodeName, pod -> deleted.test(ds.key(), pod))));
        }
        continue;
      }
      ObservedPod cur = ObservedPod.current(pods, ds.hash());
      ObservedPod old = ObservedPod.bestOld(pods, ds.hash());
      if (v.shouldRun()) {
        String base = namer.name(ds, nodeName, pod -> deleted.test(ds.key(), pod));
        String adopted = released.get(ds.key());
        if (old == null) {
          desired.add(current(ds, cur != null ? cur.podName() : adopted != null && !deleted.test(ds.key(), adopted) ? adopted : base));
        } else if (!RollingUpdate.surges(ds)) {
          // replaced in place, or kept. A current pod left from a surge (the strategy changed during
          // one) wins over the old one once it is available; until then the old one stays and the
          // unfinished one goes, as Kubernetes keeps a node's oldest pod when it does not surge, and
          // the node waits for the budget (RollingUpdate). Stopping the old one instead took every
          // surging node down at once, whatever the budget.
          if (cur != null && !cur.available(ds.minReadySeconds(), now)) {
            desired.add(kept(old, ds));
          } else {
            desired.add(cur != null ? current(ds, cur.podName())
                : moving.test(ds.key()) ? current(ds, old.podName()) : kept(old, ds));
          }
        } else if (cur != null) {
          // the old pod stays until the new one is available, unless it is not Ready: it serves nothing, and
          // Kubernetes' manage loop (podsShouldBeOnNode) deletes it at once (freeing a host port the new pod waits for)
          if (!cur.available(ds.minReadySeconds(), now) && old.ready()) {
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
        if (cur == null && moving.test(ds.key()) && !RollingUpdate.onDelete(ds.ds())) {
          continue; // misscheduled, with an old revision only, and reached by a rolling update: its pod goes (RollingUpdate rule 6)
        }
        ObservedPod keep = ObservedPod.primary(pods, ds.hash(), ds.minReadySeconds(), now);
        desired.add(kept(keep, ds));
      }
    }
    desired.sort(java.util.Comparator.comparing(PodAssignment::dsKey).thenComparing(PodAssignment::podName));
    return new NodePlan(nodeName, desired, verdicts);
  }

  /**
   * Whether a pod of this spec binds ports of its host, as Kubernetes' scheduler counts them (NodePorts): a container's
   * {@code hostPort}, or with {@code hostNetwork} any {@code containerPort} (Kubernetes defaults the hostPort to it).
   */
  static boolean holdsHostPorts(io.dsfleet.common.model.PodSpec spec) {
    boolean hostNetwork = Boolean.TRUE.equals(spec.hostNetwork());
    return spec.containers().stream().filter(c -> c.ports() != null).flatMap(c -> c.ports().stream())
        .anyMatch(p -> p.hostPort() != null && p.hostPort() > 0 || hostNetwork && p.containerPort() != null && p.containerPort() > 0);
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
    return podName + PodNames.SURGE;
  }

  /** The first-choice pod name of a (DaemonSet, node); see {@link PodNames}. */
  public static String podName(String dsName, String nodeName) {
    return PodNames.name(dsName, nodeName, 0);
  }

  /**
   * Per-node inputs to the status counters of one DaemonSet.
   *
   * @param nodeReady whether the node is Ready: the pods of a NotReady node are not Ready (what they
   *     last reported is not known to hold), as Kubernetes' node controller marks them
   */
  public record NodeFacts(Verdict verdict, List<ObservedPod> pods, boolean nodeReady) {
    public NodeFacts {
      pods = pods == null ? List.of() : List.copyOf(pods);
    }

    public NodeFacts(Verdict verdict, List<ObservedPod> pods) {
      this(verdict, pods, true);
    }

    public NodeFacts(Verdict verdict, ObservedPod pod) {
      this(verdict, pod == null ? List.of() : List.of(pod));
    }
  }

  /**
   * Status counters as Kubernetes' updateDaemonSetStatus computes them, per node, each node judged
   * by one pod, its oldest (while a surge is in flight, the old pod): desired = nodes that should
   * run the pod; current = those that have one; misscheduled = nodes that have one but should not
   * run it; ready, updated (the judged pod is at the current hash) and available (it is Ready for
   * minReadySeconds) count only nodes that should run it; unavailable = desired - available. A
   * NotReady node's pod is neither ready nor available (Kubernetes' node controller marks it
   * NotReady): before, what it last reported counted, and a fleet mostly down (no NotReady taints
   * in a full disruption, so its nodes stay desired) showed every pod available.
   */
  public static DsStatus status(DsInfo ds, Collection<NodeFacts> nodes, Instant now) {
    StatusCounts counts = new StatusCounts();
    for (NodeFacts f : nodes) {
      counts.add(counted(ds, f.verdict(), f.pods(), f.nodeReady(), now));
    }
    return counts.status();
  }

  /**
   * What one node adds to a DaemonSet's counters ({@link #status}): the {@link StatusCounts} bits
   * of its verdict, its pods of the DaemonSet ({@code pods}, null for none) and its condition.
   */
  public static int counted(DsInfo ds, Verdict verdict, List<ObservedPod> pods, boolean nodeReady, Instant now) {
    boolean has = pods != null && !pods.isEmpty();
    if (verdict == null || !verdict.shouldRun()) {
      return has ? StatusCounts.MISSCHEDULED : 0;
    }
    if (!has) {
      return StatusCounts.DESIRED;
    }
    int bits = StatusCounts.DESIRED | StatusCounts.CURRENT;
    ObservedPod old = ObservedPod.bestOld(pods, ds.hash());
    ObservedPod judged = old != null ? old : ObservedPod.current(pods, ds.hash());
    if (judged.ready() && nodeReady) {
      bits |= StatusCounts.READY;
    }
    if (judged.hash().equals(ds.hash())) {
      bits |= StatusCounts.UPDATED;
    }
    if (judged.available(ds.minReadySeconds(), now) && nodeReady) {
      bits |= StatusCounts.AVAILABLE;
    }
    return bits;
  }

}
