package io.dsfleet.agent.reconcile;

import io.dsfleet.common.ReleasedPods;
import io.dsfleet.agent.hostfs.Mounts;
import io.dsfleet.agent.metrics.AgentCounters;
import io.dsfleet.agent.pod.Volumes;
import io.dsfleet.agent.runtime.ContainerInfo;
import io.dsfleet.agent.runtime.ContainerRuntime;
import io.dsfleet.agent.runtime.Labels;
import io.dsfleet.agent.runtime.OwnedContainer;
import io.dsfleet.agent.runtime.RuntimeUnavailableException;
import io.dsfleet.common.OwnerOnlyFiles;
import io.dsfleet.proto.v1.DesiredState;
import io.dsfleet.proto.v1.PodStatus;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
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
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes the node's containers match its desired pods. Each {@link #tick()} takes the owned
 * containers (listed again only when something changed: see {@link #watch}), checks their labels
 * ({@link OwnedContainer}), asks the pure {@link NodePlanner} what to do, hands each pod's work to
 * a pod worker (never two at once for a pod, so nothing is done twice and a slow pod never blocks
 * another), hands stopped containers and unused pod directories to the garbage collector, starts
 * due probes ({@link ProbeManager}) and reports pod status ({@link StatusBuilder}) when it
 * changed. Only the {@link Executor} touches Docker and the disk.
 */
public final class Reconciler {
  private static final Logger log = LoggerFactory.getLogger(Reconciler.class);
  private static final int MAX_STEPS = 20;
  /** The default of how often a pass lists every container while the event stream runs (agent option relistInterval). */
  public static final Duration RELIST = Duration.ofSeconds(30);
  private static final Pattern POD_DIR = Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?_[a-z0-9]([-a-z0-9.]*[a-z0-9])?");

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
  /** Templates seen, by hash and digest: a pod replaced or no longer desired still gets its preStop hooks. */
  private final Templates templates = new Templates();
  private final Set<String> foreignSeen = ConcurrentHashMap.newKeySet();
  private final AtomicLong passes = new AtomicLong();
  private final QuietPasses quiet = new QuietPasses();
  private final ContainerView view;
  private volatile List<PodStatus> lastReport;
  private volatile RuntimeCondition condition = new RuntimeCondition(false, "");
  private volatile Runnable wake = () -> { };
  private volatile Runnable onCondition = () -> { };
  private volatile Consumer<Set<String>> onOrphans = x -> { };
  /** Run by each pass once it read the desired set (a test's set arrives there). */
  volatile Runnable afterDesiredRead = () -> { };

  /** @param relist how often a pass lists every container while the runtime's event stream is followed (the kubelet's relist) */
  public Reconciler(String node, String hostIp, ContainerRuntime runtime, Mounts mounts, Clock clock, Backoff backoff, Duration relist,
      Path stateDir, String agentVersion, ReconcilerThreads threads, Consumer<List<PodStatus>> reporter) {
    this.failures = new Failures(backoff);
    this.evictions = new Evictions(new EvictionRecord(stateDir.resolve("evictions")));
    this.view = new ContainerView(relist);
    this.node = node;
    this.hostIp = hostIp;
    this.runtime = runtime;
    this.clock = clock;
    this.podsDir = realPath(OwnerOnlyFiles.directory(stateDir.resolve("pods"))); // as /proc/self/mountinfo names it
    this.agentVersion = agentVersion;
    this.threads = threads;
    this.reporter = reporter;
    this.probes = new ProbeManager(runtime, threads.probes(), ReconcilerThreads.MAX_PROBES_AT_ONCE / 4, clock);
    this.executor = new Executor(hostIp, runtime, new Volumes(mounts, clock), stateDir.resolve("seccomp"), failures, clock, threads.stoppers(),
        c -> templates.get(c.hash(), c.digest()), new Random());
    this.limits = new VolumeLimits(evictions, new PressureCheck(node, runtime, podsDir, evictions, executor, busy::underWay), executor,
        failures, threads, collecting, clock, (pod, work) -> dispatch(pod, Work.DIRECTORY, threads.gc(), work), this::wakeUp);
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
    this.onCondition = listener;
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
    Set<String> adopted = new TreeSet<>(); // by key, or by name alone as a coordinator before 2026-12-05 released it
    for (DesiredPod d : next.values()) {
      for (String entry : ReleasedPods.entries(d.key(), d.name())) {
        if (orphans.contains(entry)) {
          adopted.add(entry);
        }
      }
    }
    // the evictions the agent before left, held again for the first set's pods before the set is in place: a pass plans
    // (starts) the pods of the set it reads whether or not the sources are ready; before 2026-12-06 they were held after,
    // and a pass in between started an evicted pod at once on its full volume
    limits.restore(next, now);
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
    return condition;
  }

  /** Completed passes: a test barrier ("the agent has looked since"). */
  public long passes() {
    return passes.get();
  }

  /** Passes that found nothing to look at again (see {@link #tick}). */
  public long quietPasses() {
    return quiet.skipped();
  }

  /** Passes that listed the containers (the others worked from the last list: nothing had changed). */
  public long lists() {
    return view.lists();
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
    long seenAt;
    try {
      owned = view.get(now, () -> {
        List<OwnedContainer> o = owned(runtime.listOwned(node));
        runtimeReachable();
        return o;
      });
    } catch (RuntimeUnavailableException e) {
      runtimeUnreachable(e);
      log.debug("reconcile pass {} done: runtime unreachable", passes.incrementAndGet());
      return;
    }
    seenAt = view.mark();
    // read before the set, which setDesired writes first: a pass that finds the sources ready has the set that made them
    // so; before 2026-12-06 it was read after, and the first set arriving between the two reads had this pass take the
    // empty set before it for the node's desired pods and tear down every pod it ran
    boolean ready = sourcesReady;
    // and the released pods both before and after it: a pod released (setOrphans, then the set without it) or adopted
    // (the set with it, then no longer released) is in the set read or in one of the two; before 2026-12-06 they were
    // read after the set alone, and a pod adopted between the two reads was neither, and stopped as no longer desired
    Set<String> releasedBefore = orphans;
    Map<String, DesiredPod> want = desired;
    afterDesiredRead.run();
    Set<String> releasedAfter = orphans;
    Set<String> released = releasedBefore == releasedAfter ? releasedAfter : union(releasedBefore, releasedAfter);
    templates.retainUsed(used(want, owned));
    probes.sync(want, owned, now);
    Map<String, ProbeVerdict> verdicts = evictions.withKills(probes.verdicts(), owned);
    PodsDir dirs = listPodsDir();
    NodePlanner.Plan plan = NodePlanner.plan(new NodePlanner.Input(ready, want, owned, released, verdicts, failures,
        Map.copyOf(executor.volumesWritten), dirs.pods(), now));
    for (var e : plan.pods().entrySet()) {
      if (e.getValue().stream().anyMatch(a -> !(a instanceof PodPlanner.Wait))) {
        DesiredPod d = want.get(e.getKey());
        List<OwnedContainer> seen = owned.stream().filter(c -> c.podKey().equals(d.key())).toList();
        // its template held from here, before the next pass, until the work ends (Templates)
        dispatch(e.getKey(), Work.STEPS, threads.pods(), () -> sync(d, seen, seenAt), templates.hold(d.hash(), d.digest()));
      }
    }
    for (var e : plan.teardown().entrySet()) {
      // on the stoppers, not the pod workers: every pod stops at once, each within its own grace period
      dispatch(e.getKey(), Work.TEARDOWN, threads.stoppers(), () -> {
        log.info("removing pod {}: no longer desired on this node", e.getKey());
        executor.kill(kills(e.getValue()));
        failures.forgetPod(e.getKey());
      });
    }
    for (OwnedContainer c : plan.garbage()) {
      // not while the pod's worker may be between creating and starting this very container
      if (busy.underWay(c.podKey()) || failures.get("gc/" + c.id()).map(f -> f.active(now)).orElse(false) || !collecting.add(c.id())) {
        continue;
      }
      threads.gc().execute(() -> {
        boolean removed = false;
        try {
          removed = executor.remove(c, false);
        } catch (RuntimeUnavailableException e) {
          runtimeUnreachable(e);
        } catch (RuntimeException | StackOverflowError e) {
          log.warn("garbage collection of {}: {}", c.info().name(), e.getMessage());
        } finally {
          view.changed();
          collecting.remove(c.id());
        }
        if (removed) {
          // a pass lists now, not at the next tick: the view is current for what comes next (a new
          // desired set acted on from it rather than after a list of its own; docs/benchmarks.md);
          // after a failure the next tick retries, never a tight loop
          wakeUp();
        }
      });
    }
    for (String dir : plan.removeDirs()) {
      String key = dir.replaceFirst("_", "/");
      if (failures.get("dir/" + dir).map(f -> f.active(now)).orElse(false)) {
        continue;
      }
      // under the pod's own key: never while a pod worker prepares the same pod's volumes
      dispatch(key, Work.DIRECTORY, threads.gc(), () -> {
        if (!desired.containsKey(key)) {
          executor.dirs.remove(podsDir, dir);
        }
      });
    }
    if (ready) { // the evictions' record read at the start is kept for the pods of the first desired set
      limits.enforce(want, owned, now);
    }
    for (String trash : dirs.trash()) {
      if (!failures.get("trash/" + trash).map(f -> f.active(now)).orElse(false) && collecting.add("trash/" + trash)) {
        threads.gc().execute(() -> {
          try {
            executor.dirs.removeTrash(podsDir, trash);
          } finally {
            collecting.remove("trash/" + trash);
          }
        });
      }
    }
    quiet.fullPassDone(failures.any() || probes.any() || evictions.any() || !plan.garbage().isEmpty() || !plan.removeDirs().isEmpty()
        || plan.pods().values().stream().anyMatch(a -> !a.isEmpty()) || !plan.teardown().isEmpty());
    List<OwnedContainer> reported = owned.stream().filter(c -> !ReleasedPods.holds(released, c.podKey(), c.pod()) || want.containsKey(c.podKey()))
        .toList();
    List<PodStatus> report = StatusBuilder.build(want, reported, plan.pods(), verdicts, failures, firstSeen, now);
    if (!report.equals(lastReport)) {
      lastReport = report;
      starts.report(report, firstSeen, now, d -> AgentCounters.POD_START.observe(d.toNanos() / 1e9));
      reporter.accept(report);
    }
    long n = passes.incrementAndGet();
    if (log.isDebugEnabled()) { // a barrier for tests of the agent as a process, and a trace for operators
      log.debug("reconcile pass {} done: {} pods desired, {} containers owned{}", n, want.size(), owned.size(), idle() ? ", idle" : "");
    }
  }

  /** The containers whose labels pass the ownership checks; the others are logged once and never touched. */
  private List<OwnedContainer> owned(List<ContainerInfo> all) {
    List<OwnedContainer> out = new ArrayList<>();
    for (ContainerInfo c : all) {
      StringBuilder why = new StringBuilder();
      OwnedContainer.of(c, node, why).ifPresentOrElse(out::add, () -> {
        if (foreignSeen.add(c.id())) {
          log.warn("container {} ({}) carries dsfleet's labels but is not this agent's ({}); it is left alone", c.name(), c.id(), why);
        }
      });
    }
    return out;
  }

  private void runtimeReachable() {
    if (condition.down()) {
      log.info("container runtime reachable again; reconciling");
      condition = new RuntimeCondition(false, "");
      onCondition.run();
    }
  }

  /** Any call that found the runtime gone says so at once (a dockerd restart can be over between two passes). */
  private void runtimeUnreachable(RuntimeException e) {
    if (!condition.down()) {
      log.warn("container runtime unreachable, pods keep running; retrying: {}", e.getMessage());
      condition = new RuntimeCondition(true, e.getMessage());
      onCondition.run();
    }
  }

  /**
   * Follows the runtime's events for this node: each one wakes a pass that lists the containers
   * again (a container that died is restarted and reported now, not at the next relist), except an
   * event of a pod whose worker is at work (mostly the echo of its own create and start, while
   * Docker starts the container): it only marks the list stale; the worker's end wakes a pass (it
   * ends once an app container it started runs), and any pass lists (within a second: no pass is
   * quiet while a pod is worked on). While the stream runs, a pass lists only after an event or the
   * agent's own work, and at least every {@code relist} for anything the stream missed (the
   * kubelet's PLEG relist); the passes in between
   * (probes, back-off timers) work from the last list. The stream ending means the runtime went
   * away: the node says so at once, every pass lists again, and the watch is taken up again with
   * back-off; a stream taken up again starts with a list (events may have been missed meanwhile).
   */
  public void watch(java.util.concurrent.ScheduledExecutorService scheduler) {
    watch(scheduler, 0);
  }

  private void watch(java.util.concurrent.ScheduledExecutorService scheduler, int failures) {
    if (scheduler.isShutdown()) {
      return;
    }
    try {
      // following before the stream opens: a stream that ends at once leaves it off (its end comes after)
      view.watching(true);
      runtime.watch(node, podKey -> {
        view.changed();
        // a pod whose worker is at it hears of its own create and start: the worker's end wakes a pass, which lists
        if (podKey == null || !busy.underWay(podKey)) {
          wakeUp();
        }
      }, t -> {
        view.watching(false);
        // the runtime gone ends the stream, but so does a stream quiet for longer than the
        // transport waits for a byte (10 minutes): only a runtime that does not answer is down
        try {
          runtime.ping();
          log.info("the container runtime's event stream ended ({}); the runtime answers: following its events again", t.getMessage());
        } catch (RuntimeException e) {
          runtimeUnreachable(new RuntimeUnavailableException("the container runtime's event stream ended: " + t.getMessage(), t));
        }
        wakeUp();
        scheduler.schedule(() -> watch(scheduler, 0), 1, TimeUnit.SECONDS);
      });
      wakeUp(); // a pass now: it lists, and finds out whether the runtime is back
    } catch (RuntimeException e) {
      view.watching(false);
      runtimeUnreachable(e);
      long delay = Math.min(30, 1L << Math.min(failures, 5));
      scheduler.schedule(() -> watch(scheduler, failures + 1), delay, TimeUnit.SECONDS);
    }
  }

  /**
   * The agent's pods directory as a pass reads it: the directories that name a pod (its own
   * records; anything else is left alone) and those it moved out of the way because they could not
   * be removed.
   */
  private record PodsDir(Set<String> pods, Set<String> trash) {}

  /** Lists the pods directory once (a pass listed it twice, one listing for each set). */
  private PodsDir listPodsDir() {
    Set<String> pods = new TreeSet<>();
    Set<String> trash = new TreeSet<>();
    try (var list = Files.list(podsDir)) {
      list.forEach(p -> {
        String n = p.getFileName().toString();
        if (n.startsWith(".trash-")) {
          trash.add(n);
        } else if (POD_DIR.matcher(n).matches() && Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
          pods.add(n);
        }
      });
    } catch (IOException e) {
      log.warn("cannot list {}: {}", podsDir, e.getMessage());
    }
    return new PodsDir(pods, trash);
  }

  /** Pod work: a worker's steps, a teardown, or the removal of a pod's directory. */
  private enum Work {
    STEPS, TEARDOWN, DIRECTORY;

    /** A pass as soon as the work is done: it reports the pod's new state now. */
    boolean wakeAfter() {
      return this != DIRECTORY;
    }
  }

  private void dispatch(String pod, Work kind, ExecutorService on, Runnable work) {
    dispatch(pod, kind, on, work, () -> { });
  }

  /** {@link #dispatch(String, Work, ExecutorService, Runnable)}; {@code ended} runs once the work ended, or at once when none was started. */
  private void dispatch(String pod, Work kind, ExecutorService on, Runnable work, Runnable ended) {
    if (!busy.begin(pod, kind == Work.TEARDOWN)) {
      ended.run();
      return;
    }
    try {
      on.execute(() -> {
        try {
          run(pod, kind, work);
        } finally {
          ended.run(); // after run's view.changed(): a pass that lists from then on sees what the work made
        }
      });
    } catch (java.util.concurrent.RejectedExecutionException e) { // every worker busy (or the agent stopping): a later pass plans it again
      busy.end(pod);
      ended.run();
      log.debug("pod {}: no thread free for its work; a later pass plans it again", pod);
    }
  }

  private void run(String pod, Work kind, Runnable work) {
    boolean done = false;
    try {
      work.run();
      done = true;
    } catch (RuntimeUnavailableException ex) {
      runtimeUnreachable(ex);
    } catch (RuntimeException | StackOverflowError ex) {
      log.error("pod {}: {}", pod, ex.toString(), ex);
    } finally {
      view.changed(); // the work may have touched containers: the next pass lists them
      busy.end(pod);
    }
    if (done && kind.wakeAfter()) {
      wakeUp(); // report the new state now; after a failure the next tick retries, never a tight loop
    }
  }

  /**
   * Decide and act for one pod until only waiting is left, or until its app containers were started
   * (the pass that wakes then lists them, reports them and hands the pod out again if more is to be
   * done: a second look of the worker's own would list and inspect the same containers beside it).
   * The first step acts on the pod's containers as the pass saw them ({@code seen}, at {@code
   * seenAt}) when nothing changed since ({@link ContainerView#current}); every other step lists them.
   */
  private void sync(DesiredPod d, List<OwnedContainer> seen, long seenAt) {
    boolean sandboxStarted = false;
    for (int step = 0; step < MAX_STEPS; step++) {
      if (!stillWanted(d, true)) {
        return; // no longer desired as this worker was handed it (a new set came): the next pass decides afresh
      }
      List<OwnedContainer> observed = step == 0 && view.current(seenAt) ? seen
          : owned(runtime.listOwned(node, Map.of(Labels.POD, d.name()))).stream().filter(c -> c.podKey().equals(d.key())).toList();
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
    DesiredPod now = desired.get(d.key());
    return now != null && now.sameTemplate(d) && (!configsToo || now.configs().equals(d.configs()));
  }

  private static List<PodPlanner.Kill> kills(List<PodPlanner.Action> actions) {
    return actions.stream().filter(a -> a instanceof PodPlanner.Kill).map(a -> (PodPlanner.Kill) a).collect(Collectors.toList());
  }

  /** The version of the desired set this node runs; 0 before the first. */
  public long desiredVersion() {
    return desiredVersion;
  }

  public List<PodStatus> lastReport() {
    List<PodStatus> r = lastReport;
    return r == null ? List.of() : r;
  }

  /**
   * Stops every owned pod in parallel, each container within its grace period but all within
   * {@code deadline}, then removes the containers, the pod directories and the trash (the node left the fleet).
   * From its start no reconcile pass plans anything (a pass would tear the same pods down again:
   * their preStop hooks twice), and a pass under way ends first; then {@link PodsRemoval} stops and
   * removes the pods, work under way included.
   *
   * @return how many pods were running at its first look
   */
  public int removeAll(Duration deadline, Consumer<String> progress) {
    removing = true;
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
    int running = new PodsRemoval(executor, () -> owned(runtime.listOwned(node)), busy, released, until, progress).run();
    PodsDir left = listPodsDir();
    for (String dir : left.pods()) {
      String namespace = dir.substring(0, dir.indexOf('_'));
      String pod = dir.substring(dir.indexOf('_') + 1);
      if (!ReleasedPods.holds(released, ReleasedPods.key(namespace, pod), pod)) { // released pods run on with their volumes
        executor.dirs.remove(podsDir, dir);
      }
    }
    // and the trash, no pod's (an agent killed while it removed a directory left it): no pass of an agent removes it after this
    left.trash().forEach(trash -> executor.dirs.removeTrash(podsDir, trash));
    return running;
  }

  /** Stops the reconciler's threads. */
  public void close() {
    threads.shutdown();
  }

  /** The templates a desired pod or an owned container is of (a container without a digest: any of its hash). */
  private static Set<Templates.Id> used(Map<String, DesiredPod> want, List<OwnedContainer> owned) {
    Set<Templates.Id> used = new java.util.HashSet<>();
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
