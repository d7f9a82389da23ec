package io.dsfleet.coordinator.kubeapi;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.common.manifest.Fixtures;
import io.dsfleet.coordinator.grpc.CoordinatorFixture;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The preconditions an object carries into a write (its metadata.resourceVersion and uid), held by
 * every kind of write as Kubernetes holds them: a stale one is 409 and changes nothing.
 */
class KubectlApplyPreconditionsTest {
  @TempDir Path dir;

  @BeforeAll
  static void installed() {
    Kubectl.assumeInstalled();
  }

  /**
   * kubectl apply --server-side of an exported object (kubectl get -o yaml, its resourceVersion and
   * uid in it) after the object moved is refused, as Kubernetes refuses it, where the apply config's
   * resourceVersion and uid were dropped with what the server sets: the export written back over a
   * change the same manager made since (so no field manager's conflict), and over an object made
   * again under the name.
   */
  @Test
  void aServerSideApplyOfAStaleExportIsAConflictAndChangesNothing() throws Exception {
    try (CoordinatorFixture c = new CoordinatorFixture(dir.resolve("data"));
        KubeApi api = c.server.startKubeApi(new InetSocketAddress("127.0.0.1", 0))) {
      c.agent("node-a", Map.of());
      Kubectl k = Kubectl.insecure(c, api, dir);
      Path v1 = Files.writeString(dir.resolve("agent.yaml"), Fixtures.BASE);
      k.ok("apply", "--server-side", "-f", v1.toString());
      Path exported = Files.writeString(dir.resolve("exported.yaml"), k.ok("get", "ds", "agent", "-n", "ops", "-o", "yaml"));
      assertThat(Files.readString(exported)).contains("resourceVersion:").contains("uid:");
      // a colleague's apply of the same manager: no field of another manager's to conflict on
      k.ok("apply", "--server-side", "-f", Files.writeString(dir.resolve("v2.yaml"), Fixtures.BASE.replace("local/busybox:1",
          "local/busybox:2")).toString());
      String rv = k.ok("get", "ds", "agent", "-n", "ops", "-o", "jsonpath={.metadata.resourceVersion}");

      Kubectl.Run stale = k.run("apply", "--server-side", "-f", exported.toString());
      assertThat(stale.exit()).as(stale.out()).isNotZero();
      assertThat(stale.out()).contains("Operation cannot be fulfilled on daemonsets.apps \"agent\": the object has been modified");
      assertThat(k.ok("get", "ds", "agent", "-n", "ops", "-o", "jsonpath={.metadata.resourceVersion}"
          + " {.spec.template.spec.containers[0].image}")).as("nothing applied").isEqualTo(rv + " local/busybox:2");

      // the export's uid is another object's once the name was deleted and made again
      k.ok("delete", "ds", "agent", "-n", "ops");
      c.clock.advance(java.time.Duration.ofSeconds(1)); // a uid is made from the name and the time it was made
      k.ok("apply", "--server-side", "-f", v1.toString());
      String again = k.ok("get", "ds", "agent", "-n", "ops", "-o", "jsonpath={.metadata.resourceVersion}");
      Path otherUid = Files.writeString(dir.resolve("other-uid.yaml"), Files.readString(exported)
          .replaceAll("(?m)^  resourceVersion: .*\\n", "").replace("local/busybox:1", "local/busybox:3"));
      Kubectl.Run uid = k.run("apply", "--server-side", "-f", otherUid.toString());
      assertThat(uid.exit()).as(uid.out()).isNotZero();
      assertThat(uid.out()).contains("Precondition failed: UID in precondition");
      assertThat(k.ok("get", "ds", "agent", "-n", "ops", "-o", "jsonpath={.metadata.resourceVersion}"
          + " {.spec.template.spec.containers[0].image}")).as("nothing applied").isEqualTo(again + " local/busybox:1");

      // the export at the object's own version applies
      Path current = Files.writeString(dir.resolve("current.yaml"), k.ok("get", "ds", "agent", "-n", "ops", "-o", "yaml")
          .replace("local/busybox:1", "local/busybox:4"));
      k.ok("apply", "--server-side", "-f", current.toString());
      assertThat(k.ok("get", "ds", "agent", "-n", "ops", "-o", "jsonpath={.spec.template.spec.containers[0].image}"))
          .isEqualTo("local/busybox:4");
    }
  }

  /**
   * The export of an object since deleted (a fleet's objects put back from {@code kubectl get -o
   * yaml}, in a new coordinator or after a delete) applied server-side makes it, as Kubernetes
   * does: an apply that creates has no version to hold it to. Between 2026-12-08's precondition and
   * helper-203 it was refused (409, "the object has been modified"), where it had been made before.
   */
  @Test
  void aServerSideApplyOfAnExportMakesTheObjectItNamesWhereThereIsNone() throws Exception {
    try (CoordinatorFixture c = new CoordinatorFixture(dir.resolve("data"));
        KubeApi api = c.server.startKubeApi(new InetSocketAddress("127.0.0.1", 0))) {
      c.agent("node-a", Map.of());
      Kubectl k = Kubectl.insecure(c, api, dir);
      k.ok("apply", "--server-side", "-f", Files.writeString(dir.resolve("agent.yaml"), Fixtures.BASE).toString());
      k.ok("create", "configmap", "settings", "-n", "ops", "--from-literal=k=v");
      Path ds = Files.writeString(dir.resolve("ds.yaml"), k.ok("get", "ds", "agent", "-n", "ops", "-o", "yaml"));
      Path cm = Files.writeString(dir.resolve("cm.yaml"), k.ok("get", "cm", "settings", "-n", "ops", "-o", "yaml"));
      k.ok("delete", "ds", "agent", "-n", "ops");
      k.ok("delete", "cm", "settings", "-n", "ops");

      assertThat(k.ok("apply", "--server-side", "-f", ds.toString())).contains("daemonset.apps/agent serverside-applied");
      assertThat(k.ok("apply", "--server-side", "-f", cm.toString())).contains("configmap/settings serverside-applied");
      assertThat(k.ok("get", "cm", "settings", "-n", "ops", "-o", "jsonpath={.data.k}")).isEqualTo("v");
      assertThat(k.ok("get", "ds", "agent", "-n", "ops", "-o", "jsonpath={.spec.template.spec.containers[0].image}"))
          .isEqualTo("local/busybox:1");
    }
  }
}
