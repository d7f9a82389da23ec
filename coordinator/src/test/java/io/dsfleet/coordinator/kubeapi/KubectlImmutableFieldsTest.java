package io.dsfleet.coordinator.kubeapi;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.coordinator.grpc.CoordinatorFixture;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Fields Kubernetes holds immutable, held so and named as it names them (kubectl prints each
 * cause's field): an immutable ConfigMap's or Secret's data, binaryData and immutable flag
 * (ValidateConfigMapUpdate, ValidateSecretUpdate), whose labels and annotations still change; a
 * DaemonSet's selector.
 */
class KubectlImmutableFieldsTest {
  @TempDir Path dir;

  @BeforeAll
  static void installed() {
    Kubectl.assumeInstalled();
  }

  @Test
  void anImmutableConfigKeepsItsDataAndTakesLabels() throws Exception {
    try (CoordinatorFixture c = new CoordinatorFixture(dir.resolve("data"));
        KubeApi api = c.server.startKubeApi(new InetSocketAddress("127.0.0.1", 0))) {
      Kubectl k = Kubectl.insecure(c, api, dir);
      Path objects = Files.writeString(dir.resolve("imm.yaml"), """
          apiVersion: v1
          kind: ConfigMap
          metadata: {name: imm, namespace: ops}
          immutable: true
          data: {a: one}
          ---
          apiVersion: v1
          kind: Secret
          metadata: {name: imm, namespace: ops}
          immutable: true
          stringData: {a: one}
          """);
      k.ok("apply", "-f", objects.toString());

      for (String kind : new String[] {"configmap", "secret"}) {
        assertThat(k.ok("label", kind, "imm", "-n", "ops", "team=infra")).as("metadata is not frozen: Kubernetes labels it")
            .contains("labeled");
        assertThat(k.ok("annotate", kind, "imm", "-n", "ops", "note=x")).contains("annotated");
        String rv = k.ok("get", kind, "imm", "-n", "ops", "-o", "jsonpath={.metadata.resourceVersion}");
        Kubectl.Run data = k.run("patch", kind, "imm", "-n", "ops", "--type=merge", "-p", kind.equals("secret")
            ? "{\"stringData\":{\"a\":\"two\"}}" : "{\"data\":{\"a\":\"two\"}}");
        assertThat(data.exit()).as(data.out()).isNotZero();
        assertThat(data.out()).contains("is invalid: data: Forbidden: field is immutable when `immutable` is set");
        Kubectl.Run thawed = k.run("patch", kind, "imm", "-n", "ops", "--type=merge", "-p", "{\"immutable\":false}");
        assertThat(thawed.exit()).as(thawed.out()).isNotZero();
        assertThat(thawed.out()).contains("is invalid: immutable: Forbidden: field is immutable when `immutable` is set");
        assertThat(k.ok("get", kind, "imm", "-n", "ops", "-o", "jsonpath={.metadata.resourceVersion} {.immutable} {.data.a}"))
            .as("nothing changed").isEqualTo(rv + " true " + (kind.equals("secret") ? "b25l" : "one"));
      }
      Kubectl.Run binary = k.run("patch", "configmap", "imm", "-n", "ops", "--type=merge", "-p", "{\"binaryData\":{\"b\":\"AAE=\"}}");
      assertThat(binary.out()).contains("binaryData: Forbidden: field is immutable when `immutable` is set");
    }
  }

  /** A Secret's type is fixed, as Kubernetes holds it (immutable or not): it changed at will. */
  @Test
  void aSecretsTypeIsRefusedChangedNamingTheField() throws Exception {
    try (CoordinatorFixture c = new CoordinatorFixture(dir.resolve("data"));
        KubeApi api = c.server.startKubeApi(new InetSocketAddress("127.0.0.1", 0))) {
      Kubectl k = Kubectl.insecure(c, api, dir);
      k.ok("apply", "-f", Files.writeString(dir.resolve("plain.yaml"), """
          apiVersion: v1
          kind: Secret
          metadata: {name: plain, namespace: ops}
          stringData: {a: one}
          """).toString());
      Kubectl.Run typed = k.run("patch", "secret", "plain", "-n", "ops", "--type=merge", "-p", "{\"type\":\"example.com/custom\"}");
      assertThat(typed.exit()).as(typed.out()).isNotZero();
      assertThat(typed.out()).contains("is invalid: type: Invalid value: \"example.com/custom\": field is immutable");
      assertThat(k.ok("get", "secret", "plain", "-n", "ops", "-o", "jsonpath={.type}")).isEqualTo("Opaque");
      assertThat(k.ok("label", "secret", "plain", "-n", "ops", "team=infra")).contains("labeled");
    }
  }

  /** A selector change is refused naming spec.selector, where kubectl printed `is invalid: : spec.selector: ...`. */
  @Test
  void aSelectorChangeIsRefusedNamingTheField() throws Exception {
    try (CoordinatorFixture c = new CoordinatorFixture(dir.resolve("data"));
        KubeApi api = c.server.startKubeApi(new InetSocketAddress("127.0.0.1", 0))) {
      Kubectl k = Kubectl.insecure(c, api, dir);
      k.ok("apply", "-f", Files.writeString(dir.resolve("agent.yaml"), io.dsfleet.common.manifest.Fixtures.BASE).toString());
      Path other = Files.writeString(dir.resolve("other.yaml"), io.dsfleet.common.manifest.Fixtures.BASE
          .replace("matchLabels: {app: agent}", "matchLabels: {app: agent, tier: node}"));
      Kubectl.Run refused = k.run("apply", "-f", other.toString());
      assertThat(refused.exit()).isNotZero();
      assertThat(refused.out()).contains("The DaemonSet \"agent\" is invalid: spec.selector: Invalid value: ").contains("field is immutable")
          .doesNotContain("invalid: :");
    }
  }
}
