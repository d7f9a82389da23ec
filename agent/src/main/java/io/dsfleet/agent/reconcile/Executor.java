package io.dsfleet.agent.reconcile;

import io.dsfleet.agent.metrics.AgentCounters;
import io.dsfleet.agent.pod.Executable;
import io.dsfleet.agent.pod.PodConfigError;
import io.dsfleet.agent.pod.PodRenderer;
import io.dsfleet.agent.pod.SeccompProfiles;
import io.dsfleet.agent.pod.Volumes;
import io.dsfleet.agent.runtime.ContainerRuntime;
import io.dsfleet.agent.runtime.ContainerSpec;
import io.dsfleet.agent.runtime.ImageInfo;
import io.dsfleet.agent.runtime.Labels;
import io.dsfleet.agent.runtime.NameConflictException;
import io.dsfleet.agent.runtime.OwnedContainer;
import io.dsfleet.agent.runtime.RuntimeUnavailableException;
import io.dsfleet.common.model.Container;
import io.dsfleet.common.model.PodTemplateSpec;
import io.dsfleet.common.model.SeccompProfile;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Carries out the planner's actions: the only part of the reconciler that touches the container
 * runtime and the host's file system (the stops through {@link ContainerStops}, the images through
 * {@link ImagePolicy}, the pods' directories through {@link PodDirs}). A failure is recorded in
 * {@link Failures} under its key with Kubernetes' reason, and the pod's work stops there until its
 * back-off has passed.
 */
public final class Executor {
  private static final Logger log = LoggerFactory.getLogger(Executor.class);

  private final String hostIp;
  private final ContainerRuntime runtime;
  private final Volumes volumes;
  private final Path seccompDir;
  private final Failures failures;
  private final Clock clock;
  private final Random random;
  private final ContainerStops stops;
  private final ImagePolicy images;
  /** By pod key, the configs digest its volumes were last written from. */
  final Map<String, String> volumesWritten = new ConcurrentHashMap<>();
  /** The pods' directories: fresh for a new template, moved to the trash and removed. */
  final PodDirs dirs;

  /**
   * @param stoppers runs the stops of one pod in parallel (each up to its grace period)
   * @param templates the template a container is of, of those seen (Templates#get): a pod replaced or no longer desired still gets its
   *     preStop hooks
   */
  public Executor(String hostIp, ContainerRuntime runtime, Volumes volumes, Path seccompDir, Failures failures, Clock clock,
      ExecutorService stoppers, Function<OwnedContainer, PodTemplateSpec> templates, Random random) {
    this.hostIp = hostIp;
    this.runtime = runtime;
    this.volumes = volumes;
    this.seccompDir = seccompDir;
    this.failures = failures;
    this.clock = clock;
    this.random = random;
    this.dirs = new PodDirs(volumes, failures, clock, random, volumesWritten);
    this.stops = new ContainerStops(runtime, failures, clock, stoppers, templates);
    this.images = new ImagePolicy(runtime);
  }

  /**
   * Runs one pod's actions in order; false when one failed (recorded) or the pod must be looked at
   * again first, which includes the pod no longer {@code wanted} (asked before each action that
   * makes or changes something, between an image's pull and its container's create, and before a
   * failure is recorded: a replaced template's back-off is not the new one's).
   */
  public boolean run(DesiredPod pod, List<OwnedContainer> observed, List<PodPlanner.Action> actions, BooleanSupplier wanted) {
    List<PodPlanner.Kill> kills = new ArrayList<>();
    for (PodPlanner.Action a : actions) {
      if (a instanceof PodPlanner.Kill k) {
        kills.add(k);
        continue;
      }
      if (!kills.isEmpty() && !wanted.getAsBoolean()) {
        return false; // whoever dropped the pod stops it (the next pass, the node's removal)
      }
      kill(kills);
      kills.clear();
      if (!(a instanceof PodPlanner.Wait) && !wanted.getAsBoolean()) {
        return false;
      }
      boolean ok = true; // Wait: nothing to do
      if (a instanceof PodPlanner.StartSandbox s) {
        ok = startSandbox(pod, observed, s.attempt(), wanted);
      } else if (a instanceof PodPlanner.Start s) {
        ok = start(pod, observed, s, wanted);
      } else if (a instanceof PodPlanner.SyncVolumes) {
        ok = syncVolumes(pod, observed);
      }
      if (!ok) {
        return false;
      }
    }
    if (!kills.isEmpty() && !wanted.getAsBoolean()) {
      return false;
    }
    kill(kills);
    return true;
  }

