package io.dsfleet.coordinator.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;

import io.dsfleet.common.manifest.Fixtures;
import io.dsfleet.common.tls.CertificateAuthority;
import io.dsfleet.common.tls.Pki;
import io.dsfleet.common.tls.Tls;
import io.dsfleet.coordinator.grpc.FakeAgent;
import io.dsfleet.proto.v1.*;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Attacks on the control plane over real gRPC and TLS, as someone holding a join token, a copied
 * node certificate, a viewer credential, or nothing at all would try them (docs/security.md,
 * "Threat model"). Each was possible before the change it tests.
 */
class AttackTest extends TlsFleetTest {
  static final String GPU = """
      apiVersion: v1
      kind: Secret
      metadata: {name: gpu-key, namespace: ops}
      stringData: {key: s3cret-of-the-gpu-pool}
      ---
      apiVersion: apps/v1
      kind: DaemonSet
      metadata: {name: gpu, namespace: ops}
      spec:
        selector: {matchLabels: {app: gpu}}
        template:
          metadata: {labels: {app: gpu}}
          spec:
            nodeSelector: {gpu: "true"}
            containers:
            - name: main
              image: local/busybox:1
              env:
              - name: KEY
                valueFrom: {secretKeyRef: {name: gpu-key, key: key}}
      """;

  ControlServiceGrpc.ControlServiceBlockingStub admin() throws Exception {
    return control(credentialFile("admin.pem"));
  }

  /** node-a joined, its session open, its pods reported Ready: a live node with pods. */
  FakeAgent liveNode(NodeCert cert) throws Exception {
    FakeAgent agent = new FakeAgent(as(cert), "node-a").open();
    agents.add(agent);
    DesiredState d = agent.nextDesired(Duration.ofSeconds(10));
    agent.reportAllReady(d, clock.millis());
    await().atMost(Duration.ofSeconds(10)).until(() -> server.fleet().node("node-a", false).pods().size() == 1);
    return agent;
  }

  /**
   * Anyone who reaches the port calls Join with a made-up token (or a message's worth of junk) in a
   * loop: each call took the fleet's lock before its token was looked at, parsing what it sent
   * under it, and held every session, report and apply behind it. A token that admits no one is
   * refused first.
   */
  @Test
  void aJoinWithATokenThatAdmitsNoOneIsRefusedWithoutTheFleetsLock() throws Exception {
    String good = token();
    String madeUp = new io.dsfleet.common.tls.JoinToken(io.dsfleet.common.tls.JoinToken.parse(good).caHash(), "abcdef", "0".repeat(32)).text();
    try (var held = io.dsfleet.coordinator.fleet.FleetLockHeld.by(server.fleet())) {
      for (String token : List.of(madeUp, "x".repeat(1 << 20))) {
        var e = catchThrowableOfType(StatusRuntimeException.class, () -> AgentServiceGrpc.newBlockingStub(channel(Tls.pinned(
            server.authority().pki().caHash()))).withDeadlineAfter(3, TimeUnit.SECONDS).join(JoinRequest.newBuilder()
            .setNode(FakeAgent.info("node-a", Map.of())).setJoinToken(token).setCsrPem(Pki.csr(Pki.newKeyPair(), "node-a", Pki.NODES))
            .setLeaveSecretSha256(sha256(leaveSecret("node-a"))).build()));
        assertThat(e.getStatus().getCode()).as("refused while the fleet's lock is held, not left waiting for it")
            .isEqualTo(Status.Code.UNAUTHENTICATED);
      }
    }
    join("node-a", good); // a valid token admits as ever
    assertThat(server.fleet().member("node-a")).isTrue();
  }

  /**
   * A holder of a join token (one used up, or one made for another name, too) calls Join in a loop
   * with what costs most to read: a request of a message's size, or one whose key takes long to
   * check. Token and request were read again and checked under the fleet's lock, and every session,
   * report and apply waited behind each call. Read and refused before it now.
   */
  @Test
  void aJoinsTokenAndRequestAreReadAndRefusedBeforeTheFleetsLock() throws Exception {
    String good = token();
    String once = server.authority().createToken(Duration.ofHours(1), "once", "", 1).text();
    join("node-a", once);
    String forB = server.authority().createToken(Duration.ofHours(1), "node-b's", "node-b", 0).text();
    String csrC = Pki.csr(Pki.newKeyPair(), "node-c", Pki.NODES);
    record Attempt(String token, String csr, Status.Code refused) {}
    try (var held = io.dsfleet.coordinator.fleet.FleetLockHeld.by(server.fleet())) {
      for (Attempt a : List.of(new Attempt(good, "x".repeat(1 << 20), Status.Code.INVALID_ARGUMENT),
          new Attempt(good, Pki.csr(Pki.newKeyPair(), "node-d", Pki.NODES), Status.Code.PERMISSION_DENIED),
          new Attempt(once, csrC, Status.Code.UNAUTHENTICATED), new Attempt(forB, csrC, Status.Code.PERMISSION_DENIED))) {
        var e = catchThrowableOfType(StatusRuntimeException.class, () -> AgentServiceGrpc.newBlockingStub(channel(Tls.pinned(
            server.authority().pki().caHash()))).withDeadlineAfter(3, TimeUnit.SECONDS).join(JoinRequest.newBuilder()
            .setNode(FakeAgent.info("node-c", Map.of())).setJoinToken(a.token()).setCsrPem(a.csr())
            .setLeaveSecretSha256(sha256(leaveSecret("node-c"))).build()));
        assertThat(e.getStatus().getCode()).as("refused while the fleet's lock is held, not left waiting for it")
            .isEqualTo(a.refused());
      }
    }
    join("node-c", good); // a valid token and request admit as ever
    assertThat(server.fleet().member("node-c")).isTrue();
  }

  /**
   * {@code dsctl node rm N --revoke-token} while whoever holds that token (it leaked with the node)
   * calls Join for N in a loop: the node was removed before the token was revoked, and a join
   * between the two admitted N again, on the caller's key; the command then said both done. The
   * join is made here as the command ends the calls of N's revoked certificates, between the two.
   */
  @Test
  void aNodeRemovedWithItsTokenIsNotAdmittedAgainByItBetweenTheTwo() throws Exception {
    String token = token();
    NodeCert a = join("node-a", token);
    var raced = new java.util.concurrent.CompletableFuture<Status.Code>();
    server.authority().onRevoke(Pki.serialHex(a.cert()), () -> {
      StatusRuntimeException e = refusedJoin("node-a", token);
      raced.complete(e == null ? Status.Code.OK : e.getStatus().getCode());
    });
    RemoveNodeResponse removed = admin().removeNode(RemoveNodeRequest.newBuilder().setNodeName("node-a").setRevokeJoinToken(true).build());
    assertThat(removed.getRevokedJoinToken()).isEqualTo(io.dsfleet.common.tls.JoinToken.parse(token).id());
    assertThat(raced.get(10, TimeUnit.SECONDS)).as("the join made during the removal").isEqualTo(Status.Code.UNAUTHENTICATED);
    assertThat(server.fleet().member("node-a")).as("removed, as the command said").isFalse();
  }

