package io.dsfleet.agent.reconcile;

import io.dsfleet.agent.runtime.ContainerInfo;
import io.dsfleet.agent.runtime.Labels;
import io.dsfleet.common.model.Container;
import io.dsfleet.common.model.PodSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;

/**
 * What a pod needs next, from what the runtime shows. Pure: the same inputs give the same actions.
 *
 * <p>Order, as the kubelet's computePodActions: (1) containers of another template hash are the
 * old pod: stop them (preStop, SIGTERM, grace, SIGKILL) before anything new starts; (2) no running
 * sandbox: remove what is left of the pod and start a sandbox; (3) init containers run one at a
 * time, in order, each to a zero exit, a failed one restarted with back-off; (4) then every app
 * container runs: a missing one is started, an exited one restarted after its back-off, one whose
 * liveness probe failed is stopped (and so restarted). Superseded runs of a container are removed.
 */
public final class PodActions {
  private PodActions() {}

  /** One step for the pod worker. */
  public sealed interface Action permits Stop, Remove, RunSandbox, Run, Wait {}

  /** Stop a running container with preStop and grace (it stays, exited, for back-off and logs). */
  public record Stop(ContainerInfo container, Duration grace, String why) implements Action {}

  /** Stop (if running) and remove a container. */
  public record Remove(ContainerInfo container, Duration grace, String why) implements Action {}

  public record RunSandbox() implements Action {}

  /** Create and start a container run. */
  public record Run(String name, String role, int restarts) implements Action {}

  /** Nothing to do before {@code until} (back-off). */
  public record Wait(String container, Instant until, String reason) implements Action {}

  /**
   * @param livenessFailed names of app containers whose liveness probe has failed in their current run
   */
  public static List<Action> decide(String hash, PodSpec pod, List<ContainerInfo> observed, Set<String> livenessFailed, Instant now) {
    Duration grace = Duration.ofSeconds(pod.terminationGracePeriodSeconds() == null ? 30 : pod.terminationGracePeriodSeconds());
    List<Action> actions = new ArrayList<>();

    List<ContainerInfo> old = observed.stream().filter(c -> !hash.equals(c.label(Labels.HASH))).toList();
    if (!old.isEmpty()) {
      return teardown(old, grace, "replaced by template " + hash);
    }
    ContainerInfo sandbox = observed.stream().filter(c -> Labels.SANDBOX.equals(c.label(Labels.ROLE)))
        .filter(ContainerInfo::running).findFirst().orElse(null);
    if (sandbox == null) {
      actions.addAll(teardown(observed, grace, "pod sandbox is not running"));
      actions.add(new RunSandbox());
      return actions;
    }
    // superseded runs: keep only the latest run of each container
    for (ContainerInfo c : observed) {
      ContainerInfo latest = latest(observed, c.label(Labels.CONTAINER), c.label(Labels.ROLE));
      if (latest != c && !Labels.SANDBOX.equals(c.label(Labels.ROLE))) {
        actions.add(new Remove(c, Duration.ZERO, "superseded by a newer run"));
      }
    }

    for (Container init : list(pod.initContainers())) {
      ContainerInfo c = latest(observed, init.name(), Labels.INIT);
      if (c == null) {
        actions.add(new Run(init.name(), Labels.INIT, 0));
        return actions;
      }
      if (c.running() || "created".equals(c.state()) && c.startedAt() == null) {
        if (!c.running()) {
          actions.add(new Remove(c, Duration.ZERO, "created but never started"));
        }
        return actions; // wait for it to finish
      }
      if (c.exitCode() == 0) {
        continue;
      }
      actions.add(restart(c, init.name(), Labels.INIT, now));
      return actions;
    }

    for (Container app : pod.containers()) {
      ContainerInfo c = latest(observed, app.name(), Labels.APP);
      if (c == null) {
        actions.add(new Run(app.name(), Labels.APP, 0));
      } else if (c.running()) {
        if (livenessFailed.contains(app.name())) {
          actions.add(new Stop(c, grace, "liveness probe failed"));
        }
      } else {
        actions.add(restart(c, app.name(), Labels.APP, now));
      }
    }
    return actions;
  }

  private static Action restart(ContainerInfo c, String name, String role, Instant now) {
    int restarts = restarts(c);
    Instant at = Backoff.nextStart(restarts, c.startedAt(), c.finishedAt());
    if (now.isBefore(at)) {
      return new Wait(name, at, "back-off " + Duration.between(c.finishedAt(), at).toSeconds() + "s restarting failed container " + name);
    }
    return new Run(name, role, restarts + 1);
  }

  /** Remove a whole pod: app containers first (with preStop and grace), init containers, the sandbox last. */
  public static List<Action> teardown(List<ContainerInfo> containers, Duration grace, String why) {
    List<Action> out = new ArrayList<>();
    containers.stream().filter(c -> Labels.APP.equals(c.label(Labels.ROLE))).forEach(c -> out.add(new Remove(c, grace, why)));
    containers.stream().filter(c -> Labels.INIT.equals(c.label(Labels.ROLE))).forEach(c -> out.add(new Remove(c, grace, why)));
    containers.stream().filter(c -> Labels.SANDBOX.equals(c.label(Labels.ROLE))).forEach(c -> out.add(new Remove(c, Duration.ZERO, why)));
    return out;
  }

  static ContainerInfo latest(List<ContainerInfo> observed, String name, String role) {
    return observed.stream().filter(c -> role.equals(c.label(Labels.ROLE)) && name.equals(c.label(Labels.CONTAINER)))
        .max(Comparator.comparingInt(PodActions::restarts)).orElse(null);
  }

  public static int restarts(ContainerInfo c) {
    try {
      return Integer.parseInt(c.labels().getOrDefault(Labels.RESTARTS, "0"));
    } catch (NumberFormatException e) {
      return 0;
    }
  }

  private static <T> List<T> list(List<T> l) {
    return l == null ? List.of() : l;
  }
}
