package io.dsfleet.agent.reconcile;

import io.dsfleet.agent.runtime.Labels;
import io.dsfleet.agent.runtime.OwnedContainer;
import io.dsfleet.common.model.Container;
import io.dsfleet.common.text.Cut;
import io.dsfleet.proto.v1.ContainerStatus;
import io.dsfleet.proto.v1.PodStatus;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Predicate;

/**
 * The pod status the agent reports, pure: from the desired pods, their containers, the plan's
 * waits (which carry Kubernetes' waiting reasons: ImagePullBackOff, CreateContainerError,
 * RunContainerError, CrashLoopBackOff, ...), probe verdicts, recorded failures and the stops under
 * way. Every failure the agent meets shows here, so it reaches {@code dsctl get pods} and {@code describe}.
 *
 * <p>A container being stopped (its preStop hook, its grace period) is running and not ready, as the
 * kubelet reports a pod being deleted; a pod whose running app containers are all being stopped is
 * {@code Terminating}, unless the stop is a restart a probe asked for (the pod goes on).
 * Before 2026-12-06 such a pod was reported Ready until its containers ended: a rollback's pod, which
 * the agent was still stopping for the rollout's template, ended the coordinator's hold on the
 * node's share of the budget (docs/rollouts.md) while it went down.
 */
public final class StatusBuilder {
  private StatusBuilder() {}

  /**
   * The most of a message a report carries, as the coordinator keeps it ({@link Cut#AGENT_MESSAGE}):
   * a message is Docker's error text or a hook's output, which an image or a container makes as long
   * as it likes (an image's 70,000-byte USER gave a 70 KB start error), and a report over gRPC's
   * 4 MiB message limit ended the node's session at each send (helper-191, 2026-12-07).
   */
  static String clip(String message) {
    return Cut.prefix(message, Cut.AGENT_MESSAGE);
  }

  /**
   * @param plans the planner's actions by pod key (their {@link PodPlanner.Wait}s name what each container waits for)
   * @param firstSeen when each pod was first desired here (its age when no container of it exists)
   * @param stopping whether a container's run is being stopped ({@link ContainerStops#stopping})
   */
  public static List<PodStatus> build(Map<String, DesiredPod> desired, List<OwnedContainer> owned, Map<String, List<PodPlanner.Action>> plans,
      Map<String, ProbeVerdict> probes, Failures failures, Map<String, Instant> firstSeen, Instant now, Predicate<OwnedContainer> stopping) {
    List<PodStatus> out = new ArrayList<>();
    for (DesiredPod d : desired.values()) {
      List<OwnedContainer> mine = owned.stream().filter(c -> c.podKey().equals(d.key())).toList();
      out.add(status(d, mine, plans.getOrDefault(d.key(), List.of()), probes, failures, firstSeen.get(d.key()), now, stopping));
    }
    out.sort(Comparator.comparing(PodStatus::getNamespace).thenComparing(PodStatus::getPodName));
    return out;
  }

  static PodStatus status(DesiredPod d, List<OwnedContainer> observed, List<PodPlanner.Action> plan, Map<String, ProbeVerdict> probes,
      Failures failures, Instant firstSeen, Instant now, Predicate<OwnedContainer> stopping) {
    PodStatus.Builder b = PodStatus.newBuilder().setNamespace(d.namespace()).setDaemonSet(d.daemonSet()).setPodName(d.name())
        .setTemplateHash(d.hash()).setTemplateDigest(d.digest() == null ? "" : d.digest());
    Instant created = observed.stream().map(c -> c.info().created()).filter(Objects::nonNull).min(Comparator.naturalOrder())
        .orElse(firstSeen);
    if (created != null) {
      b.setCreatedAtMillis(created.toEpochMilli());
    }
    if (!d.valid()) {
      return b.setPhase("Failed").setReason("UnsupportedPodSpec").setMessage(clip(d.problem())).build();
    }
    List<OwnedContainer> current = observed.stream().filter(d::runs).toList();
    boolean alone = PodPlanner.alone(d, current); // the pod is its one container: up whenever that runs
    OwnedContainer sandbox = alone ? null : current.stream().filter(c -> c.isSandbox() && c.running())
        .max(Comparator.comparingInt(OwnedContainer::attempt)).orElse(null);
    boolean up = alone || sandbox != null;
    int attempt = sandbox == null ? -1 : sandbox.attempt();
    Instant started = sandbox == null ? null : sandbox.info().startedAt();
    boolean allReady = true;
    boolean anyRunning = false;
    // the pod ends: every app container that runs is being stopped, and not as a probe's restart
    boolean allStopping = true;
    Instant readySince = null;
    // an init container whose runs are gone (an admin's `docker container prune`) while an app container of the sandbox runs
    // ran to its end (the planner does not run it again): reported Completed, as the kubelet keeps the terminated status the
    // runtime no longer has; until 2026-12-08 waiting, PodInitializing, for the rest of the pod's life
    boolean initialized = sandbox != null && PodPlanner.initialized(current, attempt);
    for (Container c : PodPlanner.list(d.template().spec().initContainers())) {
      OwnedContainer run = run(current, c.name(), Labels.INIT, attempt);
      b.addContainers(run == null && initialized
          ? ContainerStatus.newBuilder().setName(c.name()).setImage(c.image()).setInit(true).setState("terminated").setExitCode(0)
              .setReason("Completed").build()
          : container(d, c, run, alone, sandbox, plan, probes, failures, true, stopping));
    }
    for (Container c : d.template().spec().containers()) {
      OwnedContainer run = run(current, c.name(), Labels.APP, attempt);
      ContainerStatus cs = container(d, c, run, alone, sandbox, plan, probes, failures, false, stopping);
      b.addContainers(cs);
      allReady &= cs.getReady();
      anyRunning |= cs.getState().equals("running");
      if (cs.getState().equals("running")) {
        ProbeVerdict v = probes.getOrDefault(run.id(), ProbeVerdict.NONE);
        allStopping &= stopping.test(run) && (v.kill() == null || v.evict());
      }
      if (alone && cs.getState().equals("running")) {
        started = run.info().startedAt();
      }
      if (cs.getReady()) {
        ProbeVerdict v = probes.getOrDefault(run.id(), ProbeVerdict.NONE);
        Instant since = v.readySince() != null ? v.readySince() : run.info().startedAt();
        readySince = readySince == null || (since != null && since.isAfter(readySince)) ? since : readySince;
      }
    }
    boolean ready = up && allReady; // a container being stopped is not ready
    b.setReady(ready).setPhase(!up || !anyRunning ? "Pending" : allStopping ? "Terminating" : "Running");
    if (ready && readySince != null) {
      b.setReadySinceMillis(readySince.toEpochMilli());
    }
    if (started != null) {
      b.setStartedAtMillis(started.toEpochMilli());
    }
    if (!up) {
      Optional<Failures.Failure> f = failures.get(Failures.key(d.key(), "POD"));
      if (f.isPresent()) {
        b.setReason(f.get().reason()).setMessage(clip(f.get().reason() + ": " + f.get().message()));
      }
    }
    return b.build();
  }

