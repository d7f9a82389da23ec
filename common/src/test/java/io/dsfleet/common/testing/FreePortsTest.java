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
}