  /** Stops containers: all but sandboxes in parallel (each with its preStop hook and grace), then the sandboxes ({@link ContainerStops}). */
  public void kill(List<PodPlanner.Kill> kills) {
    stops.kill(kills);
  }

  /** Whether this run of the container is being stopped, or was lately ({@link ContainerStops#stopping}). */
  boolean stopping(OwnedContainer c) {
    return stops.stopping(c);
  }

  private boolean startSandbox(DesiredPod pod, List<OwnedContainer> observed, int attempt, BooleanSupplier wanted) {
    String key = Failures.key(pod.key(), "POD");
    try {
      prepareVolumes(pod, observed);
      String image = runtime.ensureSandboxImage();
      String id = create(n -> PodRenderer.sandbox(pod.ctx(), image, attempt, n));
      if (!keepIfWanted(pod, id, wanted)) {
        return false;
      }
      runtime.start(id);
      failures.succeeded(key);
      if (attempt > 0 && wanted.getAsBoolean()) {
        // made again: the next time must wait (10 s, doubling), so a sandbox that keeps dying cannot spin
        failures.failed(Failures.sandboxRestartKey(pod.key()), "SandboxChanged", "pod sandbox made again", clock.instant());
      }
      log.info("pod {}: sandbox {} started", pod.key(), attempt);
      return true;
    } catch (PodConfigError e) {
      if (wanted.getAsBoolean()) { // a template replaced meanwhile starts without this one's back-off
        failed(key, e.reason(), e.getMessage());
      }
    } catch (RuntimeUnavailableException e) {
      throw e;
    } catch (RuntimeException e) {
      if (wanted.getAsBoolean()) {
        failed(key, "CreatePodSandboxError", message(e));
      }
    }
    return false;
  }

