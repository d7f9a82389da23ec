package io.dsfleet.agent.reconcile;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.agent.runtime.FakeRuntime;
import io.dsfleet.common.Json;
import io.dsfleet.common.model.Container;
import io.dsfleet.common.model.Probe;
import io.dsfleet.common.testing.FakeClock;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import org.junit.jupiter.api.Test;

/** A probe ends within its timeout whatever the other end does, a TLS handshake fed a byte at a time included. */
class ProberTest {
  @Test
  void anHttpsProbeWhoseHandshakeTricklesEndsWithinItsTimeout() throws Exception {
    try (ServerSocket server = new ServerSocket(0, 5, InetAddress.getLoopbackAddress())) {
      Thread trickler = new Thread(() -> {
        try (Socket s = server.accept()) {
          OutputStream out = s.getOutputStream();
          out.write(new byte[] {0x16, 0x03, 0x03, 0x40, 0x00}); // a handshake record of 16 KiB announced
          out.flush();
          for (int i = 0; i < 100; i++) { // then a byte every 200 ms: each read waits less than the timeout
            Thread.sleep(200);
            out.write(0x02);
            out.flush();
          }
        } catch (Exception e) {
          // the probe hung up: what the test wants
        }
      }, "trickler");
      trickler.setDaemon(true);
      trickler.start();
      Probe probe = Json.read("{\"httpGet\": {\"path\": \"/\", \"port\": " + server.getLocalPort() + ", \"scheme\": \"HTTPS\"},"
          + " \"timeoutSeconds\": 1}", Probe.class);
      Container c = Json.read("{\"name\": \"main\", \"image\": \"local/busybox:1\"}", Container.class);
      long start = System.nanoTime();
      Prober.Result r = new Prober(new FakeRuntime(new FakeClock())).run(probe, c, "c1", "127.0.0.1");
      double seconds = (System.nanoTime() - start) / 1e9;
      assertThat(r.ok()).isFalse();
      assertThat(seconds).as("ended at its 1 s timeout, not when the handshake would end (20 s here)").isLessThan(5);
    }
  }
}
