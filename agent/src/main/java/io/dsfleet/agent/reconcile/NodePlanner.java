package io.dsfleet.agent.reconcile;

import io.dsfleet.common.ReleasedPods;
import io.dsfleet.agent.runtime.OwnedContainer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The node-level plan, pure: from the desired pods, the owned containers, probe verdicts, back-off
 * state and the clock, what each pod needs ({@link PodPlanner}), which pods to tear down, which
 * stopped containers to garbage-collect and which pod directories to remove.
 *
 * <p>Invariants:
 * <ul>
 *   <li>Sources ready (the kubelet's "all sources ready"): until the agent has a desired set, from
 *       its state directory or from a coordinator, nothing it owns is stopped, removed or cleaned up.
 *       An agent that lost its state while the coordinator is away leaves every pod running.
 *   <li>Only {@link OwnedContainer}s are ever named: a container whose labels fail the ownership
 *       checks never reaches the planner. Pods released by an orphan delete are never touched.
 *   <li>A pod directory is removed only when it is in the agent's pods directory (the caller lists
 *       it), its pod is not desired, and nothing of that pod still runs.
 *   <li>Garbage is only stopped containers: the latest run of each container of a desired pod is
 *       kept (its exit code, logs and back-off), and the run before it (`dsctl logs --previous`,
 *       whether the latest runs or waits out its back-off); older runs, stopped sandboxes, runs of
 *       another template and everything of pods no longer desired go.
 *   <li>A held pod ({@link HeldPods}: a container of its image's labels not known) is left as it runs: no action, no
 *       teardown, no garbage, its directory kept.
 * </ul>
 */
public final class NodePlanner {
  private NodePlanner() {}

  /**
   * @param orphans pods released by an orphan delete ({@link ReleasedPods}: keys, or names of any namespace)
   * @param volumesWritten by pod key, the {@link DesiredPod#configs()} its volumes were last written from
   * @param podDirs names of the directories in the agent's pods directory
   * @param held keys of the pods left as they run this pass ({@link HeldPods})
   */
  public record Input(boolean sourcesReady, Map<String, DesiredPod> desired, List<OwnedContainer> owned, Set<String> orphans,
      Map<String, ProbeVerdict> probes, Failures failures, Map<String, String> volumesWritten, Set<String> podDirs, Instant now,
      Set<String> held) {
    public Input(boolean sourcesReady, Map<String, DesiredPod> desired, List<OwnedContainer> owned, Set<String> orphans,
        Map<String, ProbeVerdict> probes, Failures failures, Map<String, String> volumesWritten, Set<String> podDirs, Instant now) {
      this(sourcesReady, desired, owned, orphans, probes, failures, volumesWritten, podDirs, now, Set.of());
    }
  }

  /**
   * @param pods actions of each desired pod, by key
   * @param teardown running containers of pods no longer desired, by pod key
   * @param garbage stopped containers to remove
   * @param removeDirs pod directories to unmount and remove
   */
  public record Plan(Map<String, List<PodPlanner.Action>> pods, Map<String, List<PodPlanner.Action>> teardown,
      List<OwnedContainer> garbage, Set<String> removeDirs) {}

  public static Plan plan(Input in) {
    Map<String, List<OwnedContainer>> byPod = new HashMap<>();
    for (OwnedContainer c : in.owned()) {
      if (ReleasedPods.holds(in.orphans(), c.podKey(), c.pod()) && !in.desired().containsKey(c.podKey()) || in.held().contains(c.podKey())) {
        continue; // released: not ours any more; held: left as it runs
      }
      byPod.computeIfAbsent(c.podKey(), k -> new ArrayList<>()).add(c);
    }
    Map<String, List<PodPlanner.Action>> pods = new LinkedHashMap<>();
    List<OwnedContainer> garbage = new ArrayList<>();
    for (DesiredPod d : in.desired().values()) {
      if (in.held().contains(d.key())) {
        pods.put(d.key(), List.of());
        continue;
      }
      List<OwnedContainer> observed = byPod.getOrDefault(d.key(), List.of());
      boolean current = !d.valid() || d.configs().equals(in.volumesWritten().get(d.key()));
      pods.put(d.key(), PodPlanner.decide(d, observed, new PodPlanner.Facts(in.probes(), in.failures(), current, in.now())));
      if (d.valid()) {
        garbage.addAll(garbage(d, observed));
      }
    }
    Map<String, List<PodPlanner.Action>> teardown = new LinkedHashMap<>();
    Set<String> busyDirs = new TreeSet<>();
    in.held().forEach(k -> busyDirs.add(DesiredPod.dirName(k)));
    if (in.sourcesReady()) {
      for (var e : byPod.entrySet()) {
        if (in.desired().containsKey(e.getKey())) {
          continue;
        }
        List<OwnedContainer> running = e.getValue().stream().filter(OwnedContainer::running).toList();
        if (!running.isEmpty()) {
          List<PodPlanner.Action> kills = PodPlanner.kill(running, java.time.Duration.ofSeconds(30), "no longer desired on this node");
          if (!FailedStops.anyWaiting(kills, in.failures(), in.now())) { // a stop refused: the whole pod after its back-off
            teardown.put(e.getKey(), kills);
          }
          busyDirs.add(DesiredPod.dirName(e.getKey()));
        }
        e.getValue().stream().filter(c -> !c.running()).forEach(garbage::add);
      }
    }
    for (OwnedContainer c : in.owned()) {
      if (c.running() || ReleasedPods.holds(in.orphans(), c.podKey(), c.pod())) {
        busyDirs.add(DesiredPod.dirName(c.podKey())); // a released pod keeps its volumes: it runs on, unmanaged
      }
    }
    Set<String> removeDirs = new TreeSet<>();
    if (in.sourcesReady()) {
      for (String dir : in.podDirs()) {
        boolean desired = in.desired().keySet().stream().anyMatch(k -> DesiredPod.dirName(k).equals(dir));
        if (!desired && !busyDirs.contains(dir)) {
          removeDirs.add(dir);
        }
      }
    }
    return new Plan(pods, teardown, garbage, removeDirs);
  }

  /** Stopped containers of a desired pod that nothing needs any more. */
  static List<OwnedContainer> garbage(DesiredPod d, List<OwnedContainer> observed) {
    List<OwnedContainer> out = new ArrayList<>();
    List<OwnedContainer> current = observed.stream().filter(d::runs).toList();
    for (OwnedContainer c : observed) {
      if (c.running()) {
        continue;
      }
      boolean keep = false;
      if (!c.isSandbox() && d.runs(c)) {
        OwnedContainer latest = PodPlanner.latest(current, c.container(), c.role(), -1);
        keep = latest == c || PodPlanner.latest(current.stream().filter(x -> x != latest).toList(), c.container(), c.role(), -1) == c;
      }
      if (!keep) {
        out.add(c);
      }
    }
    return out;
  }
}
