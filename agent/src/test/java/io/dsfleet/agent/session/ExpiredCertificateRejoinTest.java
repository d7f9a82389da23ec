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
import io.dsfleet.common.tls.CertificateAuthority;
import io.dsfleet.common.tls.Pki;
import io.dsfleet.proto.v1.AgentMessage;
import io.dsfleet.proto.v1.AgentServiceGrpc;
import io.dsfleet.proto.v1.CoordinatorMessage;
import io.dsfleet.proto.v1.JoinRequest;
import io.dsfleet.proto.v1.JoinResponse;
import io.dsfleet.proto.v1.NodeInfo;
import io.grpc.Server;
import io.grpc.stub.StreamObserver;
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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The node's certificate expired while no coordinator answered (an outage longer than its life):
 * an agent with a join token joins with it when the coordinator is back, and runs its session on
 * the certificate that join gives it. It had kept opening sessions without a certificate, refused
 * every time, and never joined until it was restarted (helper-82).
 */
class ExpiredCertificateRejoinTest {
  @TempDir Path dir;

  final List<String> sessionSerials = new CopyOnWriteArrayList<>();
  final java.util.concurrent.atomic.AtomicInteger tokenJoins = new java.util.concurrent.atomic.AtomicInteger();

  Server coordinator(int port) throws Exception {
    AgentServiceGrpc.AgentServiceImplBase service = new AgentServiceGrpc.AgentServiceImplBase() {
      @Override
      public void join(JoinRequest req, StreamObserver<JoinResponse> out) {
        JoinResponse.Builder r = JoinResponse.newBuilder().setNodeName(req.getNode().getName()).setHeartbeatIntervalMillis(200);
        if (!req.getJoinToken().isEmpty()) { // admitted by its token (the node was collected meanwhile, or an admin made it one)
          tokenJoins.incrementAndGet();
          CertificateAuthority.Request csr = CertificateAuthority.parseCsr(req.getCsrPem());
          r.setCertificatePem(Pki.pem(TlsStandIn.issue(csr.key(), csr.subject(), Duration.ofDays(1)))).setCaPem(Pki.pem(TlsStandIn.CA));
        }
        out.onNext(r.build());
        out.onCompleted();
      }

      @Override
      public StreamObserver<AgentMessage> session(StreamObserver<CoordinatorMessage> response) {
        return TlsStandIn.session(response, m -> { });
      }
    };
    return TlsStandIn.start(port, service, sessionSerials, true);
  }

  @Test
  void aCertificateThatExpiredDuringAnOutageIsReplacedThroughTheJoinToken() throws Exception {
    X509Certificate nodeCert = TlsStandIn.writeNodeCredentials(dir.resolve("state"), "n1", Duration.ofHours(1));
    io.dsfleet.common.testing.FakeClock clock = new io.dsfleet.common.testing.FakeClock(java.time.Instant.now());
    String token = io.dsfleet.common.tls.JoinToken.create(Pki.fingerprint(TlsStandIn.CA)).text();
    NodeCredentials credentials = NodeCredentials.tls(dir.resolve("state"), "n1", token, clock);

    int port = FreePorts.pick();
    ScheduledExecutorService scheduler = Executors.newScheduledThreadPool(4);
    Server server = coordinator(port);
    try {
      FakeRuntime runtime = new FakeRuntime(Clock.systemUTC());
      Reconciler reconciler = new Reconciler("n1", "127.0.0.1", runtime, new Mounts(), Clock.systemUTC(), Backoff.KUBERNETES, Reconciler.RELIST,
          dir.resolve("state"), "test", ReconcilerThreads.standard(), report -> { });
      CoordinatorSession session = new CoordinatorSession(List.of("127.0.0.1:" + port), credentials, NodeInfo.newBuilder().setName("n1").build(),
          reconciler, runtime, new LocalState(dir.resolve("state")), scheduler, clock, new Random(1), Duration.ofMillis(200), () -> { });
      session.start();
      await().atMost(Duration.ofSeconds(30)).until(() -> sessionSerials.contains(Pki.serialHex(nodeCert)));

      server.shutdownNow(); // the coordinator away ...
      assertThat(server.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
      clock.stepWall(Duration.ofHours(2)); // ... for longer than the certificate's life
      // the agent has tried meanwhile and failed: its back-off counted the session's end and a later attempt
      int steps = RenewalReconnectTest.backoffSteps(session);
      await().atMost(Duration.ofSeconds(30)).until(() -> RenewalReconnectTest.backoffSteps(session) > Math.max(steps, 1));
      server = coordinator(port);
      await().atMost(Duration.ofSeconds(30)).until(() -> tokenJoins.get() > 0 && sessionSerials.stream()
          .anyMatch(s -> !s.equals("none") && !s.equals(Pki.serialHex(nodeCert))));
      assertThat(credentials.hasCertificate()).isTrue();
      session.close();
    } finally {
      scheduler.shutdownNow();
      assertThat(scheduler.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
      server.shutdownNow();
      assertThat(server.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
    }
  }
}
