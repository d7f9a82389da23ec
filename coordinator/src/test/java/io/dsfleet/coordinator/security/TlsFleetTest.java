package io.dsfleet.coordinator.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;

import io.dsfleet.common.manifest.Fixtures;
import io.dsfleet.common.testing.FakeClock;
import io.dsfleet.common.tls.JoinToken;
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

/** A coordinator on a loopback port with its real TLS, and clients as agents, dsctl and attackers make them. */
abstract class TlsFleetTest {
  @TempDir Path dir;
  final FakeClock clock = new FakeClock();
  CoordinatorServer server;
  final List<ManagedChannel> channels = new ArrayList<>();
  final List<FakeAgent> agents = new ArrayList<>();

  @BeforeEach
  void start() throws Exception {
    server = new CoordinatorServer(options(), clock, clock::nanos, false).start();
  }

  io.dsfleet.coordinator.CoordinatorOptions options() {
    return CoordinatorFixture.options(dir.resolve("data"), false);
  }

  /** The coordinator stops (its connections with it) and starts again on the same data directory. */
  void restart() throws Exception {
    server.close();
    start();
  }

  @AfterEach
  void stop() {
    agents.forEach(FakeAgent::close);
    channels.forEach(ManagedChannel::shutdownNow);
    server.close();
  }

  Path pki() {
    return dir.resolve("data/pki");
  }

  ManagedChannel channel(ChannelCredentials creds) {
    ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", server.port(), creds).overrideAuthority(Pki.SERVER_NAME).build();
    channels.add(ch);
    return ch;
  }

  ManagedChannel credentialFile(String file) throws Exception {
    return channel(Tls.client(Files.readString(pki().resolve(file))));
  }

  ControlServiceGrpc.ControlServiceBlockingStub control(ManagedChannel ch) {
    return ControlServiceGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS);
  }

  AgentServiceGrpc.AgentServiceBlockingStub agentStub(ManagedChannel ch) {
    return AgentServiceGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS);
  }

  String token() {
    return server.authority().createToken(Duration.ofHours(1), "test").text();
  }

  /** A node's key and certificate, got as an agent gets them: pinned TLS, join token, certificate request. */
  record NodeCert(KeyPair keys, X509Certificate cert) {}

  NodeCert join(String node, String token) throws Exception {
    return join(FakeAgent.info(node, Map.of()), token);
  }

  /** The secret a node's agent keeps for Leave; its hash goes with the join. */
  static String leaveSecret(String node) {
    return "leave-secret-of-" + node;
  }

  static String sha256(String s) throws Exception {
    return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
        .digest(s.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
  }

  NodeCert join(NodeInfo info, String token) throws Exception {
    return join(info, token, JoinRequest.newBuilder().setLeaveSecretSha256(sha256(leaveSecret(info.getName()))));
  }

  /** A join by token as the agent sends it: with the leave secret itself, which proves a lost join was this agent's. */
  NodeCert joinProving(String node, String token, String leaveSecret) throws Exception {
    return join(FakeAgent.info(node, Map.of()), token, JoinRequest.newBuilder().setLeaveSecret(leaveSecret)
        .setLeaveSecretSha256(sha256(leaveSecret)));
  }

  private NodeCert join(NodeInfo info, String token, JoinRequest.Builder request) throws Exception {
    String node = info.getName();
    KeyPair keys = Pki.newKeyPair();
    JoinResponse r = agentStub(channel(Tls.pinned(server.authority().pki().caHash()))).join(request
        .setNode(info).setJoinToken(token).setCsrPem(Pki.csr(keys, node, Pki.NODES)).build());
    assertThat(Pki.fingerprint(Pki.certificate(r.getCaPem()))).isEqualTo(server.authority().pki().caHash());
    return new NodeCert(keys, Pki.certificate(r.getCertificatePem()));
  }

  ManagedChannel as(NodeCert n) {
    return channel(Tls.client(server.authority().pki().ca(), n.cert(), n.keys().getPrivate()));
  }

  StatusRuntimeException refusedJoin(String node, String token) {
    return catchThrowableOfType(StatusRuntimeException.class, () -> join(node, token));
  }

  /** TLS as an attacker without a credential makes it: trusting the fleet CA, no client certificate. */
  javax.net.ssl.SSLContext attackerTls() throws Exception {
    java.security.KeyStore trust = java.security.KeyStore.getInstance(java.security.KeyStore.getDefaultType());
    trust.load(null, null);
    trust.setCertificateEntry("ca", server.authority().pki().ca());
    javax.net.ssl.TrustManagerFactory tmf = javax.net.ssl.TrustManagerFactory.getInstance(javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    javax.net.ssl.SSLContext c = javax.net.ssl.SSLContext.getInstance("TLS");
    c.init(null, tmf.getTrustManagers(), null);
    return c;
  }
}
