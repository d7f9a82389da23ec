package io.dsfleet.agent.reconcile;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.agent.hostfs.Mounts;
import io.dsfleet.agent.pod.Volumes;
import io.dsfleet.agent.runtime.ContainerInfo;
import io.dsfleet.agent.runtime.ContainerRuntime;
import io.dsfleet.agent.runtime.FakeRuntime;
import io.dsfleet.agent.runtime.Labels;
import io.dsfleet.common.testing.FakeClock;
import io.dsfleet.proto.v1.ConfigObject;
import io.dsfleet.proto.v1.DesiredState;
import io.dsfleet.proto.v1.PodStatus;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The reconciler over the in-memory runtime: deterministic (work runs on the calling thread, the clock is fake). */
class ReconcilerTest {
  @TempDir Path dir;
  FakeClock clock = new FakeClock();
  FakeRuntime runtime = new FakeRuntime(clock);
  List<List<PodStatus>> reports = new ArrayList<>();
  Reconciler r;

  /** Runs tasks on the calling thread. */
  static class Direct extends AbstractExecutorService {
    @Override
    public void execute(Runnable command) {
      command.run();
    }

    @Override
    public void shutdown() {}

    @Override
    public List<Runnable> shutdownNow() {
      return List.of();
    }

    @Override
    public boolean isShutdown() {
      return false;
    }

    @Override
    public boolean isTerminated() {
      return false;
    }

    @Override
    public boolean awaitTermination(long timeout, TimeUnit unit) {
      return true;
    }
  }

  /** Host mounts that only record (the unit tests use no Secret or memory volume). */
  static class NoMounts extends Mounts {
    @Override
    public List<Path> under(Path d) {
      return List.of();
    }
  }

  @BeforeEach
  void setUp() {
    runtime.addImage("local/busybox:1");
    r = new Reconciler("n1", "10.1.1.1", runtime, new NoMounts(), clock, Backoff.KUBERNETES, Reconciler.RELIST, dir, "test",
        new ReconcilerThreads(new Direct(), new Direct(), new Direct(), new Direct()), reports::add);
  }

  /** The fixture pod with changes; its container asks for the pod's IP, so it runs in a sandbox (the rules these tests follow). */
  static DesiredState desired(String... pathsAndValues) {
    String[] all = new String[pathsAndValues.length + 2];
    all[0] = "spec.template.spec.containers[0].env[1]";
    all[1] = io.dsfleet.agent.DockerHarness.ASKS_FOR_POD_IP;
    System.arraycopy(pathsAndValues, 0, all, 2, pathsAndValues.length);
    return Pods.state(Pods.ds(all));
  }

  List<ContainerInfo> owned() {
    return runtime.listOwned("n1");
  }

  ContainerInfo app(String name) {
    return owned().stream().filter(c -> Labels.APP.equals(c.label(Labels.ROLE)) && name.equals(c.label(Labels.CONTAINER)))
        .reduce((a, b) -> b).orElse(null);
  }

  PodStatus last() {
    return reports.get(reports.size() - 1).get(0);
  }

  /** Follows the runtime's events on {@code scheduler}, counting the passes asked for (wake-ups) from then on. */
  java.util.concurrent.atomic.AtomicInteger wakesWhileWatching(java.util.concurrent.ScheduledExecutorService scheduler) {
    java.util.concurrent.atomic.AtomicInteger wakes = new java.util.concurrent.atomic.AtomicInteger();
    r.wakeWith(wakes::incrementAndGet);
    r.watch(scheduler);
    return wakes;
  }

  /** Ticks every {@code step} for {@code total}, fake time. */
  void run(Duration total, Duration step) {
    for (Duration t = Duration.ZERO; t.compareTo(total) < 0; t = t.plus(step)) {
      clock.advance(step);
      r.tick();
    }
  }

  @Test
  void startsSandboxThenInitThenAppAndReportsReady() {
    r.setDesired(desired("spec.template.spec.initContainers", "[{name: setup, image: local/busybox:1}]"));
    r.tick();
    assertThat(String.join(",", runtime.calls)).matches("create dsf_agent-abcde_ops_POD_0_[0-9a-f]{6},start dsf_agent-abcde_ops_POD_0_\\w+,"
        + "create dsf_agent-abcde_ops_setup_0_\\w+,start dsf_agent-abcde_ops_setup_0_\\w+");
    assertThat(app("main")).as("app waits for init").isNull();
    ContainerInfo init = owned().stream().filter(c -> Labels.INIT.equals(c.label(Labels.ROLE))).findFirst().orElseThrow();
    runtime.crash(init.id(), 0);
    r.tick();
    assertThat(app("main").running()).isTrue();
    r.tick();
    assertThat(last().getReady()).isTrue();
    assertThat(last().getPhase()).isEqualTo("Running");
    assertThat(last().getCreatedAtMillis()).isEqualTo(clock.millis());
    assertThat(runtime.specs()).allSatisfy(spec -> assertThat(spec.labels()).containsEntry(Labels.MANAGED, "true")
        .containsEntry(Labels.NODE, "n1").containsEntry(Labels.NAMESPACE, "ops").containsEntry(Labels.DAEMON_SET, "agent")
        .containsEntry(Labels.POD, "agent-abcde").containsEntry(Labels.ATTEMPT, "0").containsKeys(Labels.CONTAINER, Labels.HASH, Labels.GRACE));
  }

  /** A worker handed a pod stops when a new set no longer wants it so (gone, or another template): it makes nothing more of it. */
  @Test
  void aWorkerStopsOnceItsPodIsNoLongerDesiredAsItWasHandedIt() {
    r.setDesired(desired());
    runtime.duringStart = id -> {
      runtime.duringStart = x -> { };
      r.setDesired(DesiredState.newBuilder().setVersion(2).build()); // while the sandbox starts, the pod is dropped
    };
    r.tick();
    assertThat(runtime.calls).anyMatch(c -> c.startsWith("start dsf_agent-abcde_ops_POD_0_"));
    assertThat(runtime.calls).as("the app container of a pod no longer desired").noneMatch(c -> c.contains("_ops_main_"));
    r.tick();
    assertThat(owned()).as("the next pass stops what it made").allSatisfy(c -> assertThat(c.running()).isFalse());
  }

  /** Within a step too: a pod dropped while its image is pulled gets no container of that image. */
  @Test
  void aPodDroppedWhileItsImageIsPulledGetsNoContainer() {
    r.setDesired(desired("spec.template.spec.containers[0].image", "local/pulled:1"));
    runtime.duringPull = image -> r.setDesired(DesiredState.newBuilder().setVersion(2).build());
    r.tick();
    assertThat(runtime.calls).as("pulled").contains("pull local/pulled:1");
    assertThat(runtime.calls).as("the app container of a pod dropped during its pull").noneMatch(c -> c.contains("_ops_main_"));
  }

  /** A ConfigMap of the pod's namespace changed during the pull: the container is made all the same (its volumes follow). */
  @Test
  void aConfigChangedWhileAnImageIsPulledThrowsNoPullAway() {
    DesiredState first = desired("spec.template.spec.containers[0].image", "local/pulled:1");
    r.setDesired(first);
    runtime.duringPull = image -> r.setDesired(first.toBuilder().setVersion(2)
        .addConfigs(io.dsfleet.agent.DockerHarness.config(io.dsfleet.proto.v1.ConfigObject.Kind.CONFIG_MAP, "extra", Map.of("k", "v"))).build());
    r.tick();
    assertThat(runtime.calls).as("made after its pull").anyMatch(c -> c.startsWith("create dsf_agent-abcde_ops_main_"));
  }

  @Test
  void aCrashedContainerComesBackAfterItsBackoffAndTheOldestRunIsCollected() {
    r.setDesired(desired());
    r.tick();
    runtime.crash(app("main").id(), 1);
    r.tick();
    assertThat(app("main").running()).as("the first crash: restarted at once, as the kubelet does").isTrue();
    assertThat(app("main").label(Labels.RESTARTS)).isEqualTo("1");
    runtime.crash(app("main").id(), 1);
    r.tick();
    assertThat(app("main").running()).isFalse();
    assertThat(last().getContainers(0).getReason()).isEqualTo("CrashLoopBackOff");
    clock.advance(Duration.ofSeconds(9));
    r.tick();
    assertThat(app("main").running()).as("the second crash in a row: still backing off at 9 s").isFalse();
    clock.advance(Duration.ofSeconds(1));
    r.tick();
    assertThat(app("main").running()).isTrue();
    assertThat(app("main").label(Labels.RESTARTS)).isEqualTo("2");
    r.tick();
    assertThat(owned().stream().filter(c -> Labels.APP.equals(c.label(Labels.ROLE))).map(c -> c.label(Labels.RESTARTS)).sorted())
        .as("the first run collected; the one before the latest kept (logs --previous)").containsExactly("1", "2");
  }

  /**
   * An event stream ends when the runtime goes away, but also when it was quiet for longer than the
   * transport waits (10 minutes with nothing to say on an idle node): the node is NotReady only if
   * the runtime does not answer.
   */
  @Test
  void anEventStreamThatEndsIsARuntimeDownOnlyIfTheRuntimeDoesNotAnswer() {
    java.util.concurrent.ScheduledExecutorService scheduler = java.util.concurrent.Executors.newSingleThreadScheduledExecutor();
    try {
      r.watch(scheduler);
      r.tick();
      runtime.endStream(new java.io.IOException("no byte from the daemon in 10 minutes"));
      assertThat(r.runtimeCondition().down()).as("a quiet stream that ended, the runtime answering").isFalse();
      runtime.setDown(true);
      runtime.endStream(new java.io.IOException("connection reset"));
      assertThat(r.runtimeCondition().down()).as("the stream ended and the runtime does not answer").isTrue();
    } finally {
      scheduler.shutdownNow();
    }
  }

  /** A stream that ends as it opens (its end told before the watch returns) leaves no pass trusting it: every pass lists. */
  @Test
  void aStreamThatEndsAsItOpensLeavesEveryPassListing() {
    java.util.concurrent.ScheduledExecutorService scheduler = java.util.concurrent.Executors.newSingleThreadScheduledExecutor();
    try {
      runtime.streamsEndAtOnce = new java.io.IOException("connection reset");
      r.watch(scheduler);
      r.setDesired(desired());
      r.tick();
      long lists = r.lists();
      r.tick();
      r.tick();
      assertThat(r.lists()).as("no stream: each pass lists").isEqualTo(lists + 2);
    } finally {
      scheduler.shutdownNow();
    }
  }

  /**
   * The echo of a pod worker's own start (Docker's events while it starts the container) wakes no
   * pass of its own, which would list and inspect while Docker starts the container: the worker's
   * end wakes one, once the app container runs (to report it now). An event of a pod
   * nobody works on wakes a pass, and so does an event that names no pod.
   */
  @Test
  void anEventOfAPodWhoseWorkerIsAtItWakesNoPassTheWorkersEndDoes() {
    java.util.concurrent.ScheduledExecutorService scheduler = java.util.concurrent.Executors.newSingleThreadScheduledExecutor();
    try {
      java.util.concurrent.atomic.AtomicInteger wakes = wakesWhileWatching(scheduler);
      r.setDesired(desired());
      runtime.duringStart = id -> runtime.event("ops/agent-abcde");
      wakes.set(0);
      r.tick(); // starts the pod: an event of it comes during each start
      assertThat(runtime.calls).anyMatch(c -> c.startsWith("start dsf_agent-abcde_ops_main_0_"));
      assertThat(wakes.get()).as("the worker's end, once the app container runs: none for the events of its own work (sandbox, app)")
          .isEqualTo(1);
      runtime.duringStart = id -> { };
      runtime.event("ops/agent-abcde");
      assertThat(wakes.get()).as("an event of a pod nobody works on").isEqualTo(2);
      runtime.event();
      assertThat(wakes.get()).as("an event that names no pod").isEqualTo(3);
    } finally {
      scheduler.shutdownNow();
    }
  }

  /**
   * Collecting a container changes what the passes saw: its end asks for a pass, which lists now
   * rather than at the next tick, so a desired set that comes next is acted on from a current list
   * instead of after a list of its own (docs/benchmarks.md: that list was on the way of the next
   * pod's start). A removal the runtime refused asks for none: the next tick retries after its
   * back-off, never a tight loop.
   */
  @Test
  void aCollectedContainerWakesAPassARefusedRemovalDoesNot() {
    java.util.concurrent.ScheduledExecutorService scheduler = java.util.concurrent.Executors.newSingleThreadScheduledExecutor();
    try {
      java.util.concurrent.atomic.AtomicInteger wakes = wakesWhileWatching(scheduler);
      r.setDesired(Pods.state(Pods.ds()));
      r.tick();
      r.tick();
      r.setDesired(DesiredState.getDefaultInstance());
      r.tick(); // the pod torn down: its container stopped
      ContainerInfo stopped = owned().stream().filter(c -> !c.running()).findFirst().orElseThrow();
      runtime.failing.put("remove " + stopped.id(), "driver overlay2 failed to remove root filesystem: device or resource busy");
      wakes.set(0);
      r.tick(); // lists, tries to collect it
      assertThat(runtime.exists(stopped.id())).isTrue();
      assertThat(wakes.get()).as("a refused removal asks for no pass").isZero();

      runtime.failing.clear();
      run(Duration.ofSeconds(11), Duration.ofSeconds(1)); // its back-off, then collected
      assertThat(runtime.exists(stopped.id())).isFalse();
      assertThat(wakes.get()).as("the collection's end asked for a pass").isEqualTo(1);
    } finally {
      scheduler.shutdownNow();
    }
  }

  /**
   * A worker's first step acts on the pod's containers as the pass that handed it the pod saw them,
   * unless an event came since that pass's list; and it ends once its app container runs, leaving
   * the look at it to the pass it wakes (the kubelet's pod workers read the PLEG's cache the same way).
   */
  @Test
  void aWorkersFirstStepActsOnThePassesListUnlessAnEventCameSince() {
    java.util.concurrent.ScheduledExecutorService scheduler = java.util.concurrent.Executors.newSingleThreadScheduledExecutor();
    try {
      r.watch(scheduler);
      r.setDesired(Pods.state(Pods.ds())); // one container, alone: one step starts it
      java.util.concurrent.atomic.AtomicBoolean once = new java.util.concurrent.atomic.AtomicBoolean();
      runtime.afterList = filter -> {
        if (filter.isEmpty() && once.compareAndSet(false, true)) {
          runtime.event(); // as the pass lists: what it saw may be out of date
        }
      };
      r.tick();
      assertThat(runtime.lists).as("the pass's list, then the worker's own (an event came since), and no look after the start")
          .containsExactly(Map.of(), Map.of(Labels.POD, "agent-abcde"));
      ContainerInfo first = app("main");
      assertThat(first.running()).isTrue();
      r.tick(); // the pass woken at the worker's end
      assertThat(last().getPhase()).isEqualTo("Running");

      runtime.lists.clear();
      runtime.crash(first.id(), 1);
      runtime.event();
      run(Duration.ofSeconds(11), Duration.ofSeconds(1)); // the crash seen, its 10 s back-off, the restart
      ContainerInfo second = app("main");
      assertThat(second.id()).isNotEqualTo(first.id());
      assertThat(second.running()).isTrue();
      assertThat(runtime.lists).as("nothing came since the pass's list: the worker acted on it").allMatch(Map::isEmpty);
    } finally {
      scheduler.shutdownNow();
    }
  }

