package io.dsfleet.coordinator.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.common.model.Taint;
import io.dsfleet.coordinator.fleet.FleetHarness.Agent;
import io.dsfleet.coordinator.plan.DsStatus;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The status counters after each kind of change, read once before it (so the view keeps them,
 * {@link StatusTally}) and once after: what `rollout status`, kubectl and the dashboard read, as the
 * fleet is.
 */
class StatusTallyTest {
  @TempDir Path dir;
  FleetHarness h;

  @AfterEach
  void close() {
    if (h != null) {
      h.close();
    }
  }

  /** desired, current, ready, updated, available, misscheduled. */
  private List<Integer> counts() {
    DsStatus s = h.ds().status();
    return List.of(s.desired(), s.current(), s.ready(), s.updated(), s.available(), s.misscheduled());
  }

  /** Three nodes running a DaemonSet of minReadySeconds 30, its pods Ready for 31 s. */
  private List<Agent> availableForMinReadySeconds() {
    h = new FleetHarness(dir);
    List<Agent> agents = h.agents(3);
    h.apply(RolloutRulesTest.image(1, "spec.minReadySeconds", "30"));
    agents.forEach(a -> a.runDesired(true));
    h.advance(Duration.ofSeconds(31));
    return agents;
  }

  /** {@code a}'s agent goes silent until its node is NotReady (its lease run out). */
  private void lapse(Agent a) {
    a.alive = false;
    for (int i = 0; i < 60 && h.fleet.node(a.name, true).ready(); i++) {
      h.advance(Duration.ofSeconds(1));
    }
    assertThat(h.fleet.node(a.name, true).ready()).isFalse();
  }

  /** {@code a}'s agent back: its session opened again, a second of heartbeats. */
  private void back(Agent a) {
    a.alive = true;
    a.open();
    h.advance(Duration.ofSeconds(1));
  }

  private List<Agent> rolledOut() {
    h = new FleetHarness(dir);
    List<Agent> agents = h.agents(3);
    h.apply(RolloutRulesTest.image(1));
    agents.forEach(a -> a.runDesired(true));
    assertThat(counts()).isEqualTo(List.of(3, 3, 3, 3, 3, 0));
    return agents;
  }

  @Test
  void aNodesConditionMovesTheCountersAtTheNextRead() {
    List<Agent> agents = rolledOut();
    h.fleet.heartbeat("n0", true, "docker down");
    // tainted not-ready NoSchedule, which a DaemonSet does not tolerate (Kubernetes' neither): its pod stays, misscheduled
    assertThat(counts()).as("n0's runtime down").isEqualTo(List.of(2, 2, 2, 2, 2, 1));
    h.fleet.heartbeat("n0", false, "");
    assertThat(counts()).isEqualTo(List.of(3, 3, 3, 3, 3, 0));

    Agent n1 = agents.get(1);
    n1.running.replaceAll((pod, p) -> p.toBuilder().setReady(false).build());
    n1.report();
    assertThat(counts()).as("n1's pod not Ready").isEqualTo(List.of(3, 3, 2, 3, 2, 0));
    n1.runDesired(true);
    assertThat(counts()).isEqualTo(List.of(3, 3, 3, 3, 3, 0));

    lapse(agents.get(2));
    assertThat(counts()).as("n2's lease ran out: tainted unreachable, its pod misscheduled").isEqualTo(List.of(2, 2, 2, 2, 2, 1));
    back(agents.get(2));
    assertThat(counts()).as("n2 back").isEqualTo(List.of(3, 3, 3, 3, 3, 0));
  }

  /**
   * A node back from NotReady has its pods Ready anew, as Kubernetes marks a NotReady node's pods
   * not ready: with minReadySeconds they count available only that long after its return. Until
   * 2026-12-08 they counted at once, on their Ready time from before (helper-201).
   */
  @Test
  void aNodeBackFromNotReadyHasItsPodsAvailableOnlyAfterMinReadySeconds() {
    List<Agent> agents = availableForMinReadySeconds();
    assertThat(counts()).isEqualTo(List.of(3, 3, 3, 3, 3, 0));

    lapse(agents.get(2));
    back(agents.get(2));
    assertThat(counts()).as("n2 back: its pod Ready, not yet available").isEqualTo(List.of(3, 3, 3, 3, 2, 0));
    h.advance(Duration.ofSeconds(29));
    assertThat(counts()).as("30 s after its return").isEqualTo(List.of(3, 3, 3, 3, 3, 0));

    h.fleet.heartbeat("n0", true, "docker down");
    h.fleet.heartbeat("n0", false, "");
    assertThat(counts()).as("n0's runtime back: the same").isEqualTo(List.of(3, 3, 3, 3, 2, 0));
    agents.get(0).report(); // its report, Ready since long before, changes nothing of it
    assertThat(counts()).isEqualTo(List.of(3, 3, 3, 3, 2, 0));
    h.advance(Duration.ofSeconds(30));
    assertThat(counts()).isEqualTo(List.of(3, 3, 3, 3, 3, 0));
  }

