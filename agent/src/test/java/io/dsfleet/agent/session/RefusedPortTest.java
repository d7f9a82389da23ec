package io.dsfleet.agent.session;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Status;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

class RefusedPortTest {
  @Test
  void onlyARefusedConnectionCounts() {
    assertThat(RefusedPort.isRefusal(Status.UNAVAILABLE.withCause(new IOException("wrapped", new ConnectException("Connection refused"))).asException()))
        .as("a refusal under gRPC's status and a transport's wrapper").isTrue();
    // as Netty's epoll transport (the bench's simulated agents') words it, under its annotated copy
    assertThat(RefusedPort.isRefusal(new ConnectException("finishConnect(..) failed with error(-111): Connection refused: /127.0.0.1:7443")))
        .as("Netty's epoll refusal").isTrue();
    assertThat(RefusedPort.isRefusal(new ConnectException("Connection refused: /127.0.0.1:7443"))).as("Netty NIO's annotated refusal").isTrue();
    assertThat(RefusedPort.isRefusal(new ConnectException("connection timed out: /10.0.0.1:7443"))).as("a connect timeout (Netty's)").isFalse();
    assertThat(RefusedPort.isRefusal(new SocketTimeoutException("Connect timed out"))).isFalse();
    assertThat(RefusedPort.isRefusal(new ConnectException("No route to host"))).isFalse();
    assertThat(RefusedPort.isRefusal(null)).isFalse();
  }

  /**
   * A real try at a port nothing listens on, over the agent's transport (OkHttp: the JDK's "Connection
   * refused") and over Netty's (the simulated agents': its epoll transport says "finishConnect(..)
   * failed with error(-111): Connection refused"), is a refusal.
   */
  @Test
  void aRealTryAtAPortThatRefusesIsARefusalOverEitherTransport() throws Exception {
    try (Socket bound = new Socket()) {
      bound.bind(new InetSocketAddress("127.0.0.1", 0)); // kept, never listening: connections to it are refused
      String target = "127.0.0.1:" + bound.getLocalPort();
      Status okhttp = tryAt(Transport.OKHTTP.channel(target, Transport.OKHTTP.plaintext()).build());
      Status netty = tryAt(io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder.forTarget(target).usePlaintext().build());
      assertThat(RefusedPort.isRefusal(okhttp.getCause())).as("OkHttp's try: %s", okhttp.getCause()).isTrue();
      assertThat(RefusedPort.isRefusal(netty.getCause())).as("Netty's try: %s", netty.getCause()).isTrue();
    }
  }

  private static Status tryAt(io.grpc.ManagedChannel channel) {
    try {
      io.dsfleet.proto.v1.AgentServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
          .join(io.dsfleet.proto.v1.JoinRequest.getDefaultInstance());
      throw new AssertionError("a try at a port nothing listens on succeeded");
    } catch (io.grpc.StatusRuntimeException e) {
      return e.getStatus();
    } finally {
      channel.shutdownNow();
    }
  }

  @Test
  void targetsAreReadAsHostAndPortOrLeftToGrpc() {
    assertThat(RefusedPort.address("127.0.0.1:7443")).isEqualTo(InetSocketAddress.createUnresolved("127.0.0.1", 7443));
    assertThat(RefusedPort.address("[::1]:7443")).isEqualTo(InetSocketAddress.createUnresolved("::1", 7443));
    assertThat(RefusedPort.address("dns:///coordinator:7443")).as("a gRPC URI: not probed").isNull();
    assertThat(RefusedPort.address("coordinator")).as("no port").isNull();
    assertThat(RefusedPort.address("127.0.0.1:70000")).isNull();
    assertThat(RefusedPort.address("127.0.0.1:x")).isNull();
  }

  @Test
  void noProbeBeforeARefusal() {
    RefusedPort p = new RefusedPort();
    assertThat(p.refusesAgain("127.0.0.1:1")).as("nothing refused yet: the try is made").isNull();
    p.ended(new ConnectException("Connection refused"));
    assertThat(p.refusesAgain("127.0.0.1:1")).as("port 1 refuses on loopback").contains("connection refused");
    p.ended(null);
    assertThat(p.refusesAgain("127.0.0.1:1")).as("the last try ended otherwise").isNull();
  }

  /**
   * A name with several addresses, the first refusing (a coordinator listening on ::1 alone, its name
   * "localhost" resolving to 127.0.0.1 first, as Debian's hosts file and the JDK's IPv4-first order
   * have it): gRPC tries each address and reaches the coordinator, so the probe must not call the
   * port refusing; only every address refusing is a refusal.
   */
  @Test
  void aNameRefusesOnlyWhenEveryAddressOfItRefuses() throws Exception {
    InetAddress v4 = InetAddress.getByName("127.0.0.1");
    InetAddress v6 = InetAddress.getByName("::1");
    RefusedPort p = new RefusedPort(host -> host.equals("localhost") ? new InetAddress[] {v4, v6} : InetAddress.getAllByName(host));
    try (ServerSocket coordinator = new ServerSocket(); Socket keptOnV4 = new Socket()) {
      try {
        coordinator.bind(new InetSocketAddress(v6, 0));
        keptOnV4.bind(new InetSocketAddress(v4, coordinator.getLocalPort())); // never listening: refused on 127.0.0.1
      } catch (IOException e) {
        Assumptions.abort("no IPv6 loopback here, or the port is taken on 127.0.0.1: " + e);
      }
      String target = "localhost:" + coordinator.getLocalPort();
      p.ended(new ConnectException("Connection refused"));
      assertThat(p.refusesAgain(target)).as("127.0.0.1 refuses, ::1 answers: the try is made").isNull();
      p.ended(new ConnectException("Connection refused"));
      coordinator.close();
      assertThat(p.refusesAgain(target)).as("both addresses refuse").contains("connection refused");
    }
  }
}