  @Test
  void whileEventsAreFollowedAPassListsOnlyAfterAnEventItsOwnWorkOrTheRelist() {
    java.util.concurrent.ScheduledExecutorService scheduler = java.util.concurrent.Executors.newSingleThreadScheduledExecutor();
    try {
      r.watch(scheduler);
      r.setDesired(desired());
      r.tick(); // lists (the stream just started), starts the pod: its own work
      ContainerInfo first = app("main");
      r.tick(); // lists: after its own work
      long lists = r.lists();
      run(Duration.ofSeconds(10), Duration.ofSeconds(1));
      assertThat(r.lists()).as("no list while nothing changed").isEqualTo(lists);

      // a crash whose event is missed: nothing happens until the relist, then the restart
      runtime.crash(first.id(), 1);
      clock.advance(Duration.ofSeconds(9));
      r.tick();
      assertThat(r.lists()).isEqualTo(lists);
      assertThat(app("main").id()).as("not seen yet").isEqualTo(first.id());
      clock.advance(Duration.ofSeconds(11)); // 30 s since the last list
      r.tick();
      assertThat(r.lists()).isEqualTo(lists + 1);
      assertThat(last().getContainers(0).getState()).as("the relist saw the crash").isNotEqualTo("running");
      run(Duration.ofSeconds(11), Duration.ofSeconds(1)); // the 10 s back-off
      ContainerInfo second = app("main");
      assertThat(second.id()).isNotEqualTo(first.id());
      assertThat(second.running()).isTrue();

      // a crash whose event comes: the next pass sees it
      run(Duration.ofSeconds(3), Duration.ofSeconds(1));
      lists = r.lists();
      runtime.crash(second.id(), 1);
      runtime.event();
      r.tick();
      assertThat(r.lists()).isEqualTo(lists + 1);
      assertThat(last().getContainers(0).getState()).as("the event's pass saw the crash").isNotEqualTo("running");
    } finally {
      scheduler.shutdownNow();
    }
  }

  /**
   * A node whose pods just run: a pass with nothing to look at again returns at once; an event, the
   * agent's own work and a new desired set each make the next pass a full one, and so does the
   * clock every ten seconds and while anything waits on it (a back-off).
   */
  @Test
  void aQuietNodesPassesDoNothingUntilSomethingChanges() {
    java.util.concurrent.ScheduledExecutorService scheduler = java.util.concurrent.Executors.newSingleThreadScheduledExecutor();
    try {
      r.watch(scheduler);
      r.setDesired(desired());
      r.tick(); // starts the pod (its own work)
      r.tick(); // sees it running and reports it
      int reported = reports.size();
      long quiet = r.quietPasses();
      run(Duration.ofSeconds(9), Duration.ofSeconds(1));
      assertThat(r.quietPasses() - quiet).as("nothing changed: every pass was quiet").isEqualTo(9);
      run(Duration.ofSeconds(2), Duration.ofSeconds(1));
      assertThat(r.quietPasses() - quiet).as("a full pass ten seconds after the last, then quiet again").isEqualTo(10);
      assertThat(reports).hasSize(reported);

      ContainerInfo first = app("main");
      runtime.crash(first.id(), 1);
      runtime.event();
      quiet = r.quietPasses();
      r.tick();
      assertThat(r.quietPasses()).as("the event's pass is a full one").isEqualTo(quiet);
      ContainerInfo second = app("main");
      assertThat(second.id()).as("the first crash: restarted at once").isNotEqualTo(first.id());
      runtime.crash(second.id(), 1);
      runtime.event();
      r.tick();
      assertThat(last().getContainers(0).getReason()).isEqualTo("CrashLoopBackOff");
      run(Duration.ofSeconds(11), Duration.ofSeconds(1)); // the 10 s back-off: on the clock, every pass is full
      assertThat(r.quietPasses()).as("no quiet pass while a back-off runs").isEqualTo(quiet);
      assertThat(app("main").id()).isNotEqualTo(second.id());
      assertThat(app("main").running()).isTrue();

      r.tick();
      quiet = r.quietPasses();
      r.setDesired(DesiredState.getDefaultInstance());
      r.tick();
      assertThat(r.quietPasses()).as("a new desired set's pass is a full one").isEqualTo(quiet);
      assertThat(owned().stream().filter(ContainerInfo::running)).as("the pod removed").isEmpty();
    } finally {
      scheduler.shutdownNow();
    }
  }

  /**
   * ... but never past the volumes' and the disk's check: a quiet node still checks them when they
   * are due (here every 3 s), not only at the full pass every ten seconds brings. Before, a check due
   * just after a full pass waited for the next one, and an interval under ten seconds was not kept.
   */
  @Test
  void aQuietNodesPassIsAFullOneWhenTheDiskCheckIsDue() {
    r.checkDiskEvery(Duration.ofSeconds(3));
    whileWatching(() -> {
      r.setDesired(desired());
      r.tick(); // starts the pod (its own work)
      r.tick(); // sees it running and reports it
      long quiet = r.quietPasses();
      run(Duration.ofSeconds(9), Duration.ofSeconds(1));
      assertThat(r.quietPasses() - quiet).as("full passes at the checks due 3, 6 and 9 s on").isEqualTo(6);
    });
  }

  /**
   * ... and an agent without a desired set yet (an empty state directory, the coordinator down:
   * its running pods left alone) is a quiet node too: no disk check runs before a set is known, so
   * none is due. Before, its check never ran, was due at every pass, and every pass was a full one.
   */
  @Test
  void anAgentWithoutADesiredSetPassesQuietly() {
    whileWatching(() -> {
      r.tick();
      long quiet = r.quietPasses();
      run(Duration.ofSeconds(9), Duration.ofSeconds(1));
      assertThat(r.quietPasses() - quiet).as("nothing to do, nothing changed: every pass was quiet").isEqualTo(9);
    });
  }

  /** Runs {@code body} with the runtime's events followed on a scheduler of its own (a pass may be quiet only then). */
  void whileWatching(Runnable body) {
    java.util.concurrent.ScheduledExecutorService scheduler = java.util.concurrent.Executors.newSingleThreadScheduledExecutor();
    try {
      r.watch(scheduler);
      body.run();
    } finally {
      scheduler.shutdownNow();
    }
  }

  @Test
  void aFailingLivenessProbeRestartsTheContainer() {
    r.setDesired(desired("spec.template.spec.containers[0].livenessProbe", "{exec: {command: [check]}, periodSeconds: 1, failureThreshold: 2}"));
    runtime.setExecRule(cmd -> new ContainerRuntime.ExecResult(1, "unhealthy"));
    r.tick();
    String first = app("main").id();
    run(Duration.ofSeconds(3), Duration.ofSeconds(1));
    assertThat(runtime.calls).anyMatch(c -> c.startsWith("stop dsf_agent-abcde_ops_main_0_"));
    assertThat(runtime.calls).as("restarted at once: a first crash").anyMatch(c -> c.startsWith("start dsf_agent-abcde_ops_main_1_"));
    assertThat(app("main").id()).isNotEqualTo(first);
  }

