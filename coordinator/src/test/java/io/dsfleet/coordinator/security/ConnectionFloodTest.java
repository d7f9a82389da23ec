package io.dsfleet.coordinator.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.dsfleet.common.tls.Pki;
import io.dsfleet.coordinator.ConnectionLimits;
import io.dsfleet.coordinator.CoordinatorOptions;
import io.dsfleet.coordinator.grpc.FakeAgent;
import io.dsfleet.proto.v1.CoordinatorMessage;
import io.dsfleet.proto.v1.GetRequest;
import io.dsfleet.proto.v1.ObjectKind;
import io.grpc.ManagedChannel;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;

/**
 * Denial of service without a credential: 20,000 connections from one address that complete TLS
 * and the HTTP/2 preface and then idle, while an agent heartbeats and dsctl makes fresh
 * connections from another address. The attacker comes from 127.0.0.2 (all of 127/8 is loopback
 * on Linux), the fleet from 127.0.0.1: the per-address cap is what keeps the attacker from the
 * descriptors the fleet needs, the idle timeout what frees the ones it holds.
 */
class ConnectionFloodTest extends TlsFleetTest {
  static final int ATTEMPTS = 20_000;
  static final Duration IDLE = Duration.ofSeconds(3);

  @Override
  CoordinatorOptions options() {
    CoordinatorOptions o = super.options();
    ConnectionLimits.Settings d = ConnectionLimits.Settings.defaults();
    return new CoordinatorOptions(o.host(), o.port(), o.dataDir(), o.fleet(), o.tickInterval(), o.maxMessageBytes(), o.insecure(),
        o.tlsNames(), o.nodeCertTtl(), new ConnectionLimits.Settings(d.total(), 512, IDLE));
  }

