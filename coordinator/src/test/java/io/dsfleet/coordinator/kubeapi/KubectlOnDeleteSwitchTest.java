package io.dsfleet.coordinator.kubeapi;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.common.manifest.Fixtures;
import io.dsfleet.coordinator.grpc.CoordinatorFixture;
import io.dsfleet.proto.v1.ApplyRequest;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A DaemonSet switched from RollingUpdate to OnDelete the way kubectl switches it: its type
 * patched (or applied) while the stored object keeps the defaulted rollingUpdate, which
 * Kubernetes' DaemonSet validation accepts (it checks rollingUpdate only for type RollingUpdate).
 */
class KubectlOnDeleteSwitchTest {
  @TempDir Path dir;

  @BeforeAll
  static void installed() {
    Kubectl.assumeInstalled();
  }

  @Test
  void kubectlSwitchesADaemonSetToOnDeleteAndBack() throws Exception {
    try (CoordinatorFixture c = new CoordinatorFixture(dir.resolve("data"));
        KubeApi api = c.server.startKubeApi(new InetSocketAddress("127.0.0.1", 0))) {
      c.control().apply(ApplyRequest.newBuilder().setManifests(Fixtures.BASE).build());
      Kubectl k = Kubectl.insecure(c, api, dir);
      // kubectl apply of a manifest naming the type alone: its three-way merge sends the type, the defaulted rollingUpdate stays
      Path manifest = Files.writeString(dir.resolve("ds.yaml"),
          Fixtures.BASE.replace("  selector:\n", "  updateStrategy: {type: RollingUpdate}\n  selector:\n"));
      k.ok("apply", "-f", manifest.toString());
      Files.writeString(manifest, Fixtures.BASE.replace("  selector:\n", "  updateStrategy: {type: OnDelete}\n  selector:\n"));
      k.ok("apply", "-f", manifest.toString());
      assertThat(k.ok("get", "ds", "agent", "-n", "ops", "-o", "jsonpath={.spec.updateStrategy.type}")).isEqualTo("OnDelete");
      k.ok("patch", "ds", "agent", "-n", "ops", "-p", "{\"spec\":{\"updateStrategy\":{\"type\":\"RollingUpdate\"}}}");
      // kubectl patch of the type alone
      k.ok("patch", "ds", "agent", "-n", "ops", "-p", "{\"spec\":{\"updateStrategy\":{\"type\":\"OnDelete\"}}}");
      assertThat(k.ok("get", "ds", "agent", "-n", "ops", "-o", "jsonpath={.spec.updateStrategy.type}")).isEqualTo("OnDelete");
    }
  }
}
