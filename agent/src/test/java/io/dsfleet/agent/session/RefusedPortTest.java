package io.dsfleet.agent.session;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Status;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.concurrent.TimeUnit;
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
    assertThat(RefusedPort.address("127.0.0.1:7443")).isEqualTo(new InetSocketAddress("127.0.0.1", 7443));
    assertThat(RefusedPort.address("[::1]:7443")).isEqualTo(new InetSocketAddress("::1", 7443));
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
}
