package io.dsfleet.coordinator.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.dsfleet.common.manifest.Fixtures;
import io.dsfleet.proto.v1.*;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The coordinator's services over real gRPC with fake agents and a fake clock. */
class CoordinatorServiceTest {
  private static final Duration WAIT = Duration.ofSeconds(10);
  @TempDir Path dir;
  CoordinatorFixture c;

  @BeforeEach
  void start() throws Exception {
    c = new CoordinatorFixture(dir);
  }

  @AfterEach
  void stop() {
    c.close();
  }

  private ApplyResponse apply(String yaml) {
    return c.control().apply(ApplyRequest.newBuilder().setManifests(yaml).setSource("test.yaml").build());
  }

  private NodeView node(String name) {
    return c.control().get(GetRequest.newBuilder().setKind(ObjectKind.NODE).setName(name).build()).getNodes(0);
  }

  private static String selectorDs(String name, String label) {
    return Fixtures.BASE.replace("name: agent\n", "name: " + name + "\n")
        .replace("      containers:", "      nodeSelector: {" + label + "}\n      containers:");
  }

  /**
   * What the node was sent up to a heartbeat round trip: messages on one session keep their order,
   * so anything sent before the heartbeat was answered is in (a "nothing was sent" check without a sleep).
   */
  static List<DesiredState> desiredBeforeARoundTrip(FakeAgent x) {
    x.received.removeIf(CoordinatorMessage::hasHeartbeatAck);
    x.heartbeat();
    await().atMost(WAIT).until(() -> x.received.stream().anyMatch(CoordinatorMessage::hasHeartbeatAck));
    return x.drainDesired();
  }

  @Test
  void anAgentThatStopsReadingGetsOnlyTheNewestDesiredSetWhenItReadsAgain() throws Exception {
    // a small HTTP/2 window (no auto-tuning): what the agent does not read backs up to the coordinator at once
    FakeAgent slow = new FakeAgent(io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder.forAddress("127.0.0.1", c.server.port())
        .usePlaintext().flowControlWindow(65_535).build(), "slow");
    slow.reading = false;
    slow.join(Map.of()).open();
    await().atMost(WAIT).until(() -> c.server.fleet().connected("slow"));
    String big = "x".repeat(300_000);
    int updates = 12;
    for (int i = 0; i <= updates; i++) { // each a new desired set of about 300 KB
      apply("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg, namespace: ops}\ndata: {v: \"" + i + big + "\"}\n---\n"
          + Fixtures.BASE.replace("      volumes:\n", "      volumes:\n      - {name: c, configMap: {name: cfg}}\n"));
    }
    slow.startReading();
    await().atMost(WAIT).until(() -> slow.received.stream().anyMatch(m -> m.hasDesired()
        && m.getDesired().getConfigsList().stream().anyMatch(o -> o.getDataMap().get("v").toStringUtf8().startsWith(updates + "x"))));
    List<DesiredState> got = slow.drainDesired();
    System.out.println("desired sets the slow agent received: " + got.size() + " of " + (updates + 1) + " made");
    assertThat(got.size()).as("the coordinator kept no backlog: superseded sets were dropped").isLessThan(updates / 2);
    slow.close();
  }

  /**
   * A fake agent joined and with its session open on {@code channel} (several may share one
   * connection), and nothing of its session still queued: a heartbeat's answer waits behind the
   * session's queued messages, so once it comes the report sent with the open has been applied.
   * (Waiting only for the session to be open left that report queued at times; a test that then held
   * the fleet's lock waited in vain for an answer the report held back.)
   */
  private FakeAgent session(io.grpc.ManagedChannel channel, String name) {
    FakeAgent agent = new FakeAgent(channel, name).join(Map.of()).open();
    agent.heartbeat();
    await().atMost(WAIT).until(agent::heartbeatAcked);
    assertThat(c.server.fleet().connected(name)).isTrue();
    return agent;
  }

