package io.dsfleet.common.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import org.junit.jupiter.api.Test;

class FreePortsTest {
  @Test
  void portsComeFromBelowTheEphemeralRangeAndAreFree() throws Exception {
    int ephemeralLow = FreePorts.ephemeralLow();
    for (int i = 0; i < 20; i++) {
      int port = FreePorts.pick();
      assertThat(port).isBetween(10_000, ephemeralLow - 1);
      try (ServerSocket s = new ServerSocket()) {
        s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
      }
    }
    try (ServerSocket any = new ServerSocket(0)) {
      assertThat(any.getLocalPort()).as("where bind(0) takes its ports").isGreaterThanOrEqualTo(ephemeralLow);
    }
  }

  /** 2,000 picks from about 12,000 ports would repeat one some 160 times if picked at random alone. */
  @Test
  void noPortIsHandedOutTwice() {
    java.util.Set<Integer> seen = new java.util.HashSet<>();
    for (int i = 0; i < 2_000; i++) {
      int port = FreePorts.pick();
      assertThat(seen.add(port)).as("port %d handed out again at pick %d", port, i).isTrue();
    }
  }
}
