package io.dsfleet.agent.session;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.dsfleet.agent.hostfs.Mounts;
import io.dsfleet.agent.reconcile.Backoff;
import io.dsfleet.agent.reconcile.Reconciler;
import io.dsfleet.agent.reconcile.ReconcilerThreads;
import io.dsfleet.agent.runtime.FakeRuntime;
import io.dsfleet.agent.state.LocalState;
import io.dsfleet.common.testing.FreePorts;
import io.dsfleet.common.tls.Pki;
import io.dsfleet.proto.v1.AgentMessage;
import io.dsfleet.proto.v1.AgentServiceGrpc;
import io.dsfleet.proto.v1.CoordinatorMessage;
import io.dsfleet.proto.v1.JoinRequest;
import io.dsfleet.proto.v1.JoinResponse;
import io.dsfleet.proto.v1.NodeInfo;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A coordinator that refuses the node's valid certificate for a while (restored from a backup
 * older than the node's last renewal, or started by mistake on another data directory with the
 * fleet's CA: a certificate it has no record of counts as revoked) and refuses the join token too
 * (the node is a member there, or the token unknown): the agent keeps its certificate, and once the
 * right store serves again its session opens on that certificate, no admin's token needed. Until
 * 2026-12-06 the first refusal deleted {@code pki/node.pem}, and every agent of the fleet with a
 * join token was locked out for good once the right store was back (its token refused: the node a
 * member), each needing a token made for its name.
 */
class RefusedCertificateKeptTest {
  @TempDir Path dir;

  /** A coordinator whose store knows the node's certificate: every join and session taken. */
  static AgentServiceGrpc.AgentServiceImplBase rightStore() {
    return new AgentServiceGrpc.AgentServiceImplBase() {
      @Override
      public void join(JoinRequest req, StreamObserver<JoinResponse> out) {
        if (!req.getJoinToken().isEmpty()) {
          out.onError(Status.ALREADY_EXISTS.withDescription("node n1 is a member already").asRuntimeException());
          return;
        }
        out.onNext(JoinResponse.newBuilder().setNodeName(req.getNode().getName()).setHeartbeatIntervalMillis(200).build());
        out.onCompleted();
      }

      @Override
      public StreamObserver<AgentMessage> session(StreamObserver<CoordinatorMessage> response) {
        return TlsStandIn.session(response, m -> { });
      }
    };
  }

  /** A store without the certificate's record (revoked, to it) where the node is a member: the token does not admit it either. */
  static AgentServiceGrpc.AgentServiceImplBase olderStore(AtomicInteger tokenJoins) {
    return new AgentServiceGrpc.AgentServiceImplBase() {
      @Override
      public void join(JoinRequest req, StreamObserver<JoinResponse> out) {
        if (req.getJoinToken().isEmpty()) {
          out.onError(Status.UNAUTHENTICATED.withDescription("the certificate of node n1 was revoked").asRuntimeException());
        } else {
          tokenJoins.incrementAndGet();
          out.onError(Status.ALREADY_EXISTS.withDescription("node n1 is a member already: dsctl token create --node n1").asRuntimeException());
        }
      }

      @Override
      public StreamObserver<AgentMessage> session(StreamObserver<CoordinatorMessage> response) {
        response.onError(Status.UNAUTHENTICATED.withDescription("the certificate of node n1 was revoked").asRuntimeException());
        return new StreamObserver<>() {
          @Override
          public void onNext(AgentMessage m) {}

          @Override
          public void onError(Throwable t) {}

          @Override
          public void onCompleted() {}
        };
      }
    };
  }

  @Test
  void aCertificateRefusedWhileAWrongStoreServedIsUsedAgainOnceTheRightOneIsBack() throws Exception {
    Path state = dir.resolve("state");
    X509Certificate nodeCert = TlsStandIn.writeNodeCredentials(state, "n1", Duration.ofDays(1));
    String serial = Pki.serialHex(nodeCert);
    String token = io.dsfleet.common.tls.JoinToken.create(Pki.fingerprint(TlsStandIn.CA)).text();
    NodeCredentials credentials = NodeCredentials.tls(state, "n1", token, Clock.systemUTC());
    int port = FreePorts.pick();
    ScheduledExecutorService scheduler = Executors.newScheduledThreadPool(4);
    List<String> before = new CopyOnWriteArrayList<>();
    List<String> after = new CopyOnWriteArrayList<>();
    AtomicInteger tokenJoins = new AtomicInteger();
    Server server = TlsStandIn.start(port, rightStore(), before, true);
    CoordinatorSession session = null;
    try {
      FakeRuntime runtime = new FakeRuntime(Clock.systemUTC());
      Reconciler reconciler = new Reconciler("n1", "127.0.0.1", runtime, new Mounts(), Clock.systemUTC(), Backoff.KUBERNETES, Reconciler.RELIST,
          state, "test", ReconcilerThreads.standard(), report -> { });
      session = new CoordinatorSession(List.of("127.0.0.1:" + port), credentials, NodeInfo.newBuilder().setName("n1").build(),
          reconciler, runtime, new LocalState(state), scheduler, Clock.systemUTC(), new Random(1), Duration.ofMillis(200), () -> { });
      session.start();
      await().atMost(Duration.ofSeconds(30)).until(() -> before.contains(serial));

      server.shutdownNow(); // the older store (or another data directory) serves in its place ...
      assertThat(server.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
      server = TlsStandIn.start(port, olderStore(tokenJoins), new CopyOnWriteArrayList<>(), true);
      // ... refusing the certificate, then the token: two token joins show both were tried and refused
      await().atMost(Duration.ofSeconds(60)).until(() -> tokenJoins.get() >= 2);
      assertThat(state.resolve("pki").resolve(NodeCredentials.BUNDLE)).exists();

      server.shutdownNow(); // the right store back (the restore undone)
      assertThat(server.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
      server = TlsStandIn.start(port, rightStore(), after, true);
      await().atMost(Duration.ofSeconds(30)).until(() -> after.contains(serial));
      assertThat(Files.readString(state.resolve("pki").resolve(NodeCredentials.BUNDLE))).contains(Pki.pem(nodeCert).strip());
    } finally {
      if (session != null) {
        session.close();
      }
      scheduler.shutdownNow();
      assertThat(scheduler.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
      server.shutdownNow();
      assertThat(server.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
    }
  }
}
