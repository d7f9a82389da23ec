package io.dsfleet.coordinator.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.common.match.DaemonTolerations;
import io.dsfleet.common.model.Taint;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Node conditions and taints as Kubernetes' node lifecycle controller keeps them, across crashes. */
class NodeLifecycleTest {
  @TempDir Path dir;
  FleetHarness h;

  @BeforeEach
  void start() {
    h = new FleetHarness(dir);
  }

  @AfterEach
  void close() {
    h.close();
  }

  void nodes(int n) {
    h.agents(n);
  }

  FleetView.NodeSnapshot node(String name) {
    return h.fleet.node(name, true);
  }

  static Instant taintedAt(FleetView.NodeSnapshot n, String key) {
    return n.taints().stream().filter(t -> t.key().equals(key) && t.effect().equals(Taint.NO_EXECUTE)).map(Taint::timeAdded)
        .findFirst().orElse(null);
  }

  long tainted() {
    return h.fleet.nodes().stream().filter(n -> taintedAt(n, DaemonTolerations.UNREACHABLE) != null).count();
  }

  @Test
  void notReadyAndUnreachableTaintsKeepTheirTimeAddedAcrossACrash() {
    nodes(2);
    h.agents.get("n1").alive = false;
    h.advance(Duration.ofSeconds(25));
    Instant unreachable = h.clock.instant();
    assertThat(taintedAt(node("n1"), DaemonTolerations.UNREACHABLE)).isEqualTo(unreachable);
    h.clock.advance(Duration.ofSeconds(5));
    h.fleet.heartbeat("n0", true, "docker: connection refused");
    Instant runtimeDown = h.clock.instant();
    h.fleet.tick(); // the sweep writes the condition
    h.crashAndRestart();
    assertThat(taintedAt(node("n0"), DaemonTolerations.NOT_READY)).isEqualTo(runtimeDown);
    assertThat(node("n1").ready()).as("NotReady before the crash, NotReady after it").isFalse();
    assertThat(taintedAt(node("n1"), DaemonTolerations.UNREACHABLE)).isEqualTo(unreachable);
  }

  /**
   * A write of node conditions the store refuses (a full disk) is tried again at every sweep, about
   * a second, and logged the first time with its trace, then once a minute in a line, and once
   * when it goes through: before, every sweep logged a stack trace into the full disk's log.
   */
  @Test
  void aConditionsWriteTheStoreKeepsRefusingIsLoggedOnceAMinuteNotEverySweep() {
    nodes(2);
    h.failing = (m, a) -> m.equals("putNodes");
    java.io.PrintStream stderr = System.err;
    var printed = new java.io.ByteArrayOutputStream();
    System.setErr(new java.io.PrintStream(printed, true, java.nio.charset.StandardCharsets.UTF_8));
    try {
      h.agents.get("n1").alive = false;
      for (int i = 0; i < 90; i++) {
        h.advance(Duration.ofSeconds(1)); // n1 NotReady after its grace: a condition to write at every sweep
      }
      h.failing = (m, a) -> false;
      h.advance(Duration.ofSeconds(1));
    } finally {
      System.setErr(stderr);
    }
    String log = printed.toString(java.nio.charset.StandardCharsets.UTF_8);
    assertThat(log.lines().filter(l -> l.contains("writing the condition of"))).as(log).hasSize(2);
    assertThat(log.lines().filter(l -> l.contains("StoreException: injected: putNodes failed"))).as("one stack trace").hasSize(1);
    assertThat(log).contains("failed; trying again at each sweep", "times in a row, lately: injected: putNodes failed")
        .containsPattern("the condition of \\d+ nodes written, after \\d+ failed tries");
    assertThat(node("n1").ready()).isFalse();
  }

