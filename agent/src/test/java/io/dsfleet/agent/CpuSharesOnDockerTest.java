package io.dsfleet.agent;

import static io.dsfleet.agent.DockerHarness.ds;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** A container's CPU weight in its cgroup, as the kubelet sets it (PodRendererTest has the rule's table). */
class CpuSharesOnDockerTest extends OnDocker {
  static final String SHARES = "cat /sys/fs/cgroup/cpu/cpu.shares 2>/dev/null || echo weight $(cat /sys/fs/cgroup/cpu.weight)";

  /**
   * A container that asks for no CPU (no request, no limit: most DaemonSets' containers) keeps Docker's default weight,
   * 1,024 (cgroup v2's 100), as a host service has: a pod's containers run beside the host's services with no kubepods
   * parent, so the kubelet's 2 would starve them behind every service; one that asks has the kubelet's shares.
   */
  @Test
  void aContainerThatAsksForNoCpuKeepsDockersDefaultWeight() {
    h.run(ds(DockerFieldsTest.POD + ".containers[1]", "{name: asks, image: local/busybox:1, command: [sleep, '3600'],"
        + " resources: {requests: {cpu: 500m}}}"));
    assertThat(h.sh("main", SHARES)).isIn("1024", "weight 100");
    assertThat(h.sh("asks", SHARES)).isIn("512", "weight 20");
  }
}
