package io.dsfleet.coordinator.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.dsfleet.coordinator.cli.DsctlRun;
import io.dsfleet.coordinator.grpc.FakeAgent;
import io.dsfleet.coordinator.kubeapi.KubeApi;
import io.dsfleet.coordinator.kubeapi.Kubectl;
import io.dsfleet.coordinator.plan.PodNames;
import io.dsfleet.proto.v1.ContainerStatus;
import io.dsfleet.proto.v1.PodStatus;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The times a node reports of its pods reach kubectl as RFC 3339 timestamps, which Kubernetes'
 * clients read with years 0 to 9999 only. Before 2026-12-07 a node (root on one, or any name a join
 * token admits) that reported a pod created at the end of Java's time had the Kubernetes API serve
 * "+292278994-08-17T07:12:55Z", and kubectl describe pods of its namespace (any namespace it
 * named), and any typed client listing the pods there or in all namespaces (client-go's informers,
 * kube-state-metrics), failed to read the whole list.
 */
class ReportedTimesTest extends TlsFleetTest {
  @Test
  void aPodsTimesBeyondWhatKubernetesReadsAreNotServed() throws Exception {
    Kubectl.assumeInstalled();
    try (KubeApi api = server.startKubeApi(new InetSocketAddress("127.0.0.1", 0))) {
      DsctlRun.Result made = DsctlRun.run(List.of("kubeconfig", "--server", "https://127.0.0.1:" + api.port(), "--coordinator",
          "127.0.0.1:" + server.port(), "--credentials", pki().resolve("admin.pem").toString()));
      assertThat(made.exit()).as(made.err()).isZero();
      Kubectl admin = new Kubectl(Files.writeString(dir.resolve("admin.kubeconfig"), made.out()), dir.resolve("kube-cache"));

      FakeAgent node = new FakeAgent(as(join("node-a", token())), "node-a").open();
      agents.add(node);
      String pod = PodNames.name("made-up", "node-a", 0);
      node.report(PodStatus.newBuilder().setNamespace("default").setDaemonSet("made-up").setPodName(pod).setTemplateHash("abc")
          .setPhase("Running").setCreatedAtMillis(Long.MAX_VALUE).setStartedAtMillis(Long.MIN_VALUE).addContainers(ContainerStatus
              .newBuilder().setName("main").setState("running").setStartedAtMillis(Long.MAX_VALUE)).build());
      await().atMost(Duration.ofSeconds(10)).until(() -> !server.fleet().node("node-a", true).pods().isEmpty());

      Kubectl.Run described = admin.run("describe", "pods", "-n", "default"); // a typed read of the list, as client-go's informers
      assertThat(described.exit()).as("kubectl describe pods: %s", described.out()).isZero();
      assertThat(described.out()).contains(pod);
      Kubectl.Run json = admin.run("get", "pods", "-A", "-o", "json");
      assertThat(json.out()).contains(pod).doesNotContain("292278994");
    }
  }
}
