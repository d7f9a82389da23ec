package io.dsfleet.coordinator.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.common.manifest.Fixtures;
import io.dsfleet.proto.v1.*;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Rolling updates through the coordinator's services, with fake agents that report their pods, on a fake clock. */
class RolloutServiceTest {
  static final Duration WAIT = Duration.ofSeconds(10);
  @TempDir Path dir;
  CoordinatorFixture c;
  List<FakeAgent> agents = new ArrayList<>();

  @BeforeEach
  void start() throws Exception {
    c = new CoordinatorFixture(dir);
    for (int i = 0; i < 3; i++) {
      FakeAgent a = c.agent("node-" + i, Map.of());
      a.nextDesired(WAIT);
      agents.add(a);
    }
  }

  @AfterEach
  void stop() {
    c.close();
  }

  static String ds(String image, String annotations, String strategy) {
    return Fixtures.BASE.replace("busybox:1", image)
        .replace("  labels: {app: agent}\n", "  labels: {app: agent}\n" + annotations)
        .replace("spec:\n  selector:", "spec:\n" + strategy + "  selector:");
  }

  void apply(String yaml) {
    c.control().apply(ApplyRequest.newBuilder().setManifests(yaml).build());
  }

  /** Every agent runs what it was last sent, Ready (or not) since now. */
  Map<String, String> settle(boolean ready) throws Exception {
    Map<String, String> hashes = new java.util.TreeMap<>();
    for (FakeAgent a : agents) {
      List<DesiredState> got = a.drainDesired();
      DesiredState s = got.isEmpty() ? a.last : got.get(got.size() - 1);
      a.last = s;
      if (s.getPodsCount() == 0) {
        a.report(); // runs nothing (a deleted pod has stopped)
      } else {
        if (ready) {
          a.reportAllReady(s, c.clock.millis());
        } else {
          a.report(PodStatus.newBuilder().setNamespace("ops").setDaemonSet("agent").setPodName(s.getPods(0).getPodName())
              .setTemplateHash(s.getPods(0).getTemplateHash()).setPhase("Running").build());
        }
        hashes.put(a.name, s.getPods(0).getTemplateHash());
      }
    }
    return hashes;
  }

  /**
   * The barrier before a "nothing was sent" check: a rollout pass has run after the last change,
   * and a heartbeat round trip on every session proves whatever that pass sent has arrived
   * (messages on one session keep their order).
   */
  void awaitPassAndDelivery() {
    org.awaitility.Awaitility.await().atMost(WAIT).until(() -> !c.server.fleet().rolloutPassPending());
    for (FakeAgent a : agents) {
      a.received.removeIf(CoordinatorMessage::hasHeartbeatAck);
      a.heartbeat();
    }
    org.awaitility.Awaitility.await().atMost(WAIT).until(() -> agents.stream().allMatch(a -> a.received.stream()
        .anyMatch(CoordinatorMessage::hasHeartbeatAck)));
  }

    Map<String, String> awaitSent(int expectChanged) throws Exception {
    org.awaitility.Awaitility.await().atMost(WAIT).until(() -> agents.stream().filter(a -> !a.received.isEmpty()
        && a.received.stream().anyMatch(CoordinatorMessage::hasDesired)).count() >= expectChanged);
    Map<String, String> hashes = settle(true);
    // the reports travel asynchronously: wait until the coordinator has seen them
    org.awaitility.Awaitility.await().atMost(WAIT).until(() -> view().getStatus().getAvailable() == 3
        || view().getStatus().getUpdated() >= expectChanged);
    return hashes;
  }

  /** Time passes; the agents keep heartbeating, so their nodes stay Ready. */
  void advance(Duration d) {
    c.clock.advance(d);
    agents.forEach(FakeAgent::heartbeat);
    org.awaitility.Awaitility.await().atMost(WAIT).until(() -> agents.stream().allMatch(FakeAgent::heartbeatAcked));
    c.server.fleet().tick();
    long now = c.clock.millis();
    assertThat(c.control().get(GetRequest.newBuilder().setKind(ObjectKind.NODE).build()).getNodesList())
        .as("after the sweep, every node's heartbeat time is the last heartbeat's").allMatch(n -> n.getLastHeartbeatMillis() == now && n.getReady());
  }

  /**
   * Revision 1 everywhere, then a broken revision 2 on the first node, which never becomes ready;
   * returns revision 1's template hash by node. Every report is taken and a rollout pass has run
   * over them before the test moves the clock: progress counted after that would reset the deadline.
   */
  Map<String, String> brokenOnTheFirstNode(String annotations) throws Exception {
    apply(ds("busybox:1", annotations, ""));
    Map<String, String> v1 = awaitSent(3);
    apply(ds("busybox:broken", annotations, ""));
    awaitNewTemplateOnOneNode(v1);
    settle(false);
    awaitReports(v -> v.getStatus().getUpdated() == 1);
    awaitReportsTaken();
    org.awaitility.Awaitility.await().atMost(WAIT).until(() -> !c.server.fleet().rolloutPassPending());
    return v1;
  }

