package io.dsfleet.agent.reconcile;

import static io.dsfleet.agent.reconcile.Pods.T0;
import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.agent.reconcile.Pods.C;
import io.dsfleet.agent.runtime.OwnedContainer;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The per-pod decision, a table of named rows: what the pod needs next from what runs, probes, back-off and the clock. */
class PodPlannerTest {
  /** One container on the bridge that asks for its pod's IP: a sandbox (it has an IP before the container is made). */
  static final DesiredPod POD = Pods.pod("spec.template.spec.containers[0].env[1]",
      io.dsfleet.agent.DockerHarness.ASKS_FOR_POD_IP);
  static final String H = POD.hash();
  /** One container on the bridge: no sandbox. */
  static final DesiredPod BRIDGE = Pods.pod();
  static final String HB = BRIDGE.hash();
  static final DesiredPod WITH_INIT = Pods.pod("spec.template.spec.initContainers", "[{name: setup, image: local/busybox:1}]");
  static final String HI = WITH_INIT.hash();
  static final DesiredPod INIT_TWO = Pods.pod("spec.template.spec.initContainers", "[{name: setup, image: local/busybox:1}]",
      "spec.template.spec.containers[1]", "{name: side, image: local/busybox:1}");
  static final String HI2 = INIT_TWO.hash();
  static final DesiredPod WITH_PROBES = Pods.pod("spec.template.spec.containers[0].livenessProbe", "{exec: {command: [check]}}");
  /** One container on the host's network: no sandbox. */
  static final DesiredPod HOST = Pods.pod("spec.template.spec.hostNetwork", "true");
  static final String HH = HOST.hash();
  static final DesiredPod HOST_TWO = Pods.pod("spec.template.spec.hostNetwork", "true", "spec.template.spec.containers[1]",
      "{name: side, image: local/busybox:1}");
  static final DesiredPod HOST_INIT = Pods.pod("spec.template.spec.hostNetwork", "true", "spec.template.spec.initContainers",
      "[{name: setup, image: local/busybox:1}]");

  /** A row: the pod, its containers, a change to the facts, the clock, and the actions expected (rendered). */
  record Row(String name, DesiredPod pod, List<OwnedContainer> observed, Consumer<Facts> facts, Instant now, List<String> expected) {
    @Override
    public String toString() {
      return name;
    }
  }

  /** Mutable facts a row may set up. */
  static final class Facts {
    final Failures failures = new Failures(Backoff.KUBERNETES);
    final java.util.HashMap<String, ProbeVerdict> probes = new java.util.HashMap<>();
    boolean volumesCurrent = true;
  }

  static Row row(String name, DesiredPod pod, List<C> observed, Consumer<Facts> facts, Instant now, String... expected) {
    return new Row(name, pod, observed.stream().map(C::build).toList(), facts, now, List.of(expected));
  }

  static final Consumer<Facts> NONE = f -> { };

