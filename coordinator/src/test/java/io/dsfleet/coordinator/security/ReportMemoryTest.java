package io.dsfleet.coordinator.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnknownFieldSet;
import io.dsfleet.coordinator.grpc.CoordinatorFixture;
import io.dsfleet.coordinator.grpc.FakeAgent;
import io.dsfleet.coordinator.grpc.SessionMemoryTest;
import io.dsfleet.coordinator.plan.PodNames;
import io.dsfleet.proto.v1.AgentMessage;
import io.dsfleet.proto.v1.ContainerStatus;
import io.dsfleet.proto.v1.GetRequest;
import io.dsfleet.proto.v1.JoinRequest;
import io.dsfleet.proto.v1.NodeView;
import io.dsfleet.proto.v1.ObjectKind;
import io.dsfleet.proto.v1.PodStatus;
import io.dsfleet.proto.v1.PodStatusReport;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/**
 * What one node's pod reports (and, last, its joins) keep in the coordinator's heap (1 GiB in the shipped unit, which
 * exits on running out): root on one node, or any name a join token admits, sends partial reports
 * (the agent sends only full ones, each replacing the last), each adding a pod of a DaemonSet named
 * as it likes, up to 256. Before 2026-12-07 each pod kept whatever fields protobuf did not know, up
 * to a message's 4 MiB, and 64 containers of texts at their bounds: 256 such reports held 1 GiB,
 * the coordinator out of memory, again after each restart as the node reconnected.
 */
class ReportMemoryTest extends TlsFleetTest {
  /** Partial reports sent between two heartbeats that the test waits on: fewer than a session queues (8). */
  private static final int BETWEEN_BARRIERS = 6;

  /**
   * Pods sent one a partial report, each of its own DaemonSet, each named as the coordinator names it
   * on the node; every {@link #BETWEEN_BARRIERS} reports, a heartbeat flipping the node's condition,
   * waited on until the node shows it (applied in order with the reports, so every report before it
   * was taken). Sent back to back, a session's first ten reads (ReportPacing's burst) outran a
   * session worker slowed by a loaded machine past the 8 partial reports a session queues, and the
   * session ended RESOURCE_EXHAUSTED: the rehearsal beside other helpers failed so.
   */
  private void sendPods(FakeAgent node, int count, UnaryOperator<PodStatus.Builder> weight) {
    boolean down = false;
    for (int i = 0; i < count; i++) {
      String ds = "made-up-" + i;
      PodStatus pod = weight.apply(PodStatus.newBuilder().setNamespace("default").setDaemonSet(ds)
          .setPodName(PodNames.name(ds, node.name, 0)).setTemplateHash("abc").setPhase("Running")).build();
      node.send(AgentMessage.newBuilder().setPodStatus(PodStatusReport.newBuilder().setFull(false).addPods(pod)).build());
      if ((i + 1) % BETWEEN_BARRIERS == 0 || i == count - 1) {
        down = !down;
        boolean ready = !down;
        node.heartbeat(down, "the reports before are applied");
        await().atMost(Duration.ofSeconds(120)).until(() -> node.sessionError != null || server.fleet().node("node-a", true).ready() == ready);
      }
    }
  }

  /** What the node's reports hold once the coordinator applied {@code count} partial reports of pods made so. */
  private long heapHeldBy(int count, UnaryOperator<PodStatus.Builder> weight) throws Throwable {
    NodeCert cert = join("node-a", token());
    long[] grown = new long[1];
    CoordinatorFixture.withReportsPacedEvery(Duration.ofMillis(5), () -> { // the session opened within: it paces those only
      FakeAgent node = new FakeAgent(as(cert), "node-a").open();
      agents.add(node);
      await().atMost(Duration.ofSeconds(10)).until(() -> server.fleet().connected("node-a"));
      long before = SessionMemoryTest.heapUsed();
      sendPods(node, count, weight);
      grown[0] = SessionMemoryTest.heapUsed() - before;
      assertThat(node.sessionError).as("the session goes on").isNull();
    });
    return grown[0];
  }

  /** 3 MiB of a field protobuf does not know. */
  private static final UnknownFieldSet PADDING = UnknownFieldSet.newBuilder()
      .addField(999, UnknownFieldSet.Field.newBuilder().addLengthDelimited(ByteString.copyFrom(new byte[3 << 20])).build()).build();

  @Test
  void aNodesPodsKeepNoFieldsTheCoordinatorDoesNotRead() throws Throwable {
    long grown = heapHeldBy(40, p -> p.setUnknownFields(PADDING));
    assertThat(grown).as("heap held by 40 reported pods, each sent with 3 MiB of unknown fields").isLessThan(32L << 20);
  }

  @Test
  void partialReportsKeepNoMoreThanAFullReportCarries() throws Throwable {
    String text = "\u4e00".repeat(4096); // texts at their bounds, of characters Java holds in two bytes
    long grown = heapHeldBy(120, p -> {
      p.setMessage(text);
      for (int c = 0; c < 64; c++) {
        p.addContainers(ContainerStatus.newBuilder().setName("c" + c).setState("running")
            .setMessage(text).setImage(text.substring(0, 1024)));
      }
      return p;
    });
    assertThat(grown).as("heap held by 120 reported pods of 64 containers, each text at its bound").isLessThan(32L << 20);
  }

  /**
   * A node's info, from its join by token and its joins with its certificate, went into every
   * listing of the fleet's nodes with the fields protobuf did not know: two nodes so joined (one
   * admitted, one re-joining as a member) made {@code dsctl get nodes} fail for the admin, its
   * answer over the 4 MiB a client takes, and each held its 4 MiB of the coordinator's heap.
   */
  @Test
  void aNodesJoinsKeepNoFieldsTheCoordinatorDoesNotRead() throws Exception {
    join(FakeAgent.info("node-a", Map.of()).toBuilder().setUnknownFields(PADDING).build(), token());
    NodeCert b = join("node-b", token());
    agentStub(as(b)).join(JoinRequest.newBuilder().setNode(FakeAgent.info("node-b", Map.of()).toBuilder().setUnknownFields(PADDING))
        .setLeaveSecretSha256(sha256(leaveSecret("node-b"))).build());
    List<NodeView> nodes = control(credentialFile("admin.pem")).get(GetRequest.newBuilder().setKind(ObjectKind.NODE).build()).getNodesList();
    assertThat(nodes).extracting(n -> n.getInfo().getName()).containsExactlyInAnyOrder("node-a", "node-b");
    assertThat(nodes).allSatisfy(n -> assertThat(n.getInfo().getUnknownFields().asMap()).isEmpty());
  }
}