  /** An agent whose state directory refuses writes says so in its heartbeats: one event each way, the node Ready throughout. */
  @Test
  void aStateDirectoryThatRefusesWritesIsAnEventAndTheNodeStaysReady() {
    nodes(1);
    for (int i = 0; i < 3; i++) {
      h.fleet.heartbeat("n0", false, "", "desired set version 7 not written: java.io.IOException: No space left on device");
    }
    assertThat(node("n0").ready()).isTrue();
    h.fleet.heartbeat("n0", false, "", "");
    h.fleet.heartbeat("n0", false, "", "");
    assertThat(h.fleet.events(Events.nodeKey("n0"))).filteredOn(e -> e.reason().startsWith("State"))
        .extracting(e -> e.type() + " " + e.reason()).containsExactly("Warning StateNotWritten", "Normal StateWritten");
    assertThat(h.fleet.events(Events.nodeKey("n0"))).filteredOn(e -> e.reason().equals("StateNotWritten")).singleElement()
        .satisfies(e -> assertThat(e.message()).contains("No space left on device"));
  }

  /** The node comes back after the restart: its agent opens a session and heartbeats from now on. */
  void back(String name) {
    FleetHarness.Agent a = h.agents.get(name);
    a.alive = true;
    a.open();
  }

  /** Seconds pass one at a time: live agents heartbeat, the sweep runs. */
  void seconds(int n) {
    for (int i = 0; i < n; i++) {
      h.advance(Duration.ofSeconds(1));
    }
  }

  @Test
  void afterARestartANodeNotYetBackStaysReadyWhileOthersStillComeBackAndNotLonger() {
    // restart grace: the 20 s lease (up to 10 % jitter), an agent's longest return (its 30 s back-off, 5 s to connect)
    // and 10 ms a node: 55-57 s
    nodes(6);
    h.agents.values().forEach(a -> a.alive = false);
    h.crashAndRestartWithout("n0", "n1", "n2", "n3", "n4", "n5"); // a slow reconnect storm: a node every 10 s, n5 never
    for (String n : List.of("n0", "n1", "n2", "n3", "n4")) {
      seconds(10);
      back(n);
    }
    seconds(19); // 69 s after the restart, past its grace, 19 s after the last return
    assertThat(node("n5").ready()).as("while the fleet is still coming back").isTrue();
    seconds(2);
    assertThat(node("n5").ready()).as("a heartbeat grace after the last return").isFalse();
    assertThat(List.of("n0", "n1", "n2", "n3", "n4").stream().allMatch(n -> node(n).ready())).isTrue();
  }

  @Test
  void aLoneNodeBackOffTheAgentsLongestBackOffAfterARestartWasNeverNotReady() {
    // every other node is back at once; n1's agent, backed off while no coordinator answered, tries
    // again 30 s later (the longest back-off a coordinator allows for: agents of earlier builds),
    // 10 s after the others' last return plus a heartbeat grace
    nodes(2);
    h.agents.values().forEach(a -> a.alive = false);
    h.crashAndRestartWithout("n0", "n1");
    back("n0");
    for (int i = 0; i < 30; i++) {
      seconds(1);
      assertThat(node("n1").ready()).as("%d s after the restart", i + 1).isTrue();
    }
    back("n1");
    seconds(30);
    assertThat(h.fleet.nodes()).allMatch(FleetView.NodeSnapshot::ready);
  }

  @Test
  void returnsThatNeverStopHoldALeaseForThreeRestartGracesAtMost() {
    // three times the lease and the storm (3 x (20 s + 11 x 10 ms)), plus an agent's longest return (35 s) once: 95.3 s
    nodes(11);
    h.agents.values().forEach(a -> a.alive = false);
    String[] all = java.util.stream.IntStream.range(0, 11).mapToObj(i -> "n" + i).toArray(String[]::new);
    h.crashAndRestartWithout(all); // a node every 10 s; n10 never
    for (int i = 0; i < 9; i++) {
      seconds(10);
      back("n" + i);
    }
    seconds(4);
    boolean readyAt94 = node("n10").ready();
    seconds(6);
    back("n9");
    assertThat(readyAt94).as("94 s after the restart, returns still arriving").isTrue();
    assertThat(node("n10").ready()).as("100 s after: past the cap (95.3 s), though returns still arrive").isFalse();
  }