  /** The run to report: the latest in the current sandbox, else the latest at all (its last state). */
  private static OwnedContainer run(List<OwnedContainer> current, String name, String role, int attempt) {
    OwnedContainer inSandbox = attempt < 0 ? null : PodPlanner.latest(current, name, role, attempt);
    return inSandbox != null ? inSandbox : PodPlanner.latest(current, name, role, -1);
  }

  /** @param alone the pod is this container alone, without a sandbox */
  private static ContainerStatus container(DesiredPod d, Container c, OwnedContainer run, boolean alone, OwnedContainer sandbox,
      List<PodPlanner.Action> plan, Map<String, ProbeVerdict> probes, Failures failures, boolean init, Predicate<OwnedContainer> stopping) {
    ContainerStatus.Builder cs = ContainerStatus.newBuilder().setName(c.name()).setImage(c.image()).setInit(init);
    Optional<PodPlanner.Wait> wait = plan.stream().filter(a -> a instanceof PodPlanner.Wait w && w.container().equals(c.name()))
        .map(a -> (PodPlanner.Wait) a).findFirst();
    if (run != null) {
      cs.setContainerId(run.id()).setRestartCount(run.restarts());
      if (run.info().startedAt() != null) {
        cs.setStartedAtMillis(run.info().startedAt().toEpochMilli());
      }
      if (run.running() && (alone || sandbox != null && run.attempt() == sandbox.attempt())) {
        ProbeVerdict v = probes.getOrDefault(run.id(), ProbeVerdict.NONE);
        boolean ready = v.ready() != null ? v.ready() : v.started() && (run.info().health() == null || run.info().health().equals("healthy"));
        return cs.setState("running").setReady(!init && ready && !stopping.test(run)).build();
      }
      cs.setExitCode(run.info().exitCode());
      if (run.info().finishedAt() != null) {
        cs.setFinishedAtMillis(run.info().finishedAt().toEpochMilli());
      }
    }
    if (wait.isPresent()) {
      return cs.setState("waiting").setReason(wait.get().reason()).setMessage(clip(wait.get().message())).build();
    }
    // a failure recorded after the plan was made (the pod's work ran meanwhile)
    Optional<Failures.Failure> failed = failures.get(Failures.key(d.key(), c.name()));
    if (failed.isPresent() && (run == null || !run.running())) {
      return cs.setState("waiting").setReason(failed.get().waitingReason()).setMessage(clip(failed.get().message())).build();
    }
    if (run == null || run.running()) {
      String reason = init && sandbox != null ? "PodInitializing" : "ContainerCreating";
      return cs.setState("waiting").setReason(reason).build();
    }
    if (run.startToCome()) {
      // created, its start still to come (a report can be made between the two): no failure
      return cs.setState("waiting").setReason("ContainerCreating").build();
    }
    if (run.neverStarted()) {
      return cs.setState("waiting").setReason("RunContainerError").setMessage(clip(String.valueOf(run.info().error()))).build();
    }
    return cs.setState("terminated").setReason(endReason(run)).build();
  }

  /**
   * Why a run ended, as the kubelet reports it: {@code OOMKilled} when the kernel's OOM killer killed a process of it (until
   * 2026-12-08 reported {@code Error}, its exit code 137 the only hint), else {@code Completed} for exit code 0, {@code Error}.
   */
  static String endReason(OwnedContainer run) {
    return endReason(run.info());
  }

  static String endReason(io.dsfleet.agent.runtime.ContainerInfo run) {
    return run.oomKilled() ? "OOMKilled" : run.exitCode() == 0 ? "Completed" : "Error";
  }
}
