package io.dsfleet.agent.reconcile;

import io.dsfleet.agent.runtime.ContainerInfo;
import io.dsfleet.agent.runtime.ContainerRuntime;
import io.dsfleet.agent.runtime.Labels;
import io.dsfleet.agent.runtime.OwnedContainer;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * A pod worker's steps for one pod (the kubelet's pod sync): each step lists the pod's containers
 * (the first may take the pass's), asks the pure {@link PodPlanner} what to do and has the
 * {@link Executor} do it, while the desired set still wants the pod as the worker was handed it.
 */
final class PodSync {
  private static final int MAX_STEPS = 20;

  private final String node;
  private final ContainerRuntime runtime;
  private final Function<List<ContainerInfo>, List<OwnedContainer>> owned;
  private final HeldPods held;
  private final ContainerView view;
  private final Executor executor;
  private final Evictions evictions;
  private final ProbeManager probes;
  private final Failures failures;
  private final Clock clock;
  private final Function<String, DesiredPod> desired;

  /**
   * @param owned the containers of a list whose labels pass the ownership checks (the reconciler's)
   * @param desired the desired set's pod of a key now, or null
   */
  PodSync(String node, ContainerRuntime runtime, Function<List<ContainerInfo>, List<OwnedContainer>> owned, HeldPods held, ContainerView view,
      Executor executor, Evictions evictions, ProbeManager probes, Failures failures, Clock clock, Function<String, DesiredPod> desired) {
    this.node = node;
    this.runtime = runtime;
    this.owned = owned;
    this.held = held;
    this.view = view;
    this.executor = executor;
    this.evictions = evictions;
    this.probes = probes;
    this.failures = failures;
    this.clock = clock;
    this.desired = desired;
  }

  /**
   * Decide and act for one pod until only waiting is left, or until its app containers were started
   * (the pass that wakes then lists them, reports them and hands the pod out again if more is to be
   * done: a second look of the worker's own would list and inspect the same containers beside it).
   * The first step acts on the pod's containers as the pass saw them ({@code seen}, at {@code
   * seenAt}) when nothing changed since ({@link ContainerView#current}); every other step lists them.
   */
  void sync(DesiredPod d, List<OwnedContainer> seen, long seenAt) {
    boolean sandboxStarted = false;
    for (int step = 0; step < MAX_STEPS; step++) {
      if (!stillWanted(d, true)) {
        return; // no longer desired as this worker was handed it (a new set came): the next pass decides afresh
      }
      List<OwnedContainer> observed = seen;
      if (step > 0 || !view.current(seenAt)) {
        List<ContainerInfo> listed = runtime.listOwned(node, Map.of(Labels.POD, d.name()));
        if (held.holds(listed, d.key())) {
          return; // a container of the pod whose image's labels are not known: left as it runs, the next pass decides
        }
        observed = owned.apply(listed).stream().filter(c -> c.podKey().equals(d.key())).toList();
      }
      boolean current = d.configs().equals(executor.volumesWritten.get(d.key()));
      List<PodPlanner.Action> actions = PodPlanner.decide(d, observed,
          new PodPlanner.Facts(evictions.withKills(probes.verdicts(), observed), failures, current, clock.instant()));
      boolean startsSandbox = actions.stream().anyMatch(a -> a instanceof PodPlanner.StartSandbox);
      if (startsSandbox && sandboxStarted) {
        // it started, yet it is not seen running: never a tight loop of new sandboxes
        failures.failed(Failures.key(d.key(), "POD"), "CreatePodSandboxError", "the pod sandbox started but stopped at once", clock.instant());
        return;
      }
      sandboxStarted |= startsSandbox;
      if (actions.stream().allMatch(a -> a instanceof PodPlanner.Wait) || !executor.run(d, observed, actions, () -> stillWanted(d, false))) {
        return;
      }
      if (actions.stream().anyMatch(a -> a instanceof PodPlanner.Start s && Labels.APP.equals(s.role()))) {
        return; // an app container runs now: the pass woken at this work's end lists and reports it
      }
    }
  }

  /**
   * Whether the desired set still wants {@code d}: with the same template, and (configsToo) its
   * namespace's same ConfigMaps and Secrets. A worker asks for both before each step (a step plans
   * with the pod it was handed); its actions ask only for the template, so a change of some config
   * of the namespace (the next pass syncs the volumes) never throws away a pull under way.
   */
  private boolean stillWanted(DesiredPod d, boolean configsToo) {
    DesiredPod now = desired.apply(d.key());
    return now != null && now.sameTemplate(d) && (!configsToo || now.configs().equals(d.configs()));
  }
}
