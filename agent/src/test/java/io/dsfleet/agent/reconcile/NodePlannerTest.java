package io.dsfleet.agent.reconcile;

import static io.dsfleet.agent.reconcile.Pods.T0;
import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.agent.reconcile.Pods.C;
import io.dsfleet.agent.runtime.OwnedContainer;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The node-level plan, a table of named rows: the sources-ready gate, teardown, garbage collection, pod directories. */
class NodePlannerTest {
  static final DesiredPod POD = Pods.pod();
  static final String H = POD.hash();

  /**
   * A row: is a desired set known, is the pod desired, what runs, orphans, pod directories on disk;
   * then what is torn down, collected and removed.
   */
  record Row(String name, boolean sourcesReady, boolean desired, List<C> owned, Set<String> orphans, Set<String> dirs,
      Set<String> teardown, Set<String> garbage, Set<String> removeDirs) {
    @Override
    public String toString() {
      return name;
    }
  }

  static Row row(String name, boolean sourcesReady, boolean desired, List<C> owned, Set<String> orphans, Set<String> dirs,
      Set<String> teardown, Set<String> garbage, Set<String> removeDirs) {
    return new Row(name, sourcesReady, desired, owned, orphans, dirs, teardown, garbage, removeDirs);
  }

  static Stream<Row> rows() {
    String dir = "ops_agent-abcde";
    List<C> running = List.of(C.sandbox("s0", H, 0), C.app("a0", H, "main", 0, 0));
    return Stream.of(
        row("no desired set yet (state lost, no coordinator): nothing is touched", false, false, running, Set.of(), Set.of(dir),
            Set.of(), Set.of(), Set.of()),
        row("no desired set yet: stopped containers are not collected either", false, false,
            List.of(C.sandbox("s0", H, 0).exited(0, T0), C.app("a0", H, "main", 0, 0).exited(1, T0)), Set.of(), Set.of(dir),
            Set.of(), Set.of(), Set.of()),
        row("a pod no longer desired is torn down; its directory stays while it runs", true, false, running, Set.of(), Set.of(dir),
            Set.of("ops/agent-abcde"), Set.of(), Set.of()),
        row("once stopped, its containers are collected and its directory removed", true, false,
            List.of(C.sandbox("s0", H, 0).exited(0, T0), C.app("a0", H, "main", 0, 0).exited(143, T0)), Set.of(), Set.of(dir),
            Set.of(), Set.of("s0", "a0"), Set.of(dir)),
        row("a released (orphaned) pod is never touched", true, false, running, Set.of("agent-abcde"), Set.of(dir), Set.of(), Set.of(),
            Set.of()),
        row("a pod released by its key is never touched", true, false, running, Set.of("ops/agent-abcde"), Set.of(dir), Set.of(), Set.of(),
            Set.of()),
        row("the release of the same name in another namespace is not this pod's", true, false, running, Set.of("web/agent-abcde"),
            Set.of(dir), Set.of("ops/agent-abcde"), Set.of(), Set.of()),
        row("a desired pod's directory stays", true, true, running, Set.of(), Set.of(dir, "ops_gone-12345"), Set.of(), Set.of(),
            Set.of("ops_gone-12345")),
        row("the latest run and the one before it are kept (logs --previous during a back-off), older runs collected", true, true,
            List.of(C.sandbox("s0", H, 0), C.app("a0", H, "main", 0, 0).exited(1, T0), C.app("a1", H, "main", 1, 0).exited(1, T0),
                C.app("a2", H, "main", 2, 0).exited(1, T0)),
            Set.of(), Set.of(), Set.of(), Set.of("a0"), Set.of()),
        row("while the latest run runs, the run before it is kept (logs --previous), older ones collected", true, true,
            List.of(C.sandbox("s0", H, 0), C.app("a0", H, "main", 0, 0).exited(1, T0), C.app("a1", H, "main", 1, 0).exited(1, T0),
                C.app("a2", H, "main", 2, 0)),
            Set.of(), Set.of(), Set.of(), Set.of("a0"), Set.of()),
        row("a stopped sandbox goes, whatever its attempt", true, true,
            List.of(C.sandbox("s0", H, 0).exited(0, T0), C.sandbox("s1", H, 1), C.app("a1", H, "main", 1, 1)), Set.of(), Set.of(),
            Set.of(), Set.of("s0"), Set.of()),
        row("runs of an old template go; the new template's latest run is kept even below the old run numbers", true, true,
            List.of(C.sandbox("s1", H, 1), C.app("old5", "oldhash", "main", 5, 0).exited(0, T0), C.app("a0", H, "main", 0, 1).exited(1, T0)),
            Set.of(), Set.of(), Set.of(), Set.of("old5"), Set.of()),
        row("a completed init container of the current sandbox is kept", true, true,
            List.of(C.sandbox("s0", H, 0), C.init("i0", H, "setup", 0, 0).exited(0, T0), C.app("a0", H, "main", 0, 0)), Set.of(), Set.of(),
            Set.of(), Set.of(), Set.of()));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("rows")
  void plan(Row row) {
    List<OwnedContainer> owned = row.owned().stream().map(C::build).toList();
    Map<String, DesiredPod> desired = row.desired() ? Map.of(POD.key(), POD) : Map.of();
    NodePlanner.Plan p = NodePlanner.plan(new NodePlanner.Input(row.sourcesReady(), desired, owned, row.orphans(), Map.of(), new Failures(Backoff.KUBERNETES),
        Map.of(POD.key(), POD.configs()), row.dirs(), T0));
    assertThat(p.teardown().keySet()).as("teardown").isEqualTo(row.teardown());
    Set<String> garbage = p.garbage().stream().map(OwnedContainer::id).collect(Collectors.toCollection(TreeSet::new));
    assertThat(garbage).as("garbage").isEqualTo(new TreeSet<>(row.garbage()));
    assertThat(p.removeDirs()).as("directories").isEqualTo(row.removeDirs());
  }
}