  /**
   * Two sessions on one connection share one transport thread. While something holds the fleet's
   * lock (an apply planning the fleet, a rollout pass), a report is queued, not waited for on that
   * thread: the other session's heartbeat is answered at once. Before, the report stood in the
   * lock's queue on the transport thread and every session on the connection went unanswered.
   */
  @Test
  void aSessionWaitingForTheFleetLockHoldsUpNoOtherSessionOnItsConnection() throws Throwable {
    var channel = io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder.forAddress("127.0.0.1", c.server.port()).usePlaintext().build();
    FakeAgent a = session(channel, "node-a");
    FakeAgent b = session(channel, "node-b");
    a.nextDesired(WAIT); // the empty set on open
    apply(Fixtures.BASE);
    DesiredState set = a.nextDesired(WAIT);
    assertThat(set.getPodsCount()).isOne();
    c.whileTheFleetLockIsHeld(() -> {
      a.reportAllReady(set, c.clock.millis());
      a.heartbeat();
      b.heartbeat();
      await().atMost(WAIT).until(b::heartbeatAcked);
      assertThat(a.heartbeatAcked()).as("node-a's answer waits behind its own report, still queued").isFalse();
    });
    await().atMost(WAIT).until(a::heartbeatAcked);
    assertThat(c.control().get(GetRequest.newBuilder().setKind(ObjectKind.POD).setAllNamespaces(true).build()).getPodsList())
        .as("node-a's report, applied before its heartbeat was answered").anyMatch(p -> p.getStatus().getReady());
    a.close();
    b.close();
    channel.shutdownNow();
  }

  /**
   * The runtime goes down and comes back while the first of the two heartbeats waits for the fleet's
   * lock: the second is applied after it, not answered from the node as it was, so the node ends
   * Ready (before, it ended NotReady until its next heartbeat).
   */
  @Test
  void aRuntimeBackWhileItsDownHeartbeatWaitsLeavesTheNodeReady() throws Throwable {
    // a second session on the same connection: its answer, while the lock is held, says node-a's
    // heartbeats (sent before on that connection) have reached the coordinator
    var channel = io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder.forAddress("127.0.0.1", c.server.port()).usePlaintext().build();
    FakeAgent a = session(channel, "node-a");
    FakeAgent b = session(channel, "node-b");
    c.whileTheFleetLockIsHeld(() -> {
      a.heartbeat(true, "docker at unix:///var/run/docker.sock unreachable");
      a.heartbeat(false, "");
      b.heartbeat();
      await().atMost(WAIT).until(b::heartbeatAcked);
    });
    await().atMost(WAIT).until(a::heartbeatAcked);
    NodeView v = node("node-a");
    assertThat(v.getReady()).as("the runtime is back: the later heartbeat is the node's state").isTrue();
    assertThat(v.getTaintsList()).isEmpty();
    a.close();
    b.close();
    channel.shutdownNow();
  }

  @Test
  void aHeartbeatThatNeedsNoAckGetsNoneAndTheNextThatAsksGetsItsOwn() throws Exception {
    FakeAgent a = c.agent("node-a", Map.of());
    a.heartbeatNeedingNoAck();
    a.heartbeat();
    await().atMost(WAIT).until(a::heartbeatAcked);
    // one session's messages keep their order: an ack of the first would have come before the second's
    assertThat(a.received.stream().filter(CoordinatorMessage::hasHeartbeatAck).map(m -> m.getHeartbeatAck().getSeq()).toList())
        .as("the heartbeats acknowledged").containsExactly(2L);
    assertThat(node("node-a").getReady()).isTrue();
  }

  @Test
  void joinedAgentReceivesItsPodsAndALaterAgentToo() throws Exception {
    FakeAgent a = c.agent("node-a", Map.of());
    assertThat(a.nextDesired(WAIT).getPodsCount()).as("empty set on open").isZero();
    ApplyResponse r = apply(Fixtures.BASE);
    assertThat(r.getResults(0).getAction()).isEqualTo("created");
    DesiredState s = a.nextDesired(WAIT);
    assertThat(s.getPodsList()).extracting(DesiredPod::getDaemonSet).containsExactly("agent");
    assertThat(s.getPods(0).getTemplateJson().toStringUtf8()).contains("local/busybox:1");
    assertThat(s.getPods(0).getRevision()).isEqualTo(1);

    FakeAgent b = c.agent("node-b", Map.of());
    DesiredState sb = b.nextDesired(WAIT);
    assertThat(sb.getPodsList()).extracting(DesiredPod::getDaemonSet).containsExactly("agent");
    assertThat(sb.getPods(0).getPodName()).isNotEqualTo(s.getPods(0).getPodName());
    assertThat(apply(Fixtures.BASE).getResults(0).getAction()).isEqualTo("unchanged");
  }

