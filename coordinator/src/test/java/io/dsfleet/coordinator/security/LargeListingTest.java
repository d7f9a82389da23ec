package io.dsfleet.coordinator.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.dsfleet.coordinator.cli.DsctlRun;
import io.dsfleet.coordinator.grpc.FakeAgent;
import io.dsfleet.coordinator.plan.PodNames;
import io.dsfleet.proto.v1.ContainerStatus;
import io.dsfleet.proto.v1.PodStatus;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * dsctl reads the fleet's listings whole, in one answer: a node's kept pods weigh up to 4 MiB
 * (PodIntake.MAX_REPORTED_BYTES, texts at their bounds), so two nodes (root on them, or names a join
 * token admits), or one at its bound beside the fleet's own pods, put {@code dsctl get pods -A} over
 * the 4 MiB gRPC's client takes by default: before 2026-12-07 it failed for every admin,
 * RESOURCE_EXHAUSTED, and showed no pod of the fleet.
 */
class LargeListingTest extends TlsFleetTest {
  @Test
  void twoNodesReportingPodsAtTheirBoundsLeaveDsctlsListingReadable() throws Exception {
    String text = "\u4e00".repeat(4096); // a message at its bound, 12 KiB as sent
    for (String name : List.of("node-a", "node-b")) {
      FakeAgent node = new FakeAgent(as(join(name, token())), name).open();
      agents.add(node);
      List<PodStatus> pods = new ArrayList<>();
      for (int i = 0; i < 50; i++) { // 50 pods of 4 containers: 2.5 MB, one full report within the coordinator's 4 MiB
        String ds = "made-up-" + i;
        PodStatus.Builder p = PodStatus.newBuilder().setNamespace("default").setDaemonSet(ds).setPodName(PodNames.name(ds, name, 0))
            .setTemplateHash("abc").setPhase("Running").setMessage(text);
        for (int c = 0; c < 4; c++) {
          p.addContainers(ContainerStatus.newBuilder().setName("c" + c).setState("running").setMessage(text));
        }
        pods.add(p.build());
      }
      node.report(pods.toArray(PodStatus[]::new));
      await().atMost(Duration.ofSeconds(20)).until(() -> server.fleet().node(name, true).pods().size() == 50);
    }
    DsctlRun.Result r = DsctlRun.run(List.of("get", "pods", "-A", "--coordinator", "127.0.0.1:" + server.port(), "--credentials",
        pki().resolve("admin.pem").toString()));
    assertThat(r.exit()).as(r.err()).isZero();
    assertThat(r.out().lines().filter(l -> l.contains("made-up-"))).hasSize(100);
  }
}
