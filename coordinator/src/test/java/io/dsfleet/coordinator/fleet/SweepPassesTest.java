package io.dsfleet.coordinator.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.common.model.Taint;
import io.dsfleet.coordinator.fleet.FleetHarness.Agent;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Which lease sweeps ask for a rollout pass ({@link RolloutPacing#swept}): one after a change, one
 * while time alone may move a rollout ({@link DaemonSetController#timeMoves}), and none in a fleet
 * where nothing changes but every ten seconds. A pass moves the fleet's version once and a sweep
 * once, so a sweep's pass shows as a version moved by two.
 */
class SweepPassesTest {
  @TempDir Path dir;
  FleetHarness h;

  @AfterEach
  void close() {
    if (h != null) {
      h.close();
    }
  }

  /** The version moves of one sweep a second later (every agent heartbeating): 1 without a pass, 2 with one. */
  private long sweep() {
    long before = h.fleet.viewVersion();
    h.advance(Duration.ofSeconds(1));
    return h.fleet.viewVersion() - before;
  }

  /** From the next pass on (wherever the last one left the resync), nine sweeps without one: {@code why}. */
  private void quietAfterAPass(String why) {
    for (int i = 0; i < 12 && sweep() == 1; i++) {
      // to the quiet pass
    }
    for (int i = 1; i < 10; i++) {
      assertThat(sweep()).as("sweep %d after a pass: %s", i, why).isEqualTo(1);
    }
  }

  /** Sweeps a second apart until {@code done} holds, {@code atMost} at most: how many it took. */
  private int secondsUntil(java.util.function.BooleanSupplier done, int atMost) {
    int seconds = 0;
    while (!done.getAsBoolean() && seconds < atMost) {
      sweep();
      seconds++;
    }
    return seconds;
  }

  private List<Agent> rolledOut(String manifest) {
    h = new FleetHarness(dir);
    List<Agent> agents = h.agents(3);
    h.apply(manifest);
    agents.forEach(a -> a.runDesired(true));
    for (int i = 0; i < 3; i++) {
      sweep();
    }
    assertThat(h.ds().rolledOut()).isTrue();
    return agents;
  }

  @Test
  void aFleetWhereNothingChangesIsWalkedEveryTenSecondsAndAChangeAtTheNextSweep() {
    rolledOut(RolloutRulesTest.image(1));
    quietAfterAPass("nothing changed, no rollout waits on time");
    assertThat(sweep()).as("ten seconds without a pass: the controller's resync").isEqualTo(2);

    h.fleet.labelNode("n0", Map.of("zone", "b"), List.of(), false); // a change that asks for no pass itself
    assertThat(sweep()).as("the sweep after a label").isEqualTo(2);
    assertThat(sweep()).isEqualTo(1);

    h.agents.get("n2").alive = false; // its lease runs out: the sweep makes it NotReady, a change of its own
    long moved = 0;
    for (int i = 0; i < 60 && h.fleet.node("n2", true).ready(); i++) {
      moved = sweep();
    }
    assertThat(h.fleet.node("n2", true).ready()).isFalse();
    assertThat(moved).as("the sweep that made n2 NotReady asked for a pass").isEqualTo(2);
  }

  /**
   * With minReadySeconds the next node moves once the last one's new pod has been Ready that long:
   * time alone moves the rollout, no report comes. Without the controller saying so, that node
   * waited for the ten-second resync.
   */
  @Test
  void minReadySecondsMovesTheNextNodeAtTheSweepItEnds() {
    String[] fields = {"spec.minReadySeconds", "3", "spec.updateStrategy", "{type: RollingUpdate, rollingUpdate: {maxUnavailable: 1}}"};
    List<Agent> agents = rolledOut(RolloutRulesTest.image(1, fields));
    for (int i = 0; i < 12 && sweep() == 1; i++) {
      // to a quiet pass: the resync is ten seconds away
    }
    h.apply(RolloutRulesTest.image(2, fields));
    h.fleet.rolloutPass();
    String v2 = h.ds().hash();
    List<Agent> moved = agents.stream().filter(a -> a.desiredHashes().contains(v2)).toList();
    assertThat(moved).hasSize(1);
    moved.get(0).runDesired(true); // Ready now, available in 3 s
    int seconds = secondsUntil(() -> agents.stream().filter(a -> a.desiredHashes().contains(v2)).count() >= 2, 12);
    assertThat(seconds).as("seconds until the next node moved").isEqualTo(3);
  }

  /** A rollout that makes no progress fails at its deadline's sweep, not at the resync after it. */
  @Test
  void aProgressDeadlineEndsARolloutAtItsSweep() {
    String[] fields = {"metadata.annotations", "{dsfleet.io/progress-deadline-seconds: '4'}"};
    List<Agent> agents = rolledOut(RolloutRulesTest.image(1, fields));
    for (int i = 0; i < 12 && sweep() == 1; i++) {
      // to a quiet pass
    }
    h.apply(RolloutRulesTest.image(2, fields));
    h.fleet.rolloutPass();
    String v2 = h.ds().hash();
    agents.stream().filter(a -> a.desiredHashes().contains(v2)).forEach(a -> a.runDesired(false)); // never Ready
    int seconds = secondsUntil(() -> h.ds().rollout().paused(), 12);
    assertThat(h.ds().rollout().paused()).as("failed: paused").isTrue();
    assertThat(seconds).as("seconds until it failed").isEqualTo(5);
  }

  /**
   * {@code agents} running revision 1 of a DaemonSet that tolerates {@code maint:NoExecute} for 5 s, revision 2 applied:
   * the node it moved first is down (NotReady, tainted unreachable), its pod kept. Returns that node's agent.
   */
  private Agent movedNodeDown(List<Agent> agents) {
    String[] fields = {"spec.template.spec.tolerations", "[{key: maint, operator: Exists, effect: NoExecute, tolerationSeconds: 5}]"};
    h.apply(RolloutRulesTest.image(1, fields));
    agents.forEach(a -> a.runDesired(true));
    h.apply(RolloutRulesTest.image(2, fields));
    h.fleet.rolloutPass();
    String v2 = h.ds().hash();
    Agent down = agents.stream().filter(a -> a.desiredHashes().contains(v2)).findFirst().orElseThrow();
    down.alive = false;
    for (int i = 0; i < 40; i++) {
      sweep();
    }
    assertThat(h.fleet.node(down.name, true).ready()).isFalse();
    return down;
  }

  /**
   * A node this rollout moved went NotReady and holds the budget (RollingUpdate rule 4) while its pod
   * may stay: a NoExecute taint the DaemonSet tolerates for 5 s ends that, and the next node moves at
   * the sweep it ends, not at the resync after it.
   */
  @Test
  void aTolerationSecondsRunningOutOnAMovedNodeDownMovesTheNextNodeAtItsSweep() {
    h = new FleetHarness(dir);
    List<Agent> agents = h.agents(4);
    Agent down = movedNodeDown(agents);
    String v2 = h.ds().hash();
    List<Agent> others = agents.stream().filter(a -> a != down).toList();
    assertThat(others.stream().filter(a -> a.desiredHashes().contains(v2))).as("the moved node down holds the budget").isEmpty();
    h.fleet.taintNode(down.name, List.of(Taint.of("maint", "x", Taint.NO_EXECUTE)), List.of(), false);
    int seconds = secondsUntil(() -> others.stream().anyMatch(a -> a.desiredHashes().contains(v2)), 12);
    assertThat(seconds).as("seconds until the next node moved").isEqualTo(5);
  }

  /**
   * A rollback while n1, told to move, has not reported since: its report (revision 1, from before the
   * move) is not taken for what runs there for 10 s when its agent says no set's version, and n0 moves
   * back at the sweep that hold ends, though a pass in between (after a label) put the resync later.
   */
  @Test
  void anUnsureReportsHoldEndingMovesTheRollbackAtItsSweep() {
    h = new FleetHarness(dir);
    List<Agent> agents = h.agents(3);
    h.apply(RolloutRulesTest.image(1));
    agents.forEach(a -> a.runDesired(true));
    String v1 = h.ds().hash();
    h.apply(RolloutRulesTest.image(2));
    h.fleet.rolloutPass();
    agents.get(0).runDesired(true); // n0 runs revision 2; n1 is told to move and reports nothing (an agent before 2026-12-07)
    h.fleet.undo("ops", "agent", 0, 0);
    h.fleet.rolloutPass();
    assertThat(agents.get(0).desiredHashes()).as("n1 holds the budget").doesNotContain(v1);
    int seconds = 0;
    while (!agents.get(0).desiredHashes().contains(v1) && seconds < 15) {
      if (seconds == 3) {
        h.fleet.labelNode("n2", Map.of("zone", "b"), List.of(), false); // a pass at the next sweep: the resync 10 s after it
      }
      sweep();
      seconds++;
    }
    assertThat(seconds).as("seconds until n0 moved back").isEqualTo(10);
  }

  /**
   * {@code agents}' pods released (an orphan delete) and adopted by the DaemonSet applied again as revision 2, reported not
   * Ready before their first probe: held Ready for their probes' time, one node moving. Returns revision 2's hash.
   */
  private String adoptedNotProbedYet(List<Agent> agents) {
    h.apply(RolloutRulesTest.image(1));
    agents.forEach(a -> a.runDesired(true));
    h.advance(Duration.ofSeconds(5));
    h.fleet.deleteDaemonSet("ops", "agent", false);
    agents.forEach(a -> a.runDesired(true)); // released, still running
    h.apply(RolloutRulesTest.image(2));
    h.fleet.rolloutPass();
    String v2 = h.ds().hash();
    for (Agent a : agents) {
      a.runSilently(false); // the moved node's new pod starting; the others adopt theirs, not probed yet
      a.running.replaceAll((pod, p) -> p.toBuilder().setReady(false).setReadySinceMillis(0).build());
      a.report();
    }
    assertThat(agents.stream().filter(a -> a.desiredHashes().contains(v2))).as("the adopted pods held Ready: one node moving").hasSize(1);
    return v2;
  }

  /**
   * A node removed while its adopted pod was held Ready (or its report unsure) leaves nothing that time could move: once
   * the others' grace is over and the rollout done, the fleet is walked at the resync only. Before, its entry stayed
   * (only a pass's look at the node forgets one), and every sweep had a pass for as long as the DaemonSet lived.
   */
  @Test
  void aNodeRemovedWhileItsAdoptedPodWasHeldLeavesNoPassEachSweep() {
    h = new FleetHarness(dir);
    List<Agent> agents = h.agents(3);
    String v2 = adoptedNotProbedYet(agents);
    Agent gone = agents.stream().filter(a -> !a.desiredHashes().contains(v2)).findFirst().orElseThrow();
    gone.alive = false;
    h.fleet.removeNode(gone.name);
    for (int i = 0; i < 45; i++) {
      sweep();
      agents.stream().filter(a -> a.alive).forEach(a -> a.runDesired(true));
    }
    assertThat(h.ds().status().updated()).isEqualTo(2);
    quietAfterAPass("nothing left that time moves");
  }

  /**
   * Released pods adopted by the DaemonSet applied again, reported not Ready before their first probe,
   * are held Ready for their probes' time (31 s here); then they are unavailable and move at once, at
   * the sweep that grace ends.
   */
  @Test
  void anAdoptedPodsGraceEndingMovesItsNodeAtItsSweep() {
    h = new FleetHarness(dir);
    List<Agent> agents = h.agents(3);
    String v2 = adoptedNotProbedYet(agents);
    int seconds = secondsUntil(() -> agents.stream().filter(a -> a.desiredHashes().contains(v2)).count() >= 3, 45);
    assertThat(seconds).as("seconds until their probes' time ran out and they moved").isEqualTo(31);
  }

  /**
   * A DaemonSet that tolerates a taint for a time, with a node down that it moved (its pod kept, RollingUpdate rule 4)
   * but no such taint there: time alone moves nothing, so the fleet is walked at the resync only. Before, any node
   * down with a DaemonSet tolerating anything for a time had a pass at every sweep, for as long as the node stayed down
   * (a day before it is collected).
   */
  @Test
  void aMovedNodeDownWithNoTaintTimedHereHasNoPassEachSweep() {
    h = new FleetHarness(dir);
    movedNodeDown(h.agents(3));
    quietAfterAPass("no taint timed on the node down");
  }

  /**
   * A pod reported Ready since no time (readySince 0, which no agent of this project sends) is never available under
   * minReadySeconds: time moves nothing there, and the fleet is walked at the resync only, not at every sweep.
   */
  @Test
  void aPodReadySinceNoTimeHasNoPassEachSweep() {
    String[] fields = {"spec.minReadySeconds", "3"};
    List<Agent> agents = rolledOut(RolloutRulesTest.image(1, fields));
    Agent odd = agents.get(0);
    odd.running.replaceAll((pod, p) -> p.toBuilder().setReadySinceMillis(0).build());
    odd.report();
    quietAfterAPass("a pod Ready since no time is never available: time moves nothing");
  }
}