  static Stream<Row> rows() {
    Instant t10 = T0.plusSeconds(10);
    return Stream.of(
        row("a new pod starts its sandbox first", POD, List.of(), NONE, T0, "sandbox 0"),
        row("with the sandbox up, the app container starts in it", POD, List.of(C.sandbox("s0", H, 0)), NONE, T0, "start main run 0 in 0"),
        row("init containers run first, one at a time", WITH_INIT, List.of(C.sandbox("s0", HI, 0)), NONE, T0, "start setup run 0 in 0"),
        row("a running init container is waited for", WITH_INIT, List.of(C.sandbox("s0", HI, 0), C.init("i0", HI, "setup", 0, 0)), NONE, T0),
        row("a completed init container lets the app start", WITH_INIT,
            List.of(C.sandbox("s0", HI, 0), C.init("i0", HI, "setup", 0, 0).exited(0, T0)), NONE, T0, "start main run 0 in 0"),
        row("a failed init container is retried at once the first time", WITH_INIT,
            List.of(C.sandbox("s0", HI, 0), C.init("i0", HI, "setup", 0, 0).exited(1, T0)), NONE, T0, "start setup run 1 in 0"),
        row("an init container that failed twice in a row waits out its back-off", WITH_INIT,
            List.of(C.sandbox("s0", HI, 0), C.init("i1", HI, "setup", 1, 0).exited(1, T0)), NONE, T0.plusSeconds(3),
            "wait setup: CrashLoopBackOff until T0+10s"),
        row("a failed init container after its back-off runs again", WITH_INIT,
            List.of(C.sandbox("s0", HI, 0), C.init("i0", HI, "setup", 0, 0).exited(1, T0)), NONE, t10, "start setup run 1 in 0"),
        row("a running pod needs nothing", POD, List.of(C.sandbox("s0", H, 0), C.app("a0", H, "main", 0, 0)), NONE, T0),
        row("a crashed container is restarted at once the first time, as the kubelet does", POD,
            List.of(C.sandbox("s0", H, 0), C.app("a0", H, "main", 0, 0).exited(1, T0)), NONE, T0, "start main run 1 in 0"),
        row("a second crash in a row waits out its back-off (10 s)", POD,
            List.of(C.sandbox("s0", H, 0), C.app("a1", H, "main", 1, 0).exited(1, T0)), NONE, T0.plusSeconds(9),
            "wait main: CrashLoopBackOff until T0+10s"),
        row("a crashed container restarts after its back-off", POD,
            List.of(C.sandbox("s0", H, 0), C.app("a0", H, "main", 0, 0).exited(1, T0)), NONE, t10, "start main run 1 in 0"),
        row("the back-off doubles with each crash in a row (run 3, the fourth crash: 40 s)", POD,
            List.of(C.sandbox("s0", H, 0), C.app("a3", H, "main", 3, 0).exited(1, T0)), NONE, T0.plusSeconds(39),
            "wait main: CrashLoopBackOff until T0+40s"),
        row("a run that lasted ten minutes restarts at once, whatever its run number", POD,
            List.of(C.sandbox("s0", H, 0), C.app("a7", H, "main", 7, 0).startedAt(T0.minusSeconds(700)).exited(1, T0)), NONE, T0,
            "start main run 8 in 0"),
        row("a run with no crash before it (streak label 0) restarts at once", POD,
            List.of(C.sandbox("s0", H, 0), C.app("a7", H, "main", 7, 0).label("io.dsfleet.crash-streak", "0").exited(1, T0)), NONE,
            T0, "start main run 8 in 0"),
        row("a streak of three crashes waits 40 s, not the run number's 5 min", POD,
            List.of(C.sandbox("s0", H, 0), C.app("a9", H, "main", 9, 0).label("io.dsfleet.crash-streak", "3").exited(1, T0)), NONE,
            T0.plusSeconds(39), "wait main: CrashLoopBackOff until T0+40s"),
        row("a sandbox that died soon after it was made again waits before the next one", POD,
            List.of(C.sandbox("s1", H, 1).exited(0, T0)),
            f -> f.failures.failed("ops/agent-abcde/POD-restart", "SandboxChanged", "pod sandbox made again", T0), T0.plusSeconds(3),
            "wait POD: SandboxChanged until T0+10s"),
        row("a container the runtime could not start is tried again at once the first time", POD,
            List.of(C.sandbox("s0", H, 0), C.app("a0", H, "main", 0, 0).neverStarted("exec: \"/nope\": not found", T0)), NONE, T0,
            "start main run 1 in 0"),
        row("a container the runtime could not start twice waits, timed from its creation (RunContainerError)", POD,
            List.of(C.sandbox("s0", H, 0), C.app("a1", H, "main", 1, 0).neverStarted("exec: \"/nope\": not found", T0)), NONE, T0.plusSeconds(1),
            "wait main: RunContainerError until T0+10s"),
        row("a container seen between its create and its start (a pass beside its pod's worker) is not taken for one that failed", POD,
            List.of(C.sandbox("s0", H, 0), C.app("a1", H, "main", 1, 0).createdOnly(T0)), NONE, T0.plusSeconds(1),
            "wait main: ContainerCreating until T0+10s"),
        row("a container the runtime could not start is tried again after its back-off", POD,
            List.of(C.sandbox("s0", H, 0), C.app("a1", H, "main", 1, 0).neverStarted("exec failed", T0)), NONE, T0.plusSeconds(20),
            "start main run 2 in 0"),
        row("a failed image pull waits out its back-off (ErrImagePull)", POD, List.of(C.sandbox("s0", H, 0)),
            f -> f.failures.failed("ops/agent-abcde/main", "ErrImagePull", "pulling x: not found", T0), T0.plusSeconds(5),
            "wait main: ErrImagePull until T0+10s"),
        row("a pull that failed twice is ImagePullBackOff, 20 s", POD, List.of(C.sandbox("s0", H, 0)), f -> {
          f.failures.failed("ops/agent-abcde/main", "ErrImagePull", "not found", T0.minusSeconds(10));
          f.failures.failed("ops/agent-abcde/main", "ErrImagePull", "not found", T0);
        }, T0.plusSeconds(5), "wait main: ImagePullBackOff until T0+20s"),
        row("a create error waits out its back-off (CreateContainerError)", POD, List.of(C.sandbox("s0", H, 0)),
            f -> f.failures.failed("ops/agent-abcde/main", "CreateContainerError", "bad", T0), T0.plusSeconds(5),
            "wait main: CreateContainerError until T0+10s"),
        row("after the create error's back-off the container is tried again", POD, List.of(C.sandbox("s0", H, 0)),
            f -> f.failures.failed("ops/agent-abcde/main", "CreateContainerError", "bad", T0), t10, "start main run 0 in 0"),
        row("a sandbox that failed waits out its back-off", POD, List.of(),
            f -> f.failures.failed("ops/agent-abcde/POD", "CreatePodSandboxError", "port is already allocated", T0), T0.plusSeconds(5),
            "wait POD: CreatePodSandboxError until T0+10s"),
        row("a failed liveness probe stops the container", WITH_PROBES,
            List.of(C.sandbox("s0", WITH_PROBES.hash(), 0), C.app("a0", WITH_PROBES.hash(), "main", 0, 0)),
            f -> f.probes.put("a0", new ProbeVerdict(true, null, null, "liveness probe failed: exit 1")), T0,
            "kill a0 in 30s: liveness probe failed: exit 1"),
        row("a failed startup probe stops the container", WITH_PROBES,
            List.of(C.sandbox("s0", WITH_PROBES.hash(), 0), C.app("a0", WITH_PROBES.hash(), "main", 0, 0)),
            f -> f.probes.put("a0", new ProbeVerdict(false, null, null, "startup probe failed: timeout")), T0,
            "kill a0 in 30s: startup probe failed: timeout"),
        row("a new template stops the old pod first: containers, then the sandbox", POD,
            List.of(C.sandbox("s0", "oldhash", 0), C.app("a0", "oldhash", "main", 0, 0).label("io.dsfleet.grace-seconds", "5")), NONE, T0,
            "kill a0 in 5s: replaced by template " + H, "kill s0 in 0s: replaced by template " + H),
        row("stopped containers of the old template do not hold the new pod back", POD,
            List.of(C.sandbox("s0", "oldhash", 0).exited(0, T0), C.app("a0", "oldhash", "main", 0, 0).exited(137, T0)), NONE, T0, "sandbox 1"),
        row("a dead sandbox: what still runs of the pod is stopped first", POD,
            List.of(C.sandbox("s0", H, 0).exited(0, T0), C.app("a0", H, "main", 0, 0)), NONE, T0,
            "kill a0 in 30s: the pod sandbox is not running"),
        row("a dead sandbox the runtime cannot remove never blocks a new one", POD,
            List.of(C.sandbox("s0", H, 0).exited(0, T0), C.app("a0", H, "main", 0, 0).exited(0, T0)), NONE, T0, "sandbox 1"),
        row("a collected dead sandbox's number is not reused: its containers still name it", POD,
            List.of(C.app("a0", H, "main", 0, 0).exited(0, T0)), NONE, T0, "sandbox 1"),
        row("in a new sandbox the app starts at once, its run counted on", POD,
            List.of(C.sandbox("s1", H, 1), C.app("a0", H, "main", 0, 0).exited(0, T0)), NONE, T0, "start main run 1 in 1"),
        row("a container still running in an older sandbox is stopped", POD,
            List.of(C.sandbox("s1", H, 1), C.app("a0", H, "main", 0, 0), C.app("a1", H, "main", 1, 1)), NONE, T0,
            "kill a0 in 30s: its pod sandbox was replaced"),
        row("an older run started again by hand beside the current one is stopped; the current one runs on", POD,
            List.of(C.sandbox("s0", H, 0), C.app("a0", H, "main", 0, 0), C.app("a1", H, "main", 1, 0)), NONE, T0,
            "kill a0 in 30s: a second running copy of main (run 0, a0): run 1 (a1) is the current one"),
        row("an older run started by hand while the current one waits out its back-off is stopped first", POD,
            List.of(C.sandbox("s0", H, 0), C.app("a0", H, "main", 0, 0), C.app("a2", H, "main", 2, 0).exited(1, T0)), NONE,
            T0.plusSeconds(3), "kill a0 in 30s: a second running copy of main (run 0, a0): run 2 (a2) is the current one",
            "wait main: CrashLoopBackOff until T0+20s"),
        row("a second copy whose stop Docker refused waits out its back-off, the current one untouched", POD,
            List.of(C.sandbox("s0", H, 0), C.app("a0", H, "main", 0, 0), C.app("a1", H, "main", 1, 0)),
            f -> f.failures.failed(FailedStops.key("a0"), "KillContainerError", "permission denied", T0), T0.plusSeconds(3),
            "wait main: KillContainerError until T0+10s"),
        row("without a sandbox an older run started by hand is stopped too", HOST,
            List.of(C.app("a0", HH, "main", 0, 0), C.app("a1", HH, "main", 1, 0)), NONE, T0,
            "kill a0 in 30s: a second running copy of main (run 0, a0): run 1 (a1) is the current one"),
        row("two copies of one run (an older agent's, from a list that left the first out): the newer by creation is kept", HOST,
            List.of(C.app("b0", HH, "main", 0, 0), C.app("a0", HH, "main", 0, 0).created(T0.plusSeconds(5))), NONE, T0,
            "kill b0 in 30s: a second running copy of main (run 0, b0): run 0 (a0) is the current one"),
        row("two copies of one run listed the other way round: the same one kept", HOST,
            List.of(C.app("a0", HH, "main", 0, 0).created(T0.plusSeconds(5)), C.app("b0", HH, "main", 0, 0)), NONE, T0,
            "kill b0 in 30s: a second running copy of main (run 0, b0): run 0 (a0) is the current one"),
        row("two copies of a running init container: the older is stopped, the current one waited for", WITH_INIT,
            List.of(C.sandbox("s0", HI, 0), C.init("i0", HI, "setup", 0, 0), C.init("i1", HI, "setup", 1, 0)), NONE, T0,
            "kill i0 in 30s: a second running copy of setup (run 0, i0): run 1 (i1) is the current one"),
        row("init containers whose runs were removed (docker container prune) are not run again while an app container runs,"
            + " as the kubelet's findNextInitContainerToRun", WITH_INIT,
            List.of(C.sandbox("s0", HI, 0), C.app("a0", HI, "main", 0, 0)), NONE, T0),
        row("with its init container's runs removed, a crashed app container is restarted beside a running one, no init container"
            + " run first", INIT_TWO, List.of(C.sandbox("s0", HI2, 0), C.app("a0", HI2, "main", 0, 0), C.app("b0", HI2, "side", 0, 0)
            .exited(1, T0)), NONE, T0, "start side run 1 in 0"),
        row("with its init container's runs removed, a failed liveness probe still stops the app container", WITH_INIT,
            List.of(C.sandbox("s0", HI, 0), C.app("a0", HI, "main", 0, 0)),
            f -> f.probes.put("a0", new ProbeVerdict(true, null, null, "liveness probe failed: exit 1")), T0,
            "kill a0 in 30s: liveness probe failed: exit 1"),
        row("with no app container running and its init container's runs removed, the init container runs again, as the kubelet's",
            WITH_INIT, List.of(C.sandbox("s0", HI, 0), C.app("a0", HI, "main", 0, 0).exited(1, T0)), NONE, T0, "start setup run 0 in 0"),
        row("init containers run again in a new sandbox", WITH_INIT,
            List.of(C.sandbox("s1", HI, 1), C.init("i0", HI, "setup", 0, 0).exited(0, T0)), NONE, T0, "start setup run 1 in 1"),
        row("changed ConfigMaps or Secrets are written into the running pod", POD,
            List.of(C.sandbox("s0", H, 0), C.app("a0", H, "main", 0, 0)), f -> f.volumesCurrent = false, T0, "sync volumes"),
        row("one container on the host network starts alone, no sandbox", HOST, List.of(), NONE, T0, "start main run 0 in 0"),
        row("two containers on the host network still share a sandbox", HOST_TWO, List.of(), NONE, T0, "sandbox 0"),
        row("an init container on the host network still runs in a sandbox", HOST_INIT, List.of(), NONE, T0, "sandbox 0"),
        row("a running pod without a sandbox needs nothing", HOST, List.of(C.app("a0", HH, "main", 0, 0)), NONE, T0),
        row("without a sandbox a container that crashed twice in a row waits out its back-off", HOST,
            List.of(C.app("a1", HH, "main", 1, 0).exited(1, T0)), NONE, T0.plusSeconds(9), "wait main: CrashLoopBackOff until T0+10s"),
        row("without a sandbox a crashed container restarts in the same attempt", HOST,
            List.of(C.app("a0", HH, "main", 0, 2).exited(1, T0)), NONE, T0, "start main run 1 in 2"),
        row("the sandbox an older agent made is stopped; its running container is kept", HOST,
            List.of(C.sandbox("s0", HH, 0), C.app("a0", HH, "main", 0, 0)), NONE, T0, "kill s0 in 0s: the pod runs without a sandbox"),
        row("a new template on the host network: the old pod stops first, then the container starts alone", HOST,
            List.of(C.sandbox("s0", "oldhash", 0).exited(0, T0), C.app("a0", "oldhash", "main", 0, 0).exited(137, T0)), NONE, T0,
            "start main run 0 in 1"),
        row("one container on the bridge starts alone, no sandbox", BRIDGE, List.of(), NONE, T0, "start main run 0 in 0"),
        row("without a sandbox a crashed bridge container restarts alone in the same attempt", BRIDGE,
            List.of(C.app("a0", HB, "main", 0, 0).exited(1, T0)), NONE, T0, "start main run 1 in 0"),
        row("a bridge pod in a sandbox an older agent made keeps it: its crashed container restarts in it", BRIDGE,
            List.of(C.sandbox("s0", HB, 0), C.app("a0", HB, "main", 0, 0).exited(1, T0)), NONE, T0, "start main run 1 in 0"),
        row("a bridge pod whose older sandbox died: its container, without a network, is stopped, and a sandbox made again", BRIDGE,
            List.of(C.sandbox("s0", HB, 0).exited(0, T0), C.app("a0", HB, "main", 0, 0)), NONE, T0,
            "kill a0 in 30s: the pod sandbox is not running"),
        row("a new template of a bridge pod that had a sandbox runs alone", BRIDGE,
            List.of(C.sandbox("s0", "oldhash", 0).exited(0, T0), C.app("a0", "oldhash", "main", 0, 0).exited(137, T0)), NONE, T0,
            "start main run 0 in 1"),
        row("a pod without a sandbox gets changed ConfigMaps or Secrets written too", HOST, List.of(C.app("a0", HH, "main", 0, 0)),
            f -> f.volumesCurrent = false, T0, "sync volumes"),
        row("a pod this agent cannot read touches nothing", Pods.unreadable(), List.of(C.app("a0", "oldhash", "main", 0, 0)), NONE, T0));
  }

