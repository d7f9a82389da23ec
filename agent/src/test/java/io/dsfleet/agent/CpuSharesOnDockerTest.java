package io.dsfleet.agent;

import static io.dsfleet.agent.DockerHarness.ds;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** A container's CPU weight in its cgroup, as the kubelet sets it (PodRendererTest has the rule's table). */
class CpuSharesOnDockerTest extends OnDocker {
  static final String SHARES = "cat /sys/fs/cgroup/cpu/cpu.shares 2>/dev/null || echo weight $(cat /sys/fs/cgroup/cpu.weight)";

  /**
   * A container that asks for no CPU (no request, no limit: most DaemonSets' containers) has the least weight, 2 shares
   * (cgroup v2's weight 1), as a BestEffort container under the kubelet; until 2026-12-08 it had Docker's 1,024, as much
   * as a container that asked for a whole CPU.
   */
  @Test
  void aContainerThatAsksForNoCpuHasTheLeastWeight() {
    h.run(ds(DockerFieldsTest.POD + ".containers[1]", "{name: asks, image: local/busybox:1, command: [sleep, '3600'],"
        + " resources: {requests: {cpu: 500m}}}"));
    assertThat(h.sh("main", SHARES)).isIn("2", "weight 1");
    assertThat(h.sh("asks", SHARES)).isIn("512", "weight 20");
  }
}
