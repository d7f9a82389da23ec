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
    return h.agents(n);
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
    String v2 = updateStarted();
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

  /**
   * The same when each restart's first pass runs before the agents have reported: the pods they
   * report then are what they ran before, no progress. Before, a node's first report after a
   * restart was a step it "had not reached" (the coordinator starts knowing no pods), so each
   * restart restarted the deadline, and a rollout stuck behind a restarting coordinator never failed.
   */
  @Test
  void aRestartWhosePassRunsBeforeTheReportsDoesNotRestartTheDeadline() {
    List<Agent> agents = fleetOf(3);
    h.apply(image(1, "metadata.annotations", DEADLINE));
    runAll(true);
    h.apply(image(2, "metadata.annotations", DEADLINE));
    h.fleet.tick();
    runAll(false); // the new pod never becomes Ready
    for (int i = 0; i < 5; i++) {
      h.advance(Duration.ofSeconds(10));
      h.crashAndRestartWithout("n0", "n1", "n2");
      h.fleet.tick(); // a pass before anyone reported
      agents.forEach(Agent::open);
      runAll(h.ds().revision() == 3);
      h.fleet.tick();
    }
    assertThat(eventsOf("RolloutFailed")).as("50 s stuck with a 30 s deadline").isEqualTo(1);
    assertThat(h.ds().rollout().rolledBackFrom()).isEqualTo(2);
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

  /**
   * The coordinator's wall clock stepped a day ahead (NTP, date -s) mid-rollout fails nothing: the
   * progress deadline runs on the monotonic clock within a run. Before, the step failed the rollout
   * and rolled back a template whose pods were starting (helper-82).
   */
  @Test
  void aWallClockSteppedAheadDoesNotFailARolloutInProgress() {
    fleetOf(3);
    h.apply(image(1, "metadata.annotations", DEADLINE));
    runAll(true);
    h.apply(image(2, "metadata.annotations", DEADLINE));
    h.fleet.tick();
    runAll(false); // the new pods start
    h.advance(Duration.ofSeconds(10));
    h.clock.stepWall(Duration.ofDays(1));
    h.advance(Duration.ofSeconds(1));
    assertThat(h.ds().revision()).as("not rolled back").isEqualTo(2);
    assertThat(h.ds().rollout().pause()).isEqualTo(RolloutState.Pause.NONE);
    assertThat(eventsOf("RolloutFailed")).isZero();
    h.advance(Duration.ofSeconds(25)); // 36 s without progress
    assertThat(h.ds().revision()).as("past its deadline on the monotonic clock: rolled back").isEqualTo(3);
  }

  /**
   * A node whose clock runs ten minutes ahead reports its pods Ready "since" ten minutes from now
   * in the coordinator's time. Without minReadySeconds a Ready pod is available at once, as in
   * Kubernetes (podutil.IsPodAvailable), so the node counts and the rollout moves on; before, its
   * pods were unavailable for the ten minutes, and a rollout with a deadline failed on it (helper-82).
   */
  @Test
  void aNodeWhoseClockRunsAheadHoldsNoRolloutBack() {
    List<Agent> agents = fleetOf(3);
    agents.get(0).clockAhead = Duration.ofMinutes(10);
    h.apply(image(1, "metadata.annotations", DEADLINE));
    runAll(true);
    h.advance(Duration.ofSeconds(1));
    assertThat(h.ds().status().available()).isEqualTo(3);
    h.apply(image(2, "metadata.annotations", DEADLINE));
    for (int i = 0; i < 10; i++) {
      h.fleet.tick();
      runAll(true);
      h.advance(Duration.ofSeconds(5));
    }
    assertThat(h.ds().revision()).as("not rolled back").isEqualTo(2);
    assertThat(h.ds().status().updated()).isEqualTo(3);
    assertThat(h.ds().status().available()).isEqualTo(3);
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

  /** A failed pass's back-off (2 s here) is not stretched by the wall clock stepping back a day: it ran on the wall clock (helper-82). */
  @Test
  void aFailedPassIsRetriedOnItsBackOffWhenTheWallClockStepsBack() {
    fleetOf(2);
    h.apply(image(1));
    runAll(true);
    h.failing = (method, args) -> method.equals("putRollout") && args[1].equals("agent");
    h.apply(image(2));
    h.fleet.tick();
    assertThat(eventsOf("RolloutPassFailed")).isEqualTo(1);
    h.failing = (method, args) -> false;
    h.clock.stepWall(Duration.ofDays(-1));
    h.advance(Duration.ofSeconds(3));
    assertThat(eventsOf("RolloutPassRecovered")).as("tried again after its back-off").isEqualTo(1);
    assertThat(h.ds().observedGeneration()).isEqualTo(2);
  }

  /** Three nodes on an OnDelete DaemonSet with a progress deadline, its template changed, the first node's pod deleted. */
  private List<Agent> onDeleteUpdateWithTheFirstPodDeleted() {
    List<Agent> agents = fleetOf(3);
    String onDelete = "{type: OnDelete}";
    h.apply(image(1, "spec.updateStrategy", onDelete, "metadata.annotations", DEADLINE));
    runAll(true);
    h.apply(image(2, "spec.updateStrategy", onDelete, "metadata.annotations", DEADLINE));
    h.fleet.tick();
    h.fleet.deletePod("ops", agents.get(0).last().getPods(0).getPodName());
    return agents;
  }

  /**
   * OnDelete moves a node only when its pod is deleted: an operator who deletes pods at their own
   * pace is not a rollout without progress. The deadline judges the nodes that were given the new
   * revision (a deleted pod's replacement, a new node); the others wait for the operator, and
   * an automatic rollback must not undo the template under them.
   */
  @Test
  void anOnDeleteRolloutIsNotFailedForPodsNobodyDeletedYet() {
    List<Agent> agents = onDeleteUpdateWithTheFirstPodDeleted();
    runAll(true);
    runAll(true);
    assertThat(agents.get(0).desiredHashes()).containsExactly(h.ds().hash());
    for (int i = 0; i < 12; i++) {
      h.advance(Duration.ofSeconds(10)); // two minutes: nobody deletes n1's and n2's pods yet
    }
    assertThat(eventsOf("RolloutFailed")).as("waiting for the operator is not a failure").isZero();
    assertThat(h.ds().revision()).as("not rolled back").isEqualTo(2);
    assertThat(h.ds().rollout().failedOrRolledBack()).isFalse();
    // the operator deletes the next pod two minutes on: its replacement has the deadline's time to come up
    h.fleet.deletePod("ops", agents.get(1).last().getPods(0).getPodName());
    h.fleet.tick();
    runAll(false);
    h.advance(Duration.ofSeconds(10));
    runAll(true);
    h.advance(Duration.ofSeconds(1));
    assertThat(agents.get(1).desiredHashes()).containsExactly(h.ds().hash());
    assertThat(eventsOf("RolloutFailed")).isZero();
    assertThat(h.ds().rollout().failedOrRolledBack()).isFalse();
  }

  /** ... but a deleted pod's replacement that never turns Ready is. */
  @Test
  void anOnDeleteReplacementThatNeverTurnsReadyFailsAtTheDeadline() {
    List<Agent> agents = onDeleteUpdateWithTheFirstPodDeleted();
    runAll(false);
    runAll(false);
    assertThat(agents.get(0).desiredHashes()).containsExactly(h.ds().hash());
    for (int i = 0; i < 4; i++) {
      h.advance(Duration.ofSeconds(10));
    }
    assertThat(eventsOf("RolloutFailed")).isEqualTo(1);
  }

  /**
   * Nodes that finished the rollout and then leave (a rack powered off, removed) take their steps
   * out of the measure of progress; the steps of the nodes still moving are progress all the same.
   * Before, progress had to climb back above its highest mark first, and a healthy rollout that
   * lost finished nodes failed at its deadline (and was rolled back).
   */
  @Test
  void finishedNodesThatLeaveDoNotHideTheProgressOfTheOthers() {
    List<Agent> agents = fleetOf(8);
    String v2 = updateStarted("metadata.annotations", DEADLINE);
    // each node takes 12 s: its new pod starts, and is Ready 12 s later
    for (int i = 0; i < 4; i++) {
      stepTwelveSeconds(agents);
    }
    assertThat(h.ds().status().updated()).isEqualTo(4);
    for (int i = 0; i < 4; i++) {
      h.fleet.removeNode("n" + i); // the four finished nodes leave
      agents.get(i).alive = false;
    }
    for (int i = 0; i < 4; i++) {
      stepTwelveSeconds(agents);
    }
    assertThat(eventsOf("RolloutFailed")).as("every 12 s a node moved: never 30 s without progress").isZero();
    assertThat(h.ds().revision()).isEqualTo(2);
    assertThat(h.ds().status().updated()).isEqualTo(4);
    assertThat(h.ds().status().available()).isEqualTo(4);
    assertThat(toldToRun(agents.subList(4, 8), v2)).hasSize(4);
  }

  /**
   * A node whose replacement is in flight (its old pod stopped, the new one not reported yet) when
   * the template changes again is still a node without an available pod: it keeps its share of
   * the budget in the new rollout. Before, the new rollout forgot it, took it for a node without a
   * pod (which takes no budget), and moved another node: two down with maxUnavailable 1.
   */
  @Test
  void aReplacementInFlightKeepsItsBudgetWhenTheTemplateChangesAgain() {
    List<Agent> agents = fleetOf(4);
    h.apply(image(1));
    runAll(true);
    h.apply(image(2));
    h.fleet.tick();
    assertThat(toldToRun(agents, h.ds().hash())).containsExactly("n0");
    agents.get(0).running.clear(); // n0 stopped its old pod; its new one is not reported yet
    agents.get(0).report();
    h.apply(image(3));
    h.fleet.tick();
    String v3 = h.ds().hash();
    assertThat(toldToRun(agents, v3)).as("maxUnavailable 1, spent on n0: nobody else moves").containsExactly("n0");
    assertThat(h.ds().status().unavailable()).isEqualTo(1);
    for (int step = 0; step < 4; step++) {
      runAll(true);
      h.fleet.tick();
    }
    assertThat(h.ds().status().updated()).isEqualTo(4);
  }

  /**
   * Most of the fleet goes down at once (a full disruption: no NotReady taints, so its nodes stay
   * desired): their pods are not counted Ready or available, as Kubernetes marks them NotReady.
   * Before, what they last reported counted, and `get ds` showed every pod available.
   */
  @Test
  void podsOfNotReadyNodesAreNotCountedAvailable() {
    List<Agent> agents = fleetOf(5);
    h.apply(image(1));
    runAll(true);
    assertThat(h.ds().status().available()).isEqualTo(5);
    for (int i = 0; i < 3; i++) {
      agents.get(i).alive = false;
    }
    h.advance(Duration.ofSeconds(25));
    assertThat(h.fleet.nodes().stream().filter(n -> !n.ready()).count()).isEqualTo(3);
    var s = h.ds().status();
    assertThat(s.desired()).as("full disruption: no taints, still desired").isEqualTo(5);
    assertThat(s.ready()).isEqualTo(2);
    assertThat(s.available()).isEqualTo(2);
    assertThat(s.unavailable()).isEqualTo(3);
  }

  /**
   * A surge in flight when the strategy changes to maxUnavailable (the advice for a hostPort pod
   * whose surge cannot start): the surging nodes keep their available old pod, their unfinished
   * new one goes, and they then move within the budget (Kubernetes keeps a node's oldest pod when it
   * does not surge). Before, every surging node's old pod stopped at once: maxSurge nodes down
   * together, whatever maxUnavailable said.
   */
  @Test
  void aSurgeInFlightWhenTheStrategyChangesTakesNoMoreNodesDownThanTheBudget() {
    List<Agent> agents = fleetOf(4);
    String surge = "{rollingUpdate: {maxUnavailable: 0, maxSurge: 2}}";
    h.apply(image(1, "spec.updateStrategy", surge));
    runAll(true);
    h.apply(image(2, "spec.updateStrategy", surge));
    h.fleet.tick();
    runAll(false); // n0 and n1 start their new pod next to the old one; it never turns Ready (its hostPort is taken)
    assertThat(agents.stream().filter(a -> a.running.size() == 2)).hasSize(2);
    h.apply(image(2, "spec.updateStrategy", "{rollingUpdate: {maxUnavailable: 1}}"));
    h.fleet.tick();
    runAll(false);
    h.fleet.tick();
    assertThat(agents.stream().filter(a -> a.running.values().stream().noneMatch(p -> p.getReady())).count())
        .as("at most maxUnavailable (1) node without a Ready pod").isLessThanOrEqualTo(1);
    for (int step = 0; step < 8; step++) {
      runAll(true);
      h.fleet.tick();
      assertThat(agents.stream().filter(a -> a.running.values().stream().noneMatch(p -> p.getReady())).count()).isLessThanOrEqualTo(1);
    }
    assertThat(h.ds().status().updated()).isEqualTo(4);
    assertThat(h.ds().status().available()).isEqualTo(4);
    assertThat(agents).allSatisfy(a -> assertThat(a.running).hasSize(1));
  }

  /**
   * A NoSchedule taint added to a node while its new pod starts: the node is misscheduled (its pod
   * stays), and its new pod, not available yet, still counts against the budget, as Kubernetes
   * counts every node with a daemon pod. Before, it did not, and another node moved.
   */
  @Test
  void aNodeTaintedWhileItsNewPodStartsStillHoldsTheBudget() {
    List<Agent> agents = fleetOf(4);
    String v2 = updateStarted();
    assertThat(toldToRun(agents, v2)).containsExactly("n0");
    agents.get(0).runDesired(false); // the new pod starts, not Ready yet
    h.fleet.taintNode("n0", List.of(io.dsfleet.common.model.Taint.of("maintenance", "", "NoSchedule")), List.of(), false);
    h.fleet.tick();
    assertThat(h.ds().status().misscheduled()).isEqualTo(1);
    assertThat(agents.get(0).desiredHashes()).as("a misscheduled pod stays").containsExactly(v2);
    assertThat(toldToRun(agents.subList(1, 4), v2)).as("n0's new pod is not available: the budget is spent").isEmpty();
    agents.get(0).runDesired(true);
    h.fleet.tick();
    assertThat(toldToRun(agents.subList(1, 4), v2)).as("available: the next moves").hasSize(1);
  }

  /** A new pod that turns Ready and fails again, over and over, is no progress: the deadline still fails it. */
  @Test
  void aNewPodThatFlapsIsNoProgress() {
    List<Agent> agents = fleetOf(3);
    h.apply(image(1, "metadata.annotations", "{dsfleet.io/progress-deadline-seconds: '30'}"));
    runAll(true);
    h.apply(image(2, "metadata.annotations", "{dsfleet.io/progress-deadline-seconds: '30'}"));
    h.fleet.tick();
    Agent moved = agents.stream().filter(a -> a.desiredHashes().contains(h.ds().hash())).findFirst().orElseThrow();
    for (int i = 0; i < 8; i++) {
      moved.runDesired(i % 2 == 1); // Ready every other 10 s, for a moment (minReadySeconds 0: available too)
      moved.running.replaceAll((k, p) -> p.toBuilder().setReady(false).setReadySinceMillis(0).build());
      h.advance(Duration.ofSeconds(10));
      moved.report();
    }
    assertThat(eventsOf("RolloutFailed")).isEqualTo(1);
  }

  /** The DaemonSet at image 1 (with {@code fields}, path and value pairs) running everywhere, then changed to image 2 and a pass run: its new hash. */
  private String updateStarted(String... fields) {
    h.apply(image(1, fields));
    runAll(true);
    h.apply(image(2, fields));
    h.fleet.tick();
    return h.ds().hash();
  }

  /** One rollout step: the moved node's new pod starts, then turns Ready 12 s later. */
  private void stepTwelveSeconds(List<Agent> agents) {
    String v2 = h.ds().hash();
    List<Agent> moving = agents.stream().filter(a -> a.alive && a.desiredHashes().contains(v2)
        && a.running.values().stream().noneMatch(p -> p.getTemplateHash().equals(v2))).toList();
    moving.forEach(a -> a.runDesired(false));
    for (int s = 0; s < 12; s++) {
      h.advance(Duration.ofSeconds(1));
    }
    moving.forEach(a -> a.runDesired(true));
    h.fleet.tick();
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

  List<String> toldToRun(List<Agent> agents, String hash) {
    return agents.stream().filter(a -> a.desiredHashes().contains(hash)).map(a -> a.name).toList();
  }

  /**
   * A new revision that takes its host down (a network agent that cuts the node off, a kernel
   * module that panics it): the node it went to holds the budget while NotReady, so the next node
   * does not follow, as in Kubernetes (PR #117658 was declined for this). Before, a NotReady node
   * was not counted at all, and the rollout took the fleet down one host every lease.
   */
  @Test
  void aNodeTheNewRevisionTakesDownHoldsTheBudgetSoTheRolloutDoesNotTakeTheNextOne() {
    List<Agent> agents = fleetOf(10);
    String v2 = updateStarted("metadata.annotations", DEADLINE);
    assertThat(toldToRun(agents, v2)).containsExactly("n0");
    agents.get(0).runDesired(false); // the new pod starts, and its host goes down
    agents.get(0).alive = false;
    for (int i = 0; i < 5; i++) {
      h.advance(Duration.ofSeconds(5)); // past n0's lease: NotReady, tainted unreachable
    }
    assertThat(h.fleet.nodes()).filteredOn(n -> n.name().equals("n0")).singleElement().satisfies(n -> assertThat(n.ready()).isFalse());
    assertThat(toldToRun(agents, v2)).as("maxUnavailable 1, spent on n0: no other node moves").containsExactly("n0");
    assertThat(h.ds().waitingNotReady()).as("rollout status names the node it waits for").containsExactly("n0");
    h.advance(Duration.ofSeconds(10)); // 35 s without progress: the deadline (30 s) rolls it back
    assertThat(h.ds().rollout().rolledBackFrom()).isEqualTo(2);
    assertThat(agents.stream().filter(a -> !a.alive)).as("one host lost, not the fleet").hasSize(1);
  }

  /** The same when the host goes down between reporting its old pod stopped and reporting the new one. */
  @Test
  void aNodeThatGoesDownMidReplacementHoldsTheBudget() {
    List<Agent> agents = fleetOf(5);
    String v2 = updateStarted();
    assertThat(toldToRun(agents, v2)).containsExactly("n0");
    agents.get(0).running.clear(); // the old pod stopped, reported; the new one never is
    agents.get(0).report();
    agents.get(0).alive = false;
    for (int i = 0; i < 6; i++) {
      h.advance(Duration.ofSeconds(10));
    }
    assertThat(toldToRun(agents.subList(1, 5), v2)).as("n0 holds the budget while down").isEmpty();
  }

  /** The node comes back with its new pod available: the rollout goes on; a node down before its turn still blocks nothing. */
  @Test
  void aMovedNodeThatComesBackReleasesTheBudgetAndOneDownBeforeItsTurnBlocksNothing() {
    List<Agent> agents = fleetOf(4);
    h.apply(image(1));
    runAll(true);
    agents.get(3).alive = false; // down before the rollout
    h.advance(Duration.ofSeconds(25));
    h.apply(image(2));
    h.fleet.tick();
    String v2 = h.ds().hash();
    assertThat(toldToRun(agents, v2)).containsExactly("n0");
    agents.get(0).runDesired(false);
    agents.get(0).alive = false;
    h.advance(Duration.ofSeconds(25));
    assertThat(toldToRun(agents, v2)).as("n0 holds the budget while down").containsExactly("n0");
    agents.get(0).alive = true;
    h.advance(Duration.ofSeconds(1));
    agents.get(0).runDesired(true);
    h.fleet.tick();
    assertThat(toldToRun(agents, v2)).as("n0 back and available: the next moves; n3, down before its turn, does not count")
        .containsExactly("n0", "n1");
  }

  /**
   * A node down since before a rollout still runs the revision a rollback restores: its pod is
   * "current" again, but the rollback did not move it, so it holds no budget (rule 4). Before, it
   * did, and with maxUnavailable 1 a rollback (dsctl rollout undo, or the automatic one of a failed
   * rollout) moved no node with an available pod back until the dead node was collected.
   */
  @Test
  void aNodeDownBeforeARolloutHoldsNoBudgetInItsRollback() {
    List<Agent> agents = fleetOf(4);
    h.apply(image(1));
    runAll(true);
    String v1 = h.ds().hash();
    agents.get(3).alive = false; // down before the rollout, running revision 1
    h.advance(Duration.ofSeconds(25));
    h.apply(image(2));
    for (int step = 0; step < 4; step++) {
      h.fleet.tick();
      runAll(true);
      h.advance(Duration.ofSeconds(1));
    }
    assertThat(toldToRun(agents.subList(0, 3), h.ds().hash())).containsExactly("n0", "n1", "n2");
    h.fleet.undo("ops", "agent", 1, 0);
    assertThat(h.ds().hash()).isEqualTo(v1);
    for (int step = 0; step < 6; step++) {
      h.fleet.tick();
      System.out.println("DBG " + toldToRun(agents, v1) + " " + h.ds().status() + " " + h.ds().waitingNotReady());
      runAll(true);
      h.advance(Duration.ofSeconds(1));
    }
    assertThat(toldToRun(agents.subList(0, 3), v1)).as("the rollback reached every Ready node").containsExactly("n0", "n1", "n2");
    assertThat(h.ds().waitingNotReady()).as("n3 was not moved by the rollback").doesNotContain("n3");
    assertThat(h.ds().status().updated()).as("n3 is tainted unreachable: not desired").isEqualTo(3);
  }

  /**
   * The same on the last node to move: the nodes before it are done, but the one the new revision
   * took down still holds the rollout, which fails at its deadline. Before, the NotReady node
   * (tainted unreachable, so not desired) was left out of "complete", and the rollout that killed
   * its host was complete: no deadline, no rollback.
   */
  @Test
  void theLastNodeTheNewRevisionTakesDownFailsTheRolloutAtItsDeadline() {
    List<Agent> agents = fleetOf(3);
    h.apply(image(1, "metadata.annotations", DEADLINE));
    runAll(true);
    h.apply(image(2, "metadata.annotations", DEADLINE));
    String v2 = h.ds().hash();
    for (int i = 0; i < 2; i++) {
      h.fleet.tick();
      agents.get(i).runDesired(true); // n0, then n1, move and are available
    }
    h.fleet.tick();
    assertThat(toldToRun(agents, v2)).containsExactly("n0", "n1", "n2");
    assertThat(h.ds().status().updated()).as("n2 told, not moved yet").isEqualTo(2);
    agents.get(2).runDesired(false); // the new pod starts, and its host goes down
    agents.get(2).alive = false;
    for (int i = 0; i < 5; i++) {
      h.advance(Duration.ofSeconds(5)); // past n2's lease: NotReady, tainted unreachable
    }
    assertThat(h.ds().waitingNotReady()).containsExactly("n2");
    for (int i = 0; i < 4; i++) {
      h.advance(Duration.ofSeconds(5));
    }
    assertThat(eventsOf("RolloutFailed")).as("n2 held the rollout past its deadline").isEqualTo(1);
    assertThat(h.ds().rollout().rolledBackFrom()).isEqualTo(2);
  }

  /**
   * The same when the node the new revision took down is not tainted: in a full disruption (most
   * of the fleet NotReady, here two nodes down since before the rollout and the one it killed) no
   * node is tainted unreachable, so the NotReady nodes stay desired. A moved one still holds the
   * rollout (rule 4): before, only a tainted one did, a desired NotReady node never made the rollout
   * incomplete, and the rollout whose new revision took the majority of the fleet down never failed.
   */
  @Test
  void aMovedNodeDownInAFullDisruptionStillFailsTheRolloutAtItsDeadline() {
    List<Agent> agents = fleetOf(4);
    h.apply(image(1, "metadata.annotations", DEADLINE));
    runAll(true);
    agents.get(2).alive = false; // n2 and n3 down since before the rollout
    agents.get(3).alive = false;
    for (int i = 0; i < 5; i++) {
      h.advance(Duration.ofSeconds(5));
    }
    h.apply(image(2, "metadata.annotations", DEADLINE));
    String v2 = h.ds().hash();
    h.fleet.tick();
    agents.get(0).runDesired(true); // n0 moves and is available
    h.fleet.tick();
    assertThat(toldToRun(agents, v2)).containsExactly("n0", "n1");
    agents.get(1).runDesired(false); // n1's new pod starts, and its host goes down
    agents.get(1).alive = false;
    for (int i = 0; i < 5; i++) {
      h.advance(Duration.ofSeconds(5)); // past n1's lease: 3 of 4 NotReady, a full disruption
    }
    assertThat(h.ds().status().desired()).as("nobody tainted in a disruption").isEqualTo(4);
    assertThat(h.ds().waitingNotReady()).contains("n1");
    for (int i = 0; i < 4; i++) {
      h.advance(Duration.ofSeconds(5));
    }
    assertThat(eventsOf("RolloutFailed")).as("n1 held the rollout past its deadline").isEqualTo(1);
    assertThat(h.ds().rollout().rolledBackFrom()).isEqualTo(2);
  }

  /** Without a deadline, `dsctl rollout status` waits for it: a rollout whose last node it took down is not complete. */
  @Test
  void aRolloutWhoseLastNodeItTookDownIsNotRolledOut() {
    List<Agent> agents = fleetOf(3);
    h.apply(image(1));
    runAll(true);
    h.apply(image(2));
    for (int i = 0; i < 2; i++) {
      h.fleet.tick();
      agents.get(i).runDesired(true); // n0, then n1, move and are available
    }
    h.fleet.tick();
    assertThat(h.ds().status().updated()).as("n2 told, not moved yet").isEqualTo(2);
    agents.get(2).runDesired(false); // n2's new pod started, and its host went down
    agents.get(2).alive = false;
    for (int i = 0; i < 6; i++) {
      h.advance(Duration.ofSeconds(5));
    }
    assertThat(h.ds().status().desired()).as("n2 is tainted unreachable").isEqualTo(2);
    assertThat(h.ds().status().available()).isEqualTo(2);
    assertThat(h.ds().rolledOut()).as("n2 holds the rollout").isFalse();
    agents.get(2).alive = true;
    h.advance(Duration.ofSeconds(1));
    agents.get(2).runDesired(true);
    for (int i = 0; i < 3; i++) {
      h.advance(Duration.ofSeconds(1));
    }
    assertThat(h.ds().rolledOut()).as("n2 back with its pod available").isTrue();
  }

  /**
   * The same the moment the node goes down, before the next rollout pass: a heartbeat saying the
   * node's container runtime is down (a new revision that breaks Docker) taints it not-ready at
   * once, so it is no longer desired, and the view must already count it as waited for. Before,
   * the list of NotReady nodes the rollout waits for was the last pass's, made while the node was
   * up: until the next tick's pass (up to a second, or more while passes are paced) the view read
   * "successfully rolled out", and a `dsctl rollout status` watch, told of the change at once,
   * exited 0 (helper-90).
   */
  @Test
  void aMovedNodeGoingDownIsWaitedForBeforeTheNextPass() {
    List<Agent> agents = fleetOf(3);
    h.apply(image(1));
    runAll(true);
    h.apply(image(2));
    for (int i = 0; i < 2; i++) {
      h.fleet.tick();
      agents.get(i).runDesired(true); // n0, then n1, move and are available
    }
    h.fleet.tick();
    assertThat(h.ds().status().updated()).as("n2 told, not moved yet").isEqualTo(2);
    agents.get(2).runDesired(false); // n2's new pod starts...
    h.fleet.heartbeat("n2", true, "Cannot connect to the Docker daemon"); // ...and its runtime goes down: no pass yet
    assertThat(h.ds().status().desired()).as("n2 is tainted not-ready at once").isEqualTo(2);
    assertThat(h.ds().status().available()).isEqualTo(2);
    assertThat(h.ds().rolledOut()).as("n2 holds the rollout from the moment it is down").isFalse();
    assertThat(h.ds().waitingNotReady()).containsExactly("n2");
    h.fleet.tick();
    assertThat(h.ds().rolledOut()).as("and after the pass").isFalse();
  }

  /**
   * A surge with minReadySeconds: the old pod stops once the new one has been Ready for
   * minReadySeconds, which time alone brings about (the agent reports a pod when it changes, and a
   * Ready pod does not change when it becomes available). Before, only a report replanned a node, so
   * the old pod ran on next to the new one, every node judged by it stayed not updated, and the
   * rollout never completed (helper-90).
   */
  @Test
  void aSurgeStopsTheOldPodOnceTheNewOneHasBeenReadyForMinReadySeconds() {
    List<Agent> agents = fleetOf(2);
    String surge = "{type: RollingUpdate, rollingUpdate: {maxUnavailable: 0, maxSurge: 1}}";
    h.apply(image(1, "spec.minReadySeconds", "10", "spec.updateStrategy", surge));
    runAll(true);
    h.apply(image(2, "spec.minReadySeconds", "10", "spec.updateStrategy", surge));
    h.fleet.tick();
    String v2 = h.ds().hash();
    assertThat(agents.get(0).last().getPodsList()).as("n0 surges: the new pod next to the old one").hasSize(2);
    agents.get(0).runDesired(true); // both Ready; the new one since now
    for (int i = 0; i < 12; i++) {
      h.advance(Duration.ofSeconds(1));
    }
    assertThat(agents.get(0).desiredHashes()).as("the new pod available for 10 s: the old one stops").containsExactly(v2);
    assertThat(agents.get(1).last().getPodsList()).as("and n1 surges").hasSize(2);
    for (int round = 0; round < 3; round++) {
      runAll(true);
      for (int i = 0; i < 12; i++) {
        h.advance(Duration.ofSeconds(1));
      }
    }
    assertThat(h.ds().status().updated()).isEqualTo(2);
    assertThat(h.ds().rolledOut()).isTrue();
  }

  /**
   * `dsctl rollout status` of a rollout that finished stays complete when a node it moved dies
   * later (hardware, hours after): that node is tainted, so not desired, and no longer holds a
   * rollout that is done, as its deadline no longer runs. Before, a finished rollout read "not
   * complete" (`--no-watch` exit 1, a watch that never ended) until the dead node was collected
   * (24 h by default), while kubectl's rollout status said it was.
   */
  @Test
  void aFinishedRolloutStaysRolledOutWhenANodeItMovedDiesLater() {
    List<Agent> agents = fleetOf(3);
    h.apply(image(1));
    runAll(true);
    h.apply(image(2));
    for (int step = 0; step < 4; step++) {
      h.fleet.tick();
      runAll(true);
      h.advance(Duration.ofSeconds(1));
    }
    assertThat(h.ds().rolledOut()).isTrue();
    h.advance(Duration.ofMinutes(10));
    agents.get(1).alive = false; // n1's host dies, long after
    for (int i = 0; i < 6; i++) {
      h.advance(Duration.ofSeconds(5));
    }
    assertThat(h.ds().status().desired()).as("n1 is tainted unreachable").isEqualTo(2);
    assertThat(h.ds().rolledOut()).as("the rollout was done").isTrue();
  }

  /**
   * A rollout that finished is not failed, nor rolled back, when one of its pods turns unready, or
   * its host dies, minutes later: that is no rollout stuck (Kubernetes' DeploymentTimedOut is false
   * once the rollout is complete). Before, the deadline still ran from the last progress, and the
   * first pod to fail after it rolled the fleet back to the previous template, on a restart too.
   */
  @Test
  void aFinishedRolloutIsNotFailedByAPodThatFailsLater() {
    List<Agent> agents = fleetOf(3);
    h.apply(image(1, "metadata.annotations", DEADLINE));
    runAll(true);
    h.apply(image(2, "metadata.annotations", DEADLINE));
    for (int step = 0; step < 4; step++) {
      h.fleet.tick();
      runAll(true);
      h.advance(Duration.ofSeconds(1));
    }
    assertThat(h.ds().status().available()).isEqualTo(3);
    for (int i = 0; i < 12; i++) {
      h.advance(Duration.ofSeconds(10));
    }
    agents.get(1).running.replaceAll((k, v) -> v.toBuilder().setReady(false).build()); // n1's probe fails
    agents.get(1).report();
    agents.get(2).alive = false; // n2's host dies
    for (int i = 0; i < 12; i++) {
      h.advance(Duration.ofSeconds(5));
    }
    h.crashAndRestart();
    agents.get(1).report();
    for (int i = 0; i < 12; i++) {
      h.advance(Duration.ofSeconds(5));
    }
    assertThat(eventsOf("RolloutFailed")).isZero();
    assertThat(h.ds().revision()).as("not rolled back").isEqualTo(2);
    assertThat(h.ds().rollout().failedOrRolledBack()).isFalse();
  }

  @Test
  void aSurgeNodeTheNewRevisionTakesDownHoldsTheSurgeBudget() {
    List<Agent> agents = fleetOf(6);
    String surge = "{rollingUpdate: {maxUnavailable: 0, maxSurge: 1}}";
    String v2 = updateStarted("spec.updateStrategy", surge);
    assertThat(toldToRun(agents, v2)).containsExactly("n0");
    agents.get(0).runDesired(false); // the new pod starts next to the old one, and the host goes down
    agents.get(0).alive = false;
    for (int i = 0; i < 6; i++) {
      h.advance(Duration.ofSeconds(10));
    }
    assertThat(toldToRun(agents.subList(1, 6), v2)).as("maxSurge 1, held by n0's unavailable new pod: no other node surges").isEmpty();
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
