package io.dsfleet.coordinator.kubeapi;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.coordinator.grpc.CoordinatorFixture;
import io.dsfleet.proto.v1.GetRequest;
import io.dsfleet.proto.v1.ObjectKind;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** kubectl label node over the labels a node has of itself: each change it reports made is made. */
class KubectlNodeLabelsTest {
  @TempDir Path dir;

  @BeforeAll
  static void installed() {
    Kubectl.assumeInstalled();
  }

  static Map<String, String> labels(CoordinatorFixture c) {
    return c.control().get(GetRequest.newBuilder().setKind(ObjectKind.NODE).setName("node-a").build()).getNodes(0).getLabelsMap();
  }

  /**
   * The well-known labels the coordinator gives every node (kubernetes.io/hostname, os, arch) are
   * removed as an agent's label is, hidden until set again: kubectl printed "unlabeled", the
   * removal was evented, and the label stayed, still selecting the node.
   */
  @Test
  void aWellKnownLabelRemovedIsGone() throws Exception {
    try (CoordinatorFixture c = new CoordinatorFixture(dir.resolve("data"));
        KubeApi api = c.server.startKubeApi(new InetSocketAddress("127.0.0.1", 0))) {
      c.agent("node-a", Map.of("disk", "ssd"));
      Kubectl k = Kubectl.insecure(c, api, dir);
      assertThat(labels(c)).containsEntry("kubernetes.io/os", "linux").containsEntry("kubernetes.io/hostname", "node-a");

      assertThat(k.ok("label", "node", "node-a", "kubernetes.io/os-")).isEqualTo("node/node-a unlabeled\n");
      assertThat(labels(c)).doesNotContainKey("kubernetes.io/os").containsEntry("disk", "ssd");
      assertThat(k.ok("get", "nodes", "-l", "kubernetes.io/os", "-o", "name")).isEmpty();
      k.ok("label", "node", "node-a", "kubernetes.io/hostname-", "disk-");
      assertThat(labels(c)).doesNotContainKeys("kubernetes.io/hostname", "disk").containsEntry("kubernetes.io/arch", "amd64");

      k.ok("label", "node", "node-a", "kubernetes.io/os=linux");
      assertThat(labels(c)).containsEntry("kubernetes.io/os", "linux");
    }
  }
}