  /** Until a node was sent a pod of another template than {@code before} (node name -> template hash). */
  void awaitNewTemplateOnOneNode(Map<String, String> before) {
    org.awaitility.Awaitility.await().atMost(WAIT).until(() -> agents.stream().anyMatch(a -> a.received.stream()
        .filter(CoordinatorMessage::hasDesired).map(CoordinatorMessage::getDesired)
        .anyMatch(d -> d.getPodsCount() > 0 && !d.getPods(0).getTemplateHash().equals(before.get(a.name)))));
  }

  /**
   * Until the coordinator shows each node's pod as its agent last reported it: reports are taken
   * on the sessions' worker, after the call that sent them returned.
   */
  void awaitReportsTaken() {
    org.awaitility.Awaitility.await().atMost(WAIT).until(() -> {
      List<io.dsfleet.proto.v1.PodView> pods = c.control().get(GetRequest.newBuilder().setKind(ObjectKind.POD).setAllNamespaces(true)
          .build()).getPodsList();
      return agents.stream().allMatch(a -> a.last.getPodsCount() == 0 || pods.stream().anyMatch(p -> p.getNodeName().equals(a.name)
          && p.getStatus().getTemplateHash().equals(a.last.getPods(0).getTemplateHash()) && p.getStatus().getPhase().equals("Running")));
    });
  }

  void awaitReports(java.util.function.Predicate<DaemonSetView> p) {
    org.awaitility.Awaitility.await().atMost(WAIT).until(() -> p.test(view()));
  }

  DaemonSetView view() {
    return c.control().get(GetRequest.newBuilder().setKind(ObjectKind.DAEMON_SET).setNamespace("ops").setName("agent").build()).getDaemonSets(0);
  }

  @Test
  void anImageChangeRollsOneNodeAtATimeEachAvailableBeforeTheNext() throws Exception {
    apply(ds("busybox:1", "", ""));
    Map<String, String> v1 = awaitSent(3);
    String oldHash = v1.get("node-0");
    apply(ds("busybox:2", "", ""));
    String newHash = view().getTemplateHash();
    for (int step = 1; step <= 3; step++) {
      final int expected = step;
      org.awaitility.Awaitility.await().atMost(WAIT).until(() -> {
        settle(true);
        return agents.stream().filter(a -> a.last.getPods(0).getTemplateHash().equals(newHash)).count() >= expected;
      });
      awaitReports(v -> v.getStatus().getUpdated() == expected && v.getStatus().getAvailable() == 3);
      long onNew = agents.stream().filter(a -> a.last.getPods(0).getTemplateHash().equals(newHash)).count();
      assertThat(onNew).as("step %d: one more node at a time", step).isEqualTo(step);
      assertThat(agents.stream().filter(a -> a.last.getPods(0).getTemplateHash().equals(oldHash)).count()).isEqualTo(3 - step);
    }
    Iterator<RolloutStatusEvent> status = c.control().rolloutStatus(RolloutStatusRequest.newBuilder().setNamespace("ops").setName("agent").setWatch(false).build());
    assertThat(status.next().getComplete()).isTrue();
  }

  @Test
  void aSurgeStartsTheNewPodNextToTheOldOneOnOneNodeAtATime() throws Exception {
    String surge = "  updateStrategy: {rollingUpdate: {maxUnavailable: 0, maxSurge: 1}}\n";
    apply(ds("busybox:1", "", surge));
    String oldHash = awaitSent(3).get("node-0");
    Map<String, String> oldNames = new java.util.HashMap<>();
    agents.forEach(a -> oldNames.put(a.name, a.last.getPods(0).getPodName()));
    apply(ds("busybox:2", "", surge));
    String newHash = view().getTemplateHash();
    var mostSurging = new java.util.concurrent.atomic.AtomicLong();
    var surgedOn = new java.util.TreeSet<String>();
    org.awaitility.Awaitility.await().atMost(WAIT).until(() -> {
      settle(true);
      long surging = 0;
      for (FakeAgent a : agents) {
        List<String> pods = a.last.getPodsList().stream().map(p -> p.getPodName() + "@" + p.getTemplateHash()).toList();
        if (pods.size() == 2) {
          surging++;
          surgedOn.add(a.name);
          String old = oldNames.get(a.name);
          assertThat(pods).as("the old pod keeps running next to the new one").containsExactly(
              old + "@" + oldHash, old + "-s@" + newHash);
        }
      }
      mostSurging.accumulateAndGet(surging, Math::max);
      return agents.stream().allMatch(a -> a.last.getPodsCount() == 1 && a.last.getPods(0).getTemplateHash().equals(newHash));
    });
    assertThat(mostSurging.get()).as("maxSurge 1: one node at a time runs two pods").isEqualTo(1);
    assertThat(surgedOn).as("every node surged").hasSize(3);
    awaitReports(v -> v.getStatus().getUpdated() == 3 && v.getStatus().getAvailable() == 3);
  }

