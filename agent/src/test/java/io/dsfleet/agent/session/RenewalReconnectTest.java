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
import io.dsfleet.proto.v1.RenewCertificateRequest;
import io.dsfleet.proto.v1.RenewCertificateResponse;
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
 * A renewed certificate is used at once: the agent ends its session to reconnect with it, and the
 * next session opens straight away, not after the reconnect back-off that short sessions before
 * built up (a node once stayed away 20 s after each renewal, seen in e2e's SecurityScenariosTest).
 * Against a TLS coordinator stand-in that renews certificates as the CA does.
 */
class RenewalReconnectTest {
  @TempDir Path dir;

  /** Serial of the client certificate of each session, in order; and when the renewal was answered. */
  final List<String> sessionSerials = new CopyOnWriteArrayList<>();
  final List<Long> sessionOpenedAt = new CopyOnWriteArrayList<>();
  volatile long renewedAt;
  volatile String renewedSerial;
  /** Desired sets the agent acknowledged: it acknowledges one once it has written it to its state directory. */
  final java.util.concurrent.atomic.AtomicInteger desiredAcks = new java.util.concurrent.atomic.AtomicInteger();

  /** The reconnects the session's back-off counted since it was last reset (the doublings of its wait). */
  static int backoffSteps(CoordinatorSession session) throws ReflectiveOperationException {
    java.lang.reflect.Field rounds = CoordinatorSession.class.getDeclaredField("rounds");
    rounds.setAccessible(true);
    java.lang.reflect.Field backOff = Rounds.class.getDeclaredField("backOff");
    backOff.setAccessible(true);
    java.lang.reflect.Field attempt = Reconnect.class.getDeclaredField("attempt");
    attempt.setAccessible(true);
    return attempt.getInt(backOff.get(rounds.get(session)));
  }

  Server coordinator(int port) throws Exception {
    AgentServiceGrpc.AgentServiceImplBase service = new AgentServiceGrpc.AgentServiceImplBase() {
      @Override
      public void join(JoinRequest req, StreamObserver<JoinResponse> out) {
        out.onNext(JoinResponse.newBuilder().setNodeName(req.getNode().getName()).setHeartbeatIntervalMillis(200).build());
        out.onCompleted();
      }

      @Override
      public void renewCertificate(RenewCertificateRequest req, StreamObserver<RenewCertificateResponse> out) {
        CertificateAuthority.Request csr = CertificateAuthority.parseCsr(req.getCsrPem());
        X509Certificate cert = TlsStandIn.issue(csr.key(), csr.subject(), Duration.ofHours(1));
        renewedSerial = Pki.serialHex(cert);
        out.onNext(RenewCertificateResponse.newBuilder().setCertificatePem(Pki.pem(cert)).build());
        out.onCompleted();
        renewedAt = System.nanoTime();
      }

      @Override
      public StreamObserver<AgentMessage> session(StreamObserver<CoordinatorMessage> response) {
        return TlsStandIn.session(response, m -> {
          if (m.hasOpen()) {
            sessionOpenedAt.add(System.nanoTime());
          } else if (m.hasAck()) {
            desiredAcks.incrementAndGet();
          }
        });
      }
    };
    return TlsStandIn.start(port, service, sessionSerials, false);
  }

  @Test
  void aRenewedCertificateIsUsedByTheNextSessionAtOnceWhateverTheBackOff() throws Exception {
    // the node's certificate, made for 60 s, and the agent's clock 45 s on: due for renewal from
    // the start (less than a third of its life left), still valid through the back-off below
    X509Certificate nodeCert = TlsStandIn.writeNodeCredentials(dir.resolve("state"), "n1", Duration.ofSeconds(60));
    Clock clock = Clock.offset(Clock.systemUTC(), Duration.ofSeconds(45));
    NodeCredentials credentials = NodeCredentials.tls(dir.resolve("state"), "n1", null, clock);
    assertThat(credentials.dueForRenewal(clock.instant())).isTrue();

    int port = FreePorts.pick();
    ScheduledExecutorService scheduler = Executors.newScheduledThreadPool(4);
    Server server = null;
    try {
      FakeRuntime runtime = new FakeRuntime(clock);
      Reconciler reconciler = new Reconciler("n1", "127.0.0.1", runtime, new Mounts(), clock, Backoff.KUBERNETES, Reconciler.RELIST,
          dir.resolve("state"), "test", ReconcilerThreads.standard(), report -> { });
      CoordinatorSession session = new CoordinatorSession(List.of("127.0.0.1:" + port), credentials, NodeInfo.newBuilder().setName("n1").build(),
          reconciler, runtime, new LocalState(dir.resolve("state")), scheduler, clock, new Random(1), Duration.ofMillis(200), () -> { });
      // nobody listens yet: the agent's reconnect back-off grows (0.5, 1, 2, 4 s, ...)
      session.start();
      await().atMost(Duration.ofSeconds(60)).until(() -> backoffSteps(session) >= 4); // its next wait 4 to 8 s
      server = coordinator(port);
      // the second session's desired set written too: nothing of it is still on its way to the state directory at the end
      await().atMost(Duration.ofSeconds(30)).until(() -> renewedAt != 0 && sessionOpenedAt.size() >= 2 && desiredAcks.get() >= 2);
      long reopenedAfter = TimeUnit.NANOSECONDS.toMillis(sessionOpenedAt.get(1) - renewedAt);
      System.out.printf("renewed, and the next session opened %d ms later (serials %s, renewed %s)%n", reopenedAfter, sessionSerials,
          renewedSerial);
      assertThat(sessionSerials.get(0)).isEqualTo(Pki.serialHex(nodeCert));
      assertThat(sessionSerials.get(1)).as("the next session shows the renewed certificate").isEqualTo(renewedSerial);
      // at once: 65 ms idle, up to 417 ms on CI's loaded cores (ci-46 to ci-74), a TLS handshake and a session's opening;
      // under the 4 s the back-off waits at the least
      assertThat(reopenedAfter).as("the next session opened at once (the back-off had grown to 4 s and more)").isLessThan(3500);
      session.close();
    } finally {
      // nothing of the agent may still write its state directory when JUnit removes it: the
      // scheduler's tasks and the coordinator's last messages (a desired set, written to disk) end first
      scheduler.shutdownNow();
      assertThat(scheduler.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
      if (server != null) {
        server.shutdownNow();
        assertThat(server.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
      }
    }
  }
}