  private boolean start(DesiredPod pod, List<OwnedContainer> observed, PodPlanner.Start s, BooleanSupplier wanted) {
    String key = Failures.key(pod.key(), s.name());
    List<Container> list = Labels.INIT.equals(s.role()) ? PodPlanner.list(pod.template().spec().initContainers()) : pod.template().spec().containers();
    Container c = list.stream().filter(x -> x.name().equals(s.name())).findFirst().orElseThrow();
    boolean hostNetwork = Boolean.TRUE.equals(pod.template().spec().hostNetwork());
    // as the planner decided: alone, or in the sandbox of this attempt (on the bridge maybe one an older agent made)
    boolean alone = PodPlanner.alone(pod, observed.stream().filter(pod::runs).toList());
    OwnedContainer sandbox = alone ? null
        : observed.stream().filter(x -> x.isSandbox() && x.running() && x.attempt() == s.attempt() && pod.runs(x))
            .findFirst().orElse(null);
    if (sandbox == null && !alone) {
      return false; // gone meanwhile: the next look decides again
    }
    String id;
    try {
      ImageInfo image = images.get(pod, c, alone && !hostNetwork);
      if (!wanted.getAsBoolean()) {
        return false; // dropped while its image was pulled
      }
      String podIp = hostNetwork ? hostIp : sandbox == null ? null : sandbox.info().ip();
      var sources = prepareVolumes(pod, observed);
      List<ContainerSpec.Mount> mounts = volumes.mounts(pod.ctx(), c, sources);
      String seccomp = seccomp(pod, c);
      String sandboxId = sandbox == null ? null : sandbox.id();
      id = create(n -> Executable.checked(PodRenderer.container(pod.ctx(), c, s.role(), s.restarts(), s.streak(),
          sandboxId, s.attempt(), image.id(), podIp, mounts, image.user(), seccomp, n, image.healthFloor()), image));
    } catch (PodConfigError e) {
      if (wanted.getAsBoolean()) { // a template replaced meanwhile starts without this one's back-off
        failed(key, e.reason(), e.getMessage());
      }
      return false;
    } catch (RuntimeUnavailableException e) {
      throw e;
    } catch (RuntimeException e) {
      if (wanted.getAsBoolean()) {
        failed(key, "CreateContainerError", message(e));
      }
      return false;
    }
    failures.succeeded(key);
    if (!keepIfWanted(pod, id, wanted)) {
      return false;
    }
    try {
      runtime.start(id);
    } catch (RuntimeUnavailableException e) {
      throw e;
    } catch (RuntimeException e) {
      // the container stays, never started: the planner times its retry from it (RunContainerError)
      log.warn("pod {}: {} did not start: {}", pod.key(), c.name(), message(e));
      return false;
    }
    log.info("pod {}: started {} (run {})", pod.key(), c.name(), s.restarts());
    if (s.restarts() > 0) {
      OwnedContainer last = PodPlanner.latest(observed, s.name(), s.role(), -1);
      AgentCounters.RESTARTS.labelValues(last == null ? "Error" : last.neverStarted() ? "ContainerCannotRun" : StatusBuilder.endReason(last)).inc();
    }
    if (c.lifecycle() != null && c.lifecycle().postStart() != null) {
      var r = runtime.exec(id, c.lifecycle().postStart().exec().command(), Duration.ofSeconds(30));
      if (r.exitCode() != 0) {
        log.warn("pod {}: postStart hook of {} failed (exit {}); killing the container", pod.key(), c.name(), r.exitCode());
        if (wanted.getAsBoolean()) { // a template replaced meanwhile starts without this one's back-off
          failed(key, "FailedPostStartHook", "postStart hook exited " + r.exitCode() + ": " + r.output().strip());
        }
        // as the kubelet kills it: its preStop hook, then the stop within the pod's grace period, once
        java.util.Optional<OwnedContainer> started;
        try {
          started = runtime.listOwned(pod.ctx().node(), Map.of(Labels.POD, pod.name())).stream().filter(x -> x.id().equals(id))
              .findFirst().flatMap(x -> OwnedContainer.of(x, pod.ctx().node(), new StringBuilder()));
        } catch (RuntimeUnavailableException e) {
          throw e;
        } catch (RuntimeException e) {
          started = java.util.Optional.empty();
        }
        if (started.isEmpty()) { // not found as it was listed: stopped without its hook
          runtime.stop(id, pod.grace().compareTo(ContainerStops.MIN_STOP_GRACE) < 0 ? ContainerStops.MIN_STOP_GRACE : pod.grace());
        } else if (started.get().running()) { // an app that died is not stopped again
          stops.stop(new PodPlanner.Kill(started.get(), pod.grace(), "postStart hook failed"));
        }
        return false;
      }
    }
    return true;
  }

  private boolean syncVolumes(DesiredPod pod, List<OwnedContainer> observed) {
    try {
      dirs.freshForANewTemplate(pod, observed); // a new template's Secret never lands in the old one's emptyDir, on disk
      volumes.refresh(pod.ctx(), pod.template().spec());
      volumesWritten.put(pod.key(), pod.configs());
      failures.succeeded(PodPlanner.volumesKey(pod.key()));
      return true;
    } catch (PodConfigError e) { // not written: again after its back-off (a full disk frees up), not taken for done
      failed(PodPlanner.volumesKey(pod.key()), e.reason(), "volumes not updated: " + e.getMessage());
      return true;
    }
  }

