package io.dsfleet.agent.reconcile;

import io.dsfleet.agent.metrics.AgentCounters;
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
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Carries out the planner's actions: the only part of the reconciler that touches the container
 * runtime and the host's file system. A failure is recorded in {@link Failures} under its key with
 * Kubernetes' reason, and the pod's work stops there until its back-off has passed.
 */
public final class Executor {
  private static final Logger log = LoggerFactory.getLogger(Executor.class);

  private final String hostIp;
  private final ContainerRuntime runtime;
  private final Volumes volumes;
  private final Path seccompDir;
  private final Failures failures;
  private final Clock clock;
  private final ExecutorService stoppers;
  private final Function<OwnedContainer, PodTemplateSpec> templates;
  private final Random random;
  /** By pod key, the configs digest its volumes were last written from. */
  final Map<String, String> volumesWritten = new ConcurrentHashMap<>();
  /** The pods' directories: fresh for a new template, moved to the trash and removed. */
  final PodDirs dirs;

  /**
   * The stops under way or ended lately, by container ID: a second stop of a container waits for
   * the one under way, and one asked within {@link #STOPPED_FOR} of its end, of the same run of the
   * container, does nothing (its caller listed the container before that stop ended: its preStop
   * hook is not run again). A stop that failed is tried again by whoever asks next.
   */
  private final Map<String, Stop> stops = new ConcurrentHashMap<>();

  static final Duration STOPPED_FOR = Duration.ofMinutes(1);

  /**
   * One container's stop, of the run that started at {@code startedAt} (a container started again
   * behind the agent's back is stopped again): done, true if it stopped, once it ended at
   * {@code endedNanos} ({@link System#nanoTime}).
   */
  private static final class Stop {
    final Instant startedAt;
    final CompletableFuture<Boolean> done = new CompletableFuture<>();
    volatile long endedNanos;

    Stop(Instant startedAt) {
      this.startedAt = startedAt;
    }