  @Test
  void aPausedRolloutMovesNothingUntilResumed() throws Exception {
    apply(ds("busybox:1", "", ""));
    awaitSent(3);
    c.control().rolloutPause(RolloutPauseRequest.newBuilder().setNamespace("ops").setName("agent").setPaused(true).build());
    apply(ds("busybox:2", "", ""));
    c.server.fleet().tick();
    awaitPassAndDelivery();
    List<DesiredState> sent = new ArrayList<>();
    agents.forEach(a -> sent.addAll(a.drainDesired()));
    assertThat(sent).as("nobody moves while paused").isEmpty();
    RolloutStatusEvent e = c.control().rolloutStatus(RolloutStatusRequest.newBuilder().setNamespace("ops").setName("agent").build()).next();
    assertThat(e.getPaused()).isTrue();
    c.control().rolloutPause(RolloutPauseRequest.newBuilder().setNamespace("ops").setName("agent").setPaused(false).build());
    org.awaitility.Awaitility.await().atMost(WAIT).until(() -> agents.stream().filter(a -> a.received.stream().anyMatch(CoordinatorMessage::hasDesired)).count() == 1);
    settle(true);
    awaitReports(v -> v.getStatus().getUpdated() == 1);
  }

  @Test
  void aRolloutWithoutProgressPastItsDeadlineIsRolledBack() throws Exception {
    String annotations = "  annotations: {dsfleet.io/progress-deadline-seconds: \"30\", dsfleet.io/on-failure: rollback}\n";
    Map<String, String> v1 = brokenOnTheFirstNode(annotations);
    advance(Duration.ofSeconds(31));
    // the sweep's rollout pass is paced: it may run up to a second after the tick
    awaitReports(v -> v.getRevision() > 2);
    DaemonSetView after = view();
    assertThat(after.getRevision()).as("the previous template came back as a new revision").isEqualTo(3);
    assertThat(after.getImages()).isEqualTo("local/busybox:1");
    assertThat(after.getTemplateHash()).isEqualTo(v1.get("node-0"));
    RolloutStatusEvent e = c.control().rolloutStatus(RolloutStatusRequest.newBuilder().setNamespace("ops").setName("agent").build()).next();
    assertThat(e.getFailed()).isTrue();
    assertThat(e.getMessage()).contains("rolled back from revision 2 to revision 3").contains("no progress for 30 s");
    var events = c.control().describe(DescribeRequest.newBuilder().setKind(ObjectKind.DAEMON_SET).setNamespace("ops").setName("agent").build()).getEventsList();
    assertThat(events).extracting(Event::getReason).contains("RolloutFailed");
  }

  @Test
  void withoutRollbackAFailedRolloutPauses() throws Exception {
    String annotations = "  annotations: {dsfleet.io/progress-deadline-seconds: \"30\"}\n";
    brokenOnTheFirstNode(annotations);
    advance(Duration.ofSeconds(31));
    // the sweep's rollout pass is paced: it may run up to a second after the tick
    org.awaitility.Awaitility.await().atMost(WAIT).until(() -> c.control().rolloutStatus(RolloutStatusRequest.newBuilder().setNamespace("ops")
        .setName("agent").build()).next().getFailed());
    RolloutStatusEvent e = c.control().rolloutStatus(RolloutStatusRequest.newBuilder().setNamespace("ops").setName("agent").build()).next();
    assertThat(e.getFailed()).isTrue();
    assertThat(e.getPaused()).isTrue();
    assertThat(e.getMessage()).contains("rollout to revision 2 failed and is paused");
    assertThat(view().getRevision()).isEqualTo(2);
  }

  @Test
  void onDeleteMovesANodeOnlyWhenItsPodIsDeleted() throws Exception {
    String strategy = "  updateStrategy: {type: OnDelete}\n";
    apply(ds("busybox:1", "", strategy));
    Map<String, String> v1 = awaitSent(3);
    apply(ds("busybox:2", "", strategy));
    c.server.fleet().tick();
    awaitPassAndDelivery();
    assertThat(agents.stream().allMatch(a -> a.drainDesired().isEmpty())).as("OnDelete moves nobody by itself").isTrue();
    assertThat(view().getStatus().getUpdated()).isZero();
    String pod = agents.get(1).last.getPods(0).getPodName();
    var r = c.control().delete(DeleteRequest.newBuilder().setKind(ObjectKind.POD).setNamespace("ops").setName(pod).build());
    assertThat(r.getMessage()).contains("deleted on node-1");
    org.awaitility.Awaitility.await().atMost(WAIT).until(() -> {
      settle(true);
      return view().getStatus().getUpdated() == 1;
    });
    assertThat(agents.get(1).last.getPods(0).getTemplateHash()).isNotEqualTo(v1.get("node-1"));
    assertThat(agents.get(1).last.getPods(0).getPodName()).as("the new pod has a name of its own").isNotEqualTo(pod);
    assertThat(agents.get(0).last.getPods(0).getTemplateHash()).isEqualTo(v1.get("node-0"));
  }
}
