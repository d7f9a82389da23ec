package io.dsfleet.coordinator.kubeapi;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.common.manifest.Fixtures;
import io.dsfleet.coordinator.grpc.CoordinatorFixture;
import io.dsfleet.coordinator.grpc.FakeAgent;
import io.dsfleet.proto.v1.ApplyRequest;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What an operator of a DaemonSet fleet runs most, beyond get and apply: describe node, edit, top. */
class KubectlOperatorTest {
  @TempDir Path dir;

  @BeforeAll
  static void installed() {
    Kubectl.assumeInstalled();
  }

  /** A kubeconfig from dsctl kubeconfig for this insecure coordinator's API. */
  Kubectl kubectl(CoordinatorFixture c, KubeApi api) throws Exception {
    return Kubectl.insecure(c, api, dir);
  }

  /**
   * kubectl describe node: the node's capacity is what its agent counted (2 processors, 1 GiB
   * here), so its pods' share of it is 0%, not -9223372036854775808% of a capacity of nothing; the
   * Lease kubectl asks for is refused saying where the heartbeat is.
   */
  @Test
  void describeNodeShowsItsCapacityAndItsPodsShareOfIt() throws Exception {
    try (CoordinatorFixture c = new CoordinatorFixture(dir.resolve("data"));
        KubeApi api = c.server.startKubeApi(new InetSocketAddress("127.0.0.1", 0))) {
      FakeAgent a = c.agent("node-a", Map.of());
      a.nextDesired(Duration.ofSeconds(10));
      String host = Fixtures.BASE.replace("name: agent", "name: host").replace("app: agent", "app: host")
          .replace("\n      containers:", "\n      hostNetwork: true\n      containers:");
      c.control().apply(ApplyRequest.newBuilder().setManifests(Fixtures.BASE + "---\n" + host).build());
      var desired = a.nextDesired(Duration.ofSeconds(10));
      assertThat(desired.getPodsCount()).isEqualTo(2);
      a.reportAllReady(desired, c.clock.millis());
      Kubectl k = kubectl(c, api);
      // the node's address is each pod's hostIP, and a pod in the host's network has it as its own (kubectl printed "node-a/")
      String pods = k.ok("get", "pods", "-n", "ops", "-o", "wide");
      assertThat(pods).containsPattern("host-\\S+\\s+1/1\\s+Running\\s+0\\s+\\S+\\s+127\\.0\\.0\\.1\\s+node-a")
          .containsPattern("agent-\\S+\\s+1/1\\s+Running\\s+0\\s+\\S+\\s+<none>\\s+node-a");
      String agentPod = desired.getPodsList().stream().filter(p -> p.getDaemonSet().equals("agent")).findFirst().orElseThrow().getPodName();
      assertThat(k.ok("describe", "pod", agentPod, "-n", "ops")).containsPattern("Node:\\s+node-a/127\\.0\\.0\\.1");
      String described = k.ok("describe", "node", "node-a");
      assertThat(described).containsPattern("Capacity:\\s+cpu:\\s+2\\s+memory:\\s+1Gi")
          .containsPattern("Allocatable:\\s+cpu:\\s+2\\s+memory:\\s+1Gi")
          .containsPattern("ops\\s+agent-\\S+\\s+0 \\(0%\\)\\s+0 \\(0%\\)\\s+0 \\(0%\\)\\s+0 \\(0%\\)").doesNotContain("-9223372036854775808")
          .contains("Lease:              Failed to get lease: the dsfleet coordinator keeps no Leases: a node's heartbeat is its Ready"
              + " condition's lastHeartbeatTime");
    }
  }

