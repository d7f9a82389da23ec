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
 *       taken down, and it takes none of the budget (Kubernetes counts only nodes with a daemon
 *       pod), so nodes added during a rollout never stall it. A node told to move whose old pod
 *       is gone before its new one is reported is a replacement in flight: it still counts.
 *   <li>A node whose old pod is already unavailable moves at once, before any other: replacing it
 *       costs no availability (Kubernetes issue #117204: unready old pods must not eat the budget
 *       forever, so they go first).
 *   <li>A node whose old pod is available moves only while the number of Ready desired nodes
 *       without an available pod stays within the budget; the pass moves at most that many.
 *   <li>A NotReady node that this rollout has not moved is neither counted nor moved: a node
 *       down before its turn cannot block the rollout (Kubernetes issue #117204) and is updated
 *       when it comes back; nor does one that already ran the current revision (a node down
 *       before a rollout runs the revision its rollback restores). A node this rollout told to
 *       move that is NotReady counts against the budget until it is back with an available
 *       pod, or removed: it may be the new revision that took it down, and the next node must not
 *       follow it (as Kubernetes, whose node controller marks its pods NotReady; the reason
 *       Kubernetes declined to skip NotReady nodes in PR #117658). {@code down}: such nodes that
 *       are not desired only because of the taints of their condition (unreachable, not-ready).
 *   <li>Paused (dsctl rollout pause, or a failed rollout): only rule 1 applies. OnDelete: only
 *       rule 1 applies too; `dsctl delete pod` leaves a node without a pod, so it moves.
 *   <li>A Ready misscheduled node (a NoSchedule taint its DaemonSet does not tolerate, added after
 *       its pod started: in {@code down}) running only an old revision's pod is "moved": the
 *       {@link Planner} removes its pod, and none comes back while the taint stays, as Kubernetes'
 *       rollingUpdate deletes such a pod (update.go) and its manage loop puts none there. Without
 *       a surge an unavailable one goes at once and an available one within the budget, after
 *       the desired nodes, its removal counting against the budget until it is gone (Kubernetes
 *       counts a node whose old pod is terminating); with a surge an unavailable one goes at once
 *       and available ones as far as the desired nodes' available pods leave them one too many
 *       (Kubernetes: numAvailable - desiredNumberScheduled). OnDelete leaves it.
 * </ol>
 * Once a node runs the current revision it stays there, so the budget holds over any sequence of
 * passes (tested as a property over random fleets and failures).
 *
 * <p>With {@code maxSurge} (Kubernetes allows it only with {@code maxUnavailable: 0}) a moving
 * node starts the new pod next to the old one, and the {@link Planner} stops the old pod once the
 * new one is available; nothing available is ever taken down. Rules 1, 4 and 5 hold as above;
 * rule 2 becomes: a node whose old pod is unavailable gets its new pod at once; rule 3 becomes: at
 * most {@code maxSurge} nodes (a percentage rounds up) run a new pod that is not available yet
 * next to an old one (a NotReady node's new pod never is), and healthy nodes surge only within that.
 */
public final class RollingUpdate {
  private RollingUpdate() {}

  /**
   * One desired node's situation for one DaemonSet.
   *
   * @param pods the DaemonSet's pods the node reports: one, or two while a surge is in flight
   */
  public record NodeState(String node, boolean nodeReady, List<ObservedPod> pods) {
    public NodeState {
      pods = List.copyOf(pods);
    }

    public NodeState(String node, boolean nodeReady, ObservedPod pod) {
      this(node, nodeReady, pod == null ? List.of() : List.of(pod));
    }

    /** The pod at {@code hash}, or null. */
    public ObservedPod current(String hash) {
      return ObservedPod.current(pods, hash);
    }

    /** The old pod worth keeping (see {@link ObservedPod#bestOld}), or null. */
    public ObservedPod old(String hash) {
      return ObservedPod.bestOld(pods, hash);
    }
  }

  /**
   * @param moving nodes that may run the current revision (their pod is current, or may be replaced now)
   * @param maxUnavailable the budget in nodes (0 with maxSurge)
   * @param maxSurge nodes that may run an extra pod not yet available (0 without maxSurge)
   * @param unavailable nodes without an available pod that count against the budget, after this pass
   * @param waitingNotReady NotReady nodes the rollout waits for: still on an old revision (updated
   *     when they come back), or moved by it and holding the budget (rule 4)
   * @param surgeLeftovers nodes (without maxSurge) running a new pod not available yet next to an old
   *     one, left from a surge: no longer moving; they move again within the budget once their
   *     unfinished pod is gone
   */
  public record Decision(Set<String> moving, int maxUnavailable, int maxSurge, int unavailable,
      List<String> waitingNotReady, List<String> surgeLeftovers) {}

  /**
   * The surge budget in nodes: 0 unless the strategy is RollingUpdate and sets maxSurge (a percentage rounds up, as
   * Kubernetes does). An OnDelete strategy's rollingUpdate means nothing, as Kubernetes' SurgeCount has it.
   */
  public static int maxSurge(DsInfo ds, int desired) {
    var strategy = ds.ds().spec().updateStrategy();
    if (strategy == null || onDelete(ds.ds()) || strategy.rollingUpdate() == null || strategy.rollingUpdate().maxSurge() == null) {
      return 0;
    }
    return Math.max(0, strategy.rollingUpdate().maxSurge().scaled(desired, true));
  }

  /** Whether the DaemonSet updates OnDelete: a node moves only when its pod is deleted. */
  public static boolean onDelete(io.dsfleet.common.model.DaemonSet ds) {
    return ds.spec().updateStrategy() != null && "OnDelete".equals(ds.spec().updateStrategy().type());
  }

  /** Whether the strategy surges: maxSurge is non-zero (then maxUnavailable is 0, as validation requires). */
  public static boolean surges(DsInfo ds) {
    return maxSurge(ds, 100) > 0;
  }

  public static int maxUnavailable(DsInfo ds, int desired) {
    if (surges(ds)) {
      return 0;
    }
    var strategy = ds.ds().spec().updateStrategy();
    if (strategy == null || onDelete(ds.ds()) || strategy.rollingUpdate() == null || strategy.rollingUpdate().maxUnavailable() == null) {
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
    return decide(ds, nodes, List.of(), alreadyMoving, paused, now);
  }

  /**
   * @param down nodes not desired whose pods may stay, never moved: NotReady nodes that are not
   *     desired only because they are NotReady (the unreachable and not-ready taints), which count
   *     against the budget when this rollout moved them (rule 4); and Ready misscheduled nodes (a
   *     NoSchedule taint added during the rollout), which count while their new pod is not
   *     available yet, as Kubernetes counts every node with a daemon pod
   */
  public static Decision decide(DsInfo ds, List<NodeState> nodes, List<NodeState> down, Set<String> alreadyMoving, boolean paused,
      Instant now) {
    if (surges(ds)) {
      return decideSurge(ds, nodes, down, alreadyMoving, paused, now);
    }
    boolean onDelete = onDelete(ds.ds());
    int budget = maxUnavailable(ds, nodes.size());
    Set<String> moving = new TreeSet<>();
    List<String> waiting = new ArrayList<>();
    List<NodeState> oldAvailable = new ArrayList<>();
    List<String> leftovers = new ArrayList<>();
    List<NodeState> misscheduledOld = new ArrayList<>();
    int unavailable = 0;
    for (NodeState n : down) {
      ObservedPod cur = n.current(ds.hash());
      if (n.nodeReady() && cur == null && n.old(ds.hash()) != null && !onDelete) {
        // misscheduled, with only an old revision's pod: it goes (rule 6), at once when not available; a removal in
        // flight counts against the budget, as Kubernetes counts a node whose old pod is terminating
        if (alreadyMoving.contains(n.node())) {
          moving.add(n.node());
          unavailable++;
        } else if (!n.old(ds.hash()).available(ds.minReadySeconds(), now)) {
          unavailable++;
          if (!paused) {
            moving.add(n.node());
          }
        } else {
          misscheduledOld.add(n);
        }
        continue;
      }
      if (n.nodeReady() ? cur != null && !cur.available(ds.minReadySeconds(), now) : alreadyMoving.contains(n.node())) {
        unavailable++; // moved by this rollout, then down (rule 4), or misscheduled with its new pod not available yet
        if (!n.nodeReady()) {
          waiting.add(n.node());
        }
      }
    }
    for (NodeState n : nodes) {
      ObservedPod cur = n.current(ds.hash());
      ObservedPod pod = cur != null ? cur : n.old(ds.hash());
      if (cur != null && n.old(ds.hash()) != null && !cur.available(ds.minReadySeconds(), now)) {
        // left from a surge (the strategy changed during one): the unfinished new pod goes, the old
        // one stays (Planner), and the node then waits for the budget as any other
        unavailable++;
        leftovers.add(n.node());
        continue;
      }
      if (pod == null || cur != null) {
        moving.add(n.node());
        boolean inFlight = pod == null && alreadyMoving.contains(n.node());
        // a NotReady node's current pod is not available (Kubernetes marks it NotReady): it holds the
        // budget if this rollout moved it (rule 4); one that ran the revision before (a rollback's) does not
        if (inFlight || pod != null && (n.nodeReady() ? !pod.available(ds.minReadySeconds(), now) : alreadyMoving.contains(n.node()))) {
          unavailable++;
          if (!n.nodeReady()) {
            waiting.add(n.node());
          }
        }
        continue;
      }
      if (alreadyMoving.contains(n.node())) {
        moving.add(n.node());
        unavailable++; // Ready or not: a node moved by this rollout holds the budget (rule 4)
        if (!n.nodeReady()) {
          waiting.add(n.node());
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
      for (NodeState n : misscheduledOld) {
        if (unavailable >= budget) {
          break;
        }
        moving.add(n.node());
        unavailable++;
      }
    }
    return new Decision(moving, budget, 0, unavailable, waiting, leftovers);
  }

  private static Decision decideSurge(DsInfo ds, List<NodeState> nodes, List<NodeState> down, Set<String> alreadyMoving,
      boolean paused, Instant now) {
    int budget = maxSurge(ds, nodes.size());
    int minReady = ds.minReadySeconds();
    Set<String> moving = new TreeSet<>();
    List<String> waiting = new ArrayList<>();
    List<String> candidates = new ArrayList<>();
    int surging = 0;
    int unavailable = 0;
    List<String> misscheduledAvailable = new ArrayList<>();
    int availableDesired = 0;
    for (NodeState n : down) {
      ObservedPod cur = n.current(ds.hash());
      if (n.nodeReady() && cur == null && n.old(ds.hash()) != null) {
        // misscheduled, with only an old revision's pod (rule 6): it goes at once when not available, else once the
        // desired nodes' available pods make it one too many (below)
        if (alreadyMoving.contains(n.node()) || !paused && !n.old(ds.hash()).available(minReady, now)) {
          moving.add(n.node());
        } else if (n.old(ds.hash()).available(minReady, now)) {
          misscheduledAvailable.add(n.node());
        }
        continue;
      }
      if (n.old(ds.hash()) != null && (n.nodeReady() ? cur != null && !cur.available(minReady, now)
          : alreadyMoving.contains(n.node()))) {
        surging++; // a surge in flight on a node that went down (rule 4), or on a misscheduled one
        if (!n.nodeReady()) {
          waiting.add(n.node());
        }
      }
    }
    for (NodeState n : nodes) {
      ObservedPod cur = n.current(ds.hash());
      ObservedPod old = n.old(ds.hash());
      boolean curAvailable = cur != null && cur.available(minReady, now);
      boolean oldAvailable = old != null && old.available(minReady, now);
      if (n.nodeReady() && !curAvailable && !oldAvailable) {
        unavailable++;
      }
      if (n.nodeReady() && (old != null ? oldAvailable : curAvailable)) {
        availableDesired++; // judged as Kubernetes' surge judges a node: by its old pod while it has one
      }
      if (old == null) {
        moving.add(n.node());
        continue;
      }
      if (cur != null || alreadyMoving.contains(n.node())) {
        // a surge in flight: the new pod runs (or is starting) next to the old one
        moving.add(n.node());
        if (n.nodeReady() ? !curAvailable : alreadyMoving.contains(n.node())) {
          surging++;
        }
        if (!n.nodeReady()) {
          waiting.add(n.node());
        }
        continue;
      }
      if (!n.nodeReady()) {
        waiting.add(n.node());
      } else if (!oldAvailable) {
        if (!paused) {
          moving.add(n.node());
          surging++;
        }
      } else {
        candidates.add(n.node());
      }
    }
    if (!paused) {
      for (String node : candidates) {
        if (surging >= budget) {
          break;
        }
        moving.add(node);
        surging++;
      }
      // as many misscheduled available pods go as there are available pods beyond the desired nodes (Kubernetes:
      // numAvailable - desiredNumberScheduled), so the fleet never has fewer available pods than desired nodes
      int extra = availableDesired + misscheduledAvailable.size() - nodes.size();
      misscheduledAvailable.stream().limit(Math.max(0, extra)).forEach(moving::add);
    }
    return new Decision(moving, 0, budget, unavailable, waiting, List.of());
  }
}