  /**
   * The same for a pod released by a DaemonSet deleted with --cascade=orphan and adopted by the one
   * applied again: its node back from NotReady, it counts available only minReadySeconds after the
   * return, not at once on the time it was made (until 2026-12-08 only the node's reported pods were
   * Ready anew, and the adopted pod, read from the released ones until its agent's next report, was
   * not, so the rollout could take another node down beside it).
   */
  @Test
  void anAdoptedPodOnANodeBackFromNotReadyIsAvailableOnlyAfterMinReadySeconds() {
    List<Agent> agents = availableForMinReadySeconds();
    h.fleet.deleteDaemonSet("ops", "agent", false);
    agents.forEach(a -> a.runDesired(true));
    assertThat(agents.get(2).released).as("released, still running").hasSize(1);

    lapse(agents.get(2));
    back(agents.get(2));
    h.apply(RolloutRulesTest.image(1, "spec.minReadySeconds", "30"));
    h.fleet.tick();
    assertThat(counts()).as("adopted, n2 back 1 s ago: its pod not yet available").isEqualTo(List.of(3, 3, 3, 3, 2, 0));
    h.advance(Duration.ofSeconds(30));
    assertThat(counts()).isEqualTo(List.of(3, 3, 3, 3, 3, 0));
  }

  @Test
  void nodesJoiningGoingAndTaintedMoveTheCounters() {
    rolledOut();
    h.fleet.taintNode("n1", List.of(Taint.of("dedicated", "gpu", Taint.NO_SCHEDULE)), List.of(), false);
    assertThat(counts()).as("n1's pod stays, misscheduled").isEqualTo(List.of(2, 2, 2, 2, 2, 1));
    h.fleet.taintNode("n1", List.of(), List.of(new Fleet.TaintRemoval("dedicated", "")), false);
    assertThat(counts()).isEqualTo(List.of(3, 3, 3, 3, 3, 0));

    h.fleet.removeNode("n2");
    h.agents.remove("n2");
    assertThat(counts()).as("n2 removed").isEqualTo(List.of(2, 2, 2, 2, 2, 0));
    Agent n3 = h.agent("n3");
    assertThat(counts()).as("n3 joined, no pod yet").isEqualTo(List.of(3, 2, 2, 2, 2, 0));
    n3.runDesired(true);
    assertThat(counts()).isEqualTo(List.of(3, 3, 3, 3, 3, 0));

    h.fleet.labelNode("n0", Map.of("zone", "b"), List.of(), false);
    h.apply(RolloutRulesTest.image(1, "spec.template.spec.nodeSelector", "{zone: b}"));
    assertThat(counts()).as("only n0 selected: the others' pods go, n0's waits for the rollout").isEqualTo(List.of(1, 1, 1, 0, 1, 2));
    h.agents.values().forEach(a -> a.runDesired(true));
    h.agents.values().forEach(a -> a.runDesired(true));
    assertThat(counts()).isEqualTo(List.of(1, 1, 1, 1, 1, 0));
  }

  @Test
  void aDaemonSetMadeAgainOrRestartedCountsWhatItsNodesRun() {
    List<Agent> agents = rolledOut();
    h.apply(RolloutRulesTest.image(2));
    h.fleet.rolloutPass();
    assertThat(counts().get(3)).as("a new template: nothing updated yet").isEqualTo(0);
    for (int i = 0; i < 6; i++) {
      agents.forEach(a -> a.runDesired(true));
    }
    assertThat(counts()).isEqualTo(List.of(3, 3, 3, 3, 3, 0));

    h.fleet.deleteDaemonSet("ops", "agent", false); // orphaned: the pods run on
    agents.forEach(a -> a.runDesired(true));
    h.apply(RolloutRulesTest.image(2));
    assertThat(counts()).as("made again: it adopts the released pods, as they run").isEqualTo(List.of(3, 3, 3, 3, 3, 0));
    agents.forEach(a -> a.runDesired(true));
    assertThat(counts()).isEqualTo(List.of(3, 3, 3, 3, 3, 0));

    h.fleet.deleteDaemonSet("ops", "agent", true);
    h.apply(RolloutRulesTest.image(2));
    assertThat(counts()).as("made again after a cascading delete: the pods being stopped are not its own")
        .isEqualTo(List.of(3, 0, 0, 0, 0, 0));
    agents.forEach(a -> a.runDesired(true));
    assertThat(counts()).isEqualTo(List.of(3, 3, 3, 3, 3, 0));

    h.crashAndRestart();
    assertThat(counts()).isEqualTo(List.of(3, 3, 3, 3, 3, 0));
    agents.get(0).running.replaceAll((pod, p) -> p.toBuilder().setReady(false).build());
    agents.get(0).report();
    assertThat(counts()).as("after the restart too").isEqualTo(List.of(3, 3, 2, 3, 2, 0));
  }
}