  @Test
  void aJoinTokenNeverTakesOverAMemberStoppedConnectedOrRightAfterARestart() throws Exception {
    String token = token();
    admin().apply(ApplyRequest.newBuilder().setManifests(Fixtures.BASE).build());
    NodeCert a = join("node-a", token);
    FakeAgent agent = liveNode(a);

    var connected = refusedJoin("node-a", token);
    assertThat(connected.getStatus().getCode()).as("while connected").isEqualTo(Status.Code.ALREADY_EXISTS);

    List<PodStatus> running = server.fleet().node("node-a", false).pods();
    agent.close(); // the agent stops; the node stays a member with its pods
    await().atMost(Duration.ofSeconds(10)).until(() -> !server.fleet().connected("node-a"));
    var stopped = refusedJoin("node-a", token);
    assertThat(stopped.getStatus().getCode()).as("while the agent is stopped").isEqualTo(Status.Code.ALREADY_EXISTS);
    assertThat(stopped.getStatus().getDescription()).contains("dsctl node rm node-a", "dsctl token create --node node-a");

    restart();
    var afterRestart = refusedJoin("node-a", token);
    assertThat(afterRestart.getStatus().getCode()).as("right after a restart").isEqualTo(Status.Code.ALREADY_EXISTS);

    // the real node comes back with its certificate and finds its pods as they were
    FakeAgent back = new FakeAgent(as(a), "node-a").open(running);
    agents.add(back);
    DesiredState d = back.nextDesired(Duration.ofSeconds(10));
    assertThat(d.getPodsList()).hasSize(1);
    assertThat(back.sessionError).isNull();
    assertThat(server.fleet().node("node-a", false).pods()).as("the impostor replaced nothing").hasSize(1);
  }

