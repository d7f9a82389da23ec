package io.dsfleet.agent.session;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Status;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import org.junit.jupiter.api.Test;

class RefusedPortTest {
  @Test
  void onlyARefusedConnectionCounts() {
    assertThat(RefusedPort.isRefusal(Status.UNAVAILABLE.withCause(new IOException("wrapped", new ConnectException("Connection refused"))).asException()))
        .as("a refusal under gRPC's status and a transport's wrapper").isTrue();
    // as Netty's epoll transport (the bench's simulated agents') words it, under its annotated copy
    assertThat(RefusedPort.isRefusal(new ConnectException("finishConnect(..) failed with error(-111): Connection refused: /127.0.0.1:7443")))
        .as("Netty's epoll refusal").isTrue();
    assertThat(RefusedPort.isRefusal(new ConnectException("connection timed out: /10.0.0.1:7443"))).as("a connect timeout (Netty's)").isFalse();
    assertThat(RefusedPort.isRefusal(new SocketTimeoutException("Connect timed out"))).isFalse();
    assertThat(RefusedPort.isRefusal(new ConnectException("No route to host"))).isFalse();
    assertThat(RefusedPort.isRefusal(null)).isFalse();
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