  /**
   * A container can make its own exec probes hang until their timeouts (a binary swapped, a fifo
   * read): four such probes once held the four probe threads, and every other container's probes
   * queued behind them. Here a container whose liveness probe fails is still restarted.
   */
  @Test
  void probesThatHangHoldNoOtherContainersProbesBack() {
    java.util.concurrent.ExecutorService probers = ReconcilerThreads.probers();
    r = reconciler(new ReconcilerThreads(new Direct(), probers, new Direct(), new Direct()));
    java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
    runtime.setExecRule(cmd -> {
      if (cmd.contains("hang")) {
        try {
          release.await(60, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        return new ContainerRuntime.ExecResult(0, "");
      }
      return new ContainerRuntime.ExecResult(1, "unhealthy");
    });
    String hanging = "{exec: {command: [hang]}, periodSeconds: 1, timeoutSeconds: 3600}";
    try {
      r.setDesired(desired("spec.template.spec.containers[0].livenessProbe", hanging, "spec.template.spec.containers[0].readinessProbe", hanging,
          "spec.template.spec.containers[1]", "{name: b, image: local/busybox:1, livenessProbe: " + hanging + ", readinessProbe: " + hanging + "}",
          "spec.template.spec.containers[2]", "{name: c, image: local/busybox:1, livenessProbe: {exec: {command: [check]}, periodSeconds: 1,"
              + " failureThreshold: 2}}"));
      r.tick();
      org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> {
        clock.advance(Duration.ofSeconds(1));
        r.tick();
        return runtime.calls.stream().anyMatch(c -> c.startsWith("stop dsf_agent-abcde_ops_c_0_"));
      });
      assertThat(runtime.calls).as("the hanging probes' containers are left alone").noneMatch(c -> c.startsWith("stop dsf_agent-abcde_ops_b_0_"));
    } finally {
      release.countDown();
      probers.shutdownNow();
    }
  }


  /**
   * One pod's probes hold at most a quarter of the probe threads. A pod's containers can each make
   * their exec probes hang until their timeouts, which its manifest sets (here an hour): 34 such
   * probes of one pod held all 32 threads, and no other pod's probe ran while they hung (here a
   * neighbour whose liveness probe fails was never restarted; the kubelet runs each probe on a
   * goroutine of its own, and one pod holds none of another's).
   */
  @Test
  void onePodsProbesHoldAtMostAQuarterOfTheProbeThreads() {
    java.util.concurrent.ExecutorService probers = ReconcilerThreads.probers();
    r = reconciler(new ReconcilerThreads(new Direct(), probers, new Direct(), new Direct()));
    java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.atomic.AtomicInteger hanging = new java.util.concurrent.atomic.AtomicInteger();
    runtime.setExecRule(cmd -> {
      if (cmd.contains("hang")) {
        hanging.incrementAndGet();
        try {
          release.await(60, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        hanging.decrementAndGet();
        return new ContainerRuntime.ExecResult(0, "");
      }
      return new ContainerRuntime.ExecResult(1, "unhealthy");
    });
    String hangs = "{exec: {command: [hang]}, periodSeconds: 1, timeoutSeconds: 3600}";
    List<String> containers = new ArrayList<>();
    for (int i = 0; i < 17; i++) {
      containers.add("{name: c" + i + ", image: local/busybox:1, livenessProbe: " + hangs + ", readinessProbe: " + hangs + "}");
    }
    var hog = Pods.ds("spec.template.spec.containers", "[" + String.join(", ", containers) + "]");
    var neighbour = Pods.ds("spec.template.spec.containers[0].livenessProbe", "{exec: {command: [check]}, periodSeconds: 1, failureThreshold: 2}");
    try {
      r.setDesired(Pods.named(1, Map.of("hog", hog, "neighbour", neighbour)));
      r.tick();
      org.awaitility.Awaitility.await("the neighbour's failing container restarted").atMost(Duration.ofSeconds(30)).until(() -> {
        clock.advance(Duration.ofSeconds(1));
        r.tick();
        return runtime.calls.stream().anyMatch(c -> c.startsWith("stop dsf_neighbour-abcde_ops_"));
      });
      assertThat(hanging.get()).as("the hog's probes under way").isEqualTo(ReconcilerThreads.MAX_PROBES_AT_ONCE / 4);
    } finally {
      release.countDown();
      probers.shutdownNow();
    }
  }
  /**
   * A container decides how long its own hooks take (a script swapped, a fifo read): five pods whose
   * postStart hooks hang hold five workers, and a sixth pod still starts at once. With a fixed four
   * workers it waited, queued, until a hook ended (the same holds for a preStop hook that hangs and
   * a SIGTERM ignored through a restart's whole grace period).
   */
  @Test
  void podsWhoseHooksHangHoldNoOtherPodsStartBack() throws Exception {
    java.util.concurrent.ExecutorService workers = ReconcilerThreads.podWorkers();
    r = reconciler(new ReconcilerThreads(workers, new Direct(), new Direct(), new Direct()));
    java.util.concurrent.CountDownLatch hooked = new java.util.concurrent.CountDownLatch(5);
    java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
    runtime.setExecRule(cmd -> {
      hooked.countDown();
      try {
        release.await(60, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return new ContainerRuntime.ExecResult(0, "");
    });
    Map<String, io.dsfleet.common.model.DaemonSet> pods = new java.util.TreeMap<>();
    for (int i = 0; i < 5; i++) {
      pods.put("hangs" + i, Pods.ds("spec.template.spec.containers[0].lifecycle", "{postStart: {exec: {command: [hang]}}}"));
    }
    try {
      r.setDesired(Pods.named(1, pods));
      r.tick();
      assertThat(hooked.await(10, TimeUnit.SECONDS)).as("the five pods' workers each wait in a postStart hook").isTrue();
      pods.put("free", Pods.ds());
      r.setDesired(Pods.named(2, pods));
      org.awaitility.Awaitility.await("the sixth pod's container runs while the five hooks hang").atMost(Duration.ofSeconds(10))
          .pollInterval(Duration.ofMillis(50)).until(() -> {
            r.tick();
            return owned().stream().anyMatch(c -> "free-abcde".equals(c.label(Labels.POD)) && c.running());
          });
      assertThat(release.getCount()).as("no hook was let go").isEqualTo(1);
    } finally {
      release.countDown();
      workers.shutdownNow();
    }
  }

  /**
   * Under disk pressure the pod whose container wrote the most to its writable layer (Docker keeps
   * the layers on the pods' file system here, a 16 MiB tmpfs, the layer a file on it) is evicted:
   * its containers stopped and removed, for their layers are what holds the disk, and it starts
   * again as a new pod; the other pod, whose volume holds less, is left alone.
   */
  @Test
  void underDiskPressureThePodWritingMostToItsLayerIsEvictedAndItsContainersRemoved() throws Exception {
    onA16MiBDisk(direct(), fs -> {
      String writer = writerAndKeeper(fs);
      String keeper = owned().stream().filter(c -> "keeper-abcde".equals(c.label(Labels.POD))).findFirst().orElseThrow().id();
      Path kept = fs.resolve(KEPT);
      Path layer = Files.write(fs.resolve("layer"), new byte[14 << 20]);
      runtime.layers = new ContainerRuntime.WritableLayers(fs, Map.of(writer, 14L << 20));
      run(Duration.ofSeconds(13), Duration.ofSeconds(1)); // measured at 10 s, stopped at the next pass, removed at the one after
      assertThat(runtime.calls).as("the writer's container stopped and removed").anyMatch(c -> c.startsWith("remove dsf_writer-abcde_ops_main_0_"));
      Files.delete(layer); // Docker gave the layer's space back
      run(Duration.ofSeconds(3), Duration.ofSeconds(1));
      assertThat(owned()).as("the writer runs again, a new container; the keeper's runs on").anyMatch(c -> "writer-abcde".equals(c.label(Labels.POD))
          && c.running() && !c.id().equals(writer)).anyMatch(c -> c.id().equals(keeper) && c.running());
      assertThat(kept).as("the keeper's volume kept").exists();
      assertThat(reports.stream().flatMap(List::stream).flatMap(p -> p.getContainersList().stream()))
          .anyMatch(c -> c.getReason().equals("Evicted") && c.getMessage().contains("containers' writable layers, their files and volumes in Docker's root and the files they deleted and hold open " + (14L << 20)));
    });
  }

  /**
   * An evicted pod's stopped container that Docker would not remove is tried again after its
   * back-off (10 s), as the collector retries a removal, not at every pass; the pod starts again
   * once it is gone. Before, the removal was asked for at every pass, about once a second.
   */
  @Test
  void underDiskPressureARemovalThatFailedIsTriedAgainAfterItsBackOff() throws Exception {
    onA16MiBDisk(direct(), fs -> {
      r.setDesired(Pods.named(1, Map.of("writer", Pods.ds())));
      r.tick();
      String writer = owned().stream().filter(c -> "writer-abcde".equals(c.label(Labels.POD))).findFirst().orElseThrow().id();
      Path layer = Files.write(fs.resolve("layer"), new byte[15 << 20]);
      runtime.layers = new ContainerRuntime.WritableLayers(fs, Map.of(writer, 15L << 20));
      runtime.failing.put("remove " + writer, "device or resource busy");
      java.util.function.LongSupplier removals = () -> runtime.calls.stream().filter(c -> c.startsWith("remove dsf_writer-abcde_")).count();
      for (int i = 0; i < 30 && removals.getAsLong() == 0; i++) {
        run(Duration.ofSeconds(1), Duration.ofSeconds(1));
      }
      run(Duration.ofSeconds(5), Duration.ofSeconds(1));
      assertThat(removals.getAsLong()).as("tried once in 5 s of passes").isEqualTo(1);
      runtime.failing.clear();
      Files.delete(layer);
      run(Duration.ofSeconds(10), Duration.ofSeconds(1));
      assertThat(runtime.exists(writer)).as("removed after its back-off").isFalse();
      assertThat(app("main")).as("and the pod started again").isNotNull().matches(ContainerInfo::running);
    });
  }

  /**
   * Under disk pressure a container's previous run (stopped, kept for {@code logs --previous}) whose
   * layer holds the disk is removed, as the kubelet reclaims dead containers before it evicts: the
   * pod runs on, its volumes and restart count kept, nothing evicted.
   */
  @Test
  void underDiskPressureAPreviousRunHoldingTheDiskIsRemovedBeforeAnyPodIsEvicted() throws Exception {
    onA16MiBDisk(direct(), fs -> {
      String[] runs = writerRestartedOnce(Pods.ds());
      String first = runs[0];
      String second = runs[1];
      Path layer = Files.write(fs.resolve("layer"), new byte[15 << 20]);
      runtime.layers = new ContainerRuntime.WritableLayers(fs, Map.of(first, 15L << 20));
      for (int i = 0; i < 15 && runtime.exists(first); i++) {
        run(Duration.ofSeconds(1), Duration.ofSeconds(1));
      }
      assertThat(runtime.exists(first)).as("the previous run removed").isFalse();
      Files.delete(layer); // Docker gave its layer back
      run(Duration.ofSeconds(12), Duration.ofSeconds(1)); // the next check finds no pressure
      assertThat(app("main").id()).as("the pod ran on").isEqualTo(second);
      assertThat(app("main").running()).isTrue();
      assertThat(reports.stream().flatMap(List::stream).flatMap(p -> p.getContainersList().stream())).as("nothing evicted")
          .noneMatch(c -> c.getReason().equals("Evicted"));
      assertThat(last().getContainers(0).getRestartCount()).as("its restart count kept").isEqualTo(1);
    });
  }

  /**
   * {@code files} empty files in container {@code id}'s writable layer, an overlay2 upper directory
   * under {@code fs}/docker as Docker's layerdb names it, and the runtime saying no bytes of any
   * layer (Docker on overlay2, or SizeRw 0 for empty files); the upper directory.
   */
  Path emptyFilesInLayerOf(Path fs, String id, int files) throws IOException {
    String mount = "c".repeat(64);
    Path upper = Files.createDirectories(fs.resolve("docker/overlay2").resolve(mount).resolve("diff"));
    for (int i = 0; i < files; i++) {
      Files.createFile(upper.resolve("f" + i));
    }
    Files.writeString(Files.createDirectories(fs.resolve("docker/image/overlay2/layerdb/mounts").resolve(id)).resolve("mount-id"), mount);
    runtime.layers = new ContainerRuntime.WritableLayers(fs.resolve("docker"), Map.of());
    return upper;
  }

  /** The writer pod ({@code ds}) run, its container crashed and run again: the first run's container and the second's. */
  String[] writerRestartedOnce(io.dsfleet.common.model.DaemonSet ds) {
    r.setDesired(Pods.named(1, Map.of("writer", ds)));
    r.tick();
    String first = app("main").id();
    runtime.crash(first, 1);
    for (int i = 0; i < 60 && app("main").id().equals(first); i++) {
      run(Duration.ofSeconds(1), Duration.ofSeconds(1));
    }
    String second = app("main").id();
    assertThat(second).as("restarted").isNotEqualTo(first);
    return new String[] {first, second};
  }

  /**
   * Short of inodes, a previous run whose layer holds inodes (empty files: Docker's {@code SizeRw}
   * is 0) is removed before any pod is evicted, as the kubelet collects dead containers first under
   * inode pressure too: the pod runs on, its restart count kept. Before, only a previous run holding
   * bytes was removed, and the pod was evicted for its own previous run's empty files.
   */
  @Test
  void shortOfInodesAPreviousRunHoldingThemIsRemovedBeforeAnyPodIsEvicted() throws Exception {
    onA16MiBDisk(direct(), ",nr_inodes=2048", fs -> {
      String[] runs = writerRestartedOnce(Pods.ds());
      String first = runs[0];
      String second = runs[1];
      Path upper = emptyFilesInLayerOf(fs, first, 1980);
      for (int i = 0; i < 15 && runtime.exists(first); i++) {
        run(Duration.ofSeconds(1), Duration.ofSeconds(1));
      }
      assertThat(runtime.exists(first)).as("the previous run removed").isFalse();
      io.dsfleet.agent.hostfs.NoFollow.deleteTree(upper); // Docker gave its layer back
      run(Duration.ofSeconds(12), Duration.ofSeconds(1)); // the next check finds no pressure
      assertThat(app("main").id()).as("the pod ran on").isEqualTo(second);
      assertThat(reports.stream().flatMap(List::stream).flatMap(p -> p.getContainersList().stream())).as("nothing evicted")
          .noneMatch(c -> c.getReason().equals("Evicted"));
    });
  }

  /**
   * What a previous run's layer holds counts for no pod once it is removed to reclaim the disk, nor do
   * the entries its walk took count against its pod's bound (1,000 here): the writer, whose previous
   * run held 900 files, its pod's volume now 300, is measured at 300; the keeper's 780 is the most,
   * and it is evicted when the removal freed too little. Before, the removed run's 900 and the
   * volume's 300 were past the bound together, and the writer was evicted as past measure.
   */
  @Test
  void shortOfInodesAPreviousRunsWalkDoesNotSpendItsPodsBoundOnceRemoved() throws Exception {
    onA16MiBDisk(direct(), ",nr_inodes=2048", fs -> {
      String[] emptyDir = {"spec.template.spec.volumes", "[{name: scratch, emptyDir: {}}]",
          "spec.template.spec.containers[0].volumeMounts", "[{name: scratch, mountPath: /scratch}]"};
      String first = writerRestartedOnce(Pods.ds(emptyDir))[0];
      var set = Pods.named(1, Map.of("writer", Pods.ds(emptyDir), "keeper", Pods.ds(emptyDir)));
      r.setDesired(set);
      r.tick();
      r.close();
      Path podsDir = fs.resolve("state/pods").toRealPath();
      for (int i = 0; i < 300; i++) {
        Files.createFile(Files.createDirectories(podsDir.resolve("ops_writer-abcde/volumes/scratch")).resolve("w" + i));
      }
      for (int i = 0; i < 780; i++) {
        Files.createFile(Files.createDirectories(podsDir.resolve("ops_keeper-abcde/volumes/scratch")).resolve("k" + i));
      }
      emptyFilesInLayerOf(fs, first, 900);
      var executor = new Executor("10.1.1.1", runtime, new Volumes(new NoMounts(), clock), fs.resolve("state/seccomp"),
          new Failures(Backoff.KUBERNETES), clock, java.util.concurrent.Executors.newSingleThreadExecutor(), h -> null, new java.util.Random());
      var check = new PressureCheck("n1", runtime, podsDir, new Evictions(100, 1000), executor, k -> false);
      var pods = DesiredPod.parse(set, Map.of(), "n1", "10.1.1.1", podsDir, "test").values();
      var owned = owned().stream().map(c -> io.dsfleet.agent.runtime.OwnedContainer.of(c, "n1", new StringBuilder()).orElseThrow()).toList();
      var chosen = check.run(pods, owned, clock.instant()).orElseThrow();
      assertThat(runtime.exists(first)).as("the previous run removed").isFalse();
      assertThat(chosen.pod().key()).as(chosen.why()).isEqualTo("ops/keeper-abcde");
    });
  }

  /**
   * When removing the previous runs leaves the disk still under pressure, the pod is evicted at the
   * same check, as the kubelet measures again after it reclaims and evicts at once. Before, a check
   * that removed any previous run evicted nothing and left it to the next one, 10 s on: a pod whose
   * containers crashed in turn, each leaving a run of one written byte at every check, held its own
   * eviction off for good while its volume filled the disk.
   */
  @Test
  void underDiskPressureAPodIsEvictedAtTheCheckThatRemovedPreviousRunsWhenThatFreedTooLittle() throws Exception {
    onA16MiBDisk(direct(), fs -> {
      String[] runs = writerRestartedOnce(Pods.ds("spec.template.spec.volumes", "[{name: scratch, emptyDir: {}}]",
          "spec.template.spec.containers[0].volumeMounts", "[{name: scratch, mountPath: /scratch}]"));
      String first = runs[0];
      String second = runs[1];
      Files.write(fs.resolve("state/pods/ops_writer-abcde/volumes/scratch/filler"), new byte[15 << 20]);
      runtime.layers = new ContainerRuntime.WritableLayers(fs, Map.of(first, 1L)); // its previous run wrote a byte
      for (int i = 0; i < 15 && runtime.exists(first); i++) {
        run(Duration.ofSeconds(1), Duration.ofSeconds(1));
      }
      assertThat(runtime.exists(first)).as("the previous run removed").isFalse();
      run(Duration.ofSeconds(2), Duration.ofSeconds(1)); // stopped at the next pass, removed at the one after
      assertThat(runtime.exists(second)).as("and the pod evicted at that same check: its container removed").isFalse();
    });
  }

  /** The writer's template: an emptyDir at /scratch. */
  static final String[] SCRATCH = {"spec.template.spec.volumes", "[{name: scratch, emptyDir: {}}]",
      "spec.template.spec.containers[0].volumeMounts", "[{name: scratch, mountPath: /scratch}]"};

  /** The writer run with {@link #SCRATCH}, a file written in its emptyDir (returned), the agent closed. */
  Path theOldTemplateWroteAFile() throws Exception {
    r.setDesired(Pods.named(1, Map.of("writer", Pods.ds(SCRATCH))));
    r.tick();
    Path written = Files.write(dir.resolve("pods/ops_writer-abcde/volumes/scratch/left-by-the-old-template"), new byte[] {1});
    r.close();
    return written;
  }

  /** The writer's next template: {@link #SCRATCH} on another image. */
  String[] writerNext() {
    runtime.addImage("local/busybox:2");
    String[] next = java.util.Arrays.copyOf(SCRATCH, SCRATCH.length + 2);
    next[SCRATCH.length] = "spec.template.spec.containers[0].image";
    next[SCRATCH.length + 1] = "local/busybox:2";
    return next;
  }

  /** A new agent on this state directory starts the writer's {@code next} template with a fresh emptyDir, {@code written} gone. */
  void theNextTemplateStartsFresh(String[] next, Path written) throws Exception {
    r = new Reconciler("n1", "10.1.1.1", runtime, new NoMounts(), clock, Backoff.KUBERNETES, Reconciler.RELIST, dir, "test", direct(),
        reports::add);
    r.setDesired(Pods.named(2, Map.of("writer", Pods.ds(next))));
    r.tick();
    assertThat(dir.resolve("pods/ops_writer-abcde/volumes/scratch")).as("the new template's emptyDir").isDirectory();
    assertThat(written).as("what the old template wrote, not in the new one's emptyDir").doesNotExist();
  }

  /**
   * The first desired set arriving while a pass runs, between its read of the set and its read of
   * whether the sources are ready (here: at once after the set's): that pass acts on the set it
   * read, with the sources not ready, and leaves the running pod alone; the next one has the set.
   * Before 2026-12-06 the pass took the empty set it read for what the node wants, with the sources
   * ready by then, and stopped every running pod: an agent started without a desired set on disk
   * (its state directory wiped, its key or file unreadable), whose coordinator answered then.
   */
  @Test
  void theFirstDesiredSetArrivingDuringAPassTearsNothingDown() {
    r.setDesired(desired());
    r.tick();
    String running = app("main").id();
    r.close(); // an agent before this one ran the pod; this one starts with no desired set
    r = new Reconciler("n1", "10.1.1.1", runtime, new NoMounts(), clock, Backoff.KUBERNETES, Reconciler.RELIST, dir, "test", direct(),
        reports::add);
    java.util.concurrent.atomic.AtomicInteger sent = new java.util.concurrent.atomic.AtomicInteger();
    r.afterDesiredRead = () -> {
      if (sent.getAndIncrement() == 0) {
        r.setDesired(desired()); // the coordinator's first set, while the pass runs
      }
    };
    runtime.calls.clear();
    clock.advance(Duration.ofSeconds(1));
    r.tick();
    assertThat(sent.get()).as("the set arrived during that pass").isEqualTo(1);
    r.tick();
    assertThat(runtime.calls).as("nothing stopped or removed").noneMatch(c -> c.startsWith("stop ") || c.startsWith("remove "));
    assertThat(app("main").id()).isEqualTo(running);
    assertThat(app("main").running()).isTrue();
  }

  /**
   * A released pod (an orphan delete: its containers run on, unmanaged) desired again while a
   * pass runs, between its read of the set and its read of the released pods (here: at once after
   * the set's): that pass leaves it alone, the next adopts it; nothing of it is stopped. Before
   * 2026-12-06 the pass read the set before the adoption and the released pods after it, found the
   * pod in neither, and stopped it as no longer desired.
   */
  @Test
  void aReleasedPodDesiredAgainDuringAPassIsNotStopped() {
    r.setDesired(desired());
    r.tick();
    String running = app("main").id();
    r.setOrphans(java.util.Set.of("ops/agent-abcde")); // released, as the session does it: first the release, then the set without it
    r.setDesired(DesiredState.newBuilder().setVersion(2).build());
    r.tick();
    java.util.concurrent.atomic.AtomicInteger sent = new java.util.concurrent.atomic.AtomicInteger();
    r.afterDesiredRead = () -> {
      if (sent.getAndIncrement() == 0) {
        r.setDesired(desired()); // desired again: adopted
      }
    };
    runtime.calls.clear();
    clock.advance(Duration.ofSeconds(1));
    r.tick();
    assertThat(sent.get()).as("the set arrived during that pass").isEqualTo(1);
    assertThat(r.orphans()).as("adopted").isEmpty();
    r.tick();
    assertThat(runtime.calls).as("nothing stopped or removed").noneMatch(c -> c.startsWith("stop ") || c.startsWith("remove "));
    assertThat(app("main").id()).isEqualTo(running);
    assertThat(app("main").running()).isTrue();
  }

  /** Where an agent is killed in a test: nothing after it runs. */
  static final class Killed extends Error {}

  /**
   * An agent on this state directory given {@code desired}, killed in its first unmount before it
   * removes a pod's directory, once that removal took the template's mark (as far as a removal got);
   * whether it was killed within three passes (a pod's containers stop first).
   */
  boolean killedInARemoval(DesiredState desired) throws Exception {
    Reconciler killed = new Reconciler("n1", "10.1.1.1", runtime, new NoMounts() {
      @Override
      public boolean unmountAll(Path d) throws IOException {
        try (var marks = Files.newDirectoryStream(d, "template-*")) {
          for (Path mark : marks) {
            Files.delete(mark);
          }
        }
        throw new Killed();
      }
    }, clock, Backoff.KUBERNETES, Reconciler.RELIST, dir, "test", direct(), reports::add);
    killed.setDesired(desired);
    try {
      for (int pass = 0; pass < 3; pass++) {
        try {
          killed.tick();
        } catch (Killed end) {
          return true;
        }
      }
      return false;
    } finally {
      killed.close();
    }
  }

  /**
   * An agent killed while it removes the directory of a pod's template before (here as its removal
   * has taken the template's mark and not yet the volume) leaves the next template nothing of it:
   * the agent after it starts the new template with a fresh emptyDir, and removes what the old one
   * held from the host. Before, the directory was removed where it lay, and what the removal had not
   * reached, left without its mark, counted as the new template's: its containers saw what the old
   * ones wrote (a large tree takes long to remove, and an agent restarted or OOM-killed meanwhile is
   * the worst moment).
   */
  @Test
  void anAgentKilledWhileItRemovesTheTemplateBeforesVolumesLeavesTheNextTemplateNothingOfThem() throws Exception {
    Path written = theOldTemplateWroteAFile();
    String[] next = writerNext();
    assertThat(killedInARemoval(Pods.named(2, Map.of("writer", Pods.ds(next))))).as("killed in the removal").isTrue();
    theNextTemplateStartsFresh(next, written);
    r.tick();
    try (var left = Files.list(dir.resolve("pods"))) {
      assertThat(left.map(p -> p.getFileName().toString())).as("nothing of the old template left on the host").containsExactly("ops_writer-abcde");
    }
  }

  /**
   * A pod directory the disk will not let the agent move to the trash (here the pods directory is
   * append-only, {@code chattr +a}) is left as it is, its move retried: before, it was removed where
   * it lay, and an agent killed there (the template's mark gone first, its volumes not yet) left the
   * next template the old one's volumes without their mark, taken for its own.
   */
  @Test
  void aPodDirectoryTheDiskWillNotMoveIsNeverRemovedWhereItLies() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "chattr needs root: not run");
    Path written = theOldTemplateWroteAFile();
    String[] next = writerNext();
    org.junit.jupiter.api.Assumptions.assumeTrue(new ProcessBuilder("chattr", "+a", dir.resolve("pods").toString()).start().waitFor() == 0,
        "no append-only directories on this file system: not run");
    try {
      killedInARemoval(Pods.named(2, Map.of("writer", Pods.ds(next)))); // where the directory lies, if it is removed there
      assertThat(written).as("the old template's volume, still with its mark").exists();
    } finally {
      io.dsfleet.common.testing.Processes.succeed("chattr", "-a", dir.resolve("pods").toString());
    }
    theNextTemplateStartsFresh(next, written);
  }

  /**
   * What an emptyDir a new template no longer has still holds (the old template's volumes stay
   * until the new one starts with fresh ones, which here it cannot: its image is missing) counts for
   * its pod under disk pressure, and goes when the pod is evicted for it: the writer is evicted, its
   * old volume emptied, and the keeper's 1 MiB, the most any current volume holds, is kept. Before,
   * what a volume dropped by a rollout held was no pod's: the disk stayed full and the neighbour's
   * volume was emptied for it.
   */
  @Test
  void underDiskPressureAVolumeANewTemplateDroppedCountsForItsPodAndGoesWithItsEviction() throws Exception {
    onA16MiBDisk(direct(), fs -> {
      var keeper = Pods.ds("spec.template.spec.volumes", "[{name: scratch, emptyDir: {}}]",
          "spec.template.spec.containers[0].volumeMounts", "[{name: scratch, mountPath: /scratch}]");
      r.setDesired(Pods.named(1, Map.of("writer", Pods.ds("spec.template.spec.volumes", "[{name: old, emptyDir: {}}]",
          "spec.template.spec.containers[0].volumeMounts", "[{name: old, mountPath: /old}]"), "keeper", keeper)));
      r.tick();
      Path old = Files.write(fs.resolve("state/pods/ops_writer-abcde/volumes/old/filler"), new byte[14 << 20]);
      Path kept = Files.write(fs.resolve("state/pods/ops_keeper-abcde/volumes/scratch/data"), new byte[1 << 20]);
      runtime.failing.put("pull local/missing:1", "manifest unknown");
      r.setDesired(Pods.named(2, Map.of("writer", Pods.ds("spec.template.spec.containers[0].image", "local/missing:1"), "keeper", keeper)));
      r.tick();
      assertThat(old).as("kept while the new template has not started").exists();
      run(Duration.ofSeconds(13), Duration.ofSeconds(1));
      assertThat(kept).as("the keeper's volume kept").exists();
      assertThat(old).as("the writer's old volume emptied").doesNotExist();
    });
  }

  /**
   * A pod dropped from the desired set while it waits out its back-off after a second eviction,
   * with no container left (the evictions removed them), keeps no hold: the node's passes go quiet
   * again. Before, its hold stayed for good, and every pass was a full one.
   */
  @Test
  void anEvictedPodDroppedWithNoContainerLeftKeepsNoHold() throws Exception {
    java.util.concurrent.ScheduledExecutorService scheduler = java.util.concurrent.Executors.newSingleThreadScheduledExecutor();
    try {
      onA16MiBDisk(direct(), fs -> {
        r.watch(scheduler); // a pass may be quiet only while the runtime's events are followed
        r.setDesired(Pods.named(1, Map.of("writer", Pods.ds())));
        r.tick();
        for (int eviction = 1; eviction <= 2; eviction++) {
          evictedForItsLayer(fs, app("main").id());
          run(Duration.ofSeconds(2), Duration.ofSeconds(1));
        }
        assertThat(owned()).as("waiting out its back-off, no container").isEmpty();
        r.setDesired(DesiredState.newBuilder().setVersion(2).build());
        run(Duration.ofSeconds(3), Duration.ofSeconds(1));
        long quiet = r.quietPasses();
        run(Duration.ofSeconds(5), Duration.ofSeconds(1));
        assertThat(r.quietPasses()).as("passes with nothing to look at again are skipped").isGreaterThan(quiet);
      });
    } finally {
      scheduler.shutdownNow();
    }
  }

  /** The keeper's 1 MiB, under the small disk: the most the pods' emptyDirs hold in the disk pressure tests. */
  static final String KEPT = "state/pods/ops_keeper-abcde/volumes/scratch/data";

  /** Pods writer (the fixture) and keeper (an emptyDir, written {@link #KEPT}) started on the small disk {@code fs}; the writer's container. */
  String writerAndKeeper(Path fs) throws IOException {
    r.setDesired(Pods.named(1, Map.of("writer", Pods.ds(), "keeper", Pods.ds("spec.template.spec.volumes", "[{name: scratch, emptyDir: {}}]",
        "spec.template.spec.containers[0].volumeMounts", "[{name: scratch, mountPath: /scratch}]"))));
    r.tick();
    Files.write(fs.resolve(KEPT), new byte[1 << 20]);
    return owned().stream().filter(c -> "writer-abcde".equals(c.label(Labels.POD))).findFirst().orElseThrow().id();
  }

  /**
   * The container's layer made to hold 15 MiB of the small disk {@code fs} (a file there, and the
   * runtime saying so) until a check evicts its pod and removes it, then given back.
   */
  void evictedForItsLayer(Path fs, String container) throws IOException {
    Path layer = Files.write(fs.resolve("layer"), new byte[15 << 20]);
    runtime.layers = new ContainerRuntime.WritableLayers(fs, Map.of(container, 15L << 20));
    for (int i = 0; i < 30 && runtime.exists(container); i++) {
      run(Duration.ofSeconds(1), Duration.ofSeconds(1));
    }
    assertThat(runtime.exists(container)).as("evicted: its container removed").isFalse();
    Files.delete(layer);
  }

  /** Past a check (every 10 s), the stop and the removal: the writer's container stopped and removed, the keeper's volume kept. */
  void theWriterIsEvictedNotTheKeeper(Path fs) {
    run(Duration.ofSeconds(13), Duration.ofSeconds(1));
    assertThat(runtime.calls).as("the writer's container stopped and removed").anyMatch(c -> c.startsWith("remove dsf_writer-abcde_ops_main_0_"));
    assertThat(fs.resolve(KEPT)).as("the keeper's volume kept").exists();
  }

  /** The reconciler's threads running each piece of work at once, on the calling thread. */
  static ReconcilerThreads direct() {
    return new ReconcilerThreads(new Direct(), new Direct(), new Direct(), new Direct());
  }

  /** A reconciler of node n1 on {@code runtime}, keeping its state in {@code stateDir}, its work done on the calling thread ({@link #direct}). */
  static Reconciler onTheCallingThread(io.dsfleet.agent.runtime.ContainerRuntime runtime, java.time.Clock clock, Path stateDir,
      java.util.function.Consumer<List<PodStatus>> reports) {
    return new Reconciler("n1", "10.1.1.1", runtime, new NoMounts(), clock, Backoff.KUBERNETES, Reconciler.RELIST, stateDir, "test",
        direct(), reports);
  }

  /** What runs on a small disk ({@link #onA16MiBDisk}), given its mount point. */
  interface OnDisk {
    void run(Path fs) throws Exception;
  }

  /**
   * Runs {@code body} with this test's reconciler ({@code threads}) keeping its state and pods on a
   * 16 MiB tmpfs, a disk a test can fill, mounted at {@code fs} for it and unmounted after.
   */
  void onA16MiBDisk(ReconcilerThreads threads, OnDisk body) throws Exception {
    onA16MiBDisk(threads, "", body);
  }

  /** ... with more tmpfs options ({@code ,nr_inodes=N}). */
  void onA16MiBDisk(ReconcilerThreads threads, String options, OnDisk body) throws Exception {
    Path fs = Files.createDirectories(dir.resolve("fs"));
    io.dsfleet.common.testing.Processes.succeed("mount", "-t", "tmpfs", "-o", "size=16m" + options, "dsfleet-test", fs.toString());
    try {
      r = new Reconciler("n1", "10.1.1.1", runtime, new NoMounts(), clock, Backoff.KUBERNETES, Reconciler.RELIST, fs.resolve("state"),
          "test", threads, reports::add);
      body.run(fs);
    } finally {
      if (r != null) {
        r.close();
      }
      io.dsfleet.common.testing.Processes.succeed("umount", "-l", fs.toString());
    }
  }

  /**
   * Short of inodes, what a container made in its own file system counts for its pod: the
   * writer, whose writable layer (overlay2's upper directory, as Docker's {@code mount-id} for the
   * container names it) holds 1,980 empty files on a disk of 2,048 inodes,
   * is evicted, not the keeper. Docker says what a layer holds in bytes only: before, the layer's
   * inodes were not counted (nor inodes watched at all), and a pod holding 1 % of them in a volume
   * would have been evicted for the writer.
   */
  @Test
  void shortOfInodesTheFilesAContainerMadeInItsOwnFileSystemCountForItsPod() throws Exception {
    onA16MiBDisk(direct(), ",nr_inodes=2048", fs -> {
      String writer = writerAndKeeper(fs);
      for (int i = 0; i < 30; i++) {
        Files.createFile(fs.resolve(KEPT).resolveSibling("k" + i)); // 31 entries: over 1 % of the inodes
      }
      emptyFilesInLayerOf(fs, writer, 1980);
      theWriterIsEvictedNotTheKeeper(fs);
      assertThat(reports.stream().flatMap(List::stream).flatMap(p -> p.getContainersList().stream()))
          .anyMatch(c -> c.getReason().equals("Evicted") && c.getMessage().startsWith("The node was low on resource: inodes"));
    });
  }

  /**
   * A runtime that says no bytes for a layer (Docker on overlay2, which the agent no longer asks:
   * its answer had no deadline, and a daemon failing under pressure left every layer unmeasured)
   * has the layer's upper directory walked: the writer, 14 MiB in its own file system, is evicted,
   * not the keeper, whose 1 MiB volume is the most the volumes hold.
   */
  @Test
  void underDiskPressureALayerTheRuntimeSaysNothingOfIsMeasuredFromItsUpperDirectory() throws Exception {
    onA16MiBDisk(direct(), fs -> {
      String writer = writerAndKeeper(fs);
      Path upper = emptyFilesInLayerOf(fs, writer, 0);
      Files.write(Files.createDirectories(upper.resolve("var/cache")).resolve("big"), new byte[14 << 20]);
      theWriterIsEvictedNotTheKeeper(fs);
      assertThat(reports.stream().flatMap(List::stream).flatMap(p -> p.getContainersList().stream()))
          .anyMatch(c -> c.getReason().equals("Evicted") && c.getMessage().startsWith("The node was low on resource: ephemeral-storage"));
    });
  }

  /**
   * Docker's root on the pods' file system through another mount of it (a bind mount: {@code
   * /var/lib/docker} bound from a data disk's directory, as hosts often have it) still counts the
   * layers: the writer is evicted, not the keeper, whose 1 MiB volume is the most the volumes hold.
   * Before, the two file stores were compared as mounts (device and mount point), found unequal,
   * and the layers not counted: the neighbour's volume was emptied for the writer's layer.
   */
  @Test
  void underDiskPressureALayerOnABindMountOfThePodsFileSystemCountsToo() throws Exception {
    Path bound = Files.createDirectories(dir.resolve("docker"));
    onA16MiBDisk(direct(), fs -> {
      io.dsfleet.common.testing.Processes.succeed("mount", "--bind", Files.createDirectories(fs.resolve("docker")).toString(), bound.toString());
      try {
        String writer = writerAndKeeper(fs);
        Files.write(bound.resolve("layer"), new byte[14 << 20]);
        runtime.layers = new ContainerRuntime.WritableLayers(bound, Map.of(writer, 14L << 20));
        theWriterIsEvictedNotTheKeeper(fs);
      } finally {
        io.dsfleet.common.testing.Processes.succeed("umount", "-l", bound.toString());
      }
    });
  }

  /**
   * What a container writes to the files Docker keeps for it beside its layer, in its directory
   * under Docker's root, counts as its layer does: {@code /etc/hosts}, {@code /etc/resolv.conf}
   * and {@code /etc/hostname} are bound from there and writable by the container's root, as are
   * its logs. The writer is evicted, not the keeper, whose 1 MiB volume is the most the volumes
   * hold. Before, nothing counted them (Docker's {@code SizeRw} is the layer's alone): a container
   * that appended to its {@code /etc/hosts} filled the disk and had the neighbour's volume emptied
   * for it, again and again (the kubelet's CVE-2020-8557).
   */
  @Test
  void underDiskPressureWhatAContainerWritesToItsEtcHostsCountsForItsPod() throws Exception {
    onA16MiBDisk(direct(), fs -> {
      String writer = writerAndKeeper(fs);
      Path docker = Files.createDirectories(fs.resolve("docker"));
      Files.write(Files.createDirectories(docker.resolve("containers").resolve(writer)).resolve("hosts"), new byte[14 << 20]);
      runtime.layers = new ContainerRuntime.WritableLayers(docker, Map.of()); // its layer holds nothing
      theWriterIsEvictedNotTheKeeper(fs);
    });
  }

  /**
   * What a container writes to an anonymous volume (Docker makes one for each {@code VOLUME} of its
   * image, postgres' {@code /var/lib/postgresql/data}, under its root) counts for its pod as its
   * layer does: the writer is evicted, not the keeper, whose 1 MiB volume is the most the emptyDirs
   * hold. Before, neither Docker's {@code SizeRw} nor the emptyDirs counted it: a container that
   * filled its image's volume had a neighbour's volume emptied for it, one neighbour after another.
   */
  @Test
  void underDiskPressureWhatAContainerWritesToItsImagesAnonymousVolumeCountsForItsPod() throws Exception {
    onA16MiBDisk(direct(), fs -> {
      String writer = writerAndKeeper(fs);
      Path docker = Files.createDirectories(fs.resolve("docker"));
      Path volume = Files.createDirectories(docker.resolve("volumes/0123abcd/_data"));
      Files.write(volume.resolve("base"), new byte[14 << 20]);
      runtime.layers = new ContainerRuntime.WritableLayers(docker, Map.of(), Map.of(writer, List.of(volume))); // its layer holds nothing
      theWriterIsEvictedNotTheKeeper(fs);
    });
  }

  /**
   * A pod with a sandbox evicted for disk pressure loses its sandbox too, as the kubelet kills an
   * evicted pod's sandbox: the {@code /etc/hosts} its containers share is the sandbox's file, and
   * the pod starts again in a new sandbox with a fresh one. Before, only the stopped app
   * containers were removed: the sandbox ran on with the bytes appended to its {@code /etc/hosts},
   * the disk stayed full, and the pod was evicted again and again, never giving them back.
   */
  @Test
  void underDiskPressureAnEvictedPodsSandboxHoldingItsEtcHostsIsRemovedToo() throws Exception {
    onA16MiBDisk(direct(), fs -> {
      r.setDesired(Pods.named(1, Map.of("writer", Pods.ds("spec.template.spec.containers[1]", "{name: b, image: local/busybox:1}"))));
      for (int i = 0; i < 10 && (app("main") == null || !app("main").running()); i++) {
        run(Duration.ofSeconds(1), Duration.ofSeconds(1));
      }
      String sandbox = owned().stream().filter(c -> Labels.SANDBOX.equals(c.label(Labels.ROLE))).findFirst().orElseThrow().id();
      Path docker = Files.createDirectories(fs.resolve("docker"));
      Path hosts = Files.write(Files.createDirectories(docker.resolve("containers").resolve(sandbox)).resolve("hosts"), new byte[15 << 20]);
      runtime.layers = new ContainerRuntime.WritableLayers(docker, Map.of());
      for (int i = 0; i < 20 && runtime.exists(sandbox); i++) {
        run(Duration.ofSeconds(1), Duration.ofSeconds(1));
      }
      assertThat(reports.stream().flatMap(List::stream).flatMap(p -> p.getContainersList().stream())).as("evicted")
          .anyMatch(c -> c.getReason().equals("Evicted"));
      assertThat(runtime.exists(sandbox)).as("the evicted pod's sandbox removed").isFalse();
      Files.delete(hosts); // Docker removed its directory with it
      run(Duration.ofSeconds(5), Duration.ofSeconds(1));
      assertThat(app("main")).as("the pod runs again").isNotNull().matches(ContainerInfo::running);
      assertThat(owned()).as("in a new sandbox").anyMatch(c -> Labels.SANDBOX.equals(c.label(Labels.ROLE)) && c.running() && !c.id().equals(sandbox));
    });
  }

  /**
   * An evicted pod whose volume cannot be emptied (what the removal must not cross: here a tmpfs
   * mounted inside it, on the host a btrfs subvolume, which any container of a btrfs host can make)
   * starts again all the same, as Kubernetes' new pod with new volumes would: the volume is moved
   * out of the way to the pods directory's trash, whose removal is retried with back-off. Before,
   * the emptying was tried again every minute and failed every time: the pod stayed evicted for
   * good, and since one eviction for disk pressure at a time is under way, no other pod was ever
   * evicted for it again.
   */
  @Test
  void underDiskPressureAnEvictedPodWhoseVolumeCannotBeEmptiedStartsAgainWithAFreshOne() throws Exception {
    onA16MiBDisk(direct(), fs -> {
      r.setDesired(Pods.named(1, Map.of("stuck", Pods.ds("spec.template.spec.volumes", "[{name: scratch, emptyDir: {}}]",
          "spec.template.spec.containers[0].volumeMounts", "[{name: scratch, mountPath: /scratch}]"))));
      r.tick();
      String first = app("main").id();
      Path volume = fs.resolve("state/pods/ops_stuck-abcde/volumes/scratch");
      Path filler = Files.write(volume.resolve("filler"), new byte[15 << 20]);
      Path inner = Files.createDirectories(volume.resolve("inner"));
      io.dsfleet.common.testing.Processes.succeed("mount", "-t", "tmpfs", "-o", "size=1m", "dsfleet-test-inner", inner.toString());
      for (int i = 0; i < 20 && runtime.exists(first); i++) {
        run(Duration.ofSeconds(1), Duration.ofSeconds(1));
      }
      assertThat(runtime.exists(first)).as("evicted: its container removed").isFalse();
      run(Duration.ofSeconds(3), Duration.ofSeconds(1));
      assertThat(app("main")).as("the pod runs again").isNotNull().matches(ContainerInfo::running);
      assertThat(filler).as("with a fresh volume").doesNotExist();
    });
  }

  /**
   * A pod evicted again and again starts again later each time, as Kubernetes' DaemonSet
   * controller recreates a failed pod with back-off (1 s doubling to 15 min; here the agent's 10 s
   * doubling to 5 min): the first time at once, the second after 10 s. Before, an evicted pod
   * started again at once every time, its stopped containers removed and with them its restart
   * back-off: a container that filled the disk as fast as it could held the node's disk full,
   * evicted and back within seconds, again and again.
   */
  @Test
  void aPodEvictedAgainAndAgainForDiskPressureStartsAgainWithBackOff() throws Exception {
    onA16MiBDisk(direct(), fs -> {
      r.setDesired(Pods.named(1, Map.of("writer", Pods.ds())));
      r.tick();
      java.util.function.Supplier<List<ContainerInfo>> running = () -> owned().stream()
          .filter(c -> "writer-abcde".equals(c.label(Labels.POD)) && Labels.APP.equals(c.label(Labels.ROLE)) && c.running()).toList();
      for (int eviction = 1; eviction <= 2; eviction++) {
        evictedForItsLayer(fs, running.get().get(0).id());
        run(Duration.ofSeconds(3), Duration.ofSeconds(1));
        if (eviction == 1) {
          assertThat(running.get()).as("after the first eviction it starts again at once").isNotEmpty();
        }
      }
      assertThat(running.get()).as("after the second, not within 3 s").isEmpty();
      assertThat(last().getContainersList()).anyMatch(c -> c.getReason().equals("Evicted"));
      run(Duration.ofSeconds(9), Duration.ofSeconds(1));
      assertThat(running.get()).as("but after its 10 s").isNotEmpty();
    });
  }

  /**
   * An agent killed while an evicted pod waits out its back-off, and one started in its place on
   * the same state directory: the pod still waits out its 10 s, and its next eviction in a row
   * counts on (20 s). Before 2026-12-06 the back-off and the streak were the killed agent's memory
   * alone: the new one started the pod at once, and counted its next eviction the first.
   */
  @Test
  void anAgentKilledDuringAnEvictionsBackOffLeavesItToTheNext() throws Exception {
    onA16MiBDisk(direct(), fs -> {
      DesiredState set = Pods.named(1, Map.of("writer", Pods.ds()));
      r.setDesired(set);
      r.tick();
      java.util.function.Supplier<List<ContainerInfo>> running = () -> owned().stream()
          .filter(c -> "writer-abcde".equals(c.label(Labels.POD)) && Labels.APP.equals(c.label(Labels.ROLE)) && c.running()).toList();
      for (int eviction = 1; eviction <= 2; eviction++) {
        evictedForItsLayer(fs, running.get().get(0).id());
        run(Duration.ofSeconds(3), Duration.ofSeconds(1));
      }
      assertThat(running.get()).as("backing off after the second").isEmpty();
      r.close(); // killed: nothing of it runs on; a new agent starts from the state directory
      r = new Reconciler("n1", "10.1.1.1", runtime, new NoMounts(), clock, Backoff.KUBERNETES, Reconciler.RELIST, fs.resolve("state"),
          "test", direct(), reports::add);
      r.setDesired(set);
      run(Duration.ofSeconds(3), Duration.ofSeconds(1));
      assertThat(running.get()).as("the new agent keeps the back-off").isEmpty();
      assertThat(last().getContainersList()).anyMatch(c -> c.getReason().equals("Evicted"));
      run(Duration.ofSeconds(6), Duration.ofSeconds(1));
      assertThat(running.get()).as("but only its 10 s").isNotEmpty();
      evictedForItsLayer(fs, running.get().get(0).id());
      run(Duration.ofSeconds(12), Duration.ofSeconds(1));
      assertThat(running.get()).as("the third in a row: 20 s").isEmpty();
      run(Duration.ofSeconds(10), Duration.ofSeconds(1));
      assertThat(running.get()).isNotEmpty();
    });
  }

  /**
   * While Docker takes its time to say what the layers hold (it walks each one: a container that
   * made millions of files in its own file system makes that minutes, up to the long client's 10),
   * a pod with a limited emptyDir whose container died is restarted all the same. Before, the check
   * ran on the collector's one thread: every pod's sizeLimit measurement queued behind it, each
   * holding its pod's work mark, and none of those pods was restarted, updated or evicted until
   * Docker answered.
   */
  @Test
  void aSlowAnswerOfWhatTheLayersHoldHoldsNoPodsWorkBack() throws Exception {
    java.util.concurrent.CountDownLatch answer = new java.util.concurrent.CountDownLatch(1);
    onA16MiBDisk(ReconcilerThreads.standard(), fs -> {
      try {
        r.setDesired(Pods.named(1, Map.of("limited", Pods.ds("spec.template.spec.volumes", "[{name: scratch, emptyDir: {sizeLimit: 1Gi}}]",
            "spec.template.spec.containers[0].volumeMounts", "[{name: scratch, mountPath: /scratch}]"))));
        java.util.function.Supplier<List<ContainerInfo>> running = () -> owned().stream()
            .filter(c -> Labels.APP.equals(c.label(Labels.ROLE)) && c.running()).toList();
        for (int i = 0; i < 100 && running.get().isEmpty(); i++) {
          clock.advance(Duration.ofSeconds(1));
          r.tick();
          Thread.sleep(20);
        }
        String first = running.get().get(0).id();
        java.util.concurrent.CountDownLatch asked = new java.util.concurrent.CountDownLatch(1);
        runtime.duringLayers = () -> {
          asked.countDown();
          try {
            answer.await();
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        };
        Files.write(fs.resolve("host-file"), new byte[15 << 20]); // the host's own: under 10 % free
        runtime.layers = new ContainerRuntime.WritableLayers(fs, Map.of());
        for (int i = 0; i < 30 && asked.getCount() > 0; i++) {
          clock.advance(Duration.ofSeconds(1));
          r.tick();
          Thread.sleep(20);
        }
        assertThat(asked.getCount()).as("the pressure check asked Docker").isZero();
        run(Duration.ofSeconds(12), Duration.ofSeconds(1)); // the next check of the pod's limited volume is due meanwhile
        runtime.crash(first, 1);
        for (int i = 0; i < 60 && running.get().isEmpty(); i++) {
          clock.advance(Duration.ofSeconds(1));
          r.tick();
          Thread.sleep(20);
        }
        assertThat(answer.getCount()).as("Docker has not answered yet").isEqualTo(1);
        assertThat(running.get()).as("the pod's container restarted meanwhile").isNotEmpty();
      } finally {
        answer.countDown();
      }
    });
  }

  /** A pod's work no worker could take (all busy) is planned again at the next pass. */
  @Test
  void aPodsWorkRefusedForWantOfAThreadRunsAtTheNextPass() {
    int[] refusals = {1};
    r = reconciler(new ReconcilerThreads(new Direct() {
      @Override
      public void execute(Runnable command) {
        if (refusals[0]-- > 0) {
          throw new java.util.concurrent.RejectedExecutionException("every pod worker busy");
        }
        command.run();
      }
    }, new Direct(), new Direct(), new Direct()));
    r.setDesired(Pods.state(Pods.ds()));
    r.tick();
    assertThat(owned()).as("refused: nothing started yet").isEmpty();
    run(Duration.ofSeconds(2), Duration.ofSeconds(1));
    assertThat(app("main")).as("started at a later pass").isNotNull().matches(ContainerInfo::running);
  }

  /** A probe the probe threads could not take (all busy) runs at the next pass, not a period later. */
  @Test
  void aProbeRefusedForWantOfAThreadRunsAtTheNextPass() {
    int[] refusals = {1};
    r = reconciler(new ReconcilerThreads(new Direct(), new Direct() {
      @Override
      public void execute(Runnable command) {
        if (refusals[0]-- > 0) {
          throw new java.util.concurrent.RejectedExecutionException("every probe thread busy");
        }
        command.run();
      }
    }, new Direct(), new Direct()));
    r.setDesired(desired("spec.template.spec.containers[0].livenessProbe", "{exec: {command: [check]}, periodSeconds: 60, failureThreshold: 1}"));
    runtime.setExecRule(cmd -> new ContainerRuntime.ExecResult(1, "unhealthy"));
    r.tick(); // the pod starts; its first probe is refused
    run(Duration.ofSeconds(3), Duration.ofSeconds(1));
    assertThat(runtime.calls).as("probed at a pass seconds later, and restarted").anyMatch(c -> c.startsWith("stop dsf_agent-abcde_ops_main_0_"));
  }

  /**
   * A template change while a pod is evicted: the new template's containers too wait until the
   * volume is emptied (the change used to forget the eviction's hold, and they started on the full
   * volume).
   */
  @Test
  void anEvictedPodsNewTemplateStartsOnlyOnTheEmptiedVolume() throws IOException {
    String[] volume = {"spec.template.spec.containers[0].volumeMounts", "[{name: scratch, mountPath: /scratch}]",
        "spec.template.spec.volumes", "[{name: scratch, emptyDir: {sizeLimit: 1Ki}}]"};
    r.setDesired(desired(volume));
    r.tick();
    Path scratch;
    try (var found = Files.walk(dir)) {
      scratch = found.filter(p -> p.endsWith(Path.of("volumes", "scratch"))).findFirst().orElseThrow();
    }
    Files.write(scratch.resolve("big"), new byte[64 * 1024]);
    // past the next measure however long the first walk took (the pace is 50 times its real time, at
    // most a minute: a cold, busy JVM's first walk of 200 ms put it past 10 s, and the test raced)
    clock.advance(Evictions.MAX_PAUSE.plusSeconds(1));
    r.tick(); // measured: evicted
    r.tick(); // its container stopped
    List<Boolean> bigAtCreate = new ArrayList<>();
    runtime.beforeCreate = spec -> {
      if (spec.name().contains("_main_")) { // the app container (the sandbox mounts no volume)
        bigAtCreate.add(Files.exists(scratch.resolve("big")));
      }
    };
    String[] changed = java.util.Arrays.copyOf(volume, volume.length + 2);
    changed[volume.length] = "spec.template.spec.containers[0].env[2]";
    changed[volume.length + 1] = "{name: CHANGED, value: 'yes'}";
    r.setDesired(desired(changed));
    run(Duration.ofSeconds(5), Duration.ofSeconds(1));
    assertThat(bigAtCreate).as("the new template's containers are created, and only on the emptied volume").isNotEmpty()
        .containsOnly(false);
  }

  /**
   * An agent killed during an eviction, its pod's container stopped and its volume not emptied
   * yet, and one started in its place on the same state directory: the new agent empties the
   * volume before the pod starts again. Before 2026-12-06 the eviction was the killed agent's
   * memory alone: the new one took the stopped container for a crash and started it again at once,
   * on the full volume.
   */
  @Test
  void anAgentKilledDuringAnEvictionLeavesItToTheNext() throws IOException {
    Path scratch = killedDuringAnEviction();
    List<Boolean> bigAtCreate = bigAtCreate(scratch);
    r.setDesired(desired(EVICTED_VOLUME));
    run(Duration.ofSeconds(5), Duration.ofSeconds(1));
    assertThat(bigAtCreate).as("started again by the new agent, and only on the emptied volume").isNotEmpty().containsOnly(false);
  }

  /**
   * ... and so does a pass that reads the new agent's first set while it is being taken, the set
   * in place and its evictions not held again yet (here from the released pods' write of an
   * adoption, which comes between the two): the pod waits for its volume all the same. Before
   * 2026-12-06 the set was in place before the record's holds were made again, and such a pass
   * started the pod at once on the full volume (the sources not ready stop nothing, but start
   * what the set holds).
   */
  @Test
  void aPassDuringTheNewAgentsFirstSetStartsNoPodWhoseEvictionIsUnderWay() throws IOException {
    Path scratch = killedDuringAnEviction();
    List<Boolean> bigAtCreate = bigAtCreate(scratch);
    r.setOrphans(java.util.Set.of("ops/agent-abcde")); // released, and desired again by the set below: adopted
    java.util.concurrent.atomic.AtomicInteger passes = new java.util.concurrent.atomic.AtomicInteger();
    r.onOrphansChanged(released -> {
      passes.incrementAndGet();
      r.tick(); // a pass while the set is being taken
    });
    r.setDesired(desired(EVICTED_VOLUME));
    assertThat(passes.get()).as("a pass ran while the set was taken").isEqualTo(1);
    run(Duration.ofSeconds(5), Duration.ofSeconds(1));
    assertThat(bigAtCreate).as("started again, and only on the emptied volume").isNotEmpty().containsOnly(false);
  }

  static final String[] EVICTED_VOLUME = {"spec.template.spec.containers[0].volumeMounts", "[{name: scratch, mountPath: /scratch}]",
      "spec.template.spec.volumes", "[{name: scratch, emptyDir: {sizeLimit: 1Ki}}]"};

  /** Whether the pod's volume held its file at each create of its container, from now on. */
  List<Boolean> bigAtCreate(Path scratch) {
    List<Boolean> bigAtCreate = new ArrayList<>();
    runtime.beforeCreate = spec -> {
      if (spec.name().contains("_main_")) {
        bigAtCreate.add(Files.exists(scratch.resolve("big")));
      }
    };
    return bigAtCreate;
  }

  /**
   * An agent that evicts its pod for a volume over its limit, killed once its container stopped
   * and before the volume is emptied, and a new agent in its place on the same state directory
   * ({@code r}), given no set yet; the volume.
   */
  Path killedDuringAnEviction() throws IOException {
    String[] volume = EVICTED_VOLUME;
    r.setDesired(desired(volume));
    r.tick();
    Path scratch;
    try (var found = Files.walk(dir)) {
      scratch = found.filter(p -> p.endsWith(Path.of("volumes", "scratch"))).findFirst().orElseThrow();
    }
    Files.write(scratch.resolve("big"), new byte[64 * 1024]);
    clock.advance(Evictions.MAX_PAUSE.plusSeconds(1)); // past the next measure, whatever the first walk took
    r.tick(); // measured: evicted
    r.tick(); // its container stopped
    assertThat(app("main").running()).as("stopped").isFalse();
    assertThat(scratch.resolve("big")).as("not emptied yet").exists();
    r.close(); // killed here
    r = new Reconciler("n1", "10.1.1.1", runtime, new NoMounts(), clock, Backoff.KUBERNETES, Reconciler.RELIST, dir, "test", direct(),
        reports::add);
    return scratch;
  }

  /** The wall clock stepped back an hour (NTP, date -s) does not stop sizeLimit enforcement for an hour. */
  @Test
  void aWallClockSteppedBackStillMeasuresTheVolume() throws IOException {
    r.setDesired(desired("spec.template.spec.containers[0].volumeMounts", "[{name: scratch, mountPath: /scratch}]",
        "spec.template.spec.volumes", "[{name: scratch, emptyDir: {sizeLimit: 1Ki}}]"));
    r.tick(); // measured: empty
    clock.stepWall(Duration.ofHours(-1));
    Path scratch;
    try (var found = Files.walk(dir)) {
      scratch = found.filter(p -> p.endsWith(Path.of("volumes", "scratch"))).findFirst().orElseThrow();
    }
    Files.write(scratch.resolve("big"), new byte[64 * 1024]);
    run(Evictions.MAX_PAUSE.plusSeconds(10), Duration.ofSeconds(1)); // the longest pause between measures, whatever the walk took
    assertThat(runtime.calls).as("evicted within the measurement period").anyMatch(c -> c.startsWith("stop dsf_agent-abcde_ops_main_0_"));
  }

  /**
   * The wall clock stepped back an hour (NTP correcting a host that booted fast, date -s) while a
   * liveness probe runs: the probe keeps its period. Its next run was timed from the last one on the
   * wall clock, so the probe stopped for the hour and a container that hung meanwhile ran on.
   */
  @Test
  void aWallClockSteppedBackKeepsProbing() {
    r.setDesired(desired("spec.template.spec.containers[0].livenessProbe", "{exec: {command: [check]}, periodSeconds: 10, failureThreshold: 2}"));
    runtime.setExecRule(cmd -> new ContainerRuntime.ExecResult(0, ""));
    r.tick();
    run(Duration.ofSeconds(25), Duration.ofSeconds(1)); // probed, healthy
    clock.stepWall(Duration.ofHours(-1));
    runtime.setExecRule(cmd -> new ContainerRuntime.ExecResult(1, "unhealthy"));
    run(Duration.ofSeconds(40), Duration.ofSeconds(1));
    assertThat(runtime.calls).as("two failures in a row within 40 s: restarted").anyMatch(c -> c.startsWith("stop dsf_agent-abcde_ops_main_0_"));
  }

  /**
   * A crash back-off and a failure's back-off under way when the wall clock steps back an hour:
   * each ends within its delay, not an hour later (both were timed on the wall clock: the crashed
   * container's end, the failure's time).
   */
  @Test
  void aWallClockSteppedBackDoesNotStretchBackoffs() {
    r.setDesired(desired());
    r.tick();
    runtime.crash(app("main").id(), 1);
    r.tick(); // the first crash: restarted at once
    runtime.crash(app("main").id(), 1);
    r.tick(); // the second: 10 s of back-off
    assertThat(app("main").running()).isFalse();
    clock.stepWall(Duration.ofHours(-1));
    run(Duration.ofSeconds(11), Duration.ofSeconds(1));
    assertThat(app("main").running()).as("the crashed container restarted within its back-off").isTrue();
  }

  /** The same for a failure that left no container (a create Docker refused): it is tried again within its back-off. */
  @Test
  void aWallClockSteppedBackDoesNotStretchAFailuresBackoff() {
    runtime.failing.put("create dsf_agent-abcde_ops_main", "refused");
    r.setDesired(desired());
    r.tick(); // refused: CreateContainerError, tried again in 10 s
    assertThat(last().getContainers(0).getReason()).isEqualTo("CreateContainerError");
    runtime.failing.clear();
    clock.stepWall(Duration.ofHours(-1));
    run(Duration.ofSeconds(11), Duration.ofSeconds(1));
    assertThat(app("main")).as("the refused create tried again within its back-off").isNotNull();
    assertThat(app("main").running()).isTrue();
  }

  /** A missed event is still caught by the relist after the wall clock stepped back (it was not listed again for the hour). */
  @Test
  void aWallClockSteppedBackStillRelists() {
    java.util.concurrent.ScheduledExecutorService scheduler = java.util.concurrent.Executors.newSingleThreadScheduledExecutor();
    try {
      r.watch(scheduler);
      r.setDesired(desired());
      r.tick();
      r.tick();
      run(Duration.ofSeconds(12), Duration.ofSeconds(1)); // quiet
      String first = app("main").id();
      clock.stepWall(Duration.ofHours(-1));
      runtime.crash(first, 1); // its event missed
      run(Duration.ofSeconds(35), Duration.ofSeconds(1));
      assertThat(app("main").id()).as("the relist saw the crash: restarted at once, a first crash").isNotEqualTo(first);
    } finally {
      scheduler.shutdownNow();
    }
  }

  @Test
  void aTemplateChangeStopsTheOldPodBeforeStartingTheNew() {
    r.setDesired(desired());
    r.tick();
    runtime.calls.clear();
    runtime.addImage("local/busybox:2");
    r.setDesired(desired("spec.template.spec.containers[0].image", "local/busybox:2"));
    r.tick();
    assertThat(runtime.calls.stream().map(c -> c.replaceAll("_[0-9a-f]{6}$", "")).toList()).containsSubsequence(
        "stop dsf_agent-abcde_ops_main_0", "stop dsf_agent-abcde_ops_POD_0", "create dsf_agent-abcde_ops_POD_1", "create dsf_agent-abcde_ops_main_0");
    assertThat(app("main").label(Labels.HASH)).isEqualTo(desired("spec.template.spec.containers[0].image", "local/busybox:2").getPods(0).getTemplateHash());
  }

  /** A wall clock stepped back an hour during a preStop hook gives the container its grace period, not an hour and more, before SIGKILL. */
  @Test
  void aWallClockSteppedBackDuringAPreStopHookGivesNoMoreThanTheGracePeriod() {
    r.setDesired(desired("spec.template.spec.terminationGracePeriodSeconds", "30",
        "spec.template.spec.containers[0].lifecycle", "{preStop: {exec: {command: [hook]}}}"));
    r.tick();
    runtime.setExecRule(cmd -> {
      clock.stepWall(Duration.ofHours(-1));
      return new ContainerRuntime.ExecResult(0, "");
    });
    r.setDesired(DesiredState.newBuilder().setVersion(2).build());
    r.tick();
    assertThat(graces("dsf_agent-abcde_ops_main_0_")).containsExactly(Duration.ofSeconds(30));
  }

  /**
   * As the kubelet (minimumGracePeriodInSeconds): a container gets at least 2 s between SIGTERM and
   * SIGKILL, with a grace period of 0 (its preStop hook not run) or one its preStop hook used up;
   * its sandbox, which runs nothing, is stopped at once.
   */
  @Test
  void aContainerGetsAtLeastTwoSecondsBetweenSigtermAndSigkill() {
    runtime.addImage("local/busybox:2");
    r.setDesired(desired("spec.template.spec.terminationGracePeriodSeconds", "0",
        "spec.template.spec.containers[0].lifecycle", "{preStop: {exec: {command: [hook]}}}"));
    r.tick();
    List<String> hooks = java.util.Collections.synchronizedList(new ArrayList<>());
    runtime.setExecRule(cmd -> {
      hooks.add(String.join(" ", cmd));
      clock.advance(Duration.ofSeconds(40)); // the hook outlasts the grace period
      return new ContainerRuntime.ExecResult(0, "");
    });
    r.setDesired(desired("spec.template.spec.terminationGracePeriodSeconds", "30",
        "spec.template.spec.containers[0].lifecycle", "{preStop: {exec: {command: [hook]}}}",
        "spec.template.spec.containers[0].image", "local/busybox:2"));
    r.tick();
    assertThat(hooks).as("a grace period of 0 runs no preStop hook").isEmpty();
    assertThat(graces("dsf_agent-abcde_ops_main_0_")).containsExactly(Duration.ofSeconds(2));
    assertThat(graces("dsf_agent-abcde_ops_POD_0_")).containsExactly(Duration.ZERO);

    runtime.stopGraces.clear();
    r.setDesired(desired("spec.template.spec.terminationGracePeriodSeconds", "30",
        "spec.template.spec.containers[0].lifecycle", "{preStop: {exec: {command: [hook]}}}"));
    r.tick();
    assertThat(hooks).as("the old template's hook, which took 40 of its 30 s").containsExactly("hook");
    assertThat(graces("dsf_agent-abcde_ops_main_0_")).containsExactly(Duration.ofSeconds(2));
  }

  /**
   * A template that no desired pod and no container has any more is forgotten, at the second full
   * pass that finds it unused; one given again (a rollback) is kept again. Before 2026-12-06 every
   * template the agent was given stayed for its life, one more at each rollout (helper-118).
   */
  @Test
  void aTemplateNothingUsesAnyMoreIsForgotten() {
    runtime.addImage("local/busybox:2");
    r.setDesired(desired());
    r.tick();
    r.setDesired(desired("spec.template.spec.containers[0].image", "local/busybox:2"));
    run(Duration.ofSeconds(5), Duration.ofSeconds(1));
    assertThat(app("main").label(Labels.HASH)).isEqualTo(desired("spec.template.spec.containers[0].image", "local/busybox:2").getPods(0)
        .getTemplateHash());
    assertThat(r.templatesKept()).as("the first template forgotten once its containers were gone").isEqualTo(1);
    r.setDesired(desired());
    r.tick();
    assertThat(r.templatesKept()).as("the rollback's template and the one its containers still have").isEqualTo(2);
    run(Duration.ofSeconds(5), Duration.ofSeconds(1));
    assertThat(app("main").label(Labels.HASH)).isEqualTo(desired().getPods(0).getTemplateHash());
    assertThat(r.templatesKept()).isEqualTo(1);
  }

  /**
   * A pod worker's template is kept while its work runs: the passes that run meanwhile may see
   * neither the pod (a new set dropped it) nor the containers the worker makes (the event stream
   * followed, nothing of the work's own is listed before it ends), and before 2026-12-06 two of
   * them forgot the template of the container the worker was starting; its stop, once a pass
   * listed it, then ran no preStop hook (helper-125). Here the set drops the pod as its app
   * container starts, and two full passes run before the worker's work ends.
   */
  @Test
  void aTemplateIsKeptWhileAPodWorkerMakesItsContainers() {
    String[] withHook = {"spec.template.spec.terminationGracePeriodSeconds", "30",
        "spec.template.spec.containers[0].lifecycle", "{preStop: {exec: {command: [hook]}}}"};
    List<String> hooks = java.util.Collections.synchronizedList(new ArrayList<>());
    runtime.setExecRule(cmd -> {
      hooks.add(String.join(" ", cmd));
      return new ContainerRuntime.ExecResult(0, "");
    });
    List<Integer> keptDuring = new ArrayList<>();
    whileWatching(() -> {
      r.setDesired(desired(withHook));
      runtime.duringStart = id -> {
        if (owned().stream().noneMatch(c -> c.id().equals(id) && Labels.APP.equals(c.label(Labels.ROLE)))) {
          return; // the sandbox
        }
        runtime.duringStart = x -> { };
        r.setDesired(DesiredState.newBuilder().setVersion(2).build()); // the pod dropped as its app container starts
        long before = r.passes();
        r.tick();
        clock.advance(Duration.ofSeconds(1));
        r.tick();
        assertThat(r.passes() - before).as("two passes while the worker's work runs").isEqualTo(2);
        keptDuring.add(r.templatesKept());
      };
      r.tick(); // the worker makes the pod's containers
      assertThat(keptDuring).as("the passes ran").hasSize(1);
      assertThat(app("main").running()).as("started before the set dropped it").isTrue();
      r.tick(); // lists what the worker made: the pod is no longer desired, stopped
    });
    assertThat(hooks).as("its preStop hook ran as it stopped").containsExactly("hook");
    assertThat(keptDuring).as("the template of the container being started").containsExactly(1);
  }

  /** The grace periods the containers named {@code prefix...} were stopped with. */
  List<Duration> graces(String prefix) {
    return runtime.stopGraces.entrySet().stream().filter(e -> e.getKey().startsWith(prefix)).map(Map.Entry::getValue).toList();
  }

  @Test
  void podsNobodyWantsAreRemovedAndContainersThatAreNotTheAgentsAreNeverTouched() {
    String stranger = runtime.addForeign("someone-elses", Map.of("app", "db"), false);
    // an image that carries the agent's labels (someone ran it with docker run): it is not the agent's
    String forged = runtime.addForeign("forged", Map.of(Labels.MANAGED, "true", Labels.NODE, "n1", Labels.NAMESPACE, "ops",
        Labels.DAEMON_SET, "x", Labels.POD, "x", Labels.CONTAINER, "c", Labels.HASH, "h", Labels.ROLE, "app", Labels.RESTARTS, "0"), true);
    // labels that are not names: not the agent's either
    String bad = runtime.addForeign("bad-labels", Map.of(Labels.MANAGED, "true", Labels.NODE, "n1", Labels.NAMESPACE, "../../etc",
        Labels.DAEMON_SET, "x", Labels.POD, "x", Labels.CONTAINER, "c", Labels.HASH, "h", Labels.ROLE, "app", Labels.RESTARTS, "0"), false);
    r.setDesired(desired());
    r.tick();
    assertThat(owned().stream().filter(c -> c.name().startsWith("dsf_"))).hasSize(2);
    r.setDesired(DesiredState.newBuilder().setVersion(2).build());
    r.tick();
    r.tick();
    assertThat(owned().stream().filter(c -> c.name().startsWith("dsf_"))).isEmpty();
    for (String id : List.of(stranger, forged, bad)) {
      assertThat(runtime.exists(id)).isTrue();
      assertThat(runtime.calls).noneMatch(c -> (c.startsWith("stop") || c.startsWith("remove")) && !c.contains("dsf_"));
    }
  }

  @Test
  void withoutADesiredSetNothingOwnedIsTouched() {
    r.setDesired(desired());
    r.tick();
    List<String> before = owned().stream().map(ContainerInfo::id).toList();
    // a new agent on the same node with no state and no coordinator: sources are not ready
    Reconciler fresh = new Reconciler("n1", "10.1.1.1", runtime, new NoMounts(), clock, Backoff.KUBERNETES, Reconciler.RELIST, dir.resolve("other"), "test",
        new ReconcilerThreads(new Direct(), new Direct(), new Direct(), new Direct()), x -> { });
    runtime.calls.clear();
    for (int i = 0; i < 100; i++) {
      clock.advance(Duration.ofSeconds(1));
      fresh.tick();
    }
    assertThat(fresh.sourcesReady()).isFalse();
    assertThat(runtime.calls).isEmpty();
    assertThat(owned().stream().map(ContainerInfo::id).toList()).isEqualTo(before);
  }

  @Test
  void aMissingConfigMapKeyIsReportedAndRetriedOnlyAfterItsBackoff() {
    r.setDesired(desired("spec.template.spec.containers[0].env[2]", "{name: X, valueFrom: {configMapKeyRef: {name: nope, key: k}}}"));
    r.tick();
    assertThat(app("main")).isNull();
    var c = last().getContainers(0);
    assertThat(c.getReason()).isEqualTo("CreateContainerConfigError");
    assertThat(c.getMessage()).isEqualTo("configmap \"nope\" not found");
  }

  /**
   * Image pulls, container creation and container starts that keep failing are retried on
   * Kubernetes' schedule (10 s, 20 s, 40 s, ... 5 min), never every pass, each with its reason; a
   * container that was created but would not start is retried once at once first, as a crashed one.
   */
  @Test
  void everyKindOfFailureBacksOff() {
    List<String> reasons = new ArrayList<>();
    for (String failing : List.of("pull 127.0.0.1:1/nope:1", "create dsf_agent-abcde_ops_main", "start dsf_agent-abcde_ops_main")) {
      runtime = new FakeRuntime(clock);
      setUp();
      runtime.failing.put(failing, "refused: " + failing);
      String image = failing.startsWith("pull") ? "127.0.0.1:1/nope:1" : "local/busybox:1";
      r.setDesired(desired("spec.template.spec.containers[0].image", image));
      for (int s = 0; s < 600; s++) { // ten minutes, one pass a second
        r.tick();
        clock.advance(Duration.ofSeconds(1));
      }
      long tries = runtime.calls.stream().filter(c -> c.startsWith(failing)).count();
      // 0, 10, 30, 70, 150, 310 s: six tries in ten minutes, not 600 (a start: 0, 1, 11, 31, 71, 151, 311 s)
      assertThat(tries).as(failing).isEqualTo(failing.startsWith("start") ? 7 : 6);
      reasons.add(last().getContainers(0).getReason());
      runtime.calls.clear();
    }
    assertThat(reasons).containsExactly("ImagePullBackOff", "CreateContainerError", "RunContainerError");
  }

  @Test
  void aContainerTheRuntimeCannotRemoveNeverBlocksItsPod() {
    r.setDesired(desired());
    r.tick();
    ContainerInfo sandbox = owned().stream().filter(c -> Labels.SANDBOX.equals(c.label(Labels.ROLE))).findFirst().orElseThrow();
    // the runtime restarted: everything died, and it refuses to remove the dead sandbox ("device or resource busy")
    owned().forEach(c -> runtime.crash(c.id(), 0));
    runtime.failing.put("remove " + sandbox.id(), "driver overlay2 failed to remove root filesystem: device or resource busy");
    r.tick();
    r.tick();
    assertThat(app("main").running()).as("the pod runs again, in a new sandbox").isTrue();
    assertThat(owned().stream().filter(c -> Labels.SANDBOX.equals(c.label(Labels.ROLE)) && c.running()).findFirst().orElseThrow()
        .label(Labels.ATTEMPT)).isEqualTo("1");
    assertThat(runtime.exists(sandbox.id())).as("still there").isTrue();
    long tries = runtime.calls.stream().filter(c -> c.equals("remove " + sandbox.name())).count();
    run(Duration.ofSeconds(60), Duration.ofSeconds(1));
    long later = runtime.calls.stream().filter(c -> c.equals("remove " + sandbox.name())).count();
    assertThat(later - tries).as("removal retried with back-off (10, 20 s), not every pass").isBetween(1L, 3L);
    runtime.failing.clear();
    run(Duration.ofSeconds(60), Duration.ofSeconds(1));
    assertThat(runtime.exists(sandbox.id())).as("removed once the runtime lets it").isFalse();
  }

  @Test
  void anUnreachableRuntimeChangesNothingReportsItAndIsRetried() {
    List<Boolean> conditions = new ArrayList<>();
    r.onRuntimeCondition(() -> conditions.add(r.runtimeCondition().down()));
    r.setDesired(desired());
    runtime.setDown(true);
    r.tick();
    r.tick();
    assertThat(r.runtimeCondition().down()).isTrue();
    assertThat(r.runtimeCondition().message()).contains("fake runtime is down");
    runtime.setDown(false);
    r.tick();
    assertThat(app("main").running()).isTrue();
    assertThat(conditions).containsExactly(true, false);
  }

  @Test
  void aPodThisAgentCannotReadFailsAloneWithAReason() {
    r.setDesired(desired());
    r.tick();
    String running = app("main").id();
    DesiredState withNewer = desired().toBuilder().addPods(Pods.state(Pods.ds()).getPods(0).toBuilder().setPodName("newer-abcde")
        .setTemplateJson(com.google.protobuf.ByteString.copyFromUtf8("{\"spec\":{\"containers\":[],\"fromTheFuture\":1}}"))).build();
    r.setDesired(withNewer);
    r.tick();
    PodStatus newer = reports.get(reports.size() - 1).stream().filter(p -> p.getPodName().equals("newer-abcde")).findFirst().orElseThrow();
    assertThat(newer.getReason()).isEqualTo("UnsupportedPodSpec");
    assertThat(newer.getMessage()).contains("fromTheFuture");
    assertThat(app("main").id()).as("the other pod goes on").isEqualTo(running);
  }

  @Test
  void configMapVolumesFollowUpdatesWhileThePodRuns() throws IOException {
    var ds = Pods.ds("spec.template.spec.containers[0].volumeMounts", "[{name: cfg, mountPath: /etc/cfg}]",
        "spec.template.spec.volumes", "[{name: cfg, configMap: {name: cfg}}]");
    r.setDesired(Pods.state(ds).toBuilder().addConfigs(config(Map.of("a", "1", "b", "2"))).build());
    r.tick();
    String id = app("main").id();
    Path vol = dir.resolve("pods/ops_agent-abcde/volumes/cfg");
    assertThat(Files.readString(vol.resolve("a"))).isEqualTo("1");
    r.setDesired(Pods.state(ds).toBuilder().addConfigs(config(Map.of("a", "changed", "c", "3"))).build());
    r.tick();
    assertThat(Files.readString(vol.resolve("a"))).isEqualTo("changed");
    assertThat(Files.readString(vol.resolve("c"))).isEqualTo("3");
    assertThat(vol.resolve("b")).as("a deleted key goes").doesNotExist();
    assertThat(app("main").id()).as("no restart").isEqualTo(id);
  }

  static ConfigObject config(Map<String, String> data) {
    ConfigObject.Builder b = ConfigObject.newBuilder().setKind(ConfigObject.Kind.CONFIG_MAP).setNamespace("ops").setName("cfg");
    data.forEach((k, v) -> b.putData(k, com.google.protobuf.ByteString.copyFromUtf8(v)));
    return b.build();
  }

  /**
   * A pass between a release and the set that drops the pod (the session takes the release first)
   * finds it both desired and released: it is the set's, reported once among the node's pods, not
   * again as released (the coordinator showed it twice, managed and Released, until the next report).
   */
  @Test
  void aPodStillDesiredWhenItsReleaseArrivesIsReportedOnceAsTheSets() {
    r.setDesired(desired());
    r.tick();
    r.setOrphans(java.util.Set.of("ops/agent-abcde")); // the release: the set without it comes next
    clock.advance(Duration.ofSeconds(1));
    r.tick();
    assertThat(r.lastReport()).singleElement().satisfies(p -> {
      assertThat(p.getPodName()).isEqualTo("agent-abcde");
      assertThat(p.getReleased()).isFalse();
    });
  }

  /**
   * A released pod runs on, untouched, and is reported apart from the node's pods, as released (the
   * operator sees it in dsctl get pods; a coordinator before 2026-12-06 ignores the field): before
   * 2026-12-06 it was not reported at all, and only the agent's log and STATE_DIR/orphans said it ran.
   */
  @Test
  void orphanedPodsAreLeftRunningAndReportedAsReleased() {
    r.setDesired(desired());
    r.tick();
    String id = app("main").id();
    r.setOrphans(java.util.Set.of("agent-abcde"));
    r.setDesired(DesiredState.newBuilder().setVersion(2).build());
    r.tick();
    assertThat(runtime.exists(id)).isTrue();
    assertThat(owned()).hasSize(2).allMatch(ContainerInfo::running);
    List<PodStatus> last = reports.get(reports.size() - 1);
    assertThat(last).singleElement().satisfies(p -> {
      assertThat(p.getReleased()).isTrue();
      assertThat(p.getPhase()).isEqualTo("Released");
      assertThat(p.getNamespace() + "/" + p.getDaemonSet() + "/" + p.getPodName()).isEqualTo("ops/agent/agent-abcde");
      assertThat(p.getContainersList()).singleElement().satisfies(c -> {
        assertThat(c.getName()).isEqualTo("main");
        assertThat(c.getState()).isEqualTo("running");
      });
    });
    var wire = io.dsfleet.agent.session.StatusReportsAccess.report(last);
    assertThat(wire.getPodsList()).as("not among the pods, which an older coordinator would take for its own").isEmpty();
    assertThat(wire.getReleasedPodsList()).extracting(PodStatus::getPodName).containsExactly("agent-abcde");
    r.removeAll(Duration.ofSeconds(30), x -> { });
    assertThat(owned()).as("leaving the fleet does not touch released pods either").hasSize(2).allMatch(ContainerInfo::running);
  }

  /** A release by key stays when a pod of the same name is desired in another namespace (names hold no namespace). */
  @Test
  void aReleaseIsKeptWhenTheSameNameIsDesiredInAnotherNamespace() {
    r.setDesired(desired());
    r.tick();
    String id = app("main").id();
    r.setOrphans(java.util.Set.of("ops/agent-abcde"));
    DesiredState d = desired();
    r.setDesired(d.toBuilder().setVersion(2).setPods(0, d.getPods(0).toBuilder().setNamespace("web")).build());
    assertThat(r.orphans()).as("not adopted").containsExactly("ops/agent-abcde");
    r.tick();
    assertThat(owned()).filteredOn(c -> c.id().equals(id)).as("the released pod of ops runs on").singleElement()
        .matches(ContainerInfo::running);
  }

  @Test
  void leavingStopsEveryPodAndSaysSo() {
    r.setDesired(desired().toBuilder().setVersion(4).setDigest("d".repeat(64)).build());
    r.tick();
    assertThat(r.held()).isEqualTo(new HeldSet(4, "d".repeat(64)));
    List<String> progress = new ArrayList<>();
    assertThat(r.removeAll(Duration.ofSeconds(30), progress::add).stopped()).isEqualTo(1);
    assertThat(owned()).isEmpty();
    assertThat(r.held()).as("a session opened after the removal names no set: it runs none").isEqualTo(new HeldSet(0, ""));
    assertThat(progress).containsExactly("stopping 1 pod (each within its grace period, at most 30 s)", "stopped ops/agent-abcde (1/1)");
    assertThat(r.removeAll(Duration.ofSeconds(30), progress::add).stopped()).as("a second leave has nothing to stop").isZero();
  }

  /**
   * What an agent killed while it removed a pod's directory left in the trash goes when the node
   * leaves ({@code ds-agent leave}: a new agent, no desired set, no pass): before, the leave removed
   * the pod directories alone, and the trash, a Secret's tmpfs perhaps still mounted in it, stayed
   * on a host that left the fleet, with no agent to remove it.
   */
  @Test
  void leavingRemovesTheTrashAnAgentKilledInARemovalLeft() throws Exception {
    theOldTemplateWroteAFile();
    assertThat(killedInARemoval(DesiredState.newBuilder().setVersion(2).build())).as("killed in the removal").isTrue();
    try (var left = Files.list(dir.resolve("pods"))) {
      assertThat(left.map(p -> p.getFileName().toString())).as("the trash the kill left").singleElement().asString().startsWith(".trash-");
    }
    Reconciler leaver = new Reconciler("n1", "10.1.1.1", runtime, new NoMounts(), clock, Backoff.KUBERNETES, Reconciler.RELIST, dir, "test",
        direct(), reports::add);
    leaver.removeAll(Duration.ofSeconds(30), x -> { });
    leaver.close();
    try (var left = Files.list(dir.resolve("pods"))) {
      assertThat(left).as("nothing of the node's pods left on the host").isEmpty();
    }
  }

  /** A pass while the node's pods are being removed tears nothing down again: each preStop hook runs once. */
  @Test
  void aPassDuringTheRemovalTearsNothingDownAgain() throws Exception {
    r.setDesired(desired("spec.template.spec.containers[0].lifecycle", "{preStop: {exec: {command: [sh, -c, 'sleep 5']}}}"));
    r.tick();
    assertThat(app("main").running()).isTrue();
    java.util.concurrent.atomic.AtomicInteger preStops = new java.util.concurrent.atomic.AtomicInteger();
    java.util.concurrent.CountDownLatch hooked = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
    runtime.setExecRule(cmd -> {
      if (preStops.incrementAndGet() == 1) { // the removal's hook waits for the test; any other returns at once
        hooked.countDown();
        try {
          release.await(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      return new ContainerRuntime.ExecResult(0, "");
    });
    var removal = java.util.concurrent.CompletableFuture.supplyAsync(() -> r.removeAll(Duration.ofSeconds(30), x -> { }));
    try {
      assertThat(hooked.await(30, TimeUnit.SECONDS)).isTrue();
      clock.advance(Duration.ofSeconds(11)); // past the longest a node goes without a full pass (its work runs inline, on this thread)
      r.tick();
      assertThat(preStops.get()).as("the pass ran no second preStop hook").isEqualTo(1);
    } finally {
      release.countDown();
    }
    assertThat(removal.get(30, TimeUnit.SECONDS).stopped()).isEqualTo(1);
    assertThat(owned()).isEmpty();
  }

  /** A pod's create under way in Docker when the removal starts ends first: the removal's list holds its container. */
  @Test
  void theRemovalWaitsForACreateUnderWayAndRemovesItsContainer() throws Exception {
    java.util.concurrent.ExecutorService pods = java.util.concurrent.Executors.newSingleThreadExecutor();
    r = reconciler(new ReconcilerThreads(pods, new Direct(), new Direct(), new Direct()));
    java.util.concurrent.CountDownLatch creating = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
    runtime.beforeCreate = spec -> {
      creating.countDown();
      try {
        release.await(30, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    };
    try {
      r.setDesired(desired());
      r.tick(); // the pod's worker, on its own thread, waits in its first create
      assertThat(creating.await(30, TimeUnit.SECONDS)).isTrue();
      var removal = java.util.concurrent.CompletableFuture.supplyAsync(() -> r.removeAll(Duration.ofSeconds(30), x -> { }));
      org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> r.desiredPods().isEmpty()); // the removal began
      release.countDown();
      removal.get(30, TimeUnit.SECONDS);
      org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30)).until(r::idle); // the worker is done whatever it did
      assertThat(owned()).as("the container the create made is removed too").isEmpty();
    } finally {
      release.countDown();
      pods.shutdownNow();
    }
  }

  /** The reconciler of this test over {@code threads}. */
  Reconciler reconciler(ReconcilerThreads threads) {
    return new Reconciler("n1", "10.1.1.1", runtime, new NoMounts(), clock, Backoff.KUBERNETES, Reconciler.RELIST, dir, "test", threads,
        reports::add);
  }

  /** An exec rule for preStop hooks: {@code slow-hook} counts its runs and lasts until released; {@code other-hook} is only seen. */
  static final class Hooks {
    final java.util.concurrent.atomic.AtomicInteger slowRuns = new java.util.concurrent.atomic.AtomicInteger();
    final java.util.concurrent.CountDownLatch slowHooked = new java.util.concurrent.CountDownLatch(1);
    final java.util.concurrent.CountDownLatch otherHooked = new java.util.concurrent.CountDownLatch(1);
    final java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);

    ContainerRuntime.ExecResult run(List<String> cmd) {
      if (cmd.contains("slow-hook")) {
        slowRuns.incrementAndGet();
        slowHooked.countDown();
        try {
          release.await(60, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      } else if (cmd.contains("other-hook")) {
        otherHooked.countDown();
      }
      return new ContainerRuntime.ExecResult(0, "");
    }
  }

  /** {@code state} with a second pod, ops/other-fghij of DaemonSet other, of the same template but its preStop hook's command {@code hook}. */
  static DesiredState withSecondPod(DesiredState state, String hook) {
    var ds = Pods.ds("spec.template.spec.containers[0].lifecycle", "{preStop: {exec: {command: [" + hook + "]}}}");
    return state.toBuilder().addPods(io.dsfleet.proto.v1.DesiredPod.newBuilder().setNamespace("ops").setDaemonSet("other")
        .setPodName("other-fghij").setTemplateHash(io.dsfleet.common.TemplateHash.of(ds.spec().template())).setRevision(1)
        .setTemplateJson(com.google.protobuf.ByteString.copyFromUtf8(io.dsfleet.common.Json.canonical(ds.spec().template())))).build();
  }

  /**
   * A pod whose teardown is under way when the node's removal starts goes on stopping, its preStop
   * hook run once; the removal does not spend the other pods' grace waiting for it: their hooks run
   * meanwhile.
   */
  @Test
  void aTeardownUnderWayGoesOnWhileTheRemovalStopsTheOtherPodsWithTheirGrace() throws Exception {
    java.util.concurrent.ExecutorService stoppers = java.util.concurrent.Executors.newCachedThreadPool();
    r = reconciler(new ReconcilerThreads(new Direct(), new Direct(), stoppers, new Direct()));
    Hooks hooks = new Hooks();
    runtime.setExecRule(hooks::run); // the torn-down pod's hook lasts until the test lets it end
    DesiredState slow = Pods.state(Pods.ds("spec.template.spec.containers[0].lifecycle", "{preStop: {exec: {command: [slow-hook]}}}"));
    DesiredState both = withSecondPod(slow, "other-hook");
    try {
      r.setDesired(both);
      r.tick();
      assertThat(owned()).hasSize(2).allMatch(ContainerInfo::running);
      DesiredState onlyOther = both.toBuilder().removePods(0).setVersion(2).build();
      r.setDesired(onlyOther);
      r.tick(); // ops/agent-abcde's teardown, on a stopper, waits in its preStop hook
      assertThat(hooks.slowHooked.await(30, TimeUnit.SECONDS)).isTrue();
      List<String> progress = java.util.Collections.synchronizedList(new ArrayList<>());
      var removal = java.util.concurrent.CompletableFuture.supplyAsync(() -> r.removeAll(Duration.ofSeconds(30), progress::add));
      assertThat(hooks.otherHooked.await(10, TimeUnit.SECONDS)).as("the other pod's preStop hook ran while the teardown was still under way").isTrue();
      hooks.release.countDown();
      assertThat(removal.get(30, TimeUnit.SECONDS).stopped()).as("both pods ran at the removal's first look").isEqualTo(2);
      assertThat(hooks.slowRuns.get()).as("the torn-down pod's preStop hook ran once").isEqualTo(1);
      assertThat(owned()).isEmpty();
      assertThat(progress).contains("pod ops/agent-abcde was being stopped already: that goes on", "stopped ops/other-fghij (1/1)");
      assertThat(runtime.stopGraces.entrySet()).as("the other pod's container stopped with (nearly) its 30 s: the removal did not spend them waiting")
          .anyMatch(e -> e.getKey().startsWith("dsf_other-fghij_ops_main_") && e.getValue().compareTo(Duration.ofSeconds(15)) > 0);
    } finally {
      hooks.release.countDown();
      stoppers.shutdownNow();
    }
  }

  /**
   * A container whose pod is dropped while Docker creates it (here: the node's removal began) is
   * removed by its worker, never started, the sandbox's as the app's: nothing is left for a pass to
   * find as a container that could not run.
   */
  @Test
  void aContainerCreatedAsItsPodIsDroppedIsRemovedNeverStarted() {
    for (boolean sandbox : List.of(true, false)) {
      runtime.calls.clear();
      r.setDesired(DesiredState.getDefaultInstance());
      r.tick();
      runtime.beforeCreate = spec -> r.setDesired(DesiredState.newBuilder().setVersion(9).build()); // dropped as Docker creates
      r.setDesired(sandbox ? desired() : Pods.state(Pods.ds()));
      r.tick();
      runtime.beforeCreate = spec -> { };
      assertThat(owned()).as(sandbox ? "the sandbox" : "the app container").isEmpty();
      assertThat(runtime.calls).as(sandbox ? "the sandbox" : "the app container").anyMatch(c -> c.startsWith("create "))
          .noneMatch(c -> c.startsWith("start ")).anyMatch(c -> c.startsWith("remove "));
      r.setDesired((sandbox ? desired() : Pods.state(Pods.ds())).toBuilder().setVersion(10).build()); // back at once
      r.tick();
      assertThat(app("main")).as("the pod back starts at once, no back-off from the container that never ran").isNotNull()
          .matches(ContainerInfo::running);
    }
  }

  /**
   * A container a worker is stopping when the node's removal starts (its pod's template replaced)
   * is stopped once: the removal's stop of it waits for the worker's, whose preStop hook is not run
   * again.
   */
  @Test
  void aContainerAWorkerIsStoppingIsStoppedOnce() throws Exception {
    java.util.concurrent.ExecutorService workers = java.util.concurrent.Executors.newSingleThreadExecutor();
    java.util.concurrent.ExecutorService stoppers = java.util.concurrent.Executors.newCachedThreadPool();
    r = reconciler(new ReconcilerThreads(workers, new Direct(), stoppers, new Direct()));
    Hooks hooks = new Hooks();
    runtime.setExecRule(hooks::run);
    try {
      r.setDesired(desired("spec.template.spec.containers[0].lifecycle", "{preStop: {exec: {command: [slow-hook]}}}"));
      r.tick();
      org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> app("main") != null && app("main").running() && r.idle());
      r.setDesired(desired("spec.template.spec.containers[0].lifecycle", "{preStop: {exec: {command: [slow-hook]}}}",
          "spec.template.spec.containers[0].command", "[sh, -c, 'sleep 2000']").toBuilder().setVersion(2).build());
      r.tick(); // the pod's worker replaces its containers: it waits in the old one's preStop hook
      assertThat(hooks.slowHooked.await(30, TimeUnit.SECONDS)).isTrue();
      List<String> progress = java.util.Collections.synchronizedList(new ArrayList<>());
      var removal = java.util.concurrent.CompletableFuture.supplyAsync(() -> r.removeAll(Duration.ofSeconds(30), progress::add));
      org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> !progress.isEmpty()); // the removal began
      hooks.release.countDown();
      assertThat(removal.get(30, TimeUnit.SECONDS).stopped()).isEqualTo(1);
      assertThat(hooks.slowRuns.get()).as("the preStop hook ran once").isEqualTo(1);
      assertThat(progress).contains("stopped ops/agent-abcde (1/1)");
      assertThat(owned()).isEmpty();
    } finally {
      hooks.release.countDown();
      workers.shutdownNow();
      stoppers.shutdownNow();
    }
  }

  /** A container started again behind the agent's back after its stop is stopped again: a stop counts once per run of a container. */
  @Test
  void aContainerStartedAgainBehindTheAgentsBackIsStoppedAgain() {
    r.setDesired(Pods.state(Pods.ds()));
    r.tick();
    String id = app("main").id();
    r.setDesired(DesiredState.newBuilder().setVersion(2).build());
    r.tick();
    assertThat(runtime.listOwned("n1").stream().filter(c -> c.id().equals(id))).as("stopped (and maybe collected)").noneMatch(ContainerInfo::running);
    assertThat(runtime.exists(id)).as("the teardown keeps the stopped container (garbage collection comes later)").isTrue();
    clock.advance(Duration.ofSeconds(1));
    runtime.restart(id); // docker start, within the minute a stop is remembered
    runtime.event();
    r.tick();
    assertThat(runtime.listOwned("n1").stream().filter(c -> c.id().equals(id))).as("stopped again").noneMatch(ContainerInfo::running);
  }

  /** A stop that fails is tried again by the next one that asks, not taken for done. */
  @Test
  void aStopThatFailedIsTriedAgain() {
    r.setDesired(Pods.state(Pods.ds()));
    r.tick();
    String name = app("main").name();
    runtime.failing.put("stop " + name, "refused: stop");
    r.setDesired(DesiredState.newBuilder().setVersion(2).build());
    r.tick();
    assertThat(app("main").running()).as("the stop failed").isTrue();
    runtime.failing.clear();
    clock.advance(Duration.ofSeconds(11));
    r.tick();
    assertThat(owned()).as("stopped by the next pass, and collected").noneMatch(ContainerInfo::running);
  }

  /** A container whose postStart hook fails is killed as the kubelet kills it: its preStop hook first, once. */
  @Test
  void aFailedPostStartHookKillsTheContainerWithItsPreStopHook() {
    List<String> hooks = java.util.Collections.synchronizedList(new ArrayList<>());
    runtime.setExecRule(cmd -> {
      hooks.add(String.join(" ", cmd));
      return new ContainerRuntime.ExecResult(cmd.contains("post-hook") ? 1 : 0, "");
    });
    r.setDesired(Pods.state(Pods.ds("spec.template.spec.containers[0].lifecycle",
        "{postStart: {exec: {command: [post-hook]}}, preStop: {exec: {command: [pre-hook]}}}")));
    r.tick();
    assertThat(hooks).containsExactly("post-hook", "pre-hook");
    assertThat(app("main").running()).as("killed").isFalse();
  }

  /** A postStart hook that fails once its pod has a new template counts against the old one only: the new one starts at once. */
  @Test
  void aPostStartHookThatFailsAsItsPodIsReplacedLeavesTheNewTemplateNoBackoff() {
    runtime.addImage("local/busybox:2");
    DesiredState next = Pods.state(Pods.ds("spec.template.spec.containers[0].image", "local/busybox:2"));
    runtime.setExecRule(cmd -> {
      if (cmd.contains("post-hook")) {
        r.setDesired(next); // a new template arrives while the hook runs
        return new ContainerRuntime.ExecResult(1, "");
      }
      return new ContainerRuntime.ExecResult(0, "");
    });
    r.setDesired(Pods.state(Pods.ds("spec.template.spec.containers[0].lifecycle", "{postStart: {exec: {command: [post-hook]}}}")));
    r.tick();
    r.tick();
    assertThat(app("main")).as("the new template's container, started without the old one's back-off").isNotNull()
        .matches(ContainerInfo::running).matches(c -> c.label(Labels.HASH).equals(next.getPods(0).getTemplateHash()));
  }

  /** An image carrying more than 16 KiB of labels is not run: each list and event of its containers would carry them into a small heap. */
  @Test
  void anImageWithMegabytesOfLabelsIsNotRun() {
    Map<String, String> labels = new java.util.HashMap<>();
    for (int i = 0; i < 20; i++) {
      labels.put("blob." + i, "x".repeat(4096));
    }
    runtime.addImage("local/labelled:1", labels);
    r.setDesired(Pods.state(Pods.ds("spec.template.spec.containers[0].image", "local/labelled:1")));
    r.tick();
    assertThat(app("main")).as("no container made").isNull();
    assertThat(last().getContainers(0).getReason()).isEqualTo("CreateContainerError");
    assertThat(last().getContainers(0).getMessage()).contains("bytes of labels");
  }

  /** A preStop hook Docker will not run (the exec refused) is logged, and the container is stopped all the same, as the kubelet does. */
  @Test
  void aPreStopHookThatCannotRunDoesNotKeepTheContainerRunning() {
    runtime.setExecRule(cmd -> {
      throw new IllegalStateException("Conflict: container is not running");
    });
    r.setDesired(Pods.state(Pods.ds("spec.template.spec.containers[0].lifecycle", "{preStop: {exec: {command: [pre-hook]}}}")));
    r.tick();
    assertThat(app("main").running()).isTrue();
    r.setDesired(DesiredState.newBuilder().setVersion(2).build());
    r.tick();
    assertThat(owned()).as("stopped, its hook refused").noneMatch(ContainerInfo::running);
  }

  /** A postStart hook that fails because its app died leaves nothing to stop: no preStop hook, no error. */
  @Test
  void aFailedPostStartHookOfAnAppThatDiedStopsNothing() {
    List<String> hooks = java.util.Collections.synchronizedList(new ArrayList<>());
    runtime.setExecRule(cmd -> {
      hooks.add(String.join(" ", cmd));
      if (cmd.contains("post-hook")) {
        runtime.crash(app("main").id(), 1); // the app died as its hook ran
        return new ContainerRuntime.ExecResult(1, "");
      }
      return new ContainerRuntime.ExecResult(0, "");
    });
    r.setDesired(Pods.state(Pods.ds("spec.template.spec.containers[0].lifecycle",
        "{postStart: {exec: {command: [post-hook]}}, preStop: {exec: {command: [pre-hook]}}}")));
    r.tick();
    assertThat(hooks).containsExactly("post-hook");
    assertThat(app("main").running()).isFalse();
  }
}
