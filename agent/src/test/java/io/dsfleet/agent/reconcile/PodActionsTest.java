package io.dsfleet.agent.reconcile;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.agent.reconcile.PodActions.Action;
import io.dsfleet.agent.reconcile.PodActions.Remove;
import io.dsfleet.agent.reconcile.PodActions.Run;
import io.dsfleet.agent.reconcile.PodActions.RunSandbox;
import io.dsfleet.agent.reconcile.PodActions.Stop;
import io.dsfleet.agent.reconcile.PodActions.Wait;
import io.dsfleet.agent.runtime.ContainerInfo;
import io.dsfleet.agent.runtime.Labels;
import io.dsfleet.common.manifest.Fixtures;
import io.dsfleet.common.model.DaemonSet;
import io.dsfleet.common.model.PodSpec;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The per-pod diff, one named row per rule. */
class PodActionsTest {
  static final Instant NOW = Instant.parse("2026-01-01T00:10:00Z");
  static final String H = "hash000001";

  static PodSpec pod(boolean withInit) {
    var tree = Fixtures.baseTree();
    if (withInit) {
      Fixtures.with(tree, "spec.template.spec.initContainers", "[{name: setup, image: local/busybox:1}]");
    }
    return ((DaemonSet) Fixtures.parse(tree).get(0).object()).spec().template().spec();
  }

  static ContainerInfo c(String role, String name, String state, int exit, int restarts, String hash, Instant finished) {
    return new ContainerInfo(role + name + restarts, "n", Map.of(Labels.ROLE, role, Labels.CONTAINER, name, Labels.HASH, hash,
        Labels.RESTARTS, String.valueOf(restarts), Labels.POD, "p"), state, exit, finished == null ? NOW.minusSeconds(60) : finished.minusSeconds(5),
        finished, null, null, null);
  }

  static ContainerInfo sandbox(String hash) {
    return c(Labels.SANDBOX, "POD", "running", 0, 0, hash, null);
  }

  static ContainerInfo running(String role, String name, int restarts) {
    return c(role, name, "running", 0, restarts, H, null);
  }

  static ContainerInfo exited(String role, String name, int exit, int restarts, Instant finished) {
    return c(role, name, "exited", exit, restarts, H, finished);
  }

  static Stream<Arguments> rows() {
    return Stream.of(
        Arguments.of("nothing there: start the sandbox", false, List.of(), Set.of(), List.of("RunSandbox")),
        Arguments.of("sandbox running: start the app container", false, List.of(sandbox(H)), Set.of(), List.of("Run main 0")),
        Arguments.of("all running: nothing to do", false, List.of(sandbox(H), running(Labels.APP, "main", 0)), Set.of(), List.of()),
        Arguments.of("init first, before any app container", true, List.of(sandbox(H)), Set.of(), List.of("Run setup 0")),
        Arguments.of("running init: wait for it", true, List.of(sandbox(H), running(Labels.INIT, "setup", 0)), Set.of(), List.of()),
        Arguments.of("init done: app container next", true, List.of(sandbox(H), exited(Labels.INIT, "setup", 0, 0, NOW.minusSeconds(1))), Set.of(), List.of("Run main 0")),
        Arguments.of("failed init: back-off first", true, List.of(sandbox(H), exited(Labels.INIT, "setup", 1, 0, NOW.minusSeconds(3))), Set.of(), List.of("Wait setup")),
        Arguments.of("failed init after back-off: run it again", true, List.of(sandbox(H), exited(Labels.INIT, "setup", 1, 0, NOW.minusSeconds(11))), Set.of(), List.of("Run setup 1")),
        Arguments.of("crashed app within back-off: wait", false, List.of(sandbox(H), exited(Labels.APP, "main", 2, 0, NOW.minusSeconds(9))), Set.of(), List.of("Wait main")),
        Arguments.of("crashed app after back-off: restart", false, List.of(sandbox(H), exited(Labels.APP, "main", 2, 0, NOW.minusSeconds(10))), Set.of(), List.of("Run main 1")),
        Arguments.of("third crash waits 40 s", false, List.of(sandbox(H), exited(Labels.APP, "main", 2, 2, NOW.minusSeconds(39))), Set.of(), List.of("Wait main")),
        Arguments.of("liveness failed: stop it", false, List.of(sandbox(H), running(Labels.APP, "main", 0)), Set.of("main"), List.of("Stop main")),
        Arguments.of("superseded run is removed", false, List.of(sandbox(H), exited(Labels.APP, "main", 1, 0, NOW.minusSeconds(100)), running(Labels.APP, "main", 1)), Set.of(), List.of("Remove main")),
        Arguments.of("old template: tear down the old pod first, sandbox last", false,
            List.of(sandbox("oldhash"), c(Labels.APP, "main", "running", 0, 0, "oldhash", null)), Set.of(), List.of("Remove main", "Remove POD")),
        Arguments.of("sandbox died: remove the rest, new sandbox", false,
            List.of(c(Labels.SANDBOX, "POD", "exited", 137, 0, H, NOW), running(Labels.APP, "main", 0)), Set.of(), List.of("Remove main", "Remove POD", "RunSandbox")));
  }

  static String describe(Action a) {
    if (a instanceof RunSandbox) {
      return "RunSandbox";
    }
    if (a instanceof Run r) {
      return "Run " + r.name() + " " + r.restarts();
    }
    if (a instanceof Wait w) {
      return "Wait " + w.container();
    }
    if (a instanceof Stop s) {
      return "Stop " + s.container().label(Labels.CONTAINER);
    }
    return "Remove " + ((Remove) a).container().label(Labels.CONTAINER);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("rows")
  void decide(String name, boolean withInit, List<ContainerInfo> observed, Set<String> livenessFailed, List<String> expected) {
    List<Action> actions = PodActions.decide(H, pod(withInit), observed, livenessFailed, NOW);
    assertThat(actions).map(PodActionsTest::describe).containsExactlyElementsOf(expected);
  }
}
