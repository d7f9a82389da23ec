package io.dsfleet.coordinator.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.coordinator.fleet.FleetHarness.Agent;
import io.dsfleet.coordinator.store.Store.StoredRevision;
import io.dsfleet.proto.v1.ContainerStatus;
import io.dsfleet.proto.v1.PodStatus;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A DaemonSet deleted with --cascade=orphan and applied again with another template (Kubernetes'
 * way to change a DaemonSet's immutable selector, or to recreate one) adopts its released pods and
 * rolls them to the new template within its update strategy, as a template change of a live
 * DaemonSet: the deleted one's revisions its released pods run are kept, orphaned, and adopted into
 * the new one's history, as Kubernetes keeps and adopts its ControllerRevisions. Before, the new one
 * knew no older revision and replaced every adopted pod at once on every node (helper-160: 3 of 3
 * nodes with maxUnavailable 1).
 */
class OrphanDeleteRolloutTest {
  @TempDir Path dir;
  FleetHarness h;
  List<Agent> agents;
  /** Revision 1's hash: what the released pods run. */
  String v1;
  /** What each agent ran when its pod was released, by node. */
  final Map<String, PodStatus> before = new TreeMap<>();

  @AfterEach
  void close() {
    if (h != null) {
      h.close();
    }
  }

  /** {@code nodes} agents running revision 1 available, the DaemonSet deleted with orphan, every pod reported released. */
  void released(int nodes) {
    h = new FleetHarness(dir);
    agents = h.agents(nodes);
    h.apply(RolloutRulesTest.image(1));
    agents.forEach(a -> a.runDesired(true));
    v1 = h.ds().hash();
    h.advance(java.time.Duration.ofSeconds(5));
    h.fleet.deleteDaemonSet("ops", "agent", false);
    for (Agent a : agents) {
      a.runDesired(true);
      assertThat(a.released).as("released, still running").hasSize(1);
      before.put(a.name, a.released.values().iterator().next());
    }
  }

  /** The DaemonSet applied again as {@code manifest} and a rollout pass run: its new revision's hash. */
  String appliedAgain(String manifest) {
    h.apply(manifest);
    h.fleet.tick();
    return h.ds().hash();
  }

  List<String> toldToRun(String hash) {
    return agents.stream().filter(a -> a.desiredHashes().contains(hash)).map(a -> a.name).toList();
  }

  /** Nodes whose agent runs no Ready pod (a released one not adopted yet runs as it ran). */
  long down() {
    return agents.stream().filter(a -> Stream.concat(a.running.values().stream(), a.released.values().stream())
        .noneMatch(PodStatus::getReady)).count();
  }

  /** Each agent's pod, not moved yet, is the one it ran before the delete: adopted as it runs, not restarted. */
  void notMovedKeepTheirPods(String v2) {
    for (Agent a : agents) {
      if (!a.desiredHashes().contains(v2)) {
        assertThat(a.desiredHashes()).as(a.name + " keeps revision 1").containsExactly(v1);
        assertThat(a.last().getPods(0).getTemplateJson().isEmpty()).as("sent with revision 1's template").isFalse();
        assertThat(Stream.concat(a.running.values().stream(), a.released.values().stream()))
            .as(a.name + ": its released pod (adopted once its agent acted on the set), never restarted").containsExactly(before.get(a.name));
      }
    }
  }

  @Test
  void appliedAgainWithAnotherTemplateItMovesOneNodeAtATimeAndTheOthersKeepTheirPods() {
    released(3);
    String v2 = appliedAgain(RolloutRulesTest.image(2));
    assertThat(h.ds().revisions()).as("revision 1 adopted, the new template numbered above it")
        .extracting(StoredRevision::revision, StoredRevision::hash).containsExactly(org.assertj.core.groups.Tuple.tuple(1L, v1),
            org.assertj.core.groups.Tuple.tuple(2L, v2));
    assertThat(toldToRun(v2)).as("maxUnavailable 1: one node moves").hasSize(1);
    agents.forEach(a -> a.runSilently(true));
    notMovedKeepTheirPods(v2);
    for (int step = 0; step < 4; step++) {
      for (Agent a : agents) {
        a.runSilently(false); // a moved node's new pod starts, not Ready yet
        a.report();
        withinTheBudget(v2);
      }
      for (Agent a : agents) {
        a.runDesired(true); // Ready: the next node moves
        withinTheBudget(v2);
      }
    }
    assertThat(toldToRun(v2)).hasSize(3);
    assertThat(h.ds().status().updated()).isEqualTo(3);
    assertThat(h.ds().rolledOut()).isTrue();
  }

  /** At most maxUnavailable (1) nodes without a Ready pod or told to move and not there yet; not complete while one runs revision 1. */
  void withinTheBudget(String v2) {
    long moving = agents.stream().filter(a -> a.desiredHashes().contains(v2)
        && a.running.values().stream().noneMatch(p -> p.getTemplateHash().equals(v2) && p.getReady())).count();
    assertThat(Math.max(down(), moving)).as("at most maxUnavailable nodes down or moving").isLessThanOrEqualTo(1);
    notMovedKeepTheirPods(v2);
    if (agents.stream().anyMatch(a -> Stream.concat(a.running.values().stream(), a.released.values().stream())
        .anyMatch(p -> p.getTemplateHash().equals(v1)))) {
      assertThat(h.ds().rolledOut()).as("not complete while a node runs revision 1").isFalse();
    }
  }

  /**
   * Its agent probed no released pod: an adopted pod's first report can come before its first probe
   * answered, not Ready. It is judged Ready, as it was taken, for as long as its probes take to
   * decide (the fixture's readiness probe: 10 s x 3 + 1 s), so the others still wait for the budget;
   * once that is over, not Ready is what it is, and such a node moves at once, as any old pod unavailable.
   */
  @Test
  void adoptedPodsReportedNotReadyBeforeTheirFirstProbeStillWaitForTheBudget() {
    released(3);
    String v2 = appliedAgain(RolloutRulesTest.image(2));
    List<String> moved = toldToRun(v2);
    assertThat(moved).hasSize(1);
    for (Agent a : agents) {
      a.runSilently(false); // the moved node's new pod starting; the others adopt theirs, not probed yet
      a.running.replaceAll((pod, p) -> p.toBuilder().setReady(false).setReadySinceMillis(0).build());
      a.report();
    }
    h.fleet.tick();
    assertThat(toldToRun(v2)).as("the adopted pods wait for their probes: one node moving, as before").isEqualTo(moved);
    h.advance(java.time.Duration.ofSeconds(32));
    assertThat(toldToRun(v2)).as("their probes had their time: not Ready, unavailable, moved at once").hasSize(3);
  }

  static Stream<Arguments> crashes() {
    return Stream.of(
        Arguments.of("waiting in a back-off", ContainerStatus.newBuilder()
            .setName("main").setState("waiting").setReason("CrashLoopBackOff").setRestartCount(1).build()),
        Arguments.of("terminated", ContainerStatus.newBuilder().setName("main")
            .setState("terminated").setReason("Error").setExitCode(1).build()),
        Arguments.of("running again after a restart", ContainerStatus.newBuilder()
            .setName("main").setState("running").setRestartCount(1).build()));
  }

  /**
   * The grace is for a pod whose containers run and are not probed yet, not for one that is down: an
   * adopted pod whose container the report shows crashed (waiting in a back-off, terminated, or running
   * again after a restart since it was taken) is unavailable at once, an old pod replaced at once, and
   * no other node moves beside it and the node already moving (maxUnavailable 1). Before, it was judged
   * Ready for the grace and the rollout moved another node beside a node really down.
   */
  @ParameterizedTest(name = "{0}")
  @MethodSource("crashes")
  void anAdoptedPodWhoseContainerCrashedIsNotHeldReady(String crash, ContainerStatus container) {
    released(3);
    String v2 = appliedAgain(RolloutRulesTest.image(2));
    List<String> moved = toldToRun(v2);
    assertThat(moved).hasSize(1);
    Agent crashed = agents.stream().filter(a -> !moved.contains(a.name)).findFirst().orElseThrow();
    for (Agent a : agents) {
      a.runSilently(false); // the moved node's new pod starting; the others adopt theirs, not probed yet, one crashed
      a.running.replaceAll((pod, p) -> p.toBuilder().setReady(false).setReadySinceMillis(0).build());
      if (a == crashed) {
        a.running.replaceAll((pod, p) -> p.toBuilder().clearContainers().addContainers(container).build());
      }
      a.report();
    }
    h.fleet.tick();
    assertThat(toldToRun(v2)).as(crash + ": the crashed one replaced at once, the third waits")
        .containsExactlyInAnyOrderElementsOf(Stream.concat(moved.stream(), Stream.of(crashed.name)).toList());
  }

  /**
   * An adopted pod its agent reported Ready has had its probes: one that goes not Ready after is
   * unavailable at once, as any pod, not Ready for another grace (before, the grace began at the first
   * look not Ready, whenever that was, and hid a probe failing later for 30 s and more).
   */
  @Test
  void anAdoptedPodReportedReadyOnceHasNoGraceWhenItGoesNotReady() {
    released(3);
    String v2 = appliedAgain(RolloutRulesTest.image(2));
    List<String> moved = toldToRun(v2);
    assertThat(moved).hasSize(1);
    agents.forEach(a -> a.runDesired(false)); // adopted, reported Ready as they run (probed); the moved node's new pod starting
    assertThat(toldToRun(v2)).isEqualTo(moved);
    Agent failing = agents.stream().filter(a -> !moved.contains(a.name)).findFirst().orElseThrow();
    failing.running.replaceAll((pod, p) -> p.toBuilder().setReady(false).setReadySinceMillis(0).build()); // its probe fails now
    failing.report();
    h.fleet.tick();
    assertThat(toldToRun(v2)).as("not Ready after its probes answered: unavailable, replaced at once")
        .containsExactlyInAnyOrderElementsOf(Stream.concat(moved.stream(), Stream.of(failing.name)).toList());
  }

  /**
   * dsctl diff of the DaemonSet to be applied again says what its apply does: each node's released
   * pod replaced, one node a step with maxUnavailable 1; with the released pods' template, nothing.
   * Before, every node gained a pod (none of its own reported).
   */
  @Test
  void itsDiffShowsTheAdoptedPodsReplacedOneNodeAStep() {
    released(3);
    var plan = h.fleet.plan(RolloutRulesTest.image(2), "test").plans().get(0);
    assertThat(plan.gain()).isEmpty();
    assertThat(plan.replace()).containsExactly("n0", "n1", "n2");
    assertThat(plan.steps()).isEqualTo(3);
    var same = h.fleet.plan(RolloutRulesTest.image(1), "test").plans().get(0);
    assertThat(same.gain()).isEmpty();
    assertThat(same.replace()).isEmpty();
  }

  /** The adopted history is the DaemonSet's: rollout undo goes back to the template the released pods ran, no pod restarted. */
  @Test
  void theAdoptedRevisionIsInTheHistoryAndAnUndoRestoresItWithoutARestart() {
    released(2);
    String v2 = appliedAgain(RolloutRulesTest.image(2));
    h.fleet.undo("ops", "agent", 0, 0);
    h.fleet.tick();
    assertThat(h.ds().hash()).isEqualTo(v1);
    assertThat(h.ds().revision()).as("revision 1 renumbered").isEqualTo(3);
    agents.forEach(a -> a.runDesired(true));
    h.fleet.tick();
    agents.forEach(a -> a.runDesired(true));
    assertThat(toldToRun(v2)).isEmpty();
    assertThat(h.ds().rolledOut()).isTrue();
  }

  /** A coordinator restart in the middle keeps the pace: the nodes not moved yet still run revision 1, one moves at a time. */
  @Test
  void aCoordinatorRestartInTheMiddleKeepsThePace() {
    released(3);
    String v2 = appliedAgain(RolloutRulesTest.image(2));
    List<String> first = toldToRun(v2);
    assertThat(first).hasSize(1);
    h.agents.get(first.get(0)).runDesired(true); // the first node moved and Ready: the next one is told, and has not acted yet
    List<String> second = toldToRun(v2);
    assertThat(second).hasSize(2);
    h.crashAndRestart();
    h.fleet.tick();
    assertThat(toldToRun(v2)).as("the restarted coordinator moves no third node beside the second").isEqualTo(second);
    for (int step = 0; step < 3; step++) {
      for (Agent a : agents) {
        a.runDesired(true);
        withinTheBudget(v2);
      }
    }
    assertThat(h.ds().rolledOut()).isTrue();
  }

  /** The DaemonSet released and not yet adopted when the coordinator restarts: the orphaned revision is in the store. */
  @Test
  void theOrphanedRevisionOutlivesARestartBeforeTheApply() {
    released(3);
    h.crashAndRestart();
    String v2 = appliedAgain(RolloutRulesTest.image(2));
    assertThat(toldToRun(v2)).hasSize(1);
    agents.forEach(a -> a.runSilently(true));
    notMovedKeepTheirPods(v2);
  }

  /** OnDelete: every adopted pod keeps its template until it is deleted. */
  @Test
  void onDeleteKeepsEveryAdoptedPodUntilItIsDeleted() {
    released(3);
    String v2 = appliedAgain(RolloutRulesTest.onDelete(2, 10));
    agents.forEach(a -> a.runDesired(true));
    h.fleet.tick();
    assertThat(toldToRun(v2)).isEmpty();
    notMovedKeepTheirPods(v2);
    h.fleet.deletePod("ops", agents.get(1).last().getPods(0).getPodName());
    agents.forEach(a -> a.runDesired(true));
    agents.forEach(a -> a.runDesired(true));
    assertThat(toldToRun(v2)).containsExactly("n1");
    notMovedKeepTheirPods(v2);
  }

  /** revisionHistoryLimit 0 keeps the adopted revision while a node runs it, as any, and prunes it once none does. */
  @Test
  void anAdoptedRevisionIsKeptWhileANodeRunsItWhateverTheHistoryLimit() {
    released(2);
    String v2 = appliedAgain(RolloutRulesTest.onDelete(2, 0));
    agents.forEach(a -> a.runDesired(true));
    h.fleet.tick();
    assertThat(h.ds().revisions()).extracting(StoredRevision::hash).containsExactly(v1, v2);
    for (Agent a : agents) {
      h.fleet.deletePod("ops", a.last().getPods(0).getPodName());
      a.runDesired(true);
      a.runDesired(true);
    }
    h.fleet.tick();
    assertThat(toldToRun(v2)).hasSize(2);
    assertThat(h.ds().revisions()).as("no node runs it: pruned").extracting(StoredRevision::hash).containsExactly(v2);
  }

  /**
   * A crash right after the apply, before a pass looked at the nodes: the restarted coordinator
   * prunes no adopted revision the nodes run while they have not reported (revisionHistoryLimit 0),
   * as it keeps any revision they ran. Before, the new DaemonSet's rollout state named none of them
   * (a new one's), the adopted revision went, and every node's released pod was then another
   * template to it: replaced at once.
   */
  @Test
  void aCrashRightAfterTheApplyPrunesNoAdoptedRevisionTheNodesRun() {
    released(2);
    h.apply(RolloutRulesTest.onDelete(2, 0));
    String v2 = h.ds().hash();
    h.crashAndRestartWithout("n0", "n1");
    h.fleet.tick();
    agents.forEach(Agent::open);
    h.fleet.tick();
    assertThat(h.ds().revisions()).extracting(StoredRevision::hash).containsExactly(v1, v2);
    agents.forEach(a -> a.runDesired(true));
    h.fleet.tick();
    assertThat(toldToRun(v2)).as("OnDelete: every adopted pod kept").isEmpty();
    notMovedKeepTheirPods(v2);
  }

  /** maxSurge: one node at a time runs the new pod next to its adopted one, which stays until the new one is available. */
  @Test
  void aSurgeStartsTheNewPodNextToTheAdoptedOneOneNodeAtATime() {
    released(3);
    String v2 = appliedAgain(RolloutRulesTest.image(2, "spec.updateStrategy", "{type: RollingUpdate, rollingUpdate: {maxUnavailable: 0, maxSurge: 1}}"));
    assertThat(toldToRun(v2)).hasSize(1);
    Agent surging = agents.stream().filter(a -> a.desiredHashes().contains(v2)).findFirst().orElseThrow();
    assertThat(surging.desiredHashes()).as("the adopted pod stays next to the new one").containsExactlyInAnyOrder(v1, v2);
    for (int step = 0; step < 4; step++) {
      agents.forEach(a -> a.runDesired(true));
      h.fleet.tick();
      assertThat(agents.stream().filter(a -> a.desiredHashes().size() == 2).count()).as("at most maxSurge nodes surge").isLessThanOrEqualTo(1);
    }
    assertThat(h.ds().rolledOut()).isTrue();
  }

  /**
   * Another selector, which the released pods' template does not match: the revision is adopted all
   * the same (its pods are taken by name: anotherSelectorStillMovesOneNodeAtATime), kept across a
   * restart; an undo to it is refused (its labels do not match the selector, as Kubernetes' API refuses
   * such a template) and changes nothing.
   */
  @Test
  void aSelectorTheReleasedTemplateDoesNotMatchStillAdoptsItsRevisionAndAnUndoToItIsRefused() {
    released(2);
    String v2 = appliedAgain(RolloutRulesTest.image(2, "spec.selector", "{matchLabels: {app: other}}", "spec.template.metadata.labels", "{app: other}"));
    assertThat(h.ds().revisions()).extracting(StoredRevision::hash).containsExactly(v1, v2);
    h.crashAndRestart();
    assertThat(h.ds().revisions()).as("in the store too").extracting(StoredRevision::hash).containsExactly(v1, v2);
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> h.fleet.undo("ops", "agent", 1, 0))
        .hasMessageContaining("selector");
    assertThat(h.ds().hash()).isEqualTo(v2);
    assertThat(h.ds().revisions()).extracting(StoredRevision::hash).containsExactly(v1, v2);
  }

  /**
   * Kubernetes' way to change the immutable selector: deleted with orphan, applied again with a
   * selector its released pods' labels do not match. Its pods on the nodes are still the released
   * ones (taken by name, ReleasedPodNames), so they are replaced within maxUnavailable, one node at a
   * time; before, their revision went with the apply, each node's released pod was a pod of no known
   * revision, and every node's was replaced at once.
   */
  @Test
  void anotherSelectorStillMovesOneNodeAtATime() {
    released(3);
    String v2 = appliedAgain(RolloutRulesTest.image(2, "spec.selector", "{matchLabels: {app: other}}", "spec.template.metadata.labels", "{app: other}"));
    assertThat(toldToRun(v2)).as("maxUnavailable 1: one node moves").hasSize(1);
    for (int step = 0; step < 4; step++) {
      for (Agent a : agents) {
        a.runDesired(false);
        withinTheBudget(v2);
      }
      for (Agent a : agents) {
        a.runDesired(true);
        withinTheBudget(v2);
      }
    }
    assertThat(toldToRun(v2)).hasSize(3);
    assertThat(h.ds().rolledOut()).isTrue();
  }

  /** The released pods' template applied again: adopted without a restart, revision 1 renumbered as the current one. */
  @Test
  void theSameTemplateAppliedAgainAdoptsEveryPodAsItRuns() {
    released(3);
    h.apply(RolloutRulesTest.image(1));
    h.fleet.tick();
    assertThat(h.ds().hash()).isEqualTo(v1);
    assertThat(h.ds().revisions()).extracting(StoredRevision::revision).containsExactly(2L);
    agents.forEach(a -> a.runDesired(true));
    for (Agent a : agents) {
      assertThat(a.running.values()).containsExactly(before.get(a.name));
    }
    assertThat(h.ds().rolledOut()).isTrue();
  }
}