  @Test
  void missedHeartbeatsMakeANodeNotReadyWithUnreachableTaintsAndAHeartbeatLiftsThem() throws Exception {
    FakeAgent a = c.agent("node-a", Map.of());
    apply(Fixtures.BASE);
    c.clock.advance(Duration.ofSeconds(19));
    c.server.fleet().tick();
    assertThat(node("node-a").getReady()).as("within the grace").isTrue();
    c.clock.advance(Duration.ofSeconds(4)); // past 20 s + at most 10 % jitter
    c.server.fleet().tick();
    NodeView v = node("node-a");
    assertThat(v.getReady()).isFalse();
    assertThat(v.getTaintsList()).extracting(t -> t.getKey() + ":" + t.getEffect())
        .contains("node.kubernetes.io/unreachable:NoSchedule", "node.kubernetes.io/unreachable:NoExecute");
    // the DaemonSet tolerates unreachable:NoExecute, so the pod stays desired (misscheduled, not removed)
    var ds = c.control().get(GetRequest.newBuilder().setKind(ObjectKind.DAEMON_SET).setNamespace("ops").build()).getDaemonSets(0);
    assertThat(ds.getStatus().getDesired()).isZero();

    a.drainDesired();
    a.heartbeat();
    await().atMost(WAIT).until(() -> node("node-a").getReady());
    assertThat(node("node-a").getTaintsList()).isEmpty();
  }

  @Test
  void aNodeWhoseContainerRuntimeIsDownIsNotReadyWithNotReadyTaintsAndKeepsItsPods() throws Exception {
    FakeAgent a = c.agent("node-a", Map.of());
    a.nextDesired(WAIT);
    apply(Fixtures.BASE);
    DesiredState s = a.nextDesired(WAIT);
    a.reportAllReady(s, c.clock.millis());
    await().atMost(WAIT).until(() -> c.control().get(GetRequest.newBuilder().setKind(ObjectKind.POD).setAllNamespaces(true).build())
        .getPodsList().stream().anyMatch(p -> p.getStatus().getReady()));
    a.heartbeat(true, "docker at unix:///var/run/docker.sock unreachable");
    await().atMost(WAIT).until(() -> !node("node-a").getReady());
    NodeView v = node("node-a");
    assertThat(v.getNotReadyReason()).contains("container runtime unavailable").contains("docker at unix:///var/run/docker.sock unreachable");
    assertThat(v.getTaintsList()).extracting(t -> t.getKey() + ":" + t.getEffect())
        .containsExactlyInAnyOrder("node.kubernetes.io/not-ready:NoSchedule", "node.kubernetes.io/not-ready:NoExecute");
    assertThat(v.getTaintsList()).allMatch(t -> t.getTimeAddedMillis() == c.clock.millis());
    var described = c.control().describe(DescribeRequest.newBuilder().setKind(ObjectKind.NODE).setName("node-a").build());
    assertThat(described.getEventsList()).anyMatch(e -> e.getReason().equals("NodeNotReady") && e.getMessage().contains("container runtime"));
    // a DaemonSet pod tolerates not-ready:NoExecute: the running pod stays on the node, nothing is sent to remove it
    a.heartbeat(true, "still down");
    await().atMost(WAIT).until(() -> a.received.stream().filter(CoordinatorMessage::hasHeartbeatAck).count() >= 2);
    assertThat(a.drainDesired()).allSatisfy(d -> assertThat(d.getPodsList()).isEqualTo(s.getPodsList()));

    // its pod shows not Ready while its node is NotReady (as Kubernetes' node controller marks it), its containers as reported
    var pod = c.control().get(GetRequest.newBuilder().setKind(ObjectKind.POD).setAllNamespaces(true).build()).getPods(0).getStatus();
    assertThat(pod.getReady()).isFalse();
    assertThat(pod.getPhase()).isEqualTo("Running");
    assertThat(pod.getContainersList()).allMatch(io.dsfleet.proto.v1.ContainerStatus::getReady);

    a.heartbeat(false, "");
    await().atMost(WAIT).until(() -> node("node-a").getReady());
    assertThat(node("node-a").getTaintsList()).isEmpty();
    assertThat(node("node-a").getNotReadyReason()).isEmpty();
    assertThat(c.control().get(GetRequest.newBuilder().setKind(ObjectKind.POD).setAllNamespaces(true).build()).getPods(0).getStatus()
        .getReady()).as("Ready again with its node").isTrue();
  }

