package io.dsfleet.coordinator.fleet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.dsfleet.coordinator.fleet.FleetHarness.Agent;
import io.dsfleet.coordinator.store.Store.StoredRevision;
import io.dsfleet.proto.v1.DesiredPod;
import io.grpc.Status;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The DaemonSet controller's rules, through the Fleet as the services and the scheduler drive it,
 * on the real store: rollout state that survives crashes, history pruning, pod deletion,
 * isolation of a failing DaemonSet, and what is acknowledged.
 */
class RolloutRulesTest {
  static final String DEADLINE = "{dsfleet.io/progress-deadline-seconds: '30', dsfleet.io/on-failure: rollback}";
  @TempDir Path dir;
  FleetHarness h;

  @AfterEach
  void close() {
    if (h != null) {
      h.close();
    }
  }

  List<Agent> fleetOf(int n) {
    h = new FleetHarness(dir);
    for (int i = 0; i < n; i++) {
      h.agent("n" + i);
    }
    return List.copyOf(h.agents.values());
  }

  static String image(int v, String... more) {
    String[] all = new String[more.length + 2];
    all[0] = "spec.template.spec.containers[0].image";
    all[1] = "local/busybox:" + v;
    System.arraycopy(more, 0, all, 2, more.length);
    return FleetHarness.manifest(all);
  }

  /** Revision {@code v} of an OnDelete DaemonSet keeping {@code limit} old revisions. */
  static String onDelete(int v, int limit) {
    return image(v, "spec.updateStrategy", "{type: OnDelete}", "spec.revisionHistoryLimit", String.valueOf(limit));
  }

  void runAll(boolean ready) {
    h.agents.values().forEach(a -> a.runDesired(ready));
  }

  long eventsOf(String reason) {
    return h.fleet.events(Events.dsKey("ops", "agent")).stream().filter(e -> e.reason().equals(reason)).count();
  }

  @Test
  void sendingTheMovedNodesTheirSetsDoesNotHoldTheNextNodeBack() {
    List<Agent> agents = fleetOf(3);
    h.apply(image(1));
    runAll(true);
    h.apply(image(2));
    h.sendTakes = Duration.ofMillis(200); // each desired set takes the coordinator 200 ms to send, as a wave of a large fleet does
    h.fleet.rolloutPass();
    String v2 = h.ds().hash();
    List<Agent> moved = agents.stream().filter(a -> a.desiredHashes().contains(v2)).toList();
    assertThat(moved).as("maxUnavailable 1").hasSize(1);
    moved.get(0).runDesired(true); // reports it available; the scheduler's pass follows with no time passing
    assertThat(agents.stream().filter(a -> a.desiredHashes().contains(v2))).as("the next node moves at once: the last pass's time was sending")
        .hasSize(2);
  }

  @Test
  void aTickInTheMiddleOfARolloutRunsNoPassSoonerThanThePacingAllows() {
    List<Agent> agents = fleetOf(3);
    h.apply(image(1));
    runAll(true);
    h.apply(image(2));
    // each pass's own walk takes 500 ms (its rollout state written to a slow disk, a replicated
    // store's majority), so the next pass may run no sooner than four times that, at most a second,
    // after it ends
    h.failing = (method, args) -> {
      if (method.equals("putRollout")) {
        h.clock.advance(Duration.ofMillis(500));
      }
      return false;
    };
    h.fleet.rolloutPass();
    String v2 = h.ds().hash();
    List<Agent> moved = agents.stream().filter(a -> a.desiredHashes().contains(v2)).toList();
    assertThat(moved).as("maxUnavailable 1").hasSize(1);
    moved.get(0).runDesired(true);
    h.fleet.tick();
    assertThat(agents.stream().filter(a -> a.desiredHashes().contains(v2))).as("the tick's pass waits for the pacing").hasSize(1);
    assertThat(h.fleet.rolloutPassPending()).isTrue();
    h.clock.advance(Duration.ofMillis(999));
    h.fleet.tick();
    assertThat(agents.stream().filter(a -> a.desiredHashes().contains(v2))).as("still within the pacing").hasSize(1);
    h.clock.advance(Duration.ofMillis(1));
    h.fleet.tick();
    assertThat(agents.stream().filter(a -> a.desiredHashes().contains(v2))).as("a second after the pass, not two: the next node moves")
        .hasSize(2);
    assertThat(h.fleet.rolloutPassPending()).isFalse();
  }