    /** Whether a stop of the run that started at {@code started} is this one's to do (under way, or ended lately and well). */
    boolean covers(Instant started) {
      if (!done.isDone()) {
        return true;
      }
      return Boolean.TRUE.equals(done.getNow(false)) && java.util.Objects.equals(startedAt, started)
          && System.nanoTime() - endedNanos < STOPPED_FOR.toNanos();
    }
  }

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
    this.stoppers = stoppers;
    this.templates = templates;
    this.random = random;
    this.dirs = new PodDirs(volumes, failures, clock, random, volumesWritten);
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
        ok = startSandbox(pod, s.attempt(), wanted);
      } else if (a instanceof PodPlanner.Start s) {
        ok = start(pod, observed, s, wanted);
      } else if (a instanceof PodPlanner.SyncVolumes) {
        ok = syncVolumes(pod);
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

  /** Stops containers: all but sandboxes in parallel (each with its preStop hook and grace), then the sandboxes. */
  public void kill(List<PodPlanner.Kill> kills) {
    List<CompletableFuture<Void>> stops = new ArrayList<>();
    for (PodPlanner.Kill k : kills) {
      if (!k.container().isSandbox()) {
        stops.add(CompletableFuture.runAsync(() -> stop(k), stoppers));
      }
    }
    try {
      CompletableFuture.allOf(stops.toArray(CompletableFuture[]::new)).join();
    } catch (CompletionException e) {
      if (e.getCause() instanceof RuntimeUnavailableException r) {
        throw r;
      }
      log.warn("stopping containers: {}", e.getCause().toString());
    }
    kills.stream().filter(k -> k.container().isSandbox()).forEach(this::stop);
  }

  /**
   * preStop hook, then SIGTERM, the rest of the grace period, SIGKILL; once per run of a container
   * however many ask (a worker replacing it, a teardown, the node's removal): a second stop waits
   * for the one under way, or does nothing if that one ended lately and well ({@link #stops}).
   */
  private void stop(PodPlanner.Kill k) {
    String id = k.container().id();
    Instant started = k.container().info().startedAt();
    for (int tries = 0; tries < 2; tries++) { // a stop under way that fails is tried again here, once
      Stop mine = new Stop(started);
      Stop earlier = stops.compute(id, (key, s) -> s != null && s.covers(started) ? s : mine);
      if (earlier == mine) {
        stopAs(mine, k);
        return;
      }
      try {
        if (earlier.done.get()) {
          return;
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      } catch (java.util.concurrent.ExecutionException e) {
        throw new IllegalStateException(e); // never: a stop's end is always a value
      }
    }
  }

  private void stopAs(Stop mine, PodPlanner.Kill k) {
    if (stops.size() > 256) {
      stops.values().removeIf(s -> s != mine && s.done.isDone() && System.nanoTime() - s.endedNanos > STOPPED_FOR.toNanos());
    }
    boolean stopped = false;
    try {
      stopNow(k);
      stopped = true;
    } finally {
      mine.endedNanos = System.nanoTime();
      mine.done.complete(stopped);
    }
  }

  private void stopNow(PodPlanner.Kill k) {
    OwnedContainer c = k.container();
    log.info("pod {}: stopping {}: {}", c.podKey(), c.container(), k.why());
    Instant start = clock.instant();
    PodTemplateSpec t = Labels.APP.equals(c.role()) ? templates.apply(c) : null;
    Container spec = t == null ? null : t.spec().containers().stream().filter(x -> x.name().equals(c.container())).findFirst().orElse(null);
    if (spec != null && spec.lifecycle() != null && spec.lifecycle().preStop() != null && !k.grace().isZero()) {
      try {
        var r = runtime.exec(c.id(), spec.lifecycle().preStop().exec().command(), k.grace());
        if (r.exitCode() != 0) {
          log.warn("pod {}: preStop hook of {} exited {}", c.podKey(), c.container(), r.exitCode());
        }
      } catch (RuntimeUnavailableException e) {
        throw e;
      } catch (RuntimeException e) { // as the kubelet: a hook that could not run is logged, the stop goes on
        log.warn("pod {}: preStop hook of {} could not run: {}", c.podKey(), c.container(), message(e));
      }
    }
    Duration spent = Duration.between(start, clock.instant());
    // a wall clock stepped back during the hook gives no more than the grace period
    Duration left = spent.isNegative() ? k.grace() : k.grace().minus(spent);
    // as the kubelet: a container gets at least 2 s between SIGTERM and SIGKILL, however little its grace
    // period left (0, or used up by its preStop hook); a sandbox, which runs nothing, none
    Duration floor = c.isSandbox() ? Duration.ZERO : MIN_STOP_GRACE;
    runtime.stop(c.id(), left.compareTo(floor) < 0 ? floor : left);
  }

  /** The kubelet's minimumGracePeriodInSeconds: the shortest time a container is given between SIGTERM and SIGKILL. */
  static final Duration MIN_STOP_GRACE = Duration.ofSeconds(2);

  private boolean startSandbox(DesiredPod pod, int attempt, BooleanSupplier wanted) {
    String key = Failures.key(pod.key(), "POD");
    try {
      prepareVolumes(pod);
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
      ImageInfo image = image(pod, c, alone && !hostNetwork);
      if (!wanted.getAsBoolean()) {
        return false; // dropped while its image was pulled
      }
      String podIp = hostNetwork ? hostIp : sandbox == null ? null : sandbox.info().ip();
      var sources = prepareVolumes(pod);
      List<ContainerSpec.Mount> mounts = volumes.mounts(pod.ctx(), c, sources);
      String seccomp = seccomp(pod, c);
      String sandboxId = sandbox == null ? null : sandbox.id();
      id = create(n -> PodRenderer.container(pod.ctx(), c, s.role(), s.restarts(), s.streak(), sandboxId, s.attempt(), image.id(),
          podIp, mounts, image.user(), seccomp, n, image.healthFloor()));
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
      AgentCounters.RESTARTS.labelValues(last != null && last.neverStarted() ? "ContainerCannotRun"
          : last != null && last.info().exitCode() == 0 ? "Completed" : "Error").inc();
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
          runtime.stop(id, pod.grace().compareTo(MIN_STOP_GRACE) < 0 ? MIN_STOP_GRACE : pod.grace());
        } else if (started.get().running()) { // an app that died is not stopped again
          stop(new PodPlanner.Kill(started.get(), pod.grace(), "postStart hook failed"));
        }
        return false;
      }
    }
    return true;
  }

  private boolean syncVolumes(DesiredPod pod) {
    try {
      dirs.freshForANewTemplate(pod); // a new template's Secret never lands in the old one's emptyDir, on disk
      volumes.refresh(pod.ctx(), pod.template().spec());
      volumesWritten.put(pod.key(), pod.configs());
      return true;
    } catch (PodConfigError e) {
      log.warn("pod {}: volumes not updated: {}", pod.key(), e.getMessage());
      volumesWritten.put(pod.key(), pod.configs()); // tried; a container start reports it
      return true;
    }
  }

  /**
   * The image, pulled as its policy says; refused when it carries the agent's ownership labels, or
   * more than the node's container lists can carry ({@code listsPorts}: whether its container will
   * list the ports the image exposes, {@link ImageInfo#portAndVolumeBytes}).
   */
  private ImageInfo image(DesiredPod pod, Container c, boolean listsPorts) {
    String policy = c.imagePullPolicy() == null ? "IfNotPresent" : c.imagePullPolicy();
    var present = runtime.inspectImage(c.image());
    if (policy.equals("Never") && present.isEmpty()) {
      throw new PodConfigError("ErrImageNeverPull", "image " + c.image() + " is not present and imagePullPolicy is Never");
    }
    boolean pulled = policy.equals("Always") || present.isEmpty();
    if (pulled) {
      try {
        runtime.pull(c.image(), PullSecrets.auth(pod.ctx(), pod.template().spec(), c.image()));
      } catch (RuntimeUnavailableException e) {
        throw e;
      } catch (RuntimeException e) {
        if (present.isEmpty()) {
          throw new PodConfigError("ErrImagePull", "pulling " + c.image() + ": " + message(e));
        }
        log.warn("pod {}: pull of {} failed, using the local image: {}", pod.key(), c.image(), message(e));
      }
    }
    // looked at again only after a pull (which may have moved the tag): one inspect for an image already here
    ImageInfo image = (pulled ? runtime.inspectImage(c.image()) : present)
        .orElseThrow(() -> new PodConfigError("ErrImagePull", "image " + c.image() + " is not present after its pull"));
    if (image.labelBytes() > ImageInfo.MAX_LABEL_BYTES) {
      throw new PodConfigError("CreateContainerError", "image " + c.image() + " carries " + image.labelBytes() + " bytes of labels; the"
          + " agent runs images with at most " + ImageInfo.MAX_LABEL_BYTES + " (each list and event of its containers carries them all)");
    }
    if (image.settingsBytes() > ImageInfo.MAX_SETTINGS_BYTES) {
      throw new PodConfigError("CreateContainerError", "image " + c.image() + " carries " + image.settingsBytes() + " bytes of"
          + " environment, command, entrypoint, health check, working directory and user; the agent runs images with at most "
          + ImageInfo.MAX_SETTINGS_BYTES
          + " (each inspect of its containers carries them all)");
    }
    long command = image.inheritedCommandBytes(c.command() != null && !c.command().isEmpty(), c.args() != null && !c.args().isEmpty());
    if (command > ImageInfo.MAX_COMMAND_BYTES) {
      throw new PodConfigError("CreateContainerError", "image " + c.image() + " carries " + command + " bytes of command and entrypoint"
          + " the container would take over; the agent runs images with at most " + ImageInfo.MAX_COMMAND_BYTES
          + " (each list of the node's containers carries every container's command line; give the container a command of its own)");
    }
    long listed = image.portAndVolumeBytes(listsPorts);
    if (listed > ImageInfo.MAX_PORTS_AND_VOLUMES_BYTES) {
      throw new PodConfigError("CreateContainerError", "image " + c.image() + " exposes " + image.exposedPorts() + " ports and declares "
          + "volumes of " + image.volumeBytes() + " bytes, about " + listed + " bytes in every list line of its containers"
          + (listsPorts ? " off the host's network" : "") + "; the agent runs images with at most " + ImageInfo.MAX_PORTS_AND_VOLUMES_BYTES
          + (listsPorts ? " (on the host's network, or in a pod of more than one container, its container lists no ports)" : ""));
    }
    if (image.hasOwnershipLabels()) {
      throw new PodConfigError("CreateContainerError", "image " + c.image() + " carries dsfleet's ownership labels (io.dsfleet.*): its"
          + " containers would pass for the agent's own, so the agent refuses to run it");
    }
    return image;
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
      stops.remove(c.id());
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
  private Map<String, Volumes.Source> prepareVolumes(DesiredPod pod) {
    dirs.freshForANewTemplate(pod);
    var sources = volumes.prepare(pod.ctx(), pod.template().spec());
    volumesWritten.put(pod.key(), pod.configs());
    return sources;
  }

  private Failures.Failure failed(String key, String reason, String message) {
    return failures.failed(key, reason, message, clock.instant(), log);
  }

  private static String message(Throwable e) {
    String m = e.getMessage() == null ? e.toString() : e.getMessage();
    return m.strip();
  }
}
