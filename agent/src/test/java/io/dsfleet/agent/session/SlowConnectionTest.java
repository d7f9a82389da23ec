package io.dsfleet.agent.session;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.dsfleet.agent.FakeCoordinator;
import io.dsfleet.agent.runtime.FakeRuntime;
import io.dsfleet.proto.v1.DesiredState;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * A coordinator slow to finish a connection (busy with a fleet's handshakes after a restart, say)
 * gets to finish it: a try whose deadline passes while its connection is still being made leaves
 * the connection to the next try, which waits for it. Before, the agent dropped it and connected
 * again, and the coordinator's work on the first one was lost.
 */
class SlowConnectionTest extends SessionTestBase {
  /** Longer than a join's deadline (10 s). */
  static final long HELD_MILLIS = 13_000;

  @Test
  void aJoinWhoseDeadlinePassesWhileItsConnectionIsBeingMadeWaitsForThatConnection() throws Exception {
    InetAddress loopback = InetAddress.getLoopbackAddress();
    try (FakeCoordinator coordinator = new FakeCoordinator(DesiredState.newBuilder().setVersion(1).build()).start(0);
        ServerSocket proxy = new ServerSocket(0, 50, loopback)) {
      // between the agent and the coordinator: the coordinator's first bytes on the first connection
      // (its HTTP/2 settings, without which the connection is not made) held back for 13 s
      AtomicInteger connections = new AtomicInteger();
      Thread acceptor = new Thread(() -> {
        while (!proxy.isClosed()) {
          try {
            Socket agent = proxy.accept();
            Socket server = new Socket(loopback, coordinator.port());
            long hold = connections.incrementAndGet() == 1 ? HELD_MILLIS : 0;
            pump(agent.getInputStream(), server.getOutputStream(), 0, agent, server);
            pump(server.getInputStream(), agent.getOutputStream(), hold, agent, server);
          } catch (IOException closed) {
            return;
          }
        }
      });
      acceptor.setDaemon(true);
      acceptor.start();

      CoordinatorSession session = session(proxy.getLocalPort(), new FakeRuntime(Clock.systemUTC()), Duration.ofSeconds(5));
      try {
        session.start();
        await().atMost(Duration.ofSeconds(30)).until(() -> coordinator.sessionsOpened.get() == 1);
        assertThat(connections.get()).as("connections made: the first one, waited for past the join's deadline").isEqualTo(1);
      } finally {
        session.close();
      }
    }
  }

  /** Copies one direction on a thread of its own, after {@code holdMillis}; closes both sockets at the end. */
  private static void pump(InputStream in, OutputStream out, long holdMillis, Socket a, Socket b) {
    Thread t = new Thread(() -> {
      try (a; b) {
        Thread.sleep(holdMillis);
        in.transferTo(out);
      } catch (IOException | InterruptedException ended) {
        // one side closed
      }
    });
    t.setDaemon(true);
    t.start();
  }
}