  /**
   * A pod shows the template of the revision it runs, as Kubernetes: during an OnDelete rollout
   * the pod not yet replaced has the old image and the old revision's controller-revision-hash, and
   * its template's requests are what describe node counts. It showed the DaemonSet's current
   * template's names and images (the new image, no requests).
   */
  @Test
  void aPodShowsTheTemplateOfTheRevisionItRuns() throws Exception {
    try (CoordinatorFixture c = new CoordinatorFixture(dir.resolve("data"));
        KubeApi api = c.server.startKubeApi(new InetSocketAddress("127.0.0.1", 0))) {
      FakeAgent a = c.agent("node-a", Map.of());
      a.nextDesired(Duration.ofSeconds(10));
      String onDelete = Fixtures.BASE.replace("  selector:\n", "  updateStrategy: {type: OnDelete}\n  selector:\n")
          .replace("\n        readinessProbe:", "\n        resources: {requests: {cpu: 500m}}\n        readinessProbe:");
      c.control().apply(ApplyRequest.newBuilder().setManifests(onDelete).build());
      var v1 = a.nextDesired(Duration.ofSeconds(10));
      a.report(KubectlWritesTest.running(v1.getPods(0), 1_000));
      Kubectl k = kubectl(c, api);
      String hash1 = k.ok("get", "controllerrevisions", "-n", "ops", "-o", "jsonpath={.items[0].metadata.labels.controller-revision-hash}");
      c.control().apply(ApplyRequest.newBuilder().setManifests(onDelete.replace("local/busybox:1", "local/busybox:2")).build());
      org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> k.ok("get", "controllerrevisions", "-n", "ops",
          "-o", "name").lines().count() == 2);
      String pod = "pod/" + v1.getPods(0).getPodName();
      assertThat(k.ok("get", pod, "-n", "ops", "-o", "jsonpath={.spec.containers[0].image} {.metadata.labels.controller-revision-hash}"))
          .as("not moved yet (OnDelete): what it runs").isEqualTo("local/busybox:1 " + hash1);
      assertThat(k.ok("get", "pods", "-n", "ops", "-l", "controller-revision-hash=" + hash1, "-o", "name").strip()).isEqualTo(pod);
      assertThat(k.ok("describe", pod, "-n", "ops")).containsPattern("Image:\\s+local/busybox:1").containsPattern("Requests:\\s+cpu:\\s+500m");
      assertThat(k.ok("describe", "node", "node-a")).containsPattern("cpu\\s+500m \\(25%\\)");
    }
  }

  /**
   * kubectl diff (a dry run of the apply) shows what the file changes and nothing else: the
   * DaemonSet's status, which no write sets, is in the dry run's answer as it is now.
   */
  @Test
  void diffShowsWhatTheFileChangesOnly() throws Exception {
    try (CoordinatorFixture c = new CoordinatorFixture(dir.resolve("data"));
        KubeApi api = c.server.startKubeApi(new InetSocketAddress("127.0.0.1", 0))) {
      FakeAgent a = c.agent("node-a", Map.of());
      a.nextDesired(Duration.ofSeconds(10));
      Kubectl k = kubectl(c, api);
      Path file = Files.writeString(dir.resolve("ds.yaml"), Fixtures.BASE);
      k.ok("apply", "-f", file.toString());
      a.reportAllReady(a.nextDesired(Duration.ofSeconds(10)), c.clock.millis());
      org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> k.ok("get", "ds", "agent", "-n", "ops", "-o",
          "jsonpath={.status.numberReady}").equals("1"));
      Files.writeString(file, Fixtures.BASE.replace("local/busybox:1", "local/busybox:2"));
      ProcessBuilder pb = new ProcessBuilder(k.command("diff", "-f", file.toString())).redirectErrorStream(true);
      pb.environment().put("KUBECTL_EXTERNAL_DIFF", "diff -u");
      Process p = pb.start();
      String out = new String(p.getInputStream().readAllBytes());
      assertThat(p.waitFor()).as(out).isEqualTo(1); // kubectl diff: 1 when there are differences
      List<String> changed = out.lines().filter(l -> (l.startsWith("-") || l.startsWith("+")) && !l.startsWith("---")
          && !l.startsWith("+++")).map(l -> l.charAt(0) + l.substring(1).strip()).toList();
      assertThat(changed).as(out).containsExactly("-image: local/busybox:1", "+image: local/busybox:2");
    }
  }

  /**
   * kubectl apply --server-side over an object kubectl apply made takes its fields over, as on
   * Kubernetes: kubectl rewrites the object's managedFields (kubectl-client-side-apply's to
   * kubectl's) with a JSON patch, which was answered 200 and ignored, and the next server-side
   * apply of a change conflicted with kubectl-client-side-apply.
   */
  @Test
  void serverSideApplyTakesOverWhatClientSideApplyMade() throws Exception {
    try (CoordinatorFixture c = new CoordinatorFixture(dir.resolve("data"));
        KubeApi api = c.server.startKubeApi(new InetSocketAddress("127.0.0.1", 0))) {
      Kubectl k = kubectl(c, api);
      String cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n  namespace: ops\ndata:\n  a: \"%s\"\n";
      Path file = Files.writeString(dir.resolve("cm.yaml"), cm.formatted("1"));
      k.ok("apply", "-f", file.toString());
      assertThat(k.ok("apply", "--server-side", "-f", file.toString())).contains("configmap/cm serverside-applied");
      String managers = k.ok("get", "cm", "cm", "-n", "ops", "--show-managed-fields", "-o", "jsonpath={.metadata.managedFields[*].manager}");
      assertThat(managers).as("kubectl's rewrite of the managers taken").doesNotContain("kubectl-client-side-apply").contains("kubectl");
      Files.writeString(file, cm.formatted("2"));
      Kubectl.Run changed = k.run("apply", "--server-side", "-f", file.toString());
      assertThat(changed.exit()).as(changed.out()).isZero();
      assertThat(k.ok("get", "cm", "cm", "-n", "ops", "-o", "jsonpath={.data.a}")).isEqualTo("2");
    }
  }

  /**
   * kubectl edit: the change made in the editor is patched (a strategic merge patch, as
   * kubectl-edit), and is then what dsctl shows; kubectl top is refused by kubectl itself, the
   * fleet serving no metrics API.
   */
  @Test
  void editPatchesWhatTheEditorChanged() throws Exception {
    try (CoordinatorFixture c = new CoordinatorFixture(dir.resolve("data"));
        KubeApi api = c.server.startKubeApi(new InetSocketAddress("127.0.0.1", 0))) {
      c.control().apply(ApplyRequest.newBuilder().setManifests(Fixtures.BASE).build());
      Kubectl k = kubectl(c, api);
      Path editor = dir.resolve("editor.sh");
      Files.writeString(editor, "#!/bin/sh\nsed -i 's#local/busybox:1#local/busybox:2#' \"$1\"\n");
      assertThat(editor.toFile().setExecutable(true)).isTrue();
      List<String> cmd = k.command("edit", "ds", "agent", "-n", "ops", "-v=6");
      ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
      pb.environment().put("EDITOR", editor.toString());
      Process p = pb.start();
      String out = new String(p.getInputStream().readAllBytes());
      assertThat(p.waitFor() == 0).as(out).isTrue();
      assertThat(out).contains("daemonset.apps/agent edited").containsPattern("PATCH \\S+/daemonsets/agent\\?fieldManager=kubectl-edit")
          .doesNotContainPattern("PUT \\S+/daemonsets/agent");
      assertThat(k.ok("get", "ds", "agent", "-n", "ops", "-o", "jsonpath={.spec.template.spec.containers[0].image}"))
          .isEqualTo("local/busybox:2");

      Kubectl.Run top = k.run("top", "pods", "-n", "ops");
      assertThat(top.exit()).isNotZero();
      assertThat(top.out()).contains("Metrics API not available");
    }
  }
}
