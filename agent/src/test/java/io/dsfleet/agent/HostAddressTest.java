package io.dsfleet.agent;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The node's default address: the default route's interface, never a container bridge. */
class HostAddressTest {
  @TempDir Path tmp;

  @Test
  void theDefaultRouteWithTheLowestMetricWinsAndContainerLinksNever() throws Exception {
    Path routes = Files.writeString(tmp.resolve("route"), """
        Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
        docker0\t00000000\t010011AC\t0003\t0\t0\t0\t00000000\t0\t0\t0
        eth1\t00000000\t010200C0\t0003\t0\t0\t200\t00000000\t0\t0\t0
        eth0\t00000000\t010200C0\t0003\t0\t0\t100\t00000000\t0\t0\t0
        eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
        """);
    assertThat(HostAddress.defaultRouteInterface(routes)).contains("eth0");
    assertThat(HostAddress.defaultRouteInterface(tmp.resolve("missing"))).isEmpty();
    assertThat(HostAddress.isContainerLink("docker0")).isTrue();
    assertThat(HostAddress.isContainerLink("br-1a2b")).isTrue();
    assertThat(HostAddress.isContainerLink("veth12")).isTrue();
    assertThat(HostAddress.isContainerLink("enp3s0")).isFalse();
  }

  @Test
  void onThisHostTheChoiceIsStableAndNotADockerBridge() {
    HostAddress.Choice first = HostAddress.detect();
    assertThat(HostAddress.detect()).isEqualTo(first);
    assertThat(first.address()).doesNotStartWith("172.17.");
  }
}