  @Test
  void aReplacementInFlightKeepsItsBudgetAcrossACrash() {
    List<Agent> agents = fleetOf(4);
    h.apply(image(1));
    runAll(true);
    h.apply(image(2));
    h.fleet.tick();
    String v2 = h.ds().hash();
    assertThat(agents.stream().filter(a -> a.desiredHashes().contains(v2))).extracting(a -> a.name).containsExactly("n0");
    // n0 stopped its old pod and has not reported the new one yet: the replacement is in flight
    agents.get(0).running.clear();
    agents.get(0).report();
    h.crashAndRestartWithout("n0"); // the others report first
    h.fleet.tick();
    assertThat(agents.stream().filter(a -> a.desiredHashes().contains(v2))).as("n0 has not said what it runs: nobody moves")
        .extracting(a -> a.name).containsExactly("n0");
    agents.get(0).open();
    h.fleet.tick();
    assertThat(agents.stream().filter(a -> a.desiredHashes().contains(v2))).as("maxUnavailable 1: nobody else moves")
        .extracting(a -> a.name).containsExactly("n0");
    assertThat(h.ds().status().unavailable()).isEqualTo(1);
    for (int step = 0; step < 4; step++) {
      runAll(true);
      h.fleet.tick();
      assertThat(h.ds().status().unavailable()).as("step %d", step).isLessThanOrEqualTo(1);
    }
    assertThat(h.ds().status().updated()).isEqualTo(4);
  }

  @Test
  void aRolloutStuckPastItsDeadlineFailsOnceThoughTheCoordinatorRestartsEveryTenSeconds() {
    fleetOf(3);
    h.apply(image(1, "metadata.annotations", DEADLINE));
    runAll(true);
    h.apply(image(2, "metadata.annotations", DEADLINE));
    h.fleet.tick();
    runAll(false); // the new pod never becomes Ready
    for (int i = 0; i < 8; i++) {
      h.advance(Duration.ofSeconds(10));
      h.crashAndRestart();
      runAll(h.ds().revision() == 3); // the rolled-back template's pods are Ready
    }
    assertThat(h.fleet.events(Events.dsKey("ops", "agent"))).filteredOn(e -> e.reason().equals("RolloutFailed"))
        .as("revision 2 failed once, and was rolled back once").singleElement()
        .satisfies(e -> assertThat(e.message()).startsWith("revision 2: no progress for 30 s"));
    assertThat(h.ds().revision()).isEqualTo(3);
    assertThat(h.ds().rollout().rolledBackFrom()).isEqualTo(2);
    assertThat(h.ds().status().updated()).isEqualTo(3);
    assertThat(h.ds().status().available()).isEqualTo(3);
  }