  @Test
  void theAgentWhoseJoinAnswerWasLostJoinsAgainWithItsTokenAndNoOtherHolderOfTheTokenCan() throws Exception {
    String token = token();
    admin().apply(ApplyRequest.newBuilder().setManifests(Fixtures.BASE).build());
    NodeCert lost = joinProving("node-a", token, leaveSecret("node-a")); // admitted; its answer never reached the agent

    var other = catchThrowableOfType(StatusRuntimeException.class, () -> joinProving("node-a", token, "another-agents-secret"));
    assertThat(other.getStatus().getCode()).as("another agent with the token").isEqualTo(Status.Code.ALREADY_EXISTS);
    var hashOnly = refusedJoin("node-a", token); // the member's hash, without the secret behind it
    assertThat(hashOnly.getStatus().getCode()).as("the hash is no proof").isEqualTo(Status.Code.ALREADY_EXISTS);
    var mismatch = catchThrowableOfType(StatusRuntimeException.class, () -> agentStub(channel(Tls.pinned(server.authority().pki()
        .caHash()))).join(JoinRequest.newBuilder().setNode(FakeAgent.info("node-a", Map.of())).setJoinToken(token)
        .setCsrPem(Pki.csr(Pki.newKeyPair(), "node-a", Pki.NODES)).setLeaveSecret(leaveSecret("node-a"))
        .setLeaveSecretSha256(sha256("something else")).build()));
    assertThat(mismatch.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(mismatch.getStatus().getDescription()).contains("leave_secret does not match leave_secret_sha256");

    NodeCert again = joinProving("node-a", token, leaveSecret("node-a"));
    assertThat(again.cert().getSerialNumber()).isNotEqualTo(lost.cert().getSerialNumber());
    var lostRefused = catchThrowableOfType(StatusRuntimeException.class, () -> agentStub(as(lost)).join(JoinRequest.newBuilder()
        .setNode(FakeAgent.info("node-a", Map.of())).build()));
    assertThat(lostRefused.getStatus().getCode()).as("the lost certificate is revoked").isEqualTo(Status.Code.UNAUTHENTICATED);
    FakeAgent agent = new FakeAgent(as(again), "node-a").open();
    agents.add(agent);
    assertThat(agent.nextDesired(Duration.ofSeconds(10)).getPodsList()).as("the node runs its pods").hasSize(1);
    assertThat(server.fleet().events(io.dsfleet.coordinator.fleet.Events.nodeKey("node-a")).stream().map(e -> e.message()).toList())
        .anyMatch(m -> m.contains("whose earlier answer was lost"));
  }

  /**
   * Root on a node holds its join token (agent.yaml) and its leave secret: together they must not
   * undo an admin's revocation, nor re-admit a node whose certificate was used (a stolen host's
   * copy of the state outliving `credential revoke`), also after a restart.
   */
  @Test
  void aLeaveSecretReadmitsOnlyAnAgentWhoseAnswerWasLostNeverAUsedOrRevokedCertificate() throws Exception {
    String token = token();
    admin().apply(ApplyRequest.newBuilder().setManifests(Fixtures.BASE).build());
    liveNode(joinProving("node-a", token, leaveSecret("node-a"))); // its certificate reached it and was used
    var used = catchThrowableOfType(StatusRuntimeException.class, () -> joinProving("node-a", token, leaveSecret("node-a")));
    assertThat(used.getStatus().getCode()).as("token and secret of a node that used its certificate")
        .isEqualTo(Status.Code.ALREADY_EXISTS);

    joinProving("node-b", token, leaveSecret("node-b")); // admitted; its answer was lost: the secret would re-admit it
    admin().revokeCredential(RevokeCredentialRequest.newBuilder().setName("node-b").setRole("node").build());
    var revoked = catchThrowableOfType(StatusRuntimeException.class, () -> joinProving("node-b", token, leaveSecret("node-b")));
    assertThat(revoked.getStatus().getCode()).as("token and secret after the admin revoked the node")
        .isEqualTo(Status.Code.ALREADY_EXISTS);

    joinProving("node-c", token, leaveSecret("node-c")); // a lost answer, kept across a restart
    restart();
    for (String node : List.of("node-a", "node-b")) {
      var afterRestart = catchThrowableOfType(StatusRuntimeException.class, () -> joinProving(node, token, leaveSecret(node)));
      assertThat(afterRestart.getStatus().getCode()).as(node + " after a restart").isEqualTo(Status.Code.ALREADY_EXISTS);
    }
    NodeCert c = joinProving("node-c", token, leaveSecret("node-c"));
    assertThat(c.cert().getSubjectX500Principal().getName()).contains("node-c");

    String forB = server.authority().createToken(Duration.ofHours(1), "replace b", "node-b", 1).text();
    joinProving("node-b", forB, leaveSecret("node-b")); // what the admin gives the real agent back
  }

  /** The retry of a lost answer is no second use of its token (a single-use one let that agent never join again: helper-75). */
  @Test
  void aLostAnswerIsRetriedWithItsUsedUpTokenAndNoOtherJoinIsLetIn() throws Exception {
    String once = server.authority().createToken(Duration.ofHours(1), "once", "", 1).text();
    joinProving("node-d", once, leaveSecret("node-d")); // admitted; its answer was lost
    NodeCert d = joinProving("node-d", once, leaveSecret("node-d"));
    assertThat(d.cert().getSubjectX500Principal().getName()).contains("node-d");
    assertThat(refusedJoin("node-e", once).getStatus().getDescription()).as("another node with the used-up token")
        .contains("used up (1 of 1 joins)");
    String other = server.authority().createToken(Duration.ofHours(1), "once more", "", 1).text();
    joinProving("node-f", other, leaveSecret("node-f")); // admitted by one token, its answer lost
    assertThat(catchThrowableOfType(StatusRuntimeException.class, () -> joinProving("node-f", once, leaveSecret("node-f")))
        .getStatus().getDescription()).as("the retry with a used-up token that did not admit it").contains("used up (1 of 1 joins)");
  }

  @Test
  void onlyATokenScopedToTheNameOrARemovalLetsANameJoinAgain() throws Exception {
    NodeCert old = join("node-a", token());
    assertThat(refusedJoin("node-a", token()).getStatus().getCode()).isEqualTo(Status.Code.ALREADY_EXISTS);
    String forB = server.authority().createToken(Duration.ofHours(1), "b only", "node-b", 1).text();
    assertThat(refusedJoin("node-a", forB).getStatus().getCode()).as("a token for node-b").isEqualTo(Status.Code.PERMISSION_DENIED);

    String forA = server.authority().createToken(Duration.ofHours(1), "replace a", "node-a", 1).text();
    NodeCert replacement = join("node-a", forA);
    assertThat(replacement.cert().getSerialNumber()).isNotEqualTo(old.cert().getSerialNumber());
    var oldRefused = catchThrowableOfType(StatusRuntimeException.class, () -> agentStub(as(old)).join(JoinRequest.newBuilder()
        .setNode(FakeAgent.info("node-a", Map.of())).build()));
    assertThat(oldRefused.getStatus().getCode()).as("the replaced certificate is revoked").isEqualTo(Status.Code.UNAUTHENTICATED);
    assertThat(refusedJoin("node-a", forA).getStatus().getDescription()).as("single use").contains("used up (1 of 1 joins)");

    var removed = admin().removeNode(RemoveNodeRequest.newBuilder().setNodeName("node-a").setRevokeJoinToken(true).build());
    assertThat(removed.getRevokedJoinToken()).isEqualTo(io.dsfleet.common.tls.JoinToken.parse(forA).id());
    join("node-a", token()); // after node rm, any valid token admits the name
    assertThat(server.fleet().events(io.dsfleet.coordinator.fleet.Events.nodeKey("node-a")).stream().map(e -> e.reason()).toList())
        .as("issuance is a security event in describe node").contains("CertificateIssued");
  }

  @Test
  void aCollectedNodesCertificateNeverRegistersItAgainAndItsAdmissionByTokenRevokesIt() throws Exception {
    admin().apply(ApplyRequest.newBuilder().setManifests(GPU).build());
    NodeCert old = join("node-a", token());
    clock.advance(Duration.ofSeconds(30));
    server.fleet().tick(); // NotReady
    clock.advance(Duration.ofMinutes(11));
    server.fleet().tick(); // collected (nodeGcAfter 10 min)
    assertThat(server.fleet().nodes()).isEmpty();

    var e = catchThrowableOfType(StatusRuntimeException.class, () -> agentStub(as(old)).join(JoinRequest.newBuilder()
        .setNode(FakeAgent.info("node-a", Map.of("gpu", "true"))).build()));
    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
    assertThat(e.getStatus().getDescription()).contains("not a member", "join with a join token");
    assertThat(server.fleet().nodes()).as("not registered as it reported itself").isEmpty();

    // an admin's node rm still shuts out the collected name's certificate
    admin().removeNode(RemoveNodeRequest.newBuilder().setNodeName("node-a").build());
    var removed = catchThrowableOfType(StatusRuntimeException.class, () -> agentStub(as(old)).join(JoinRequest.newBuilder()
        .setNode(FakeAgent.info("node-a", Map.of())).build()));
    assertThat(removed.getStatus().getDescription()).contains("revoked");

    join("node-a", token()); // admission again, by token: the old certificate is revoked
    FakeAgent stale = new FakeAgent(as(old), "node-a").open();
    agents.add(stale);
    await().atMost(Duration.ofSeconds(10)).until(() -> stale.sessionError != null);
    assertThat(Status.fromThrowable(stale.sessionError).getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
  }

  @Test
  void aSessionTheCoordinatorEndsIsForgottenAndAReplacedNodesOpenStreamsEnd() throws Exception {
    NodeCert a = join("node-a", token());
    FakeAgent first = new FakeAgent(as(a), "node-a").open();
    agents.add(first);
    await().atMost(Duration.ofSeconds(10)).until(() -> server.fleet().connected("node-a"));
    first.send(AgentMessage.newBuilder().setOpen(SessionOpen.newBuilder().setNodeName("node-a")).build());
    await().atMost(Duration.ofSeconds(10)).until(() -> first.sessionError != null);
    // the agent hears the error before the session's worker has forgotten it (the two race): awaited
    await("a session the coordinator failed is no session").atMost(Duration.ofSeconds(10))
        .until(() -> !server.fleet().connected("node-a"));

    FakeAgent again = new FakeAgent(as(a), "node-a").open();
    agents.add(again);
    await().atMost(Duration.ofSeconds(10)).until(() -> server.fleet().connected("node-a"));
    String scoped = server.authority().createToken(Duration.ofHours(1), "replace", "node-a", 0).text();
    join("node-a", scoped);
    await().atMost(Duration.ofSeconds(10)).until(() -> again.sessionError != null || again.sessionCompleted);
    assertThat(refusedJoin("node-a", scoped).getStatus().getDescription()).as("a token for one node is single use by default")
        .contains("used up (1 of 1 joins)");
  }

  @Test
  void whatANodeReportsAboutItselfIsBounded() throws Exception {
    Map<String, String> many = new java.util.HashMap<>();
    for (int i = 0; i < 65; i++) {
      many.put("k" + i, "v");
    }
    var tooMany = catchThrowableOfType(StatusRuntimeException.class, () -> join(FakeAgent.info("node-x", many), token()));
    assertThat(tooMany.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(tooMany.getStatus().getDescription()).contains("65 labels", "at most 64");
    NodeCert a = join("node-a", token());
    var longVersion = catchThrowableOfType(StatusRuntimeException.class, () -> agentStub(as(a)).join(JoinRequest.newBuilder()
        .setNode(FakeAgent.info("node-a", Map.of()).toBuilder().setAgentVersion("v".repeat(100_000))).build()));
    assertThat(longVersion.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(longVersion.getStatus().getDescription()).contains("at most 64 characters");
    var escapes = catchThrowableOfType(StatusRuntimeException.class, () -> agentStub(as(a)).join(JoinRequest.newBuilder()
        .setNode(FakeAgent.info("node-a", Map.of()).toBuilder().setAgentVersion("1.0\u001b]8;;http://x\u0007").setOs("li\u202Exun")).build()));
    assertThat(escapes.getStatus().getCode()).as("terminal escapes and bidi overrides in what get nodes shows")
        .isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(escapes.getStatus().getDescription()).contains("printable ASCII");
    assertThat(server.fleet().nodes()).extracting(n -> n.name()).containsExactly("node-a");
  }

  /**
   * A review's join by token with a taint of an effect of its own: the join failed, but the node
   * was stored first, and every list of the fleet failed on it from then on, the coordinator's
   * restart too. Taints are checked as Kubernetes checks them before anything is stored.
   */
  @Test
  void aJoinWhoseTaintsAreNotTaintsIsRefusedAndStoresNothing() throws Exception {
    for (var bad : List.of(io.dsfleet.proto.v1.Taint.newBuilder().setKey("k").setValue("v").setEffect("Bogus"),
        io.dsfleet.proto.v1.Taint.newBuilder().setKey("k\u001b[2J").setEffect("NoSchedule"),
        io.dsfleet.proto.v1.Taint.newBuilder().setKey("k").setValue("v".repeat(100_000)).setEffect("NoSchedule"))) {
      var refused = catchThrowableOfType(StatusRuntimeException.class, () -> join(FakeAgent.info("node-x", Map.of()).toBuilder()
          .addTaints(bad).build(), token()));
      assertThat(refused.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
      assertThat(refused.getStatus().getDescription()).contains("node node-x: invalid taint").doesNotContain("\u001b").hasSizeLessThan(400);
    }
    join(FakeAgent.info("node-a", Map.of()).toBuilder().addTaints(io.dsfleet.proto.v1.Taint.newBuilder().setKey("dedicated")
        .setValue("gpu").setEffect("NoSchedule")).build(), token());
    assertThat(server.fleet().nodes()).extracting(n -> n.name()).containsExactly("node-a");
    assertThat(server.fleet().node("node-a", true).taints()).extracting(t -> t.key()).containsExactly("dedicated");
  }

  /**
   * A review's node sent acknowledgements by the million: each waited in the session worker's queue
   * (thousands at once while the worker was busy), without bound. Acknowledgements are no longer
   * queued (nothing rests on them since 2026-12-05); heartbeats that flip the node's condition are.
   * A session that has more than {@code MAX_QUEUED} messages waiting is ended; the node reconnects
   * and reports afresh.
   */
  @Test
  void aNodeThatSendsFasterThanTheCoordinatorAppliesIsCutOffNotQueued() throws Throwable {
    NodeCert a = join("node-a", token());
    // read 10 at once, then one each 100 ms (ReportPacing): the 128th queued 12 s on; here one each ms
    io.dsfleet.coordinator.grpc.CoordinatorFixture.withReportsPacedEvery(Duration.ofMillis(1), () -> {
      FakeAgent flood = new FakeAgent(as(a), "node-a").open();
      agents.add(flood);
      await().atMost(Duration.ofSeconds(10)).until(() -> server.fleet().connected("node-a"));
      // the worker waits for the fleet's lock meanwhile
      io.dsfleet.coordinator.grpc.CoordinatorFixture.whileTheFleetLockIsHeld(server, () -> {
        for (int i = 0; i < 1_000 && flood.sessionError == null; i++) {
          flood.heartbeat(i % 2 == 0, "flip " + i);
        }
        await().atMost(Duration.ofSeconds(40)).until(() -> flood.sessionError != null);
        assertThat(Status.fromThrowable(flood.sessionError).getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
        assertThat(flood.sessionError.getMessage()).contains("faster than the coordinator applies them");
      });
    });
  }

  @Test
  void aNodeCannotLabelItselfIntoAnotherPoolAndGetItsSecrets() throws Exception {
    var adminStub = admin();
    adminStub.apply(ApplyRequest.newBuilder().setManifests(GPU).build());
    var reserved = catchThrowableOfType(StatusRuntimeException.class, () -> join(FakeAgent.info("node-x",
        Map.of("node-restriction.dsfleet.io/pool", "gpu")), token()));
    assertThat(reserved.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(reserved.getStatus().getDescription()).contains("reserved for admins");

    NodeCert a = join("node-a", token());
    // re-joining with its own certificate, the node claims the gpu label
    agentStub(as(a)).join(JoinRequest.newBuilder().setNode(FakeAgent.info("node-a", Map.of("gpu", "true"))).build());
    FakeAgent agent = new FakeAgent(as(a), "node-a").open();
    agents.add(agent);
    agent.heartbeat();
    await().atMost(Duration.ofSeconds(10)).until(() -> agent.received.stream().anyMatch(CoordinatorMessage::hasHeartbeatAck));
    assertThat(server.fleet().node("node-a", false).labels()).doesNotContainKey("gpu");
    assertThat(agent.received).as("no gpu pod, no gpu Secret").noneMatch(m -> m.toByteString().toStringUtf8()
        .contains("s3cret-of-the-gpu-pool"));
    assertThat(server.fleet().events(io.dsfleet.coordinator.fleet.Events.nodeKey("node-a")).stream().map(e -> e.reason()).toList()).contains("NodeRestricted");

    // the admin's label is what moves a node into the pool
    adminStub.labelNode(LabelNodeRequest.newBuilder().setNodeName("node-a").putSet("gpu", "true").build());
    await().atMost(Duration.ofSeconds(10)).until(() -> agent.drainDesired().stream()
        .anyMatch(d -> d.toByteString().toStringUtf8().contains("s3cret-of-the-gpu-pool")));
  }

  @Test
  void aCopiedCertificateCannotMakeTheNodeLeave() throws Exception {
    admin().apply(ApplyRequest.newBuilder().setManifests(Fixtures.BASE).build());
    NodeCert a = join("node-a", token());
    FakeAgent real = liveNode(a);
    FakeAgent thief = new FakeAgent(as(a), "node-a"); // the same certificate and key, copied off the node
    agents.add(thief);
    for (String secret : List.of("", "guessed")) {
      var e = catchThrowableOfType(StatusRuntimeException.class, () -> thief.leave(secret));
      assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
      assertThat(e.getStatus().getDescription()).contains("leave secret");
    }
    assertThat(server.fleet().node("node-a", false).pods()).as("still a member, pods untouched").hasSize(1);
    assertThat(server.fleet().connected("node-a")).isTrue();

    new FakeAgent(as(a), "node-a").leave(leaveSecret("node-a")); // the agent itself, with its secret
    assertThat(server.fleet().nodes()).isEmpty();
    await("its session carried the removal").atMost(Duration.ofSeconds(10)).until(() -> real.received.stream()
        .anyMatch(CoordinatorMessage::hasRemoved));
  }

  /**
   * Root on a node (its certificate; a copy of it is enough for the leaves) calls Join with its
   * certificate, reporting other labels each time, and Leave with a wrong secret, in a loop: each
   * call recorded an event (Rejoined, NodeRestricted, LeaveRefused) and logged a warning, outside
   * the budget that bounds the events a node's agent causes, so one node could push every other
   * object's events out of what waits for the disk and what `events -w` reads, as the
   * condition flips once did. They now count against the node's budget as those do.
   */
  @Test
  void aNodeRejoiningAndLeavingInALoopCausesNoMoreEventsThanAnAgentsBudget() throws Exception {
    NodeCert a = join("node-a", token());
    FakeAgent agent = new FakeAgent(as(a), "node-a");
    agents.add(agent);
    long before = server.fleet().events(k -> true).seq();
    int refused = 0;
    for (int i = 0; i < 200; i++) {
      int pool = i;
      // with its certificate: labels other than admitted, ignored; five joins a minute, the rest refused before the fleet's lock
      StatusRuntimeException e = catchThrowableOfType(StatusRuntimeException.class, () -> agent.join(java.util.Map.of("pool", "p" + pool)));
      if (e != null) {
        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
        assertThat(e.getStatus().getDescription()).contains("node node-a joined 5 times in the last 60 s");
        refused++;
      }
      catchThrowableOfType(StatusRuntimeException.class, () -> agent.leave("guessed"));
    }
    assertThat(refused).as("joins with the node's certificate over five a minute").isEqualTo(195);
    new FakeAgent(as(join("node-b", token())), "node-b").join(java.util.Map.of()); // another node joins as ever
    var caused = server.fleet().eventsAfter(before, k -> k.equals(io.dsfleet.coordinator.fleet.Events.nodeKey("node-a")));
    assertThat(caused.stream().map(r -> r.event().reason()).distinct().toList())
        .as("each kind of event was recorded at first").contains("Rejoined", "NodeRestricted", "LeaveRefused");
    assertThat(caused).as("events of 400 calls of one node: its budget (25 at once), not one or two a call").hasSizeLessThanOrEqualTo(30);
    assertThat(server.fleet().node("node-a", false).labels()).as("the labels stay as admitted").doesNotContainKey("pool");
  }

  /** Starts {@code call}, reading nothing unless asked; its end (the status) completes the future returned. */
  static <R> CompletableFuture<Status> started(ClientCall<?, R> call) {
    CompletableFuture<Status> closed = new CompletableFuture<>();
    call.start(new ClientCall.Listener<>() {
      @Override
      public void onClose(Status status, Metadata trailers) {
        closed.complete(status);
      }
    }, new Metadata());
    return closed;
  }

  /** A channel under a viewer credential issued now to {@code name}. */
  ManagedChannel viewer(String name) throws Exception {
    java.nio.file.Path file = dir.resolve(name + ".pem");
    java.nio.file.Files.writeString(file, server.authority().credential(name, Pki.VIEWERS));
    return channel(io.dsfleet.common.tls.Tls.client(java.nio.file.Files.readString(file)));
  }

  /** A stream's observer: each message to {@code each}, its end (the error, or null) into {@code ended}. */
  static <T> StreamObserver<T> endedInto(CompletableFuture<Throwable> ended, java.util.function.Consumer<T> each) {
    return new StreamObserver<>() {
      @Override
      public void onNext(T m) {
        each.accept(m);
      }

      @Override
      public void onError(Throwable t) {
        ended.complete(t);
      }

      @Override
      public void onCompleted() {
        ended.complete(null);
      }
    };
  }

  @Test
  void revokingACredentialEndsAnEventsFollowOpenUnderIt() throws Exception {
    ManagedChannel eve = viewer("eve");
    CompletableFuture<Throwable> ended = new CompletableFuture<>();
    java.util.List<EventView> seen = Collections.synchronizedList(new java.util.ArrayList<>());
    ControlServiceGrpc.newStub(eve).events(EventsRequest.newBuilder().setAllNamespaces(true).setWatch(true).build(),
        endedInto(ended, seen::add));
    join("node-a", token()); // an event, followed: the stream is open and polling
    await().atMost(Duration.ofSeconds(10)).until(() -> !seen.isEmpty());

    admin().revokeCredential(RevokeCredentialRequest.newBuilder().setName("eve").setRole("viewer").build());
    Throwable t = ended.get(10, TimeUnit.SECONDS);
    assertThat(Status.fromThrowable(t).getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
  }

  @Test
  void revokingACredentialEndsTheStreamsOpenUnderIt() throws Exception {
    admin().apply(ApplyRequest.newBuilder().setManifests(Fixtures.BASE).build());
    NodeCert a = join("node-a", token());
    FakeAgent agent = liveNode(a);
    agent.answerLogs = false; // a follow that stays open
    ManagedChannel eve = viewer("eve");
    CompletableFuture<Throwable> ended = new CompletableFuture<>();
    ControlServiceGrpc.newStub(eve).logs(LogsRequest.newBuilder().setNamespace("ops").setDaemonSet("agent").setFollow(true).build(),
        endedInto(ended, l -> { }));
    await().atMost(Duration.ofSeconds(10)).until(() -> agent.received.stream().anyMatch(CoordinatorMessage::hasLogRequest));

    admin().revokeCredential(RevokeCredentialRequest.newBuilder().setName("eve").setRole("viewer").build());
    Throwable t = ended.get(10, TimeUnit.SECONDS);
    assertThat(Status.fromThrowable(t).getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
    // at once: an in-process call, though a loaded machine may take seconds; a follow left open never sees it
    await().atMost(Duration.ofSeconds(10)).until(() -> agent.received.stream().anyMatch(CoordinatorMessage::hasLogCancel));

    // a node's certificate revoked with dsctl: its session ends too, at once
    admin().revokeCredential(RevokeCredentialRequest.newBuilder().setName("node-a").setRole("node").build());
    await().atMost(Duration.ofSeconds(10)).until(() -> agent.sessionError != null);
    assertThat(Status.fromThrowable(agent.sessionError).getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
  }

  /**
   * `dsctl events` without -w is handed its listing only as fast as the client takes it, so a
   * client that stops reading holds the call open: revoking its credential ends it too, as it ends
   * every other stream open under the credential (before, only a watch registered for the
   * revocation, and a revoked viewer's stalled listing went on being served as it read).
   */
  @Test
  void revokingACredentialEndsAnEventsListingItHasNotReadYet() throws Exception {
    for (int i = 0; i < 10_000; i++) { // 50 kept of each of 200 nodes, some 3 MB: more than a stream's flow-control window
      server.fleet().securityEvent("node-" + (i % 200), "Test", "event " + i + " " + "x".repeat(200));
    }
    ManagedChannel eve = viewer("eve-events");
    ClientCall<EventsRequest, EventView> call = eve.newCall(ControlServiceGrpc.getEventsMethod(), CallOptions.DEFAULT);
    CompletableFuture<Status> closed = new CompletableFuture<>();
    java.util.concurrent.atomic.AtomicInteger got = new java.util.concurrent.atomic.AtomicInteger();
    call.start(new ClientCall.Listener<>() {
      @Override
      public void onMessage(EventView message) {
        got.incrementAndGet();
      }

      @Override
      public void onClose(Status status, Metadata trailers) {
        closed.complete(status);
      }
    }, new Metadata());
    call.sendMessage(EventsRequest.newBuilder().setAllNamespaces(true).build());
    call.halfClose();
    call.request(1); // reads one event, then nothing
    await().atMost(Duration.ofSeconds(10)).until(() -> got.get() == 1);
    // (whether the listing waits for the client cannot be seen from here: gRPC tells a client the
    // end of a stream only after the messages before it, which this one does not read)

    // answered once the listing was ended: the revocation ends the streams open under it before it answers
    admin().revokeCredential(RevokeCredentialRequest.newBuilder().setName("eve-events").setRole("viewer").build());
    call.request(Integer.MAX_VALUE); // the client reads again: what gRPC holds already, then the end
    assertThat(closed.get(10, TimeUnit.SECONDS).getCode()).as("the listing, after %d events", got.get())
        .isEqualTo(Status.Code.UNAUTHENTICATED);
    assertThat(got.get()).as("events served after the revocation: only what waited in gRPC's window").isLessThan(10_000);
  }

  /**
   * A node reporting a pod of a DaemonSet never placed on it (named for itself, so kept) was asked
   * for that DaemonSet's logs, and its lines mixed into `dsctl logs ds/...` (a review). Only nodes
   * the DaemonSet is placed on are asked.
   */
  @Test
  void aNodeIsNotAskedForTheLogsOfADaemonSetNotPlacedOnIt() throws Exception {
    admin().apply(ApplyRequest.newBuilder().setManifests(Fixtures.BASE + "\n---\n" + GPU).build());
    FakeAgent agent = liveNode(join("node-a", token()));
    String hash = server.fleet().daemonSet("ops", "gpu").hash();
    agent.report(server.fleet().node("node-a", false).pods().get(0), io.dsfleet.proto.v1.PodStatus.newBuilder()
        .setNamespace("ops").setDaemonSet("gpu").setPodName(io.dsfleet.coordinator.plan.PodNames.name("gpu", "node-a", 0))
        .setTemplateHash(hash).setPhase("Running").build());
    await().atMost(Duration.ofSeconds(10)).until(() -> server.fleet().node("node-a", false).pods().size() == 2);
    var refused = catchThrowableOfType(StatusRuntimeException.class, () -> ControlServiceGrpc.newBlockingStub(credentialFile("viewer.pem"))
        .logs(LogsRequest.newBuilder().setNamespace("ops").setDaemonSet("gpu").build()).hasNext());
    assertThat(refused.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
    assertThat(agent.received).noneMatch(CoordinatorMessage::hasLogRequest);
  }

  /**
   * A viewer opening follow streams by the hundred (64 a connection), each looked at every second or
   * half second on the scheduler thread that runs the lease sweep and the rollout passes: one
   * credential holds at most 32 at once, refused beyond with why; another credential is not held up,
   * and a stream that ends gives its place back.
   */
  @Test
  void oneCredentialHoldsAtMostThirtyTwoFollowStreams() throws Exception {
    admin().apply(ApplyRequest.newBuilder().setManifests(Fixtures.BASE).build());
    ManagedChannel viewer = credentialFile("viewer.pem");
    List<ClientCall<EventsRequest, EventView>> open = new java.util.ArrayList<>();
    server.fleet().securityEvent("node-x", "Test", "in every listing"); // what a stream let open is sent first
    java.util.Set<CompletableFuture<Status>> heard = java.util.concurrent.ConcurrentHashMap.newKeySet();
    java.util.function.Function<ManagedChannel, CompletableFuture<Status>> follow = ch -> {
      ClientCall<EventsRequest, EventView> call = ch.newCall(ControlServiceGrpc.getEventsMethod(), CallOptions.DEFAULT);
      CompletableFuture<Status> closed = new CompletableFuture<>();
      call.start(new ClientCall.Listener<>() {
        @Override
        public void onMessage(EventView message) {
          heard.add(closed);
        }

        @Override
        public void onClose(Status status, Metadata trailers) {
          closed.complete(status);
        }
      }, new Metadata());
      call.sendMessage(EventsRequest.newBuilder().setAllNamespaces(true).setWatch(true).build());
      call.halfClose();
      call.request(Integer.MAX_VALUE);
      open.add(call);
      return closed;
    };
    // the coordinator has decided on a stream: it was refused, or let open and sent its listing
    java.util.function.Predicate<CompletableFuture<Status>> decided = f -> f.isDone() || heard.contains(f);
    List<CompletableFuture<Status>> viewers = new java.util.ArrayList<>();
    for (int i = 0; i < 33; i++) {
      viewers.add(follow.apply(viewer));
    }
    // one of the 33 is refused (the call threads take them in any order); 32 stay open
    Status refused = CompletableFuture.anyOf(viewers.toArray(CompletableFuture[]::new)).thenApply(Status.class::cast).get(10, TimeUnit.SECONDS);
    assertThat(refused.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(refused.getDescription()).contains("at most 32").contains("viewer/viewer");
    await().atMost(Duration.ofSeconds(10)).until(() -> viewers.stream().allMatch(decided));
    assertThat(viewers.stream().filter(CompletableFuture::isDone)).as("the others stay open").hasSize(1);
    int toEnd = java.util.stream.IntStream.range(0, 33).filter(i -> !viewers.get(i).isDone()).findFirst().orElseThrow();
    // the admin's credential is another one
    CompletableFuture<Status> admins = follow.apply(credentialFile("admin.pem"));
    await().atMost(Duration.ofSeconds(10)).until(() -> decided.test(admins));
    assertThat(admins).as("the admin's stream is not refused").isNotDone();
    // one of the viewer's ends: its place is given back
    open.get(toEnd).cancel("done", null);
    await().atMost(Duration.ofSeconds(10)).until(() -> viewers.get(toEnd).isDone());
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      CompletableFuture<Status> again = follow.apply(viewer);
      await().atMost(Duration.ofSeconds(10)).until(() -> decided.test(again));
      assertThat(again).as("a stream in the place given back").isNotDone();
    });
    open.forEach(c -> c.cancel("test over", null));
  }

  /**
   * A viewer's `logs -f` streams hold at most half of a node's followed streams (the agent serves
   * 32): before 2026-12-06 its 32, of a DaemonSet run on every node, took every place on every
   * node, and the agents refused every other follow, an admin's and the dashboard's.
   */
  @Test
  void oneCredentialFollowsAtMostHalfOfANodesLogs() throws Exception {
    admin().apply(ApplyRequest.newBuilder().setManifests(Fixtures.BASE).build());
    FakeAgent agent = liveNode(join("node-a", token()));
    agent.answerLogs = false; // each follow stays open, with nothing to say yet
    List<ClientCall<LogsRequest, LogLine>> open = new java.util.ArrayList<>();
    java.util.function.Function<ManagedChannel, CompletableFuture<Status>> follow = ch -> {
      ClientCall<LogsRequest, LogLine> call = ch.newCall(ControlServiceGrpc.getLogsMethod(), CallOptions.DEFAULT);
      CompletableFuture<Status> closed = started(call);
      call.sendMessage(LogsRequest.newBuilder().setNamespace("ops").setDaemonSet("agent").setFollow(true).build());
      call.halfClose();
      call.request(Integer.MAX_VALUE);
      open.add(call);
      return closed;
    };
    ManagedChannel viewer = credentialFile("viewer.pem");
    List<CompletableFuture<Status>> viewers = new java.util.ArrayList<>();
    for (int i = 0; i < 32; i++) {
      viewers.add(follow.apply(viewer));
    }
    await().atMost(Duration.ofSeconds(10)).until(() -> viewers.stream().filter(CompletableFuture::isDone).count() == 16);
    assertThat(viewers.stream().filter(CompletableFuture::isDone).map(CompletableFuture::join)).allSatisfy(st -> {
      assertThat(st.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
      assertThat(st.getDescription()).isEqualTo("viewer/viewer follows 16 logs on node node-a already (half of what a node serves"
          + " at once); end one");
    });
    // the accepted follows' requests reach the node over its session, after their calls began: a rehearsal counted 7 here
    await().atMost(Duration.ofSeconds(10)).until(() -> agent.received.stream().filter(CoordinatorMessage::hasLogRequest).count() >= 16);
    assertThat(agent.received.stream().filter(CoordinatorMessage::hasLogRequest)).as("the node was asked 16 times").hasSize(16);
    CompletableFuture<Status> admins = follow.apply(credentialFile("admin.pem"));
    await().atMost(Duration.ofSeconds(10)).until(() -> agent.received.stream().filter(CoordinatorMessage::hasLogRequest).count() == 17);
    assertThat(admins).as("the admin follows the node's log too").isNotDone();
    // one of the viewer's ends: its place on the node is given back
    int toEnd = java.util.stream.IntStream.range(0, 32).filter(i -> !viewers.get(i).isDone()).findFirst().orElseThrow();
    open.get(toEnd).cancel("done", null);
    await().atMost(Duration.ofSeconds(10)).until(() -> agent.received.stream().anyMatch(CoordinatorMessage::hasLogCancel));
    CompletableFuture<Status> again = follow.apply(viewer);
    await().atMost(Duration.ofSeconds(10)).until(() -> agent.received.stream().filter(CoordinatorMessage::hasLogRequest).count() == 18);
    assertThat(again).isNotDone();
    open.forEach(c -> c.cancel("test over", null));
  }

  /**
   * A followed stream's place on a node is given back when its stream there ends (the container's
   * log ended, the node refused, its session ended), not only when the relay's last node does: a
   * viewer's 16 follows of a DaemonSet whose log on node-a ended, still open on node-b, left the
   * viewer refused every follow of node-a, where it held nothing.
   */
  @Test
  void aFollowsPlaceOnANodeIsGivenBackWhenItsStreamThereEnds() throws Exception {
    admin().apply(ApplyRequest.newBuilder().setManifests(Fixtures.BASE).build());
    FakeAgent a = liveNode(join("node-a", token())); // answers each request with its lines and their end
    FakeAgent b = new FakeAgent(as(join("node-b", token())), "node-b").open();
    agents.add(b);
    b.answerLogs = false; // each follow stays open there
    b.reportAllReady(b.nextDesired(Duration.ofSeconds(10)), clock.millis());
    await().atMost(Duration.ofSeconds(10)).until(() -> server.fleet().node("node-b", false).pods().size() == 1);
    ManagedChannel viewer = credentialFile("viewer.pem");
    List<ClientCall<LogsRequest, LogLine>> open = new java.util.ArrayList<>();
    java.util.function.Function<String, CompletableFuture<Status>> follow = node -> {
      ClientCall<LogsRequest, LogLine> call = viewer.newCall(ControlServiceGrpc.getLogsMethod(), CallOptions.DEFAULT);
      CompletableFuture<Status> closed = started(call);
      call.sendMessage(LogsRequest.newBuilder().setNamespace("ops").setDaemonSet("agent").setNodeName(node).setFollow(true).build());
      call.halfClose();
      call.request(Integer.MAX_VALUE);
      open.add(call);
      return closed;
    };
    for (int i = 0; i < 16; i++) {
      follow.apply("");
    }
    await().atMost(Duration.ofSeconds(10)).until(() -> b.received.stream().filter(CoordinatorMessage::hasLogRequest).count()
        == 16);
    // node-a's streams end as their answers come in: a follow of node-a alone is then served (and
    // ends with node-a's answer), not refused as one more than the viewer's share of node-a
    await().atMost(Duration.ofSeconds(10)).until(() -> {
      Status st = follow.apply("node-a").get(10, TimeUnit.SECONDS);
      if (!st.isOk()) {
        assertThat(st.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
        assertThat(st.getDescription()).contains("node node-a");
      }
      return st.isOk();
    });
    assertThat(a.received.stream().filter(CoordinatorMessage::hasLogRequest)).hasSize(16 + 1);
    open.forEach(c -> c.cancel("test over", null));
  }

  /**
   * A logs request's container is a container's name: before 2026-12-06 any was relayed, and a
   * viewer's request naming one of 4 MiB became a message of 4 MiB to every node of the DaemonSet
   * (serialized for each, and held by each agent, 48 MiB of heap, for as long as it waited for one
   * of its 32 places), and came back in each node's error.
   */
  @Test
  void aLogsRequestForAContainerThatIsNoNameAsksNoNode() throws Exception {
    admin().apply(ApplyRequest.newBuilder().setManifests(Fixtures.BASE).build());
    FakeAgent agent = liveNode(join("node-a", token()));
    agent.answerLogs = false;
    var viewer = ControlServiceGrpc.newBlockingStub(credentialFile("viewer.pem")).withDeadlineAfter(30, TimeUnit.SECONDS);
    for (String container : List.of("c".repeat(4_000_000), "main\u001b]52;c;eA==\u0007", "Main")) {
      var e = catchThrowableOfType(StatusRuntimeException.class, () -> viewer.logs(LogsRequest.newBuilder().setNamespace("ops")
          .setDaemonSet("agent").setContainer(container).build()).hasNext());
      assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
      assertThat(e.getStatus().getDescription()).startsWith("container ").hasSizeLessThan(400);
    }
    agent.heartbeat(); // a round trip: whatever the coordinator sent before its answer is in
    await().atMost(Duration.ofSeconds(10)).until(() -> agent.received.stream().anyMatch(CoordinatorMessage::hasHeartbeatAck));
    assertThat(agent.received.stream().filter(CoordinatorMessage::hasLogRequest)).as("the node was asked nothing").isEmpty();
  }

  @Test
  void aLogReaderThatNeverReadsIsDroppedInsteadOfFillingTheHeap() throws Exception {
    admin().apply(ApplyRequest.newBuilder().setManifests(Fixtures.BASE).build());
    FakeAgent agent = liveNode(join("node-a", token()));
    int latin = chunksUntilDropped(agent, "x");
    assertThat(latin).as("dropped within the buffer's bound (a few MB), not after 64").isLessThan(16);
    // text of other scripts takes two bytes a character where it waits: dropped after half as many
    // characters (before 2026-12-06 counted at one, so a reader held twice the bound of it)
    int wide = chunksUntilDropped(agent, "\uFFFD");
    assertThat(wide).as("chunks of U+FFFD until dropped, against %d of Latin-1", latin).isLessThanOrEqualTo((latin + 1) / 2 + 1);
  }

  /** Chunks of a megacharacter of {@code character} an agent sends to a logs -f reader that takes nothing, until it is dropped. */
  private int chunksUntilDropped(FakeAgent agent, String character) throws Exception {
    agent.received.clear();
    agent.answerLogs = false;
    ClientCall<LogsRequest, LogLine> call = credentialFile("viewer.pem").newCall(ControlServiceGrpc.getLogsMethod(), CallOptions.DEFAULT);
    CompletableFuture<Status> closed = started(call);
    call.sendMessage(LogsRequest.newBuilder().setNamespace("ops").setDaemonSet("agent").setFollow(true).build());
    call.halfClose(); // and never call.request(n): the reader takes nothing
    int sent = floodUntilStopped(agent, logRequestId(agent), character);
    assertThat(agent.received).as("the coordinator stopped the agent's stream: the reader was dropped after %d chunks", sent)
        .anyMatch(CoordinatorMessage::hasLogCancel);
    call.cancel("done", null);
    return sent;
  }

  /** The id of the next log request {@code agent} is sent. */
  private static String logRequestId(FakeAgent agent) throws InterruptedException {
    CoordinatorMessage request = null;
    while (request == null) {
      request = agent.received.poll(10, TimeUnit.SECONDS);
      request = request != null && request.hasLogRequest() ? request : null;
    }
    return request.getLogRequest().getRequestId();
  }

  /**
   * Chunks of a megacharacter of {@code character} that {@code agent} sends for request {@code id},
   * each handled before the next, until the coordinator stops its stream (or 64 of them).
   */
  private static int floodUntilStopped(FakeAgent agent, String id, String character) {
    List<String> lines = Collections.nCopies(1000, character.repeat(1000));
    int sent = 0;
    while (agent.received.stream().noneMatch(CoordinatorMessage::hasLogCancel) && sent < 64) {
      agent.logChunk(id, lines);
      sent++;
      agent.heartbeat(); // a round trip: the chunk was handled before the next
      await().atMost(Duration.ofSeconds(30)).until(() -> agent.received.stream().filter(CoordinatorMessage::hasHeartbeatAck).count()
          >= 1);
      agent.received.removeIf(CoordinatorMessage::hasHeartbeatAck);
    }
    return sent;
  }

  /**
   * Root on one node of a DaemonSet (or a pod logging without pause) sends its log faster than an
   * operator's {@code logs -f} of the whole DaemonSet reads it: until 2026-12-08 the reader fell the
   * relay's 4 MiB behind and its whole follow ended, every other node's stream with it. Now that
   * node, holding most of what waits, has its own stream stopped, with a line saying so, and the
   * reader goes on with the others.
   */
  @Test
  void aNodeSendingFasterThanAFollowIsReadStopsItsOwnStreamNotTheOthers() throws Exception {
    admin().apply(ApplyRequest.newBuilder().setManifests(Fixtures.BASE).build());
    FakeAgent a = liveNode(join("node-a", token()));
    a.answerLogs = false;
    FakeAgent b = new FakeAgent(as(join("node-b", token())), "node-b").open();
    agents.add(b);
    b.answerLogs = false;
    b.reportAllReady(b.nextDesired(Duration.ofSeconds(10)), clock.millis());
    await().atMost(Duration.ofSeconds(10)).until(() -> server.fleet().node("node-b", false).pods().size() == 1);
    ClientCall<LogsRequest, LogLine> call = credentialFile("viewer.pem").newCall(ControlServiceGrpc.getLogsMethod(), CallOptions.DEFAULT);
    java.util.concurrent.BlockingQueue<LogLine> read = new java.util.concurrent.LinkedBlockingQueue<>();
    CompletableFuture<Status> closed = new CompletableFuture<>();
    call.start(new ClientCall.Listener<>() {
      @Override
      public void onMessage(LogLine line) {
        read.add(line);
      }

      @Override
      public void onClose(Status status, Metadata trailers) {
        closed.complete(status);
      }
    }, new Metadata());
    call.sendMessage(LogsRequest.newBuilder().setNamespace("ops").setDaemonSet("agent").setFollow(true).build());
    call.halfClose(); // the reader takes nothing until it asks, below
    String idA = logRequestId(a);
    a.logChunk(idA, List.of("node-a's first line"));
    int sent = floodUntilStopped(b, logRequestId(b), "x");
    assertThat(b.received).as("node-b's stream stopped after %d chunks", sent).anyMatch(CoordinatorMessage::hasLogCancel);
    assertThat(sent).as("node-b stopped within the reader's bound (a few MB)").isLessThan(16);
    call.request(Integer.MAX_VALUE);
    a.logChunk(idA, List.of("node-a's second line"));
    await("node-a's lines go on reaching the reader").atMost(Duration.ofSeconds(30))
        .until(() -> read.stream().anyMatch(l -> l.getLine().equals("node-a's second line")));
    assertThat(closed).as("the follow goes on").isNotDone();
    assertThat(read.stream().filter(l -> l.getNodeName().equals("node-a")).map(LogLine::getLine))
        .containsExactly("node-a's first line", "node-a's second line");
    assertThat(read.stream().filter(l -> l.getNodeName().equals("node-b")).reduce((x, y) -> y).orElseThrow().getLine())
        .contains("node-b's log came faster than the reader took it").contains("its stream stopped");
    a.heartbeat(); // a round trip: whatever the coordinator sent node-a before its answer is in
    await().atMost(Duration.ofSeconds(10)).until(() -> a.received.stream().anyMatch(CoordinatorMessage::hasHeartbeatAck));
    assertThat(a.received).as("node-a's stream was not stopped").noneMatch(CoordinatorMessage::hasLogCancel);
    call.cancel("done", null);
  }

  /**
   * Root on a node answers a log read (kubectl logs, the dashboard's tail) with empty lines, as
   * many as it can send: the read's bound counted characters, so they cost nothing against it and
   * a few reads at once filled the coordinator's heap. Each line now counts what it holds there.
   */
  @Test
  void aNodeAnsweringALogReadWithEndlessEmptyLinesIsCutAtTheReadsBound() throws Exception {
    admin().apply(ApplyRequest.newBuilder().setManifests(Fixtures.BASE).build());
    FakeAgent agent = liveNode(join("node-a", token()));
    agent.answerLogs = false;
    CompletableFuture<List<String>> read = CompletableFuture.supplyAsync(() -> {
      try {
        return server.logRelay().read(server.fleet(), LogsRequest.newBuilder().setNamespace("ops").setDaemonSet("agent").build(),
            Duration.ofSeconds(30));
      } catch (InterruptedException e) {
        throw new IllegalStateException(e);
      }
    });
    String id = logRequestId(agent);
    List<String> empty = Collections.nCopies(10_000, "");
    for (int i = 0; i < 20 && !read.isDone(); i++) { // 200,000 lines, without an end of file
      agent.logChunk(id, empty);
    }
    List<String> lines = read.get(30, TimeUnit.SECONDS);
    assertThat(lines.size()).as("4 MiB of lines as the heap holds them: about 43,700 empty ones").isBetween(40_000, 48_000);
    assertThat(lines.get(lines.size() - 1)).contains("the log goes on beyond 4 MiB");
    await("the read ended at its bound, not at its time limit: the agent is told to stop").atMost(Duration.ofSeconds(10))
        .until(() -> agent.received.stream().anyMatch(CoordinatorMessage::hasLogCancel));
  }

  @Test
  void anUndecodableRequestIsInvalidArgument() throws Exception {
    MethodDescriptor.Marshaller<byte[]> raw = new MethodDescriptor.Marshaller<>() {
      @Override
      public InputStream stream(byte[] value) {
        return new ByteArrayInputStream(value);
      }

      @Override
      public byte[] parse(InputStream stream) {
        return new byte[0];
      }
    };
    byte[] garbage = "\u00ff\u00ff\u00ff\u00ff not a protobuf message".getBytes(StandardCharsets.ISO_8859_1);
    for (var method : List.of(ControlServiceGrpc.getApplyMethod(), AgentServiceGrpc.getJoinMethod())) {
      MethodDescriptor<byte[], byte[]> m = MethodDescriptor.<byte[], byte[]>newBuilder().setType(MethodDescriptor.MethodType.UNARY)
          .setFullMethodName(method.getFullMethodName()).setRequestMarshaller(raw).setResponseMarshaller(raw).build();
      ManagedChannel ch = method == AgentServiceGrpc.getJoinMethod()
          ? channel(io.dsfleet.common.tls.Tls.pinned(server.authority().pki().caHash())) : credentialFile("admin.pem");
      long t0 = System.nanoTime();
      var e = catchThrowableOfType(StatusRuntimeException.class, () -> io.grpc.stub.ClientCalls.blockingUnaryCall(ch, m,
          CallOptions.DEFAULT.withDeadlineAfter(30, TimeUnit.SECONDS), garbage));
      Duration took = Duration.ofNanos(System.nanoTime() - t0);
      System.out.printf("%s of garbage refused in %d ms (a new connection, TLS, one call)%n", method.getFullMethodName(), took.toMillis());
      assertThat(e.getStatus().getCode()).as(method.getFullMethodName()).isEqualTo(Status.Code.INVALID_ARGUMENT);
      assertThat(e.getStatus().getDescription()).contains("does not decode");
      // answered, not left to the deadline (30 s): a handshake and a call take tens of ms idle, up to 0.75 s on CI's loaded
      // cores (ConnectionFloodTest's fresh dsctl connections), so 10 s is a loaded machine's, not a hang's
      assertThat(took).isLessThan(Duration.ofSeconds(10));
    }
    assertThat(server.fleet().nodes()).isEmpty();
  }

  /**
   * Only the coordinator's serving certificate serves: a stolen node certificate (issued by the
   * fleet's CA, for clients, without the coordinator's name) and a certificate naming the
   * coordinator from another CA are both refused by a client with the fleet's credentials, which
   * the real coordinator answers.
   */
  @Test
  void noCertificateButTheServingOneCanPoseAsTheCoordinator() throws Exception {
    NodeCert stolen = join("node-a", token());
    java.security.KeyPair otherCaKeys = Pki.newKeyPair();
    java.security.cert.X509Certificate otherCa = CertificateAuthority.newCa(otherCaKeys, "other-ca", Duration.ofDays(1));
    java.security.KeyPair forgedKeys = Pki.newKeyPair();
    java.security.cert.X509Certificate forged = CertificateAuthority.issue(otherCa, otherCaKeys.getPrivate(), forgedKeys.getPublic(),
        new Pki.Subject(Pki.SERVER_NAME, "dsfleet"), Pki.Purpose.SERVER, List.of(Pki.SERVER_NAME, "127.0.0.1"), Duration.ofHours(1));
    ControlServiceGrpc.ControlServiceImplBase impostor = new ControlServiceGrpc.ControlServiceImplBase() {
      @Override
      public void version(VersionRequest request, StreamObserver<VersionResponse> out) {
        out.onNext(VersionResponse.newBuilder().setVersion("impostor").build());
        out.onCompleted();
      }
    };
    assertThat(control(credentialFile("admin.pem")).version(VersionRequest.getDefaultInstance()).getVersion())
        .as("the real coordinator answers these credentials").isNotEqualTo("impostor");
    var ca = server.authority().pki().ca();
    for (var pose : List.of(Map.entry("a node's certificate", new Object[] {stolen.cert(), stolen.keys().getPrivate(), ca}),
        Map.entry("another CA's certificate for the coordinator's name", new Object[] {forged, forgedKeys.getPrivate(), otherCa}))) {
      Object[] k = pose.getValue();
      io.grpc.Server fake = io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder.forAddress(new java.net.InetSocketAddress("127.0.0.1", 0),
          Tls.server((java.security.cert.X509Certificate) k[0], (java.security.PrivateKey) k[1], (java.security.cert.X509Certificate) k[2]))
          .addService(impostor).build().start();
      try {
        ManagedChannel ch = io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder.forAddress("127.0.0.1", fake.getPort(),
            Tls.client(java.nio.file.Files.readString(pki().resolve("admin.pem")))).overrideAuthority(Pki.SERVER_NAME).build();
        channels.add(ch);
        var e = catchThrowableOfType(StatusRuntimeException.class,
            () -> ControlServiceGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS).version(VersionRequest.getDefaultInstance()));
        assertThat(e).as(pose.getKey() + " refused").isNotNull();
        assertThat(e.getStatus().getCode()).as(pose.getKey()).isEqualTo(Status.Code.UNAVAILABLE);
      } finally {
        fake.shutdownNow();
      }
    }
  }
}
