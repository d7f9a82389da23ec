package io.dsfleet.agent.session;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The agent's OkHttp transport connects with no timeout of its own (the system's SYN retries:
 * about two minutes); its sockets bound the connect and every read.
 */
class TransportTest {
  @Test
  void aCoordinatorWhoseConnectNeverCompletesIsGivenUpAfterTheConnectTimeout() throws IOException {
    InetAddress loopback = InetAddress.getLoopbackAddress();
    Transport.TimedSockets sockets = new Transport.TimedSockets();
    List<Socket> queued = new ArrayList<>();
    // a listener that never accepts, with a backlog of one: once its queue is full, Linux drops
    // the SYNs of further connects, as a host cut off the network would
    try (ServerSocket listener = new ServerSocket(0, 1, loopback)) {
      assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
        assertThatThrownBy(() -> {
          for (int i = 0; i < 10; i++) {
            queued.add(sockets.createSocket(loopback, listener.getLocalPort()));
          }
        }).isInstanceOf(SocketTimeoutException.class);
      });
      assertThat(queued).as("connects the listener's queue took before it was full").isNotEmpty().hasSizeLessThan(10);
    } finally {
      for (Socket s : queued) {
        s.close();
      }
    }
  }

  @Test
  void everyReadIsBoundedBeyondAKeepAliveAndItsAnswer() throws IOException {
    assertThat(Transport.READ_TIMEOUT).isGreaterThan(Transport.KEEPALIVE.plus(Transport.KEEPALIVE_TIMEOUT));
    InetAddress loopback = InetAddress.getLoopbackAddress();
    try (ServerSocket listener = new ServerSocket(0, 1, loopback);
        Socket s = new Transport.TimedSockets().createSocket(loopback, listener.getLocalPort())) {
      assertThat(s.isConnected()).isTrue();
      assertThat(s.getSoTimeout()).isEqualTo((int) Transport.READ_TIMEOUT.toMillis());
    }
  }
}