  private String seccomp(DesiredPod pod, Container c) {
    SeccompProfile p = c.securityContext() != null && c.securityContext().seccompProfile() != null ? c.securityContext().seccompProfile()
        : pod.template().spec().securityContext() == null ? null : pod.template().spec().securityContext().seccompProfile();
    boolean privileged = c.securityContext() != null && Boolean.TRUE.equals(c.securityContext().privileged());
    return p != null && !privileged && "Localhost".equals(p.type()) ? SeccompProfiles.read(seccompDir, p.localhostProfile()) : null;
  }

  /**
   * Whether the container just created is kept, still wanted (to be started); one that is not (its pod
   * dropped while Docker created it: the node leaving, a new template) is removed at once, never
   * started, so no pass finds it as a container that could not run.
   */
  private boolean keepIfWanted(DesiredPod pod, String id, BooleanSupplier wanted) {
    if (wanted.getAsBoolean()) {
      return true;
    }
    log.info("pod {}: no longer wanted as its container was created; removing it, never started", pod.key());
    try {
      runtime.remove(id, true);
    } catch (RuntimeUnavailableException e) {
      throw e;
    } catch (RuntimeException e) {
      log.warn("pod {}: cannot remove the container created for it: {} (garbage collection retries)", pod.key(), message(e));
    }
    return false;
  }

  /**
   * Creates a container under a fresh name; a name someone else holds is never taken from them. A
   * container whose labels would not pass for the agent's own is not created at all (it would be
   * disowned at once and made again and again).
   */
  private String create(Function<String, ContainerSpec> spec) {
    NameConflictException last = null;
    for (int i = 0; i < 3; i++) {
      ContainerSpec s = spec.apply(HexFormat.of().toHexDigits(random.nextInt()).substring(2));
      String bad = OwnedContainer.check(s.labels(), s.labels().get(Labels.NODE));
      if (bad != null) {
        throw new PodConfigError("CreateContainerError", "the agent would not recognise this container as its own (" + bad + ")");
      }
      try {
        return runtime.create(s);
      } catch (NameConflictException e) {
        last = e;
      }
    }
    throw last;
  }

  /**
   * Garbage collection of one stopped container; a runtime that refuses is retried after its
   * back-off, and never blocks anything else.
   *
   * @param force also when it runs (leaving the fleet); else a container that runs again is kept
   * @return whether it was removed (false: refused, its back-off recorded)
   */
  public boolean remove(OwnedContainer c, boolean force) {
    String key = "gc/" + c.id();
    try {
      runtime.remove(c.id(), force);
      stops.forget(c.id());
      failures.succeeded(key);
      return true;
    } catch (RuntimeUnavailableException e) {
      throw e;
    } catch (RuntimeException e) {
      Failures.Failure f = failed(key, "RemoveFailed", message(e));
      log.warn("pod {}: cannot remove stopped container {} ({} tries; again in {} s): {}", c.podKey(), c.info().name(), f.count(),
          Duration.between(f.at(), f.retryAt()).toSeconds(), f.message());
      return false;
    }
  }

  /** The pod's volumes made or brought up to date, fresh for a new template; what they are, by name. */
  private Map<String, Volumes.Source> prepareVolumes(DesiredPod pod, List<OwnedContainer> observed) {
    dirs.freshForANewTemplate(pod, observed);
    var sources = volumes.prepare(pod.ctx(), pod.template().spec());
    volumesWritten.put(pod.key(), pod.configs());
    return sources;
  }

  private Failures.Failure failed(String key, String reason, String message) {
    return failures.failed(key, reason, message, clock.instant(), log);
  }

  /** A failure's text as the log and a pod's status say it (also {@link ContainerStops}' and {@link ImagePolicy}'s). */
  static String message(Throwable e) {
    String m = e.getMessage() == null ? e.toString() : e.getMessage();
    return m.strip();
  }
}