  @Test
  void aNodeNotReadyPastTheGcPeriodIsRemovedWithItsPods() throws Exception {
    FakeAgent a = c.agent("node-a", Map.of());
    apply(Fixtures.BASE);
    c.clock.advance(Duration.ofSeconds(23));
    c.server.fleet().tick();
    c.clock.advance(Duration.ofMinutes(10));
    c.server.fleet().tick();
    assertThatThrownBy(() -> node("node-a")).isInstanceOfSatisfying(StatusRuntimeException.class,
        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND));
    await().atMost(WAIT).until(() -> a.received.stream().anyMatch(CoordinatorMessage::hasRemoved));
    var pods = c.control().get(GetRequest.newBuilder().setKind(ObjectKind.POD).setAllNamespaces(true).build());
    assertThat(pods.getPodsList()).isEmpty();
  }

  @Test
  void onlyNodesWhoseSetChangedAreSentOne() throws Exception {
    FakeAgent a = c.agent("node-a", Map.of());
    FakeAgent b = c.agent("node-b", Map.of());
    a.nextDesired(WAIT);
    b.nextDesired(WAIT);
    apply(selectorDs("ssd-only", "disktype: ssd"));
    c.control().labelNode(LabelNodeRequest.newBuilder().setNodeName("node-a").putSet("disktype", "ssd").build());
    DesiredState sa = a.nextDesired(WAIT);
    assertThat(sa.getPodsList()).extracting(DesiredPod::getDaemonSet).containsExactly("ssd-only");
    // node-b's set did not change: it was sent nothing, neither for the apply nor for node-a's label
    assertThat(desiredBeforeARoundTrip(b)).isEmpty();
    // heartbeats change nothing either: a second round trip after the first
    desiredBeforeARoundTrip(a);
    assertThat(desiredBeforeARoundTrip(a)).isEmpty();
  }

  @Test
  void anUnknownNodeOpeningASessionIsToldNotFound() {
    FakeAgent ghost = new FakeAgent(c.server.port(), "ghost").open();
    try {
      await().atMost(WAIT).until(() -> ghost.sessionError != null);
      assertThat(Status.fromThrowable(ghost.sessionError).getCode()).isEqualTo(Status.Code.NOT_FOUND);
    } finally {
      ghost.close();
    }
  }

  @Test
  void leaveRemovesTheNode() throws Exception {
    FakeAgent a = c.agent("node-a", Map.of());
    a.leave();
    assertThat(c.control().get(GetRequest.newBuilder().setKind(ObjectKind.NODE).build()).getNodesList()).isEmpty();
  }

  @Test
  void invalidManifestIsRefusedWithItsPathsAndNothingIsStored() {
    String bad = Fixtures.BASE.replace("image: local/busybox:1", "image: local/busybox:1\n        restartPolicy: Never");
    assertThatThrownBy(() -> apply(Fixtures.BASE.replace("name: agent\n", "name: other\n") + "---\n" + bad))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
          assertThat(e.getStatus().getDescription()).contains("test.yaml#2 DaemonSet/agent: spec.template.spec.containers[0].restartPolicy: not supported");
        });
    assertThat(c.control().get(GetRequest.newBuilder().setKind(ObjectKind.DAEMON_SET).setAllNamespaces(true).build())
        .getDaemonSetsList()).as("the valid first document was not stored either").isEmpty();
  }

  @Test
  void selectorChangeStaleVersionAndUnknownNamesAreRefusedWithFittingCodes() {
    apply(Fixtures.BASE);
    String changed = Fixtures.BASE.replace("matchLabels: {app: agent}", "matchLabels: {app: agent, tier: node}");
    assertThatThrownBy(() -> apply(changed)).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
      assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
      assertThat(e.getStatus().getDescription()).contains("spec.selector: Invalid value").contains("field is immutable");
    });
    String stale = Fixtures.BASE.replace("  namespace: ops\n", "  namespace: ops\n  resourceVersion: \"999\"\n");
    assertThatThrownBy(() -> apply(stale)).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
      assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
      assertThat(e.getStatus().getDescription()).contains("metadata.resourceVersion 999 is stale");
    });
    assertThatThrownBy(() -> c.control().get(GetRequest.newBuilder().setKind(ObjectKind.DAEMON_SET).setNamespace("ops").setName("nope").build()))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
          assertThat(e.getStatus().getDescription()).isEqualTo("daemonsets \"nope\" not found in namespace ops");
        });
    assertThatThrownBy(() -> c.control().labelNode(LabelNodeRequest.newBuilder().setNodeName("nope").putSet("a", "b").build()))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND));
  }

  @Test
  void templateChangesMakeRevisionsAndTheHistoryLimitIsHonoured() {
    String limited = Fixtures.BASE.replace("spec:\n  selector:", "spec:\n  revisionHistoryLimit: 2\n  selector:");
    for (int i = 1; i <= 5; i++) {
      apply(limited.replace("busybox:1", "busybox:" + i).replace("  labels: {app: agent}\n",
          "  labels: {app: agent}\n  annotations: {kubernetes.io/change-cause: \"image " + i + "\"}\n"));
    }
    // the controller prunes history in its next pass (no node runs an old revision here)
    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).until(() -> c.control().rolloutHistory(
        RolloutHistoryRequest.newBuilder().setNamespace("ops").setName("agent").build()).getRevisionsCount() == 3);
    var history = c.control().rolloutHistory(RolloutHistoryRequest.newBuilder().setNamespace("ops").setName("agent").build());
    assertThat(history.getRevisionsList()).extracting(RevisionView::getRevision).containsExactly(3L, 4L, 5L);
    assertThat(history.getRevisions(2).getChangeCause()).isEqualTo("image 5");
    // undo makes the previous template a new revision
    c.control().rolloutUndo(RolloutUndoRequest.newBuilder().setNamespace("ops").setName("agent").build());
    var ds = c.control().get(GetRequest.newBuilder().setKind(ObjectKind.DAEMON_SET).setNamespace("ops").setName("agent").build()).getDaemonSets(0);
    assertThat(ds.getRevision()).isEqualTo(6);
    assertThat(ds.getImages()).isEqualTo("local/busybox:4");
    assertThat(ds.getGeneration()).isEqualTo(6);
  }

  @Test
  void secretValuesAreShownOnlyWhenAsked() throws Exception {
    apply("""
        apiVersion: v1
        kind: Secret
        metadata: {name: creds}
        stringData: {token: s3cret}
        """);
    var hidden = c.control().get(GetRequest.newBuilder().setKind(ObjectKind.SECRET).build()).getConfigs(0).getObject();
    assertThat(hidden.getDataMap()).containsKey("token");
    assertThat(hidden.getDataMap().get("token").isEmpty()).isTrue();
    var shown = c.control().get(GetRequest.newBuilder().setKind(ObjectKind.SECRET).setShowSecrets(true).build()).getConfigs(0).getObject();
    assertThat(shown.getDataMap().get("token").toStringUtf8()).isEqualTo("s3cret");
  }

  @Test
  void configsTravelOnlyToNodesWhosePodsUseThem() throws Exception {
    FakeAgent a = c.agent("node-a", Map.of("role", "db"));
    FakeAgent b = c.agent("node-b", Map.of());
    a.nextDesired(WAIT);
    b.nextDesired(WAIT);
    apply("""
        apiVersion: v1
        kind: Secret
        metadata: {name: creds, namespace: ops}
        stringData: {token: s3cret}
        ---
        """ + selectorDs("agent", "role: db").replace("valueFrom: {fieldRef: {fieldPath: spec.nodeName}}}",
        "valueFrom: {fieldRef: {fieldPath: spec.nodeName}}}\n        - {name: TOKEN, valueFrom: {secretKeyRef: {name: creds, key: token}}}"));
    DesiredState sa = a.nextDesired(WAIT);
    assertThat(sa.getConfigsList()).extracting(ConfigObject::getName).containsExactly("creds");
    assertThat(sa.getConfigs(0).getDataMap().get("token").toStringUtf8()).isEqualTo("s3cret");
    assertThat(desiredBeforeARoundTrip(b)).isEmpty();
    // changing the secret re-sends node-a its set, with the new value
    apply("""
        apiVersion: v1
        kind: Secret
        metadata: {name: creds, namespace: ops}
        stringData: {token: rotated}
        """);
    assertThat(a.nextDesired(WAIT).getConfigs(0).getDataMap().get("token").toStringUtf8()).isEqualTo("rotated");
  }

  @Test
  void aRestartedCoordinatorGivesKnownNodesAGraceToReconnect() throws Exception {
    c.agent("node-a", Map.of());
    c.agent("node-b", Map.of());
    apply(Fixtures.BASE);
    c.clock.advance(Duration.ofSeconds(15));
    c.restart();
    // 60 s since the last heartbeat, 45 s since the restart: within its grace (the 20 s heartbeat
    // grace, up to 10 % jitter, and an agent's longest return: a 30 s back-off, allowed for agents of
    // earlier builds, and 5 s to connect)
    c.clock.advance(Duration.ofSeconds(45));
    c.server.fleet().tick();
    List<NodeView> nodes = c.control().get(GetRequest.newBuilder().setKind(ObjectKind.NODE).build()).getNodesList();
    assertThat(nodes).hasSize(2).allMatch(NodeView::getReady);
    FakeAgent back = c.agent("node-a", Map.of());
    assertThat(back.nextDesired(WAIT).getPodsList()).extracting(DesiredPod::getDaemonSet).containsExactly("agent");
    c.clock.advance(Duration.ofSeconds(15)); // 60 s since the restart, past its grace, 15 s since node-a came back
    c.server.fleet().tick();
    assertThat(node("node-a").getReady()).isTrue();
    assertThat(node("node-b").getReady()).as("not back yet, while the fleet still comes back").isTrue();
    c.clock.advance(Duration.ofSeconds(6)); // a heartbeat grace since the last node came back
    c.server.fleet().tick();
    assertThat(node("node-b").getReady()).as("node-b never came back").isFalse();
  }

  @Test
  void taintsFollowKubectlSyntaxAndNoExecuteRemovesThePod() throws Exception {
    FakeAgent a = c.agent("node-a", Map.of());
    a.nextDesired(WAIT);
    apply(Fixtures.BASE);
    assertThat(a.nextDesired(WAIT).getPodsCount()).isEqualTo(1);
    c.control().taintNode(TaintNodeRequest.newBuilder().setNodeName("node-a")
        .addAdd(io.dsfleet.proto.v1.Taint.newBuilder().setKey("maint").setEffect("NoExecute")).build());
    assertThat(a.nextDesired(WAIT).getPodsCount()).isZero();
    var described = c.control().describe(DescribeRequest.newBuilder().setKind(ObjectKind.DAEMON_SET).setNamespace("ops").setName("agent").build());
    assertThat(described.getPlacementsList()).extracting(Placement::getReason).containsExactly("taint maint:NoExecute not tolerated");
    assertThat(described.getEventsList()).extracting(Event::getReason).contains("PodScheduled", "PodRemoved");
    c.control().taintNode(TaintNodeRequest.newBuilder().setNodeName("node-a")
        .addRemove(io.dsfleet.proto.v1.Taint.newBuilder().setKey("maint")).build());
    assertThat(a.nextDesired(WAIT).getPodsCount()).isEqualTo(1);
  }

  @Test
  void anOrphanDeleteReleasesPodsInEverySetAcrossRestartsUntilTheDaemonSetIsAppliedAgain() throws Exception {
    FakeAgent a = c.agent("node-a", Map.of());
    a.nextDesired(WAIT);
    apply(Fixtures.BASE);
    String pod = a.nextDesired(WAIT).getPods(0).getPodName();
    a.close(); // the node is away when the DaemonSet is deleted
    c.control().delete(DeleteRequest.newBuilder().setKind(ObjectKind.DAEMON_SET).setNamespace("ops").setName("agent").setCascade(false).build());
    c.restart();
    FakeAgent back = c.agent("node-a", Map.of());
    DesiredState s = back.nextDesired(WAIT);
    assertThat(s.getPodsList()).isEmpty();
    assertThat(s.getOrphanedPodsList()).containsExactly(pod);
    back.ack(s.getVersion());
    // acknowledged or not, every set carries them: an agent that lost its file does not remove them (helper-75)
    apply(Fixtures.BASE.replace("name: agent\n", "name: other\n").replace("app: agent", "app: other"));
    DesiredState next = back.nextDesired(WAIT);
    assertThat(next.getOrphanedPodsList()).containsExactly(pod);
    assertThat(next.getPodsList()).extracting(DesiredPod::getDaemonSet).containsExactly("other");
    back.close();
    c.restart();
    FakeAgent again = c.agent("node-a", Map.of());
    assertThat(again.nextDesired(WAIT).getOrphanedPodsList()).as("after another restart").containsExactly(pod);
    // the DaemonSet applied again names its pod so on this node: adopted, released no longer, here and in the store
    apply(Fixtures.BASE);
    DesiredState adopted = again.nextDesired(WAIT);
    assertThat(adopted.getPodsList()).extracting(DesiredPod::getPodName).contains(pod);
    assertThat(adopted.getOrphanedPodsList()).isEmpty();
    // forgotten in the store too: with the DaemonSet gone again, a restart finds no release to send
    c.control().delete(DeleteRequest.newBuilder().setKind(ObjectKind.DAEMON_SET).setNamespace("ops").setName("agent").setCascade(true).build());
    again.close();
    c.restart();
    FakeAgent last = c.agent("node-a", Map.of());
    DesiredState afterRestart = last.nextDesired(WAIT);
    assertThat(afterRestart.getOrphanedPodsList()).isEmpty();
    assertThat(afterRestart.getPodsList()).extracting(DesiredPod::getPodName).doesNotContain(pod);
  }

  /**
   * Pod names hold no namespace: a DaemonSet of the same name in another namespace names its pod on
   * the node the same. It took the released pod for its own (adopted it; the agent then stopped
   * it); releases are keyed by namespace now (helper-77, helper-78).
   */
  @Test
  void aReleasedPodIsNotAdoptedByTheSameNameInAnotherNamespace() throws Exception {
    FakeAgent a = c.agent("node-a", Map.of());
    String pod = runThenRelease(a);
    DesiredState released = a.nextDesired(WAIT);
    assertThat(released.getOrphanedPodKeysList()).containsExactly("ops/" + pod);
    assertThat(released.getOrphanedPodsList()).as("the name, for agents before 2026-12-05").containsExactly(pod);
    apply(Fixtures.BASE.replace("namespace: ops", "namespace: web"));
    DesiredState next = a.nextDesired(WAIT);
    assertThat(next.getPodsList()).extracting(p -> p.getNamespace() + "/" + p.getPodName()).containsExactly("web/" + pod);
    assertThat(next.getOrphanedPodKeysList()).as("still released").containsExactly("ops/" + pod);
  }

  /** The fixture's DaemonSet run on the agent's node, then deleted releasing its pod there: the pod's name. */
  private String runThenRelease(FakeAgent a) throws Exception {
    a.nextDesired(WAIT);
    apply(Fixtures.BASE);
    String pod = a.nextDesired(WAIT).getPods(0).getPodName();
    c.control().delete(DeleteRequest.newBuilder().setKind(ObjectKind.DAEMON_SET).setNamespace("ops").setName("agent").setCascade(false).build());
    return pod;
  }

  /** A node removed and joined again under its name is sent its released pods at once, as after a restart. */
  @Test
  void aNodeJoinedAgainIsSentItsReleasedPods() throws Exception {
    FakeAgent a = c.agent("node-a", Map.of());
    String pod = runThenRelease(a);
    assertThat(a.nextDesired(WAIT).getOrphanedPodsList()).containsExactly(pod);
    a.close();
    c.control().removeNode(RemoveNodeRequest.newBuilder().setNodeName("node-a").build());
    FakeAgent back = c.agent("node-a", Map.of());
    assertThat(back.nextDesired(WAIT).getOrphanedPodsList()).containsExactly(pod);
  }

}