  /**
   * The previous template was stored under older rules and no longer passes validation: the
   * automatic rollback is refused, and the rollout is paused as failed, once (it was retried at
   * every pass, an error and an event each time: helper-79).
   */
  @Test
  void aRollbackToATemplateStoredUnderOlderRulesPausesTheRolloutOnce() throws Exception {
    fleetOf(2);
    String scratch = "{name: scratch, emptyDir: {sizeLimit: 1Gi}}";
    h.apply(image(1, "metadata.annotations", DEADLINE, "spec.template.spec.volumes[1]", scratch));
    runAll(true);
    try (var c = java.sql.DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("dsfleet.db")); var st = c.createStatement()) {
      assertThat(st.executeUpdate("UPDATE revisions SET template_json = replace(template_json, '\"sizeLimit\":\"1Gi\"',"
          + " '\"sizeLimit\":\"-1Gi\"') WHERE revision = 1")).isEqualTo(1);
    }
    h.crashAndRestart();
    h.apply(image(2, "metadata.annotations", DEADLINE, "spec.template.spec.volumes[1]", scratch));
    h.fleet.tick();
    runAll(false);
    h.advance(Duration.ofSeconds(31));
    h.fleet.rolloutPass();
    h.fleet.rolloutPass();
    assertThat(h.ds().revision()).as("not rolled back").isEqualTo(2);
    assertThat(h.ds().rollout().pause()).isEqualTo(RolloutState.Pause.FAILED);
    assertThat(h.ds().rollout().reason()).contains("rollback refused").contains("sizeLimit");
    assertThat(eventsOf("RolloutFailed")).isEqualTo(1);
    assertThat(eventsOf("RolloutPassFailed")).isZero();
  }

  @Test
  void theAutomaticRollbackIsNotFailedWhileItsPodStartsMoreSlowlyThanTheDeadline() {
    fleetOf(2);
    h.apply(image(1, "metadata.annotations", DEADLINE));
    runAll(true);
    h.apply(image(2, "metadata.annotations", DEADLINE));
    h.fleet.tick();
    runAll(false);
    h.advance(Duration.ofSeconds(31));
    assertThat(h.ds().revision()).as("rolled back").isEqualTo(3);
    h.fleet.rolloutPass(); // as the scheduler does right after
    h.advance(Duration.ofSeconds(25));
    runAll(false); // the rollback's pod started 25 s after the rollback
    h.advance(Duration.ofSeconds(10)); // 35 s after the rollback, 10 s after its pod started
    assertThat(h.ds().rollout().pause()).as("a pod of the revision started: that is progress").isEqualTo(RolloutState.Pause.NONE);
    runAll(true);
    h.advance(Duration.ofSeconds(1));
    assertThat(h.ds().status().available()).isEqualTo(2);
    assertThat(eventsOf("RolloutFailed")).isEqualTo(1);
  }

  @Test
  void historyPruningKeepsEveryRevisionANodeRunsAndUndoReachesIt() {
    List<Agent> agents = fleetOf(2);
    h.apply(onDelete(1, 1));
    runAll(true);
    String v1 = h.ds().hash();
    for (int v = 2; v <= 4; v++) {
      h.apply(onDelete(v, 1));
      h.fleet.tick();
    }
    assertThat(h.ds().revisions()).extracting(StoredRevision::revision).as("2 and 3 go; 1 runs on every node").containsExactly(1L, 4L);
    agents.forEach(a -> a.runDesired(true));
    DesiredPod sent = agents.get(0).last().getPods(0);
    assertThat(sent.getTemplateHash()).isEqualTo(v1);
    assertThat(sent.getTemplateJson().isEmpty()).as("a node still gets the template it runs").isFalse();
    h.fleet.undo("ops", "agent", 1, 0);
    assertThat(h.ds().hash()).isEqualTo(v1);
    assertThat(h.ds().revision()).isEqualTo(5);
    h.apply(onDelete(6, 0));
    h.fleet.tick();
    assertThat(h.ds().revisions()).extracting(StoredRevision::revision).as("limit 0: what runs, and the current")
        .containsExactly(5L, 6L);
  }

  /**
   * A restart: the node still running revision 1 (OnDelete) has not reconnected when the next
   * apply prunes history. It must keep its revision, as a node that reported does, and get its
   * template when it is back; once every node has reported, what nobody runs goes.
   */
  @Test
  void historyPruningAfterARestartKeepsTheRevisionOfANodeThatHasNotReportedYet() {
    List<Agent> agents = fleetOf(2);
    h.apply(onDelete(1, 1));
    runAll(true);
    String v1 = h.ds().hash();
    h.apply(onDelete(2, 1));
    h.fleet.tick();
    h.fleet.deletePod("ops", agents.get(1).last().getPods(0).getPodName()); // n1 moves to 2, n0 stays on 1
    agents.get(1).runDesired(true);
    agents.get(1).runDesired(true);
    assertThat(agents.get(1).desiredHashes()).containsExactly(h.ds().hash());
    h.crashAndRestartWithout("n0");
    h.apply(onDelete(3, 1));
    h.fleet.tick();
    assertThat(h.ds().revisions()).extracting(StoredRevision::revision).as("1 runs on n0, not heard from since the restart")
        .contains(1L);
    agents.get(0).open();
    DesiredPod sent = agents.get(0).last().getPods(0);
    assertThat(sent.getTemplateHash()).isEqualTo(v1);
    assertThat(sent.getRevision()).isEqualTo(1);
    assertThat(sent.getTemplateJson().isEmpty()).as("the node still gets the template it runs").isFalse();
    h.fleet.deletePod("ops", sent.getPodName());
    agents.forEach(a -> a.runDesired(true));
    agents.forEach(a -> a.runDesired(true));
    h.fleet.tick();
    assertThat(h.ds().revisions()).extracting(StoredRevision::revision).as("every node reported and runs 3: 1 and 2 go")
        .containsExactly(2L, 3L);
  }

  /**
   * A node away across a restart (down, not removed) keeps the revision it ran then, and nothing
   * more: the revisions rolled out meanwhile, which the nodes that report run and leave, go as
   * usual (a review saw every revision kept while one node stayed away).
   */
  @Test
  void aNodeAwayAfterARestartHoldsBackOnlyTheRevisionItRanNotThoseMadeSince() {
    List<Agent> agents = fleetOf(3);
    h.apply(onDelete(1, 1));
    runAll(true);
    agents.get(2).alive = false; // powered off
    h.crashAndRestartWithout("n2");
    h.advance(java.time.Duration.ofMinutes(5)); // its lease runs out: NotReady, still a member
    for (int v = 2; v <= 9; v++) {
      h.apply(image(v, "spec.revisionHistoryLimit", "1"));
      for (int i = 0; i < 4; i++) {
        agents.get(0).runDesired(true);
        agents.get(1).runDesired(true);
        h.advance(java.time.Duration.ofSeconds(1));
      }
    }
    assertThat(agents.get(0).desiredHashes()).containsExactly(h.ds().hash());
    assertThat(h.ds().revisions()).extracting(StoredRevision::revision)
        .as("1 runs on n2, away, and fills the one old revision kept (as Kubernetes counts); 9 is current").containsExactly(1L, 9L);
  }

  @Test
  void aRestoredTemplateKeepsItsOwnChangeCause() {
    fleetOf(1);
    h.apply(image(1, "metadata.annotations", "{kubernetes.io/change-cause: 'v1'}"));
    h.apply(image(2, "metadata.annotations", "{kubernetes.io/change-cause: 'v2'}"));
    h.fleet.undo("ops", "agent", 0, 0);
    assertThat(h.ds().revisions()).extracting(r -> r.revision() + ":" + r.changeCause()).containsExactly("2:v2", "3:v1");
  }

  @Test
  void undoIsACompareAndSetOnTheResourceVersion() {
    fleetOf(1);
    h.apply(image(1));
    h.apply(image(2));
    long seen = h.ds().resourceVersion();
    h.apply(image(3));
    assertThatThrownBy(() -> h.fleet.undo("ops", "agent", 1, seen)).isInstanceOf(ControlException.class)
        .hasMessageContaining("metadata.resourceVersion " + seen + " is stale")
        .extracting(e -> ((ControlException) e).code()).isEqualTo(Status.Code.FAILED_PRECONDITION);
    assertThat(h.ds().revision()).isEqualTo(3);
    h.fleet.undo("ops", "agent", 1, h.ds().resourceVersion());
    assertThat(h.ds().revision()).isEqualTo(4);
  }

  @Test
  void deletingAPodOfTheCurrentRevisionStopsItThenStartsANewOneUnderAnotherName() {
    List<Agent> agents = fleetOf(2);
    h.apply(image(1));
    runAll(true);
    Agent n0 = agents.get(0);
    String old = n0.last().getPods(0).getPodName();
    assertThat(h.fleet.deletePod("ops", old)).isEqualTo("n0");
    assertThat(n0.last().getPodsList()).as("the deleted pod stops first").isEmpty();
    assertThat(agents.get(1).last().getPodsCount()).as("only the named pod").isEqualTo(1);
    n0.runDesired(true);
    assertThat(n0.last().getPodsList()).extracting(DesiredPod::getPodName).hasSize(1).doesNotContain(old);
    assertThat(n0.last().getPods(0).getTemplateHash()).isEqualTo(h.ds().hash());
    assertThatThrownBy(() -> h.fleet.deletePod("dev", agents.get(1).last().getPods(0).getPodName()))
        .as("names are per namespace").hasMessageContaining("not found in namespace dev");
  }

  @Test
  void anOnDeleteDeletionMadeBeforeACrashIsHonoured() {
    List<Agent> agents = fleetOf(2);
    h.apply(image(1, "spec.updateStrategy", "{type: OnDelete}"));
    runAll(true);
    String v1 = h.ds().hash();
    h.apply(image(2, "spec.updateStrategy", "{type: OnDelete}"));
    h.fleet.tick();
    String pod = agents.get(1).last().getPods(0).getPodName();
    h.fleet.deletePod("ops", pod);
    h.crashAndRestart(); // n1 still runs the deleted pod and reports it again
    h.fleet.tick();
    assertThat(agents.get(1).last().getPodsList()).as("still deleted after the crash").isEmpty();
    runAll(true);
    assertThat(agents.get(1).desiredHashes()).containsExactly(h.ds().hash());
    assertThat(agents.get(0).desiredHashes()).as("OnDelete: n0 was not deleted").containsExactly(v1);
  }

  @Test
  void aDaemonSetWhosePassFailsIsRetriedWithBackOffAndNeverStopsTheOthers() {
    List<Agent> agents = fleetOf(2);
    String other = "metadata.name";
    h.apply(image(1));
    h.apply(image(1, other, "other"));
    runAll(true);
    h.failing = (method, args) -> method.equals("putRollout") && args[1].equals("agent");
    h.apply(image(2));
    h.apply(image(2, other, "other"));
    h.fleet.tick();
    String otherV2 = h.fleet.daemonSet("ops", "other").hash();
    assertThat(agents.stream().filter(a -> a.desiredHashes().contains(otherV2)).count()).as("the other DaemonSet moves").isEqualTo(1);
    assertThat(h.ds().observedGeneration()).as("the controller has not acted on generation 2").isEqualTo(1);
    assertThat(h.ds().generation()).isEqualTo(2);
    assertThat(eventsOf("RolloutPassFailed")).isEqualTo(1);
    h.failing = (method, args) -> false;
    h.fleet.tick();
    assertThat(eventsOf("RolloutPassFailed")).as("backing off: not tried again at once").isEqualTo(1);
    h.advance(Duration.ofSeconds(3));
    assertThat(h.ds().observedGeneration()).isEqualTo(2);
    assertThat(eventsOf("RolloutPassRecovered")).isEqualTo(1);
    assertThat(agents.stream().filter(a -> a.desiredHashes().contains(h.ds().hash())).count()).isEqualTo(1);
  }

  @Test
  void aCommittedApplyAnswersSuccessEvenWhenANodeCannotBeToldAtOnce() {
    List<Agent> agents = fleetOf(2);
    agents.get(0).broken = true;
    h.apply(image(1));
    assertThat(h.ds().revision()).isEqualTo(1);
    assertThat(agents.get(1).desiredHashes()).containsExactly(h.ds().hash());
  }

  @Test
  void aRefusedCommitChangesNothing() {
    fleetOf(1);
    h.apply(image(1));
    h.failing = (method, args) -> method.equals("putObjects");
    assertThatThrownBy(() -> h.apply(image(2))).isInstanceOf(ControlException.class)
        .hasMessageContaining("nothing applied").extracting(e -> ((ControlException) e).code()).isEqualTo(Status.Code.UNAVAILABLE);
    h.failingMayHaveApplied = true; // a group that did not confirm it: the caller is not told that nothing changed
    assertThatThrownBy(() -> h.apply(image(2))).isInstanceOf(ControlException.class)
        .hasMessageContaining("may have been applied").hasMessageNotContaining("nothing applied");
    h.failingMayHaveApplied = false;
    assertThat(h.ds().revision()).isEqualTo(1);
    assertThat(h.ds().ds().spec().template().spec().containers().get(0).image()).isEqualTo("local/busybox:1");
  }
}
