package io.dsfleet.agent.reconcile;

import io.dsfleet.agent.runtime.Labels;
import io.dsfleet.agent.runtime.OwnedContainer;
import io.dsfleet.common.model.Container;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What one desired pod needs next, from its containers as the runtime shows them. Pure: the same
 * inputs give the same actions. In the order of the kubelet's computePodActions:
 *
 * <ol>
 *   <li>Running containers of another template ({@link DesiredPod#runs}: its hash, and its digest) are the old pod: stop them (preStop, SIGTERM,
 *       grace, SIGKILL) before anything new starts.
 *   <li>No running sandbox: stop what still runs of the pod, then start a new sandbox (the next
 *       attempt number, a fresh name: a dead one the runtime cannot remove never blocks it).
 *   <li>Containers still running in an older sandbox are stopped, and so is a second running copy of a container (an older
 *       run started again by hand: {@link DuplicateRuns}).
 *   <li>Init containers run one at a time, in order, each to a zero exit, in the current sandbox.
 *   <li>Then every app container runs; a missing one is started, an exited one restarted after
 *       its crash back-off, one whose liveness or startup probe failed is stopped (and so restarted).
 * </ol>
 *
 * A pod without a sandbox ({@link DesiredPod#needsSandbox}) is its app container alone: steps 2 to 4 (but for a second copy of it)
 * do not apply, and its runs keep the attempt number of the first. A sandbox of it still running,
 * made by an agent before this rule, is stopped on the host's network (the container keeps
 * running); on the bridge the pod keeps running with sandboxes ({@link #alone}).
 *
 * Every start first waits out its key's back-off ({@link Failures}): nothing is retried every pass.
 * Stopped containers stay until the garbage collector removes them ({@link NodePlanner}); the
 * latest run of each container is kept for its exit code, logs and back-off.
 */
public final class PodPlanner {
  private PodPlanner() {}

  /** One step for the pod worker. */
  public sealed interface Action permits Kill, StartSandbox, Start, SyncVolumes, Wait {}

  /** Stop a running container with its preStop hook and grace period; it stays, stopped. */
  public record Kill(OwnedContainer container, Duration grace, String why) implements Action {}

  /** The kills among a pod's actions. */
  static List<Kill> kills(List<Action> actions) {
    return actions.stream().filter(a -> a instanceof Kill).map(a -> (Kill) a).toList();
  }

  /** Create and start the pod's sandbox number {@code attempt}, its volumes prepared first. */
  public record StartSandbox(int attempt) implements Action {}

  /**
   * Create and start run {@code restarts} of a container, joined to sandbox {@code attempt};
   * {@code streak} is how many crashes in a row came before it (its back-off grows with it).
   */
  public record Start(String name, String role, int restarts, int attempt, int streak) implements Action {}

  /** Write the pod's ConfigMap, Secret and downward API volumes again (their content changed). */
  public record SyncVolumes() implements Action {}

  /** Nothing to do for {@code container} before {@code until}, and the reason Kubernetes shows meanwhile. */
  public record Wait(String container, Instant until, String reason, String message) implements Action {}

  /**
   * @param probes probe verdicts by container id
   * @param volumesCurrent whether the pod's volumes were written from the current ConfigMaps and Secrets
   */
  public record Facts(Map<String, ProbeVerdict> probes, Failures failures, boolean volumesCurrent, Instant now) {}

  public static List<Action> decide(DesiredPod pod, List<OwnedContainer> all, Facts f) {
    return FailedStops.held(decideNow(pod, all, f), f.failures(), f.now()); // a refused stop waits for its back-off
  }

  private static List<Action> decideNow(DesiredPod pod, List<OwnedContainer> all, Facts f) {
    List<OwnedContainer> observed = all;
    if (!pod.valid()) {
      return List.of(); // what runs of it stays as it is; the status says why
    }
    List<OwnedContainer> running = observed.stream().filter(OwnedContainer::running).toList();
    List<OwnedContainer> old = running.stream().filter(c -> !pod.runs(c)).toList();
    if (!old.isEmpty()) { // an evicted pod's old containers go at once, as its others do
      // the same hash with another digest: another template made to share the hash (docs/agent.md)
      String why = "replaced by template " + pod.hash() + (old.stream().anyMatch(c -> c.hash().equals(pod.hash()))
          ? " (another template under the same hash: digest " + pod.digest() + ")" : "");
      return kill(old, pod.grace(), why).stream().map(a -> evicting(a, f)).toList();
    }
    // attempts are never reused, even once a dead sandbox is collected: a run of an older sandbox never passes for the new one's
    int next = observed.stream().mapToInt(OwnedContainer::attempt).max().orElse(-1) + 1;
    // from here on only this template's containers count (a new template is a new pod: its runs start at 0)
    observed = observed.stream().filter(pod::runs).toList();
    running = running.stream().filter(pod::runs).toList();
    if (alone(pod, observed)) {
      List<Action> actions = new ArrayList<>();
      running.stream().filter(OwnedContainer::isSandbox).forEach(c -> actions.add(new Kill(c, Duration.ZERO, "the pod runs without a sandbox")));
      actions.addAll(DuplicateRuns.stops(pod, observed, -1)); // a run of it started again by hand beside the current one
      if (syncDue(pod, f)) {
        actions.add(new SyncVolumes());
      }
      Container app = pod.template().spec().containers().get(0);
      OwnedContainer run = latest(observed, app.name(), Labels.APP, -1);
      app(pod, app, run, observed, run == null ? next : run.attempt(), f, actions);
      return actions;
    }
    Optional<OwnedContainer> sandbox = running.stream().filter(OwnedContainer::isSandbox).max(Comparator.comparingInt(OwnedContainer::attempt));
    if (sandbox.isEmpty()) {
      if (!running.isEmpty()) {
        return kill(running, pod.grace(), "the pod sandbox is not running");
      }
      Optional<Failures.Failure> failed = f.failures().get(Failures.key(pod.key(), "POD")).filter(x -> x.active(f.now()));
      if (failed.isPresent()) {
        return List.of(new Wait("POD", failed.get().retryAt(), failed.get().waitingReason(), failed.get().message()));
      }
      Optional<Failures.Failure> died = f.failures().get(Failures.sandboxRestartKey(pod.key())).filter(x -> x.active(f.now()));
      if (died.isPresent()) {
        return List.of(new Wait("POD", died.get().retryAt(), "SandboxChanged", "the pod sandbox exited; made again after a back-off"));
      }
      return List.of(new StartSandbox(next));
    }
    int attempt = sandbox.get().attempt();
    List<Action> actions = new ArrayList<>();
    for (OwnedContainer c : running) {
      if (c != sandbox.get() && (c.isSandbox() || c.attempt() != attempt)) {
        actions.add(new Kill(c, c.isSandbox() ? Duration.ZERO : pod.grace(), "its pod sandbox was replaced"));
      }
    }
    actions.addAll(DuplicateRuns.stops(pod, observed, attempt));
    if (syncDue(pod, f)) {
      actions.add(new SyncVolumes());
    }
    // an app container running in this sandbox says its init containers ran, even when their runs are gone (an admin's
    // `docker container prune` or `docker system prune`, which remove every stopped container), as the kubelet's
    // findNextInitContainerToRun takes it; until 2026-12-08 the first one ran again beside the running app containers, and
    // until it ended (retried with its back-off if it failed, in a pod that had set itself up) no app container was restarted
    // or stopped for its probes
    boolean initialized = initialized(running, attempt);
    for (Container init : initialized ? List.<Container>of() : list(pod.template().spec().initContainers())) {
      OwnedContainer run = latest(observed, init.name(), Labels.INIT, attempt);
      if (run == null) {
        actions.add(startOrWait(pod, init.name(), Labels.INIT, nextRestarts(observed, init.name(), Labels.INIT), attempt, f));
        return actions;
      }
      if (run.running()) {
        ProbeVerdict v = f.probes().getOrDefault(run.id(), ProbeVerdict.NONE);
        if (v.evict()) {
          actions.add(new Kill(run, Duration.ZERO, v.kill()));
        }
        return actions; // wait for it to finish
      }
      if (run.info().exitCode() == 0 && !run.neverStarted()) {
        continue;
      }
      actions.add(restart(pod, run, observed, attempt, f));
      return actions;
    }
    for (Container app : pod.template().spec().containers()) {
      app(pod, app, latest(observed, app.name(), Labels.APP, attempt), observed, attempt, f, actions);
    }
    return actions;
  }

  /** An app container of sandbox {@code attempt} runs: the pod's init containers ran, whether or not their runs are still there. */
  static boolean initialized(List<OwnedContainer> containers, int attempt) {
    return containers.stream().anyMatch(c -> c.running() && Labels.APP.equals(c.role()) && c.attempt() == attempt);
  }

  /**
   * Whether the pod runs as its container alone: it needs no sandbox ({@link DesiredPod#needsSandbox}),
   * and on the bridge no sandbox of its template is there, made by an agent before single bridge
   * containers ran alone (its container's network is that sandbox's: such a pod keeps its sandboxes
   * until its template changes, or until a sandbox of it that ended is collected).
   *
   * @param current the pod's containers of its current template
   */
  static boolean alone(DesiredPod pod, List<OwnedContainer> current) {
    return !pod.needsSandbox() && (Boolean.TRUE.equals(pod.template().spec().hostNetwork()) || current.stream().noneMatch(OwnedContainer::isSandbox));
  }

  /**
   * The key under which a failed update of a running pod's volumes (its ConfigMaps and Secrets changed) backs off: a
   * full or failing disk refuses it, and it is written again after its back-off. A dot, which no container's name has.
   */
  static String volumesKey(String podKey) {
    return Failures.key(podKey, "volumes.sync");
  }

  /** The pod's volumes are written from other ConfigMaps and Secrets than its set's, and no failed update backs off. */
  private static boolean syncDue(DesiredPod pod, Facts f) {
    return !f.volumesCurrent() && f.failures().get(volumesKey(pod.key())).filter(x -> x.active(f.now())).isEmpty();
  }

  /** An app container: started when missing, restarted after its back-off when it ended, stopped when a probe says so. */
  private static void app(DesiredPod pod, Container app, OwnedContainer run, List<OwnedContainer> observed, int attempt, Facts f,
      List<Action> actions) {
    if (run == null) {
      actions.add(startOrWait(pod, app.name(), Labels.APP, nextRestarts(observed, app.name(), Labels.APP), attempt, f));
    } else if (run.running()) {
      ProbeVerdict v = f.probes().getOrDefault(run.id(), ProbeVerdict.NONE);
      if (v.kill() != null) {
        actions.add(new Kill(run, v.evict() ? Duration.ZERO : pod.grace(), v.kill()));
      }
    } else {
      actions.add(restart(pod, run, observed, attempt, f));
    }
  }

  /** The kill as an eviction's (no grace, no preStop hook) when the container's verdict is one. */
  private static Action evicting(Action a, Facts f) {
    if (a instanceof Kill k) {
      ProbeVerdict v = f.probes().getOrDefault(k.container().id(), ProbeVerdict.NONE);
      if (v.evict()) {
        return new Kill(k.container(), Duration.ZERO, v.kill());
      }
    }
    return a;
  }

  /** Stops containers: the pod's containers first, its sandboxes last (they hold the network the others use). */
  static List<Action> kill(List<OwnedContainer> containers, Duration grace, String why) {
    List<Action> out = new ArrayList<>();
    containers.stream().filter(c -> !c.isSandbox())
        .forEach(c -> out.add(new Kill(c, c.graceSeconds() == null ? grace : Duration.ofSeconds(c.graceSeconds()), why)));
    containers.stream().filter(OwnedContainer::isSandbox).forEach(c -> out.add(new Kill(c, Duration.ZERO, why)));
    return out;
  }

  /** A run that ended: start the next one once its crash back-off allows (a run that never started is timed from its creation). */
  private static Action restart(DesiredPod pod, OwnedContainer run, List<OwnedContainer> observed, int attempt, Facts f) {
    Instant ended = run.info().finishedAt() != null ? run.info().finishedAt() : run.info().created();
    Instant at = f.failures().backoff().nextStart(run.streak(), run.info().startedAt(), ended);
    if (WallClock.waiting(f.now(), ended, at)) { // a wall clock stepped back past the end: not waited out for the step
      if (run.startToCome()) { // not a failure: its worker starts it (until 2026-12-07 reported as one, with no error)
        return new Wait(run.container(), at, "ContainerCreating", "");
      }
      String why = run.neverStarted() ? "RunContainerError" : "CrashLoopBackOff";
      String detail = run.neverStarted() ? ": " + run.info().error()
          : " (last exit code " + run.info().exitCode() + (run.info().oomKilled() ? ", OOMKilled" : "") + ")";
      return new Wait(run.container(), at, why, "back-off " + Duration.between(ended, at).toSeconds() + "s restarting failed container "
          + run.container() + detail);
    }
    boolean ranLong = run.info().startedAt() != null && !Duration.between(run.info().startedAt(), ended).minus(f.failures().backoff().resetAfter()).isNegative();
    return startOrWait(pod, run.container(), run.role(), nextRestarts(observed, run.container(), run.role()), attempt,
        ranLong ? 1 : run.streak() + 1, f);
  }

  private static Action startOrWait(DesiredPod pod, String name, String role, int restarts, int attempt, Facts f) {
    return startOrWait(pod, name, role, restarts, attempt, 0, f);
  }

  private static Action startOrWait(DesiredPod pod, String name, String role, int restarts, int attempt, int streak, Facts f) {
    Optional<Failures.Failure> failed = f.failures().get(Failures.key(pod.key(), name)).filter(x -> x.active(f.now()));
    if (failed.isPresent()) {
      return new Wait(name, failed.get().retryAt(), failed.get().waitingReason(), failed.get().message());
    }
    return new Start(name, role, restarts, attempt, streak);
  }

  private static int nextRestarts(List<OwnedContainer> observed, String name, String role) {
    OwnedContainer any = latest(observed, name, role, -1);
    return any == null ? 0 : any.restarts() + 1;
  }

  /**
   * The latest run of a container (in sandbox {@code attempt}; -1: in any): the highest run number, then sandbox, then the
   * newest by creation (two copies of one run, an older agent's from a list that left the first out: {@link DuplicateRuns}),
   * then the ID, so that every pass takes the same one whatever order the runtime lists them in.
   */
  static OwnedContainer latest(List<OwnedContainer> observed, String name, String role, int attempt) {
    return observed.stream().filter(c -> role.equals(c.role()) && name.equals(c.container()) && (attempt < 0 || c.attempt() == attempt))
        .max(Comparator.comparingInt(OwnedContainer::restarts).thenComparingInt(OwnedContainer::attempt)
            .thenComparing((OwnedContainer c) -> c.info().created(), Comparator.nullsFirst(Comparator.naturalOrder()))
            .thenComparing(OwnedContainer::id)).orElse(null);
  }

  static <T> List<T> list(List<T> l) {
    return l == null ? List.of() : l;
  }
}
