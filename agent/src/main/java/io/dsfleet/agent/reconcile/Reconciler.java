package io.dsfleet.agent.reconcile;

import io.dsfleet.agent.pod.PodConfigError;
import io.dsfleet.agent.pod.PodContext;
import io.dsfleet.agent.pod.PodRenderer;
import io.dsfleet.agent.pod.Volumes;
import io.dsfleet.agent.runtime.ContainerInfo;
import io.dsfleet.agent.runtime.ContainerRuntime;
import io.dsfleet.agent.runtime.ContainerSpec;
import io.dsfleet.agent.runtime.Labels;
import io.dsfleet.agent.runtime.RuntimeUnavailableException;
import io.dsfleet.common.Json;
import io.dsfleet.common.model.Container;
import io.dsfleet.common.model.PodTemplateSpec;
import io.dsfleet.common.model.Probe;
import io.dsfleet.proto.v1.ConfigObject;
import io.dsfleet.proto.v1.ContainerStatus;
import io.dsfleet.proto.v1.DesiredPod;
import io.dsfleet.proto.v1.DesiredState;
import io.dsfleet.proto.v1.PodStatus;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes the node's containers match its desired pods.
 *
 * <p>Each {@link #tick()} lists the owned containers once, then per desired pod hands the pod to a
 * worker unless one is already busy with it (so a slow stop or pull of one pod never blocks
 * another, and no action is done twice), runs due probes, removes owned pods nobody wants, and
 * reports pod status when it changed. A worker repeats decide-and-act for its pod until only
 * waiting is left. Containers without the agent's ownership labels are never listed, so never
 * touched.
 */
public final class Reconciler {
  private static final Logger log = LoggerFactory.getLogger(Reconciler.class);
  private static final int MAX_STEPS = 20;

  private final String node;
  private final String hostIp;
  private final ContainerRuntime runtime;
  private final Clock clock;
  private final Path podsDir;
  private final Path seccompDir;
  private final ExecutorService workers;
  private final ExecutorService probeWorkers;
  private final Prober prober;
  private final Consumer<List<PodStatus>> reporter;

  private volatile Map<String, Entry> desired = Map.of();
  /** Pods released by an orphan delete: never touched, never reported (unless desired again). */
  private volatile Set<String> orphans = Set.of();
  private final Set<String> busy = ConcurrentHashMap.newKeySet();
  private final Map<String, Map<String, ProbeState>> probes = new ConcurrentHashMap<>();
  private final Set<String> probing = ConcurrentHashMap.newKeySet();
  /** Why a container is waiting (config error, pull error), by "pod/container". */
  private final Map<String, String[]> waiting = new ConcurrentHashMap<>();
  private final Map<String, Instant> readySince = new ConcurrentHashMap<>();
  private volatile List<PodStatus> lastReport;
  /** Templates seen, by hash: a pod removed because it is no longer desired still gets its preStop hooks and grace. */
  private final Map<String, PodTemplateSpec> templatesByHash = new ConcurrentHashMap<>();
  private volatile boolean runtimeDown;
  private volatile Runnable wake = () -> { };

  /** A desired pod, parsed. */
  record Entry(DesiredPod pod, PodTemplateSpec template, PodContext ctx) {}

  public Reconciler(String node, String hostIp, ContainerRuntime runtime, Clock clock, Path stateDir,
      ExecutorService workers, ExecutorService probeWorkers, Consumer<List<PodStatus>> reporter) {
    this.node = node;
    this.hostIp = hostIp;
    this.runtime = runtime;
    this.clock = clock;
    this.podsDir = stateDir.resolve("pods");
    this.seccompDir = stateDir.resolve("seccomp");
    this.workers = workers;
    this.probeWorkers = probeWorkers;
    this.prober = new Prober(runtime);
    this.reporter = reporter;
  }

  /**
   * Called when a pass is worth running at once rather than at the next tick: a new desired set
   * arrived, or a pod's work finished (so its new state is reported without waiting).
   */
  public void wakeWith(Runnable wake) {
    this.wake = wake;
  }

  /** Replaces the desired set (level-triggered: the whole set, every time). */
  public void setDesired(DesiredState state) {
    Map<String, Map<String, Map<String, byte[]>>> cms = new HashMap<>();
    Map<String, Map<String, Map<String, byte[]>>> secrets = new HashMap<>();
    Map<String, Map<String, String>> secretTypes = new HashMap<>();
    for (ConfigObject c : state.getConfigsList()) {
      Map<String, byte[]> data = new HashMap<>();
      c.getDataMap().forEach((k, v) -> data.put(k, v.toByteArray()));
      if (c.getKind() == ConfigObject.Kind.SECRET) {
        secrets.computeIfAbsent(c.getNamespace(), x -> new HashMap<>()).put(c.getName(), data);
        secretTypes.computeIfAbsent(c.getNamespace(), x -> new HashMap<>()).put(c.getName(), c.getType());
      } else {
        cms.computeIfAbsent(c.getNamespace(), x -> new HashMap<>()).put(c.getName(), data);
      }
    }
    Map<String, Entry> next = new HashMap<>();
    for (DesiredPod p : state.getPodsList()) {
      Entry old = desired.get(p.getPodName());
      PodTemplateSpec template;
      if (!p.getTemplateJson().isEmpty()) {
        template = old != null && old.pod().getTemplateHash().equals(p.getTemplateHash())
            ? old.template() : Json.read(p.getTemplateJson().toStringUtf8(), PodTemplateSpec.class);
      } else if (old != null) {
        template = old.template(); // keep running what runs (misscheduled pod of a pruned revision)
      } else {
        log.warn("pod {} sent without a template and not running here; skipped", p.getPodName());
        continue;
      }
      templatesByHash.put(p.getTemplateHash(), template);
      PodContext ctx = new PodContext(node, hostIp, p.getNamespace(), p.getDaemonSet(), p.getPodName(), p.getTemplateHash(),
          template, cms.getOrDefault(p.getNamespace(), Map.of()), secrets.getOrDefault(p.getNamespace(), Map.of()),
          secretTypes.getOrDefault(p.getNamespace(), Map.of()), podsDir.resolve(p.getNamespace() + "_" + p.getPodName()));
      next.put(p.getPodName(), new Entry(p, template, ctx));
    }
    desired = Map.copyOf(next);
    wake.run();
  }

  public void setOrphans(Set<String> pods) {
    orphans = Set.copyOf(pods);
  }

  public Set<String> desiredPods() {
    return desired.keySet();
  }

  public boolean runtimeDown() {
    return runtimeDown;
  }

  /** One reconcile pass. Not reentrant: call from one thread. */
  public void tick() {
    List<ContainerInfo> all;
    try {
      all = runtime.listOwned(node);
      if (runtimeDown) {
        log.info("container runtime reachable again; reconciling");
      }
      runtimeDown = false;
    } catch (RuntimeUnavailableException e) {
      if (!runtimeDown) {
        log.warn("container runtime unreachable, pods keep running; retrying: {}", e.getMessage());
      }
      runtimeDown = true;
      return;
    }
    Map<String, List<ContainerInfo>> byPod = new HashMap<>();
    Map<String, Entry> want = desired;
    Set<String> released = orphans;
    for (ContainerInfo c : all) {
      String pod = c.label(Labels.POD);
      if (!released.contains(pod) || want.containsKey(pod)) {
        byPod.computeIfAbsent(pod, k -> new ArrayList<>()).add(c);
      }
    }
    Instant now = clock.instant();
    for (Entry e : want.values()) {
      List<ContainerInfo> observed = byPod.getOrDefault(e.pod().getPodName(), List.of());
      runProbes(e, observed, now);
      if (needsWork(e, observed, now)) {
        dispatch(e.pod().getPodName(), () -> sync(e));
      }
    }
    for (var p : byPod.entrySet()) {
      if (!want.containsKey(p.getKey())) {
        List<ContainerInfo> unwanted = p.getValue();
        dispatch(p.getKey(), () -> {
          Entry last = lastKnown(unwanted);
          Duration grace = last == null ? Duration.ofSeconds(30) : grace(last);
          log.info("removing pod {}: no longer desired on this node", p.getKey());
          execute(last, PodActions.teardown(unwanted, grace, "no longer desired"));
          cleanupPodDir(unwanted);
        });
      }
    }
    forgetGone(all);
    List<PodStatus> report = statuses(want, byPod, now);
    if (!report.equals(lastReport)) {
      lastReport = report;
      reporter.accept(report);
    }
  }

  /** The pod as it was last desired, for its hooks and grace period; null when this agent never saw its template. */
  private Entry lastKnown(List<ContainerInfo> containers) {
    ContainerInfo any = containers.get(0);
    PodTemplateSpec t = templatesByHash.get(any.label(Labels.HASH));
    if (t == null) {
      return null;
    }
    DesiredPod pod = DesiredPod.newBuilder().setNamespace(any.label(Labels.NAMESPACE)).setDaemonSet(any.label(Labels.DAEMON_SET))
        .setPodName(any.label(Labels.POD)).setTemplateHash(any.label(Labels.HASH)).build();
    return new Entry(pod, t, null);
  }

  private boolean needsWork(Entry e, List<ContainerInfo> observed, Instant now) {
    List<PodActions.Action> actions = PodActions.decide(e.pod().getTemplateHash(), e.template().spec(), observed, livenessFailed(observed), now);
    return actions.stream().anyMatch(a -> !(a instanceof PodActions.Wait));
  }

  private void dispatch(String pod, Runnable work) {
    if (!busy.add(pod)) {
      return;
    }
    workers.execute(() -> {
      boolean done = false;
      try {
        work.run();
        done = true;
      } catch (RuntimeUnavailableException ex) {
        log.warn("pod {}: runtime unreachable: {}", pod, ex.getMessage());
      } catch (RuntimeException ex) {
        log.error("pod {}: {}", pod, ex.toString(), ex);
      } finally {
        busy.remove(pod);
      }
      if (done) {
        wake.run(); // report the new state now; after a failure the next tick retries, never a tight loop
      }
    });
  }

  /** Decide and act for one pod until only waiting is left. */
  private void sync(Entry e) {
    for (int step = 0; step < MAX_STEPS; step++) {
      Instant now = clock.instant();
      List<ContainerInfo> observed = runtime.listOwned(node).stream()
          .filter(c -> e.pod().getPodName().equals(c.label(Labels.POD))).toList();
      List<PodActions.Action> actions = PodActions.decide(e.pod().getTemplateHash(), e.template().spec(), observed,
          livenessFailed(observed), now);
      if (actions.stream().allMatch(a -> a instanceof PodActions.Wait)) {
        return;
      }
      if (!execute(e, actions)) {
        return;
      }
    }
  }

  /** Runs actions in order; false when one failed in a way to retry at the next tick. */
  private boolean execute(Entry e, List<PodActions.Action> actions) {
    for (PodActions.Action a : actions) {
      if (a instanceof PodActions.Remove r) {
        stopWithHooks(e, r.container(), r.grace(), r.why());
        runtime.remove(r.container().id());
        probes.remove(r.container().id());
      } else if (a instanceof PodActions.Stop s) {
        log.info("pod {}: stopping {}: {}", s.container().label(Labels.POD), s.container().name(), s.why());
        stopWithHooks(e, s.container(), s.grace(), s.why());
        probes.remove(s.container().id());
      } else if (a instanceof PodActions.RunSandbox) {
        if (!runSandbox(e)) {
          return false;
        }
      } else if (a instanceof PodActions.Run run) {
        if (!run(e, run)) {
          return false;
        }
      }
    }
    return true;
  }

  private boolean runSandbox(Entry e) {
    String key = e.pod().getPodName() + "/POD";
    try {
      Volumes.prepare(e.ctx(), e.template().spec());
      String image = runtime.ensureSandboxImage();
      ContainerSpec spec = PodRenderer.sandbox(e.ctx(), image);
      String id = runtime.create(spec);
      runtime.start(id);
      waiting.remove(key);
      log.info("pod {}: sandbox started", e.pod().getPodName());
      return true;
    } catch (PodConfigError err) {
      fail(e, "POD", err.reason(), err.getMessage());
      return false;
    } catch (RuntimeUnavailableException err) {
      throw err;
    } catch (RuntimeException err) {
      fail(e, "POD", "CreatePodSandboxError", err.getMessage());
      return false;
    }
  }

  private boolean run(Entry e, PodActions.Run run) {
    Container c = container(e, run.name(), run.role());
    String key = e.pod().getPodName() + "/" + c.name();
    try {
      if (!ensureImage(e, c)) {
        return false;
      }
      ContainerInfo sandbox = runtime.listOwned(node).stream()
          .filter(x -> e.pod().getPodName().equals(x.label(Labels.POD)) && Labels.SANDBOX.equals(x.label(Labels.ROLE)))
          .findFirst().orElseThrow(() -> new PodConfigError("ContainerCreating", "pod sandbox is gone"));
      String podIp = Boolean.TRUE.equals(e.template().spec().hostNetwork()) ? hostIp : sandbox.ip();
      Map<String, Volumes.Source> volumes = Volumes.prepare(e.ctx(), e.template().spec());
      ContainerSpec spec = PodRenderer.container(e.ctx(), c, run.role(), run.restarts(), sandbox.id(), podIp, volumes,
          runtime.imageUser(c.image()), seccompDir);
      String id = runtime.create(spec);
      runtime.start(id);
      waiting.remove(key);
      log.info("pod {}: started {} (run {})", e.pod().getPodName(), c.name(), run.restarts());
      if (c.lifecycle() != null && c.lifecycle().postStart() != null) {
        var r = runtime.exec(id, c.lifecycle().postStart().exec().command(), Duration.ofSeconds(30));
        if (r.exitCode() != 0) {
          log.warn("pod {}: postStart hook of {} failed (exit {}); killing the container", e.pod().getPodName(), c.name(), r.exitCode());
          fail(e, c.name(), "FailedPostStartHook", "postStart hook exited " + r.exitCode() + ": " + r.output().strip());
          runtime.stop(id, grace(e));
        }
      }
      return true;
    } catch (PodConfigError err) {
      fail(e, c.name(), err.reason(), err.getMessage());
      return false;
    } catch (RuntimeUnavailableException err) {
      throw err;
    } catch (RuntimeException err) {
      fail(e, c.name(), "CreateContainerError", err.getMessage());
      return false;
    }
  }

  private boolean ensureImage(Entry e, Container c) {
    String policy = c.imagePullPolicy() == null ? "IfNotPresent" : c.imagePullPolicy();
    boolean present = runtime.imagePresent(c.image());
    if (policy.equals("Never") && !present) {
      fail(e, c.name(), "ErrImageNeverPull", "image " + c.image() + " is not present and imagePullPolicy is Never");
      return false;
    }
    if (policy.equals("Always") || !present) {
      try {
        runtime.pull(c.image(), PullSecrets.auth(e.ctx(), e.template().spec(), c.image()));
      } catch (RuntimeUnavailableException err) {
        throw err;
      } catch (RuntimeException err) {
        if (!present) {
          fail(e, c.name(), "ErrImagePull", "pulling " + c.image() + ": " + err.getMessage());
          return false;
        }
        log.warn("pod {}: pull of {} failed, using the local image: {}", e.pod().getPodName(), c.image(), err.getMessage());
      }
    }
    return true;
  }

  private void fail(Entry e, String container, String reason, String message) {
    String key = e.pod().getPodName() + "/" + container;
    String[] was = waiting.put(key, new String[] {reason, message});
    if (was == null || !was[1].equals(message)) {
      log.warn("pod {}: {} {}: {}", e.pod().getPodName(), container, reason, message);
    }
  }

  /** preStop hook, then SIGTERM, the rest of the grace period, SIGKILL. */
  private void stopWithHooks(Entry e, ContainerInfo c, Duration grace, String why) {
    if (!c.running()) {
      return;
    }
    Instant start = clock.instant();
    Container spec = e == null || !Labels.APP.equals(c.label(Labels.ROLE)) ? null : container(e, c.label(Labels.CONTAINER), Labels.APP);
    if (spec != null && spec.lifecycle() != null && spec.lifecycle().preStop() != null && !grace.isZero()) {
      var r = runtime.exec(c.id(), spec.lifecycle().preStop().exec().command(), grace);
      if (r.exitCode() != 0) {
        log.warn("preStop hook of {} exited {}", c.name(), r.exitCode());
      }
    }
    Duration left = grace.minus(Duration.between(start, clock.instant()));
    runtime.stop(c.id(), left.isNegative() ? Duration.ZERO : left);
  }

  private Duration grace(Entry e) {
    Long g = e.template().spec().terminationGracePeriodSeconds();
    return Duration.ofSeconds(g == null ? 30 : g);
  }

  private static Container container(Entry e, String name, String role) {
    List<Container> list = Labels.INIT.equals(role) ? e.template().spec().initContainers() : e.template().spec().containers();
    return list.stream().filter(c -> c.name().equals(name)).findFirst()
        .orElseThrow(() -> new IllegalStateException("no container " + name + " in pod " + e.pod().getPodName()));
  }

  // ---------------------------------------------------------------- probes

  private Set<String> livenessFailed(List<ContainerInfo> observed) {
    Set<String> failed = new HashSet<>();
    for (ContainerInfo c : observed) {
      Map<String, ProbeState> p = probes.get(c.id());
      if (c.running() && p != null && p.containsKey("liveness") && p.get("liveness").failed()) {
        failed.add(c.label(Labels.CONTAINER));
      }
    }
    return failed;
  }

  private void runProbes(Entry e, List<ContainerInfo> observed, Instant now) {
    for (ContainerInfo c : observed) {
      if (!c.running() || !Labels.APP.equals(c.label(Labels.ROLE)) || c.startedAt() == null) {
        continue;
      }
      Container spec = e.template().spec().containers().stream().filter(x -> x.name().equals(c.label(Labels.CONTAINER))).findFirst().orElse(null);
      if (spec == null) {
        continue;
      }
      Map<String, ProbeState> states = probes.computeIfAbsent(c.id(), id -> {
        Map<String, ProbeState> m = new ConcurrentHashMap<>();
        add(m, "startup", spec.startupProbe(), c.startedAt());
        add(m, "liveness", spec.livenessProbe(), c.startedAt());
        add(m, "readiness", spec.readinessProbe(), c.startedAt());
        return m;
      });
      ProbeState startup = states.get("startup");
      boolean started = startup == null || startup.succeeded();
      for (var s : states.entrySet()) {
        boolean gated = !s.getKey().equals("startup") && !started;
        boolean done = s.getKey().equals("startup") && started;
        if (gated || done || !s.getValue().due(now)) {
          continue;
        }
        String probeKey = c.id() + "/" + s.getKey();
        if (!probing.add(probeKey)) {
          continue;
        }
        s.getValue().started(now);
        // containers join the sandbox's network namespace, so the pod's address is the sandbox's
        String host = Boolean.TRUE.equals(e.template().spec().hostNetwork()) ? "127.0.0.1" : podIp(observed);
        probeWorkers.execute(() -> {
          try {
            Prober.Result r = prober.run(s.getValue().probe(), spec, c.id(), host);
            synchronized (s.getValue()) {
              s.getValue().record(r.ok(), r.message());
            }
            if (!r.ok()) {
              log.debug("{} probe of {} failed: {}", s.getKey(), c.name(), r.message());
            }
          } finally {
            probing.remove(probeKey);
          }
        });
      }
    }
  }

  private static String podIp(List<ContainerInfo> observed) {
    return observed.stream().filter(c -> Labels.SANDBOX.equals(c.label(Labels.ROLE)) && c.ip() != null)
        .map(ContainerInfo::ip).findFirst().orElse("127.0.0.1");
  }

  private static void add(Map<String, ProbeState> m, String kind, Probe p, Instant started) {
    if (p != null) {
      m.put(kind, new ProbeState(p, started));
    }
  }

  private void forgetGone(List<ContainerInfo> all) {
    Set<String> ids = new HashSet<>();
    all.forEach(c -> ids.add(c.id()));
    probes.keySet().removeIf(id -> !ids.contains(id));
  }

  private void cleanupPodDir(List<ContainerInfo> containers) {
    if (containers.isEmpty()) {
      return;
    }
    ContainerInfo any = containers.get(0);
    Path dir = podsDir.resolve(any.label(Labels.NAMESPACE) + "_" + any.label(Labels.POD));
    if (!dir.startsWith(podsDir) || !Files.exists(dir)) {
      return;
    }
    try (var walk = Files.walk(dir)) {
      walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      log.warn("could not remove {}: {}", dir, e.getMessage());
    }
  }

  // ---------------------------------------------------------------- status

  public List<PodStatus> lastReport() {
    List<PodStatus> r = lastReport;
    return r == null ? List.of() : r;
  }

  private List<PodStatus> statuses(Map<String, Entry> want, Map<String, List<ContainerInfo>> byPod, Instant now) {
    List<PodStatus> out = new ArrayList<>();
    for (Entry e : want.values()) {
      out.add(status(e, byPod.getOrDefault(e.pod().getPodName(), List.of()), now));
    }
    out.sort(Comparator.comparing(PodStatus::getPodName));
    return out;
  }

  private PodStatus status(Entry e, List<ContainerInfo> observed, Instant now) {
    String pod = e.pod().getPodName();
    List<ContainerInfo> current = observed.stream().filter(c -> e.pod().getTemplateHash().equals(c.label(Labels.HASH))).toList();
    ContainerInfo sandbox = current.stream().filter(c -> Labels.SANDBOX.equals(c.label(Labels.ROLE)) && c.running()).findFirst().orElse(null);
    PodStatus.Builder b = PodStatus.newBuilder().setNamespace(e.pod().getNamespace()).setDaemonSet(e.pod().getDaemonSet())
        .setPodName(pod).setTemplateHash(e.pod().getTemplateHash());
    boolean allReady = true;
    boolean anyRunning = false;
    List<Container> inits = e.template().spec().initContainers() == null ? List.of() : e.template().spec().initContainers();
    for (Container c : inits) {
      ContainerStatus cs = containerStatus(e, c, PodActions.latest(current, c.name(), Labels.INIT), sandbox, now, true);
      b.addContainers(cs);
    }
    for (Container c : e.template().spec().containers()) {
      ContainerInfo run = PodActions.latest(current, c.name(), Labels.APP);
      ContainerStatus cs = containerStatus(e, c, run, sandbox, now, false);
      b.addContainers(cs);
      allReady &= cs.getReady();
      anyRunning |= cs.getState().equals("running");
    }
    boolean ready = sandbox != null && allReady;
    if (ready) {
      Instant since = readySince.computeIfAbsent(pod, k -> current.stream().filter(c -> Labels.APP.equals(c.label(Labels.ROLE)))
          .map(ContainerInfo::startedAt).filter(java.util.Objects::nonNull).max(Comparator.naturalOrder()).orElse(now));
      b.setReadySinceMillis(since.toEpochMilli());
    } else {
      readySince.remove(pod);
    }
    b.setReady(ready).setPhase(sandbox != null && anyRunning ? "Running" : "Pending");
    if (sandbox != null && sandbox.startedAt() != null) {
      b.setStartedAtMillis(sandbox.startedAt().toEpochMilli());
    }
    String[] sandboxWait = waiting.get(pod + "/POD");
    if (sandboxWait != null && sandbox == null) {
      b.setMessage(sandboxWait[0] + ": " + sandboxWait[1]);
    }
    return b.build();
  }

  private ContainerStatus containerStatus(Entry e, Container c, ContainerInfo run, ContainerInfo sandbox, Instant now, boolean init) {
    ContainerStatus.Builder cs = ContainerStatus.newBuilder().setName(c.name()).setImage(c.image()).setInit(init);
    String[] wait = waiting.get(e.pod().getPodName() + "/" + c.name());
    if (run == null) {
      cs.setState("waiting").setReason(wait != null ? wait[0] : sandbox == null ? "ContainerCreating" : init ? "PodInitializing" : "ContainerCreating");
      if (wait != null) {
        cs.setMessage(wait[1]);
      }
      return cs.build();
    }
    cs.setContainerId(run.id()).setRestartCount(PodActions.restarts(run));
    if (run.startedAt() != null) {
      cs.setStartedAtMillis(run.startedAt().toEpochMilli());
    }
    if (run.running()) {
      Map<String, ProbeState> p = probes.getOrDefault(run.id(), Map.of());
      boolean started = !p.containsKey("startup") || p.get("startup").succeeded();
      boolean ready;
      if (p.containsKey("readiness")) {
        ready = started && p.get("readiness").succeeded();
      } else {
        ready = started && (run.health() == null || run.health().equals("healthy"));
      }
      cs.setState("running").setReady(!init && ready);
      return cs.build();
    }
    if (wait != null) {
      cs.setState("waiting").setReason(wait[0]).setMessage(wait[1]);
      return cs.build();
    }
    cs.setExitCode(run.exitCode());
    if (run.finishedAt() != null) {
      cs.setFinishedAtMillis(run.finishedAt().toEpochMilli());
    }
    Instant next = Backoff.nextStart(PodActions.restarts(run), run.startedAt(), run.finishedAt());
    boolean completedInit = init && run.exitCode() == 0;
    if (!completedInit && now.isBefore(next)) {
      cs.setState("waiting").setReason("CrashLoopBackOff").setMessage("back-off restarting failed container " + c.name()
          + " (last exit code " + run.exitCode() + ")");
    } else {
      cs.setState("terminated").setReason(run.exitCode() == 0 ? "Completed" : "Error");
    }
    return cs.build();
  }

  /** Stops and removes every owned container (the node left the fleet). */
  public void removeAll() {
    desired = Map.of();
    Set<String> released = orphans;
    List<ContainerInfo> all = runtime.listOwned(node).stream().filter(c -> !released.contains(c.label(Labels.POD))).toList();
    execute(null, PodActions.teardown(all, Duration.ofSeconds(30), "node left the fleet"));
    try (var walk = Files.exists(podsDir) ? Files.walk(podsDir) : java.util.stream.Stream.<Path>empty()) {
      walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      log.warn("could not remove {}: {}", podsDir, e.getMessage());
    }
  }
}