  /**
   * As the kubelet's back-off after a long run: the restart is at once and the back-off starts over
   * from its first step, so the next quick crash waits 10 s (not a second restart at once).
   */
  @org.junit.jupiter.api.Test
  void afterALongRunTheRestartIsAtOnceAndTheNextQuickCrashWaitsTenSeconds() {
    var longRun = List.of(C.sandbox("s0", H, 0).build(),
        C.app("a7", H, "main", 7, 0).startedAt(T0.minusSeconds(700)).exited(1, T0).build());
    var start = (PodPlanner.Start) PodPlanner.decide(POD, longRun, new PodPlanner.Facts(Map.of(), new Failures(Backoff.KUBERNETES), true, T0))
        .get(0);
    assertThat(start.streak()).as("the run after a long one has one crash behind it").isOne();
    var quickCrash = List.of(C.sandbox("s0", H, 0).build(),
        C.app("a8", H, "main", 8, 0).label("io.dsfleet.crash-streak", String.valueOf(start.streak())).startedAt(T0).exited(1, T0).build());
    assertThat(render(PodPlanner.decide(POD, quickCrash, new PodPlanner.Facts(Map.of(), new Failures(Backoff.KUBERNETES), true,
        T0.plusSeconds(9))))).containsExactly("wait main: CrashLoopBackOff until T0+10s");
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("rows")
  void decide(Row row) {
    Facts f = new Facts();
    row.facts().accept(f);
    List<PodPlanner.Action> actions = PodPlanner.decide(row.pod(), row.observed(),
        new PodPlanner.Facts(Map.copyOf(f.probes), f.failures, f.volumesCurrent, row.now()));
    assertThat(render(actions)).isEqualTo(row.expected());
  }

  static List<String> render(List<PodPlanner.Action> actions) {
    List<String> out = new ArrayList<>();
    for (PodPlanner.Action a : actions) {
      if (a instanceof PodPlanner.Kill k) {
        out.add("kill " + k.container().id() + " in " + k.grace().toSeconds() + "s: " + k.why());
      } else if (a instanceof PodPlanner.StartSandbox s) {
        out.add("sandbox " + s.attempt());
      } else if (a instanceof PodPlanner.Start s) {
        out.add("start " + s.name() + " run " + s.restarts() + " in " + s.attempt());
      } else if (a instanceof PodPlanner.SyncVolumes) {
        out.add("sync volumes");
      } else if (a instanceof PodPlanner.Wait w) {
        out.add("wait " + w.container() + ": " + w.reason() + " until T0+" + Duration.between(T0, w.until()).toSeconds() + "s");
      }
    }
    return out;
  }
}