  @Test
  void aLabelTheOperatorRemovedStaysRemovedAfterACrash() {
    h.agent("n0", Map.of("zone", "a", "disk", "ssd"));
    h.fleet.labelNode("n0", Map.of(), List.of("zone"), false);
    h.crashAndRestart();
    assertThat(node("n0").labels()).containsEntry("disk", "ssd").doesNotContainKey("zone");
  }

  @Test
  void aStepOfTheWallClockExpiresNoLease() {
    nodes(3);
    h.clock.stepWall(Duration.ofHours(1));
    h.fleet.tick();
    assertThat(h.fleet.nodes()).allMatch(FleetView.NodeSnapshot::ready);
  }

  /**
   * A step of the wall clock (a replica's clock set a day ahead, NTP stepping it) collects no node:
   * a node NotReady for a minute stays a member, and is collected nodeGcAfter (10 min here) after it
   * went NotReady, on the monotonic clock. Before, the step removed every NotReady node at once.
   */
  @Test
  void aStepOfTheWallClockCollectsNoNode() {
    nodes(5);
    h.agents.get("n0").alive = false;
    h.advance(Duration.ofSeconds(25));
    assertThat(node("n0").ready()).isFalse();
    h.clock.stepWall(Duration.ofDays(1));
    h.advance(Duration.ofSeconds(1));
    assertThat(h.fleet.nodes()).as("NotReady for a minute, not a day").hasSize(5);
    h.advance(Duration.ofMinutes(10));
    assertThat(h.fleet.nodes()).as("NotReady for nodeGcAfter on the monotonic clock: collected").hasSize(4);
  }

  /**
   * A node NotReady when the coordinator went away for longer than nodeGcAfter is not collected at
   * the restart's first sweep: it gets the window every node gets to come back (its agent retries
   * within 15 s). Before, it was removed before its agent could reconnect; a node that does not
   * come back within the window is collected as before.
   */
  @Test
  void aNodeNotReadyBeforeALongOutageMayComeBackAfterTheRestart() {
    nodes(5);
    h.agents.get("n0").alive = false;
    h.agents.get("n1").alive = false;
    h.advance(Duration.ofSeconds(25));
    assertThat(node("n0").ready()).isFalse();
    h.clock.advance(Duration.ofMinutes(11)); // the coordinator down, past nodeGcAfter
    h.crashAndRestart();
    seconds(10);
    assertThat(h.fleet.nodes()).as("nobody collected while the fleet comes back").hasSize(5);
    back("n0");
    seconds(1);
    assertThat(node("n0").ready()).as("back after the restart: a member, Ready").isTrue();
    seconds(60);
    assertThat(h.fleet.nodes()).as("n1, NotReady since before the outage and not back: collected").hasSize(4)
        .allMatch(FleetView.NodeSnapshot::ready);
  }

  @Test
  void unreachableTaintsAreRateLimited() {
    nodes(20);
    for (int i = 0; i < 6; i++) {
      h.agents.get("n" + i).alive = false;
    }
    h.advance(Duration.ofSeconds(25));
    assertThat(h.fleet.nodes().stream().filter(n -> !n.ready()).count()).as("the condition is the truth at once").isEqualTo(6);
    assertThat(tainted()).as("10% of 20 nodes a sweep").isEqualTo(2);
    h.advance(Duration.ofSeconds(1));
    assertThat(tainted()).isEqualTo(4);
    h.advance(Duration.ofSeconds(1));
    assertThat(tainted()).isEqualTo(6);
  }

