package io.dsfleet.coordinator.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;

import io.dsfleet.common.manifest.Fixtures;
import io.dsfleet.common.testing.FakeClock;
import io.dsfleet.common.tls.JoinToken;
import io.dsfleet.common.tls.CertificateAuthority;
import io.dsfleet.common.tls.Pki;
import io.dsfleet.common.tls.Tls;
import io.dsfleet.coordinator.CoordinatorServer;
import io.dsfleet.coordinator.grpc.CoordinatorFixture;
import io.dsfleet.coordinator.grpc.FakeAgent;
import io.dsfleet.proto.v1.*;
import io.grpc.ChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Credentials and authorization over real TLS on a loopback port: join tokens (wrong, expired,
 * revoked, another fleet's, a fake coordinator), node certificates that speak only for their own
 * node, dsctl credentials (none, read-only, admin), revocation of a removed node, rotation, and a
 * coordinator that keeps serving while a client sends garbage and oversized messages.
 */
class SecurityTest extends TlsFleetTest {
  @Test
  void aJoinTokenGetsTheNodeACertificateForItsOwnNameAndKey() throws Exception {
    NodeCert a = join("node-a", token());
    assertThat(CertificateAuthority.subject(a.cert())).isEqualTo(new Pki.Subject("node-a", Pki.NODES));
    assertThat(a.cert().getPublicKey()).isEqualTo(a.keys().getPublic());
    assertThat(server.fleet().nodes()).extracting(n -> n.name()).containsExactly("node-a");
    FakeAgent agent = new FakeAgent(as(a), "node-a").open();
    agents.add(agent);
    await().atMost(Duration.ofSeconds(10)).until(() -> server.fleet().connected("node-a"));
    assertThat(agent.sessionError).isNull();
  }

  @Test
  void wrongExpiredRevokedMalformedAndOtherFleetsTokensAreRefused() throws Exception {
    JoinToken good = JoinToken.parse(token());
    String wrongSecret = new JoinToken(good.caHash(), good.id(), "0".repeat(32)).text();
    assertThat(refusedJoin("n1", wrongSecret).getStatus().getDescription()).contains("is not valid");

    String expiring = server.authority().createToken(Duration.ofMinutes(5), "short").text();
    clock.advance(Duration.ofMinutes(6));
    assertThat(refusedJoin("n2", expiring).getStatus().getDescription()).contains("expired");

    String revoked = token();
    server.authority().revokeToken(JoinToken.parse(revoked).id());
    assertThat(refusedJoin("n3", revoked).getStatus().getDescription()).contains("was revoked");

    assertThat(refusedJoin("n4", "dsf1.nonsense").getStatus().getDescription()).contains("dsf1.<ca-sha256>.<id>.<secret>");

    String otherFleet = new JoinToken("a".repeat(64), good.id(), good.secret()).text();
    assertThat(refusedJoin("n5", otherFleet).getStatus().getDescription()).contains("another fleet");

    for (var e : List.of(refusedJoin("n6", wrongSecret), refusedJoin("n7", revoked), refusedJoin("n8", expiring))) {
      assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
    }
    assertThat(server.fleet().nodes()).as("nothing joined").isEmpty();
  }

  @Test
  void aCoordinatorWithAnotherCaIsRefusedInTheHandshakeBeforeTheTokenIsSent() throws Exception {
    String token = token();
    try (CoordinatorServer impostor = new CoordinatorServer(CoordinatorFixture.options(dir.resolve("impostor"), false), clock, clock::nanos, false).start()) {
      ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", impostor.port(), Tls.pinned(JoinToken.parse(token).caHash()))
          .overrideAuthority(Pki.SERVER_NAME).build();
      channels.add(ch);
      var e = catchThrowableOfType(StatusRuntimeException.class, () -> agentStub(ch).join(JoinRequest.newBuilder()
          .setNode(FakeAgent.info("n1", Map.of())).setJoinToken(token).setCsrPem(Pki.csr(Pki.newKeyPair(), "n1", Pki.NODES)).build()));
      // the TLS handshake failed, so no request (and no token) ever left the client
      assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
      Throwable root = e;
      while (root.getCause() != null) {
        root = root.getCause();
      }
      assertThat(root).hasMessageContaining("not the one the join token pins");
      assertThat(impostor.fleet().nodes()).isEmpty();
    }
  }

  @Test
  void aNodeCertificateSpeaksOnlyForItsOwnNode() throws Exception {
    NodeCert a = join("node-a", token());
    NodeCert b = join("node-b", token());
    control(credentialFile("admin.pem")).apply(ApplyRequest.newBuilder().setManifests(Fixtures.BASE).build());
    ManagedChannel asA = as(a);

    FakeAgent bByA = new FakeAgent(asA, "node-b").open();
    agents.add(bByA);
    await().atMost(Duration.ofSeconds(10)).until(() -> bByA.sessionError != null);
    assertThat(Status.fromThrowable(bByA.sessionError).getCode()).as("A opening B's session (to read B's pods, report B's status)")
        .isEqualTo(Status.Code.PERMISSION_DENIED);
    assertThat(catchThrowableOfType(StatusRuntimeException.class, () -> agentStub(asA).join(JoinRequest.newBuilder()
        .setNode(FakeAgent.info("node-b", Map.of())).build())).getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
    assertThat(catchThrowableOfType(StatusRuntimeException.class, () -> agentStub(asA).leave(LeaveRequest.newBuilder()
        .setNodeName("node-b").build())).getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
    assertThat(catchThrowableOfType(StatusRuntimeException.class, () -> agentStub(asA).renewCertificate(
        RenewCertificateRequest.newBuilder().setCsrPem(Pki.csr(Pki.newKeyPair(), "node-b", Pki.NODES)).build()))
        .getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
    assertThat(catchThrowableOfType(StatusRuntimeException.class, () -> control(asA).get(GetRequest.newBuilder()
        .setKind(ObjectKind.NODE).build())).getStatus().getCode()).as("a node never uses the control service")
        .isEqualTo(Status.Code.PERMISSION_DENIED);

    FakeAgent own = new FakeAgent(asA, "node-a").open();
    agents.add(own);
    own.report();
    DesiredState d = own.nextDesired(Duration.ofSeconds(10));
    assertThat(d.getPodsList()).extracting(DesiredPod::getPodName).containsExactly(
        io.dsfleet.coordinator.plan.Planner.podName("agent", "node-a"));
    assertThat(server.fleet().connected("node-b")).isFalse();
    assertThat(b.cert()).isNotNull();
  }

  @Test
  void theControlServiceNeedsACredentialAndAViewerOnlyReads() throws Exception {
    var anonymous = control(channel(Tls.pinned(server.authority().pki().caHash())));
    assertThat(catchThrowableOfType(StatusRuntimeException.class, () -> anonymous.get(GetRequest.newBuilder()
        .setKind(ObjectKind.NODE).build())).getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);

    ManagedChannel plain = NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
    channels.add(plain);
    assertThat(catchThrowableOfType(StatusRuntimeException.class, () -> control(plain).version(VersionRequest.getDefaultInstance()))
        .getStatus().getCode()).as("plaintext to a TLS coordinator").isEqualTo(Status.Code.UNAVAILABLE);

    var viewer = control(credentialFile("viewer.pem"));
    assertThat(viewer.get(GetRequest.newBuilder().setKind(ObjectKind.DAEMON_SET).build()).getDaemonSetsList()).isEmpty();
    for (Runnable write : List.<Runnable>of(
        () -> viewer.apply(ApplyRequest.newBuilder().setManifests(Fixtures.BASE).build()),
        () -> viewer.createJoinToken(CreateJoinTokenRequest.getDefaultInstance()),
        () -> viewer.removeNode(RemoveNodeRequest.newBuilder().setNodeName("x").build()),
        () -> viewer.get(GetRequest.newBuilder().setKind(ObjectKind.SECRET).setShowSecrets(true).build()))) {
      assertThat(catchThrowableOfType(StatusRuntimeException.class, write::run).getStatus().getCode())
          .isEqualTo(Status.Code.PERMISSION_DENIED);
    }
    var admin = control(credentialFile("admin.pem"));
    admin.apply(ApplyRequest.newBuilder().setManifests(Fixtures.BASE).build());
    assertThat(viewer.get(GetRequest.newBuilder().setKind(ObjectKind.DAEMON_SET).setAllNamespaces(true).build())
        .getDaemonSetsList()).hasSize(1);
  }

  @Test
  void aRemovedNodesCertificateIsRefusedEvenAfterARestart() throws Exception {
    NodeCert a = join("node-a", token());
    FakeAgent connected = new FakeAgent(as(a), "node-a").open();
    agents.add(connected);
    await().atMost(Duration.ofSeconds(10)).until(() -> server.fleet().connected("node-a"));
    control(credentialFile("admin.pem")).removeNode(RemoveNodeRequest.newBuilder().setNodeName("node-a").build());
    // the session carries the removal before the revocation ends it: the agent removes its pods
    // and stops, instead of taking the revocation for a lost certificate and joining again
    await().atMost(Duration.ofSeconds(10)).until(() -> connected.received.stream().anyMatch(CoordinatorMessage::hasRemoved));
    var e = catchThrowableOfType(StatusRuntimeException.class, () -> agentStub(as(a)).join(JoinRequest.newBuilder()
        .setNode(FakeAgent.info("node-a", Map.of())).build()));
    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
    assertThat(e.getStatus().getDescription()).contains("revoked");

    server.close();
    server = new CoordinatorServer(CoordinatorFixture.options(dir.resolve("data"), false), clock, clock::nanos, false).start();
    FakeAgent again = new FakeAgent(as(a), "node-a").open();
    agents.add(again);
    await().atMost(Duration.ofSeconds(10)).until(() -> again.sessionError != null);
    assertThat(Status.fromThrowable(again.sessionError).getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
  }

  @Test
  void aRenewedCertificateIsAcceptedAndTheNodeKeepsItsPods() throws Exception {
    NodeCert a = join("node-a", token());
    control(credentialFile("admin.pem")).apply(ApplyRequest.newBuilder().setManifests(Fixtures.BASE).build());
    FakeAgent before = new FakeAgent(as(a), "node-a").open();
    agents.add(before);
    before.report();
    DesiredState first = before.nextDesired(Duration.ofSeconds(10));
    before.reportAllReady(first, clock.millis());

    KeyPair next = Pki.newKeyPair();
    X509Certificate renewed = Pki.certificate(agentStub(as(a)).renewCertificate(RenewCertificateRequest.newBuilder()
        .setCsrPem(Pki.csr(next, "node-a", Pki.NODES)).build()).getCertificatePem());
    assertThat(renewed.getSerialNumber()).isNotEqualTo(a.cert().getSerialNumber());
    assertThat(renewed.getPublicKey()).isEqualTo(next.getPublic());

    before.close();
    FakeAgent after = new FakeAgent(as(new NodeCert(next, renewed)), "node-a").open();
    agents.add(after);
    after.reportAllReady(first, clock.millis());
    DesiredState again = after.nextDesired(Duration.ofSeconds(10));
    assertThat(after.sessionError).isNull();
    assertThat(again.getPodsList()).as("same pods, same templates: the agent restarts nothing")
        .extracting(p -> p.getPodName() + "@" + p.getTemplateHash())
        .isEqualTo(first.getPodsList().stream().map(p -> p.getPodName() + "@" + p.getTemplateHash()).toList());
  }

  /**
   * A node collected after being NotReady for nodeGcAfter keeps its certificates (only a removal or a
   * leave revokes them), which admit it nowhere: a copy of one (a decommissioned disk, a backup)
   * renewed them, a month at a time, for good.
   */
  @Test
  void aNodeNoLongerAMemberGetsNoRenewedCertificate() throws Exception {
    NodeCert a = join("node-a", token());
    for (Duration d : List.of(Duration.ofMinutes(1), Duration.ofMinutes(11))) {
      clock.advance(d);
      server.fleet().tick();
    }
    assertThat(server.fleet().nodes()).as("collected: NotReady for nodeGcAfter").isEmpty();
    var renewal = catchThrowableOfType(StatusRuntimeException.class, () -> agentStub(as(a)).renewCertificate(
        RenewCertificateRequest.newBuilder().setCsrPem(Pki.csr(Pki.newKeyPair(), "node-a", Pki.NODES)).build()));
    assertThat(renewal).as("no certificate signed for a name that is no member").isNotNull();
    assertThat(renewal.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
    assertThat(renewal.getStatus().getDescription()).contains("node node-a is not a member", "join token");
  }

  @Test
  void theCoordinatorKeepsServingWhileAClientSendsGarbageAndOversizedMessages() throws Exception {
    NodeCert a = join("node-a", token());
    FakeAgent agent = new FakeAgent(as(a), "node-a").open();
    agents.add(agent);
    agent.report();
    ManagedChannel adminChannel = credentialFile("admin.pem");
    var admin = control(adminChannel);
    List<Thread> attackers = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      int seed = i;
      Thread t = new Thread(() -> garbage(seed), "attacker-" + i);
      t.start();
      attackers.add(t);
    }
    var big = catchThrowableOfType(StatusRuntimeException.class, () -> admin.apply(ApplyRequest.newBuilder()
        .setManifests("#" + "x".repeat(5 * 1024 * 1024)).build()));
    assertThat(big.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    var anonymousBig = catchThrowableOfType(StatusRuntimeException.class, () -> agentStub(channel(Tls.pinned(
        server.authority().pki().caHash()))).join(JoinRequest.newBuilder().setJoinToken("y".repeat(5 * 1024 * 1024)).build()));
    assertThat(anonymousBig.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    // meanwhile the node is served as usual
    for (int i = 0; i < 20; i++) {
      agent.heartbeat();
    }
    admin.apply(ApplyRequest.newBuilder().setManifests(Fixtures.BASE).build());
    await().atMost(Duration.ofSeconds(10)).until(() -> agent.drainDesired().stream().anyMatch(d -> d.getPodsCount() == 1));
    for (Thread t : attackers) {
      t.join(20_000);
    }
    agent.heartbeat();
    await().atMost(Duration.ofSeconds(30)).until(() -> agent.received.stream().anyMatch(CoordinatorMessage::hasHeartbeatAck));
    assertThat(agent.sessionError).isNull();
    assertThat(control(adminChannel).version(VersionRequest.getDefaultInstance()).getVersion()).isNotEmpty();
  }

  /** Random bytes, a truncated TLS hello, and plaintext HTTP/2 at the TLS port, over and over. */
  void garbage(int seed) {
    java.util.Random r = new java.util.Random(seed);
    for (int i = 0; i < 9; i++) {
      try (java.net.Socket s = new java.net.Socket("127.0.0.1", server.port())) {
        s.setSoTimeout(2000);
        byte[] junk = new byte[1 + r.nextInt(64 * 1024)];
        r.nextBytes(junk);
        if (i % 3 == 1) {
          junk[0] = 0x16; // a TLS handshake record header, then nonsense
          junk[1] = 0x03;
        } else if (i % 3 == 2) {
          junk = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        }
        s.getOutputStream().write(junk);
        s.getOutputStream().flush();
        s.getInputStream().read(new byte[1024]);
      } catch (java.io.IOException expected) {
        // the coordinator hangs up on garbage: that is the point
      }
    }
  }

  @Test
  void keysAndCredentialsAreOwnerOnly() throws Exception {
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("data")))).isEqualTo("rwx------");
    for (String f : List.of("ca.key", "ca.crt", "server.key", "server.crt", "admin.pem", "viewer.pem", "join-token")) {
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(pki().resolve(f)))).as(f).isEqualTo("rw-------");
    }
    String token = Files.readString(pki().resolve("join-token")).strip();
    assertThat(JoinToken.parse(token).caHash()).isEqualTo(server.authority().pki().caHash());
  }
}
