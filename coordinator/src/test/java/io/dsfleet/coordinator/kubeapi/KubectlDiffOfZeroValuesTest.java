package io.dsfleet.coordinator.kubeapi;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.common.manifest.Fixtures;
import io.dsfleet.coordinator.grpc.CoordinatorFixture;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A file giving fields their zero value where defaulting takes that for unset (`imagePullPolicy: ""`,
 * `periodSeconds: 0`, `updateStrategy.type: ""`, as a chart renders an empty value): a server dry run answers the
 * object as it is stored, defaulted, as Kubernetes' does, so `kubectl diff` of the file applied shows nothing, and a
 * new object's dry run shows its defaults.
 */
class KubectlDiffOfZeroValuesTest {
  @TempDir Path dir;

  static final String ZEROS = Fixtures.BASE.replace("  selector:\n", "  updateStrategy: {type: \"\"}\n  selector:\n")
      .replace("        image: local/busybox:1\n", "        image: local/busybox:1\n        imagePullPolicy: \"\"\n")
      .replace("httpGet: {port: http}", "httpGet: {port: http, scheme: \"\"}\n          periodSeconds: 0");

  @BeforeAll
  static void installed() {
    Kubectl.assumeInstalled();
  }

  @Test
  void kubectlDiffOfAnAppliedFileWithZeroValuesShowsNothing() throws Exception {
    try (CoordinatorFixture c = new CoordinatorFixture(dir.resolve("data"));
        KubeApi api = c.server.startKubeApi(new InetSocketAddress("127.0.0.1", 0))) {
      Kubectl k = Kubectl.insecure(c, api, dir);
      Path file = Files.writeString(dir.resolve("ds.yaml"), ZEROS);
      assertThat(k.ok("apply", "--dry-run=server", "-f", file.toString(), "-o",
          "jsonpath={.spec.updateStrategy.type} {.spec.template.spec.containers[0].imagePullPolicy}"
              + " {.spec.template.spec.containers[0].readinessProbe.periodSeconds}"))
          .as("a new object's dry run: defaulted").isEqualTo("RollingUpdate IfNotPresent 10");
      k.ok("apply", "-f", file.toString());
      Kubectl.Run diff = k.run("diff", "-f", file.toString());
      assertThat(diff.exit()).as(diff.out()).isZero();
      k.ok("apply", "--server-side", "--force-conflicts", "-f", file.toString());
      Kubectl.Run serverSide = k.run("diff", "--server-side", "-f", file.toString());
      assertThat(serverSide.exit()).as(serverSide.out()).isZero();
      assertThat(k.ok("get", "ds", "agent", "-n", "ops", "-o", "jsonpath={.metadata.generation}")).isEqualTo("1");
    }
  }
}
