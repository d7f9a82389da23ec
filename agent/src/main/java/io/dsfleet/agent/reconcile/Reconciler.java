package io.dsfleet.agent.reconcile;

import io.dsfleet.common.ReleasedPods;
import io.dsfleet.agent.hostfs.Mounts;
import io.dsfleet.agent.metrics.AgentCounters;
import io.dsfleet.agent.pod.Volumes;
import io.dsfleet.agent.runtime.ContainerInfo;
import io.dsfleet.agent.runtime.ContainerRuntime;
import io.dsfleet.agent.runtime.OwnedContainer;
import io.dsfleet.agent.runtime.RuntimeUnavailableException;
import io.dsfleet.common.OwnerOnlyFiles;
import io.dsfleet.proto.v1.DesiredState;
import io.dsfleet.proto.v1.PodStatus;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes the node's containers match its desired pods. Each {@link #tick()} takes the owned
 * containers (looked at again only when something changed: see {@link #watch}), checks their labels
 * ({@link OwnedContainer}), asks the pure {@link NodePlanner} what to do, hands each pod's work to
 * a pod worker ({@link PodWorkers}: never two at once for a pod, so nothing is done twice and a slow
 * pod never blocks another; a worker's steps are {@link PodSync}'s), hands stopped containers and
 * unused pod directories to the {@link GarbageCollector}, starts due probes ({@link ProbeManager})
 * and reports pod status ({@link StatusBuilder}) when it changed. Whether the runtime answers, and
 * its events, are {@link RuntimeWatch}'s. Only the {@link Executor} touches Docker and the disk.
 */
public final class Reconciler {
  private static final Logger log = LoggerFactory.getLogger(Reconciler.class);
  /** The default of how often a pass lists every container while the event stream runs (agent option relistInterval). */
  public static final Duration RELIST = Duration.ofSeconds(30);

  /** Whether the container runtime answers, as the node reports it. */
  public record RuntimeCondition(boolean down, String message) {}

  private final String node;
  private final String hostIp;
  private final ContainerRuntime runtime;
  private final Clock clock;
  private final Path podsDir;
  private final String agentVersion;
  private final ReconcilerThreads threads;
  private final Consumer<List<PodStatus>> reporter;
  private final Failures failures;
  private final ProbeManager probes;
  private final Executor executor;

  private volatile Map<String, DesiredPod> desired = Map.of();
  /** The kubelet's "sources ready": a desired set came from the state directory or a coordinator. */
  private volatile boolean sourcesReady;
  /** Set by {@link #removeAll}: no pass plans anything after it (the removal stops each pod, once). */
  private volatile boolean removing;
  /** Held through each pass: {@link #removeAll} waits for one under way (within its deadline). */
  private final java.util.concurrent.locks.ReentrantLock passing = new java.util.concurrent.locks.ReentrantLock();
  /** Pods released by an orphan delete: never touched, never reported (unless desired again). */
  private volatile Set<String> orphans = Set.of();
  private final PodWork busy = new PodWork();
  private final Evictions evictions;
  private final VolumeLimits limits;
  private final Set<String> collecting = ConcurrentHashMap.newKeySet();
  private final Map<String, Instant> firstSeen = new ConcurrentHashMap<>();
  private final PodStarts starts = new PodStarts();
  private volatile long desiredVersion;
  /** The set this node runs, as the session's open names it ({@link HeldSet}): written before the set is in place. */
  private volatile HeldSet held = new HeldSet(0, "");
  /** Templates seen, by hash and digest: a pod replaced or no longer desired still gets its preStop hooks. */
  private final Templates templates = new Templates();
  private final AtomicLong passes = new AtomicLong();
  private final QuietPasses quiet = new QuietPasses();
  private final ContainerView view;
  private final FailingLists failingLists = new FailingLists();
  private final HeldPods heldPods;
  /** The containers of each look that are the agent's to act on, and the pods it holds ({@link HeldPods}). */
  private final OwnedContainers ownedContainers;
  private final RuntimeWatch runtimeWatch;
  private final PodWorkers workers;
  private final PodSync podSync;
  private final GarbageCollector collector;
  private final SentReport sent = new SentReport();
  private volatile Runnable wake = () -> { };
  private volatile Consumer<Set<String>> onOrphans = x -> { };
  /** Run by each pass once it read the desired set (a test's set arrives there). */
  volatile Runnable afterDesiredRead = () -> { };

  /** @param relist how often a pass lists every container while the runtime's event stream is followed (the kubelet's relist) */
  public Reconciler(String node, String hostIp, ContainerRuntime runtime, Mounts mounts, Clock clock, Backoff backoff, Duration relist,
      Path stateDir, String agentVersion, ReconcilerThreads threads, Consumer<List<PodStatus>> reporter) {
    this.failures = new Failures(backoff);
    this.evictions = new Evictions(new EvictionRecord(stateDir.resolve("evictions")));
    this.view = new ContainerView(relist);
    this.runtimeWatch = new RuntimeWatch(node, runtime, view, busy, this::wakeUp, clock);
    this.workers = new PodWorkers(busy, view, runtimeWatch, this::wakeUp);
    this.node = node;
    this.heldPods = new HeldPods(node);
    this.ownedContainers = new OwnedContainers(node, heldPods);
    this.hostIp = hostIp;
    this.runtime = runtime;
    this.clock = clock;
    this.podsDir = realPath(OwnerOnlyFiles.directory(stateDir.resolve("pods"))); // as /proc/self/mountinfo names it
    this.agentVersion = agentVersion;
    this.threads = threads;
    this.reporter = reporter;
    this.probes = new ProbeManager(runtime, threads.probes(), ReconcilerThreads.MAX_PROBES_AT_ONCE / 4, clock, hostIp);
    this.executor = new Executor(hostIp, new TouchingRuntime(runtime, view), new Volumes(mounts, clock), stateDir.resolve("seccomp"), failures,
        clock, threads.stoppers(), c -> templates.get(c.hash(), c.digest()), new Random());
    this.podSync = new PodSync(node, runtime, ownedContainers::of, heldPods, view, executor, evictions, probes, failures, clock,
        key -> desired.get(key));
    this.collector = new GarbageCollector(podsDir, executor, failures, busy, collecting, threads, runtimeWatch, workers,
        key -> desired.containsKey(key), this::wakeUp);
    this.limits = new VolumeLimits(evictions, new PressureCheck(node, runtime, podsDir, evictions, executor, busy::underWay), executor,
        failures, threads, collecting, clock, (pod, work) -> workers.dispatch(pod, PodWorkers.Work.DIRECTORY, threads.gc(), work), this::wakeUp);
  }

  /**
   * Called when a pass is worth running at once rather than at the next tick: a new desired set
   * arrived, or a pod's work finished (so its new state is reported without waiting).
   */
  public void wakeWith(Runnable wake) {
    this.wake = wake;
  }

  /**
   * Measures limited volumes and checks the disk every {@code every} instead of the kubelet's 10 s
   * (tests of evictions, which otherwise wait out a check or two each).
   */
  public void checkDiskEvery(Duration every) {
    evictions.checkEvery(every);
  }

  /** How many measurements of pods' limited volumes have ended: a test's barrier for "measured, and left alone". */
  public long diskMeasurements() {
    return evictions.measurements();
  }

  /** Called when the runtime goes away or comes back (the node reports it at once). */
  public void onRuntimeCondition(Runnable listener) {
    runtimeWatch.onCondition(listener);
  }

  /** Replaces the desired set (level-triggered: the whole set, every time). From here on, pods not in it are removed. */
  public void setDesired(DesiredState state) {
    Map<String, DesiredPod> was = desired;
    Map<String, DesiredPod> next = DesiredPod.parse(state, was, node, hostIp, podsDir, agentVersion);
    Instant now = clock.instant();
    List<String> replaced = new ArrayList<>();
    for (DesiredPod d : next.values()) {
      firstSeen.putIfAbsent(d.key(), now);
      if (was.containsKey(d.key()) && !was.get(d.key()).sameTemplate(d)) {
        replaced.add(d.key());
      }
      if (d.valid()) {
        templates.put(d.hash(), d.digest(), d.template());
      } else {
        log.warn("pod {}: {}", d.key(), d.problem());
      }
    }
    firstSeen.keySet().retainAll(next.keySet());
    Set<String> adopted = ReleasedPodStatus.adopted(orphans, next.values());
    // the evictions the agent before left, held again for the first set's pods before the set is in place: a pass plans
    // (starts) the pods of the set it reads whether or not the sources are ready; before 2026-12-06 they were held after,
    // and a pass in between started an evicted pod at once on its full volume
    limits.restore(next, now);
    held = new HeldSet(state.getVersion(), state.getDigest());
    desired = Map.copyOf(next);
    if (!adopted.isEmpty()) {
      // desired again: the DaemonSet adopts what it released (as Kubernetes adopts orphans); the release is over, once
      // the set that desires them is in place (a pass reads the released pods before and after the set: pass())
      Set<String> still = new TreeSet<>(orphans);
      still.removeAll(adopted);
      orphans = Set.copyOf(still);
      log.info("pods {} are desired again: no longer released", adopted);
      try { // after the set is taken: a disk that refuses the write must not leave the pod neither desired nor released
        onOrphans.accept(orphans);
      } catch (RuntimeException e) {
        log.warn("pods {} desired again; the released pods' file not written: {} (an agent restarted before it is adopts them"
            + " again from the set)", adopted, e.toString());
      }
    }
    // a new template starts without the old one's back-off; forgotten once the old one is no longer
    // wanted, so a worker of the old one that fails now records nothing (it asks first)
    replaced.forEach(failures::forgetPod);
    // and a pod no longer desired at all: its teardown forgets them too, but one with no container left (its
    // eviction removed them) has none, and its holds stayed for good: every pass a full one ever after
    was.keySet().stream().filter(k -> !next.containsKey(k)).forEach(failures::forgetPod);
    for (String key : replaced) { // an eviction holds the new template's starts too, until the volume is emptied
      String why = evictions.why(key);
      if (why != null && next.get(key).valid()) {
        VolumeLimits.containerNames(next.get(key)).forEach(c -> failures.hold(Failures.key(key, c), "Evicted", why, now));
      }
    }
    desiredVersion = state.getVersion();
    sourcesReady = true;
    wakeUp();
  }

  public void setOrphans(Set<String> pods) {
    orphans = Set.copyOf(pods);
    quiet.changed();
  }

  /** A full pass is due: now, and whatever the clock says. */
  private void wakeUp() {
    quiet.changed();
    wake.run();
  }

  /** Called with the released pods when that set changes here (a released pod desired again is adopted): to persist it. */
  public void onOrphansChanged(Consumer<Set<String>> listener) {
    this.onOrphans = listener;
  }

  public Set<String> orphans() {
    return orphans;
  }

  /** Pod keys ("namespace/name") of the desired set. */
  public Set<String> desiredPods() {
    return desired.keySet();
  }

  public boolean sourcesReady() {
    return sourcesReady;
  }

  public RuntimeCondition runtimeCondition() {
    return runtimeWatch.condition();
  }

  /** Completed passes: a test barrier ("the agent has looked since"). */
  public long passes() {
    return passes.get();
  }

  /** Passes that found nothing to look at again (see {@link #tick}). */
  public long quietPasses() {
    return quiet.skipped();
  }

  /** Passes that listed the containers (the others inspected what changed, or worked from the last look: nothing had). */
  public long lists() {
    return view.lists();
  }

  /** Passes that looked at the containers again: listed them, or inspected those whose events came or that the agent touched. */
  public long looks() {
    return view.looks();
  }

  /** No pod work and no garbage collection in flight. */
  public boolean idle() {
    return busy.none() && collecting.isEmpty();
  }

  /**
   * One reconcile pass. Not reentrant: call from one thread. A pass finds nothing to do, and
   * returns at once, when nothing it reads changed since the last full one (no desired set, no
   * event, no work of the agent's own), that one left nothing on the clock (no back-off, no probe,
   * no pod work in flight), the event stream runs, the relist is not due, nor the volumes' and the
   * disk's check (once the sources are ready: none runs before), and the last full pass is less than {@link QuietPasses#MAX} old: a node whose pods
   * just run costs a timer and nothing more.
   */
  public void tick() {
    passing.lock();
    try {
      if (removing) {
        log.debug("reconcile pass {} done: the node's pods are being removed", passes.incrementAndGet());
        return;
      }
      pass();
    } finally {
      passing.unlock();
    }
  }

  private void pass() {
    Instant now = clock.instant();
    // the disk check runs once the sources are ready (limits.enforce): before, none is due, or an agent without a
    // desired set made every pass a full one
    if (quiet.skip(now, idle() && view.fresh(now) && !(sourcesReady && evictions.due(now)))) {
      long n = passes.incrementAndGet();
      if (log.isDebugEnabled()) { // the barrier of tests of the agent as a process counts these too
        log.debug("reconcile pass {} done: nothing changed, idle", n);
      }
      return;
    }
    List<OwnedContainer> owned;
    try {
      List<ContainerInfo> all = view.get(now, () -> {
        List<ContainerInfo> listed = runtime.listOwned(node);
        failingLists.listed();
        runtimeWatch.reachable();
        return listed;
      }, id -> {
        var c = runtime.inspectOwned(node, id);
        runtimeWatch.reachable();
        return c;
      });
      owned = ownedContainers.ofLook(all);
    } catch (RuntimeUnavailableException e) {
      runtimeWatch.unreachable(e);
      log.debug("reconcile pass {} done: runtime unreachable", passes.incrementAndGet());
      return;
    } catch (RuntimeException e) { // the runtime answered, with an error: this pass cannot see the node
      String down = failingLists.failed(now, e);
      if (down != null) {
        runtimeWatch.unreachable(new RuntimeUnavailableException(down, e));
      }
      log.debug("reconcile pass {} done: the list failed", passes.incrementAndGet());
      return;
    }
    long seenAt = view.mark();
    HeldPods.Hold holding = ownedContainers.held();
    // read before the set, which setDesired writes first: a pass that finds the sources ready has the set that made them
    // so; before 2026-12-06 it was read after, and the first set arriving between the two reads had this pass take the
    // empty set before it for the node's desired pods and tear down every pod it ran
    boolean ready = sourcesReady;
    // and the released pods both before and after it: a pod released (setOrphans, then the set without it) or adopted
    // (the set with it, then no longer released) is in the set read or in one of the two; before 2026-12-06 they were
    // read after the set alone, and a pod adopted between the two reads was neither, and stopped as no longer desired
    Set<String> releasedBefore = orphans;
    // the set's version before the set (setDesired writes it after): no report says it is after a set its pass had not taken
    long taken = desiredVersion;
    Map<String, DesiredPod> want = desired;
    afterDesiredRead.run();
    Set<String> releasedAfter = orphans;
    Set<String> released = releasedBefore == releasedAfter ? releasedAfter : union(releasedBefore, releasedAfter);
    templates.retainUsed(used(want, owned, holding.templates()));
    probes.sync(want, owned, holding.listed().keySet(), now); // a held pod's probes kept, not run
    FailedStops.forgetGone(failures, owned); // a refused stop of a container gone since
    GarbageCollector.forgetGone(failures, owned); // and a refused removal
    Map<String, ProbeVerdict> verdicts = evictions.withKills(probes.verdicts(), owned);
    GarbageCollector.PodsDir dirs = collector.listPodsDir();
    Map<String, String> written = Map.copyOf(executor.volumesWritten);
    // a refused volume update no longer needed (changed back, or written whole at a container's start) is forgotten: kept,
    // it was a failure recorded for good, and no pass of the node was skipped again (until 2026-12-06)
    want.values().stream().filter(d -> !d.valid() || d.configs().equals(written.get(d.key())))
        .forEach(d -> failures.succeeded(PodPlanner.volumesKey(d.key())));
    NodePlanner.Plan plan = NodePlanner.plan(new NodePlanner.Input(ready, want, owned, released, verdicts, failures,
        written, dirs.pods(), now, holding.why().keySet()));
    for (var e : plan.pods().entrySet()) {
      if (e.getValue().stream().anyMatch(a -> !(a instanceof PodPlanner.Wait))) {
        DesiredPod d = want.get(e.getKey());
        List<OwnedContainer> seen = owned.stream().filter(c -> c.podKey().equals(d.key())).toList();
        // its template held from here, before the next pass, until the work ends (Templates)
        workers.dispatch(e.getKey(), PodWorkers.Work.STEPS, threads.pods(), () -> podSync.sync(d, seen, seenAt), templates.hold(d.hash(), d.digest()));
      }
    }
    for (var e : plan.teardown().entrySet()) {
      // on the stoppers, not the pod workers: every pod stops at once, each within its own grace period
      workers.dispatch(e.getKey(), PodWorkers.Work.TEARDOWN, threads.stoppers(), () -> {
        log.info("removing pod {}: no longer desired on this node", e.getKey());
        executor.kill(PodPlanner.kills(e.getValue()));
        failures.forgetPod(e.getKey());
      });
    }
    collector.containers(plan.garbage(), now);
    collector.directories(plan.removeDirs(), now);
    if (ready) { // the evictions' record read at the start is kept for the pods of the first desired set
      limits.enforce(want, owned, now, holding.why().keySet());
    }
    collector.trash(dirs.trash(), now);
    quiet.fullPassDone(failures.any() || probes.any() || evictions.any() || !plan.garbage().isEmpty() || !plan.removeDirs().isEmpty()
        || plan.pods().values().stream().anyMatch(a -> !a.isEmpty()) || !plan.teardown().isEmpty());
    List<OwnedContainer> reported = owned.stream().filter(c -> !ReleasedPods.holds(released, c.podKey(), c.pod()) || want.containsKey(c.podKey()))
        .toList();
    List<PodStatus> managed = HeldPods.report(StatusBuilder.build(want, reported, plan.pods(), verdicts, failures, firstSeen, now,
        executor::stopping), holding, sent.pods());
    List<PodStatus> releasedPods = ReleasedPodStatus.of(owned, released, want); // the session sends them apart (StatusReports)
    List<PodStatus> report = releasedPods.isEmpty() ? managed : java.util.stream.Stream.concat(managed.stream(), releasedPods.stream()).toList();
    boolean podsChanged = !report.equals(sent.pods());
    if (sent.goesOut(report, taken)) {
      if (podsChanged) {
        starts.report(managed, firstSeen, now, d -> AgentCounters.POD_START.observe(d.toNanos() / 1e9));
      }
      reporter.accept(report);
    }
    long n = passes.incrementAndGet();
    if (log.isDebugEnabled()) { // a barrier for tests of the agent as a process, and a trace for operators
      log.debug("reconcile pass {} done: {} pods desired, {} containers owned{}", n, want.size(), owned.size(), idle() ? ", idle" : "");
    }
  }

  /**
   * Follows the runtime's events for this node: each one wakes a pass that inspects the container
   * it names again (lists them all when it names none), and the stream's end says the runtime went
   * away ({@link RuntimeWatch#watch}).
   */
  public void watch(java.util.concurrent.ScheduledExecutorService scheduler) {
    runtimeWatch.watch(scheduler);
  }

  /** The version of the desired set this node runs; 0 before the first. */
  public long desiredVersion() {
    return desiredVersion;
  }

  /** The set this node runs (or is putting in place), for the session's open. */
  public HeldSet held() {
    return held;
  }

  /** The report's {@code applied_version} ({@link SentReport#version}): the reporter, called by the pass, reads it here. */
  public long reportedVersion() {
    return sent.version();
  }

  public List<PodStatus> lastReport() {
    return sent.last();
  }

  /** What a leave's removal did: pods stopped, and pods left running (their image's labels not known: {@link HeldPods}). */
  public record Removal(int stopped, int leftRunning) {}

  /**
   * Stops every owned pod in parallel, each container within its grace period but all within
   * {@code deadline}, then removes the containers, the pod directories and the trash (the node left the fleet).
   * From its start no reconcile pass plans anything (a pass would tear the same pods down again:
   * their preStop hooks twice), and a pass under way ends first; then {@link PodsRemoval} stops and
   * removes the pods, work under way included. Nothing is held from then on: a session opened after it names no set.
   *
   * @return how many pods were running at its first look
   */
  public Removal removeAll(Duration deadline, Consumer<String> progress) {
    removing = true;
    held = new HeldSet(0, "");
    desired = Map.of();
    sourcesReady = true;
    // what follows waits for real (a lock, the stops, the workers): bounded on the monotonic clock,
    // not on the reconciler's clock, which a test's fake holds still
    long until = System.nanoTime() + deadline.toNanos();
    boolean locked = false;
    try {
      locked = passing.tryLock(deadline.toNanos(), TimeUnit.NANOSECONDS); // a pass under way has handed out all it will
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      if (locked) {
        passing.unlock();
      }
    }
    Set<String> released = orphans;
    Map<String, String> heldSeen = new ConcurrentHashMap<>(); // left running, with their directories (HeldPods: maybe not ours)
    int running = new PodsRemoval(executor, () -> {
      List<ContainerInfo> all = runtime.listOwned(node);
      Map<String, String> h = heldPods.of(all).why();
      heldSeen.putAll(h);
      return HeldPods.without(ownedContainers.of(all), h);
    }, busy, released, until, progress).run();
    collector.removeAll(union(released, heldSeen.keySet()));
    HeldPods.leftRunning(heldSeen, progress);
    return new Removal(running, heldSeen.size());
  }

  /** Stops the reconciler's threads. */
  public void close() {
    threads.shutdown();
  }

  /** The templates a desired pod, an owned container or a held pod's container is of (a container without a digest: any of its hash). */
  private static Set<Templates.Id> used(Map<String, DesiredPod> want, List<OwnedContainer> owned, Set<Templates.Id> held) {
    Set<Templates.Id> used = new java.util.HashSet<>(held); // a held pod's (HeldPods): its stop once the hold is over runs its hooks
    want.values().forEach(d -> used.add(new Templates.Id(d.hash(), d.digest())));
    owned.forEach(c -> used.add(new Templates.Id(c.hash(), c.digest())));
    return used;
  }

  /** How many templates the node keeps (a test's). */
  int templatesKept() {
    return templates.size();
  }

  private static Set<String> union(Set<String> a, Set<String> b) {
    Set<String> all = new TreeSet<>(a);
    all.addAll(b);
    return all;
  }

  private static Path realPath(Path p) {
    try {
      return p.toRealPath();
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

}