  @Test
  void whenMostOfTheFleetStopsAtOnceNothingIsTaintedOrCollected() {
    nodes(5);
    for (int i = 0; i < 3; i++) {
      h.agents.get("n" + i).alive = false;
    }
    h.advance(Duration.ofSeconds(25));
    assertThat(h.fleet.nodes().stream().filter(n -> !n.ready()).count()).isEqualTo(3);
    assertThat(tainted()).as("3 of 5 NotReady: full disruption").isZero();
    h.advance(Duration.ofMinutes(11)); // past nodeGcAfter (10 min here)
    assertThat(h.fleet.nodes()).as("nobody collected while the fleet is disrupted").hasSize(5);
    h.agents.get("n0").alive = true;
    h.agents.get("n1").alive = true;
    h.advance(Duration.ofSeconds(1));
    assertThat(h.fleet.nodes()).as("1 of 5 NotReady: n2, NotReady for 11 min, is collected now").hasSize(4)
        .allMatch(FleetView.NodeSnapshot::ready);
  }

  @Test
  void eventsAreStillThereAfterACrash() {
    nodes(1);
    h.apply(FleetHarness.manifest());
    h.fleet.tick();
    h.crashAndRestart();
    assertThat(h.fleet.events(Events.dsKey("ops", "agent"))).extracting(Events.Event::reason).contains("RevisionCreated");
    assertThat(h.fleet.events(Events.nodeKey("n0"))).extracting(Events.Event::reason).contains("Joined");
  }
  /**
   * A review's compromised node flipped its runtime condition 12,000 times in a second: each flip
   * an event, and every other object's events were pushed out of what waits for the disk and what
   * `events -w` reads. A node's agent causes 25 events at once, then one every 10 s.
   */
  @Test
  void aNodeFlippingItsConditionsCausesFewEventsAndPushesOutNoOthers() {
    nodes(2);
    long before = h.fleet.events(o -> true).seq();
    h.fleet.labelNode("n1", java.util.Map.of("zone", "a"), java.util.List.of(), false);
    for (int i = 0; i < 12_000; i++) {
      h.fleet.heartbeat("n0", i % 2 == 0, "flip " + i);
    }
    assertThat(h.fleet.eventsAfter(before, o -> o.equals(Events.nodeKey("n1")))).as("the operator's label, still there for watchers")
        .extracting(r -> r.event().reason()).containsExactly("Labeled");
    var flips = h.fleet.eventsAfter(before, o -> o.equals(Events.nodeKey("n0")));
    assertThat(flips).hasSize(Events.AGENT_BURST);
    assertThat(node("n0").ready()).as("the condition itself is the last heartbeat's (runtime available)").isTrue();
    h.clock.advance(java.time.Duration.ofMillis(Events.AGENT_REFILL_MILLIS));
    h.fleet.heartbeat("n0", false, "");
    h.fleet.heartbeat("n0", true, "down");
    assertThat(h.fleet.eventsAfter(before, o -> o.equals(Events.nodeKey("n0")))).as("one more after the refill").hasSize(Events.AGENT_BURST + 1);
  }

  /** Pods failing on a node (a registry down: every pod's pull fails) spend a budget of their own: the runtime going down still shows. */
  @Test
  void failingPodsNeverSilenceTheNodesOwnConditions() {
    nodes(1);
    long before = h.fleet.events(o -> true).seq();
    for (int i = 0; i < Events.AGENT_BURST * 2; i++) {
      h.fleet.reportPods("n0", io.dsfleet.proto.v1.PodStatusReport.newBuilder().setFull(true)
          .addPods(io.dsfleet.proto.v1.PodStatus.newBuilder().setNamespace("ops").setDaemonSet("agent")
              .setPodName(io.dsfleet.coordinator.plan.PodNames.name("agent", "n0", 0)).setPhase("Pending")
              .setReason(i % 2 == 0 ? "ErrImagePull" : "ImagePullBackOff")).build());
    }
    h.fleet.heartbeat("n0", true, "docker down");
    assertThat(h.fleet.eventsAfter(before, o -> true)).extracting(r -> r.event().reason())
        .filteredOn(r -> !r.equals("NodeNotReady")).hasSize(Events.AGENT_BURST);
    assertThat(h.fleet.eventsAfter(before, o -> true)).extracting(r -> r.event().reason()).contains("NodeNotReady");
  }
}