  @Test
  void twentyThousandIdleConnectionsDoNotStopDsctlOrHeartbeats() throws Exception {
    FakeAgent agent = new FakeAgent(as(join("node-a", token())), "node-a").open();
    agents.add(agent);
    // a call without a certificate that never sends its request keeps its connection from being idle: it is ended
    io.grpc.ClientCall<io.dsfleet.proto.v1.JoinRequest, io.dsfleet.proto.v1.JoinResponse> hanging =
        channel(io.dsfleet.common.tls.Tls.pinned(server.authority().pki().caHash()))
            .newCall(io.dsfleet.proto.v1.AgentServiceGrpc.getJoinMethod(), io.grpc.CallOptions.DEFAULT);
    java.util.concurrent.CompletableFuture<io.grpc.Status> hangingEnd = new java.util.concurrent.CompletableFuture<>();
    long hangingStart = System.nanoTime();
    Duration[] hangingAfter = new Duration[1];
    hanging.start(new io.grpc.ClientCall.Listener<>() {
      @Override
      public void onClose(io.grpc.Status status, io.grpc.Metadata trailers) {
        hangingAfter[0] = Duration.ofNanos(System.nanoTime() - hangingStart);
        hangingEnd.complete(status);
      }
    }, new io.grpc.Metadata());
    SSLContext tls = attackerTls();
    List<SSLSocket> held = Collections.synchronizedList(new ArrayList<>());
    AtomicInteger attempts = new AtomicInteger();
    AtomicInteger refusedByServer = new AtomicInteger();
    ExecutorService attackers = Executors.newFixedThreadPool(4);
    for (int i = 0; i < 4; i++) {
      attackers.execute(() -> {
        while (attempts.incrementAndGet() <= ATTEMPTS) {
          SSLSocket s = idleConnection(tls);
          if (s == null) {
            refusedByServer.incrementAndGet();
          } else {
            held.add(s);
          }
        }
      });
    }
    attackers.shutdown();
    long worstDsctl = 0;
    long worstHeartbeat = 0;
    int rounds = 0;
    while (!attackers.isTerminated() || rounds < 5) {
      long t0 = System.nanoTime();
      ManagedChannel fresh = credentialFile("admin.pem"); // a new connection each time, as a dsctl command makes
      control(fresh).get(GetRequest.newBuilder().setKind(ObjectKind.NODE).build());
      fresh.shutdownNow();
      long t1 = System.nanoTime();
      agent.received.clear();
      agent.heartbeat();
      await().atMost(Duration.ofSeconds(5)).until(() -> agent.received.stream().anyMatch(CoordinatorMessage::hasHeartbeatAck));
      long t2 = System.nanoTime();
      worstDsctl = Math.max(worstDsctl, t1 - t0);
      worstHeartbeat = Math.max(worstHeartbeat, t2 - t1);
      rounds++;
      attackers.awaitTermination(100, TimeUnit.MILLISECONDS);
    }
    System.out.printf("flood: %d attempts, %d refused at once, %d held; %d rounds, worst dsctl %d ms, worst heartbeat %d ms%n",
        ATTEMPTS, refusedByServer.get(), held.size(), rounds, worstDsctl / 1_000_000, worstHeartbeat / 1_000_000);
    // served, not merely eventually: idle, each takes tens of ms; 5 s leaves room for a machine whose
    // two cores other tests fill (1.7 s seen there), while a flood that exhausts the server's
    // descriptors or threads makes the call fail or wait out its deadline
    assertThat(Duration.ofNanos(worstDsctl)).as("dsctl (new connection, TLS, one call)").isLessThan(Duration.ofSeconds(5));
    assertThat(Duration.ofNanos(worstHeartbeat)).as("heartbeat round trip").isLessThan(Duration.ofSeconds(5));
    assertThat(server.connections().refused()).as("connections over the per-address cap were refused").isGreaterThan(0);
    java.io.ByteArrayOutputStream scraped = new java.io.ByteArrayOutputStream();
    io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter.create().write(scraped,
        io.dsfleet.coordinator.metrics.CoordinatorMetrics.registry(server, clock).scrape());
    assertThat(scraped.toString(java.nio.charset.StandardCharsets.UTF_8)).as("the refusals in the coordinator's metrics")
        .containsPattern("dsfleet_grpc_connections_closed_unserved_total\\{reason=\"refused\"\\} [1-9][0-9.E]*\n");
    assertThat(server.connections().open()).isLessThanOrEqualTo(512 + 10);

    io.grpc.Status ended = hangingEnd.get(15, TimeUnit.SECONDS);
    assertThat(ended.getCode()).isEqualTo(io.grpc.Status.Code.DEADLINE_EXCEEDED);
    System.out.printf("the call without a certificate ended after %d ms%n", hangingAfter[0].toMillis());
    assertThat(ended.getDescription()).as("the limit that ended it").isEqualTo("a call without a certificate may take at most 10 s");
    // its timer's close is late by what the flood's handshakes leave of the two cores: 13.1 s with a CI rehearsal beside it
    // (before, the bound was 14 s); a call never cut fails the get above, one cut at the idle timeout (3 s) the lower bound
    assertThat(hangingAfter[0]).as("ended at the 10 s limit for calls without a certificate").isBetween(Duration.ofSeconds(9),
        Duration.ofSeconds(30));

    // what the attacker holds is closed once idle: GOAWAY at IDLE, closed when gRPC's 10 s wait for a ping answer ends
    await().atMost(IDLE.plusSeconds(15)).until(() -> server.connections().open() <= 3);
    held.forEach(s -> {
      try {
        s.close();
      } catch (IOException ignored) {
        // closed by the coordinator already
      }
    });
    assertThat(agent.sessionError).as("the agent's session (never idle) survives").isNull();
  }

  /** TLS to the coordinator trusting its CA, ALPN h2, the HTTP/2 preface and an empty SETTINGS frame; null when refused. */
  SSLSocket idleConnection(SSLContext tls) {
    Socket raw = new Socket();
    try {
      raw.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.2"), 0));
      raw.connect(new InetSocketAddress("127.0.0.1", server.port()), 2000);
      raw.setSoTimeout(5000);
      SSLSocket s = (SSLSocket) tls.getSocketFactory().createSocket(raw, "127.0.0.1", server.port(), true);
      SSLParameters p = s.getSSLParameters();
      p.setApplicationProtocols(new String[] {"h2"});
      s.setSSLParameters(p);
      s.startHandshake();
      OutputStream out = s.getOutputStream();
      out.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      out.write(new byte[] {0, 0, 0, 4, 0, 0, 0, 0, 0});
      out.flush();
      return s;
    } catch (IOException e) {
      try {
        raw.close();
      } catch (IOException ignored) {
        // nothing more to free
      }
      return null;
    }
  }
}
