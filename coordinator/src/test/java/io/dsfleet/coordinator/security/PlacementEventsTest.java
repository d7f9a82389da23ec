package io.dsfleet.coordinator.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.dsfleet.common.manifest.Fixtures;
import io.dsfleet.coordinator.grpc.CoordinatorFixture;
import io.dsfleet.coordinator.grpc.FakeAgent;
import io.dsfleet.coordinator.plan.PodNames;
import io.dsfleet.proto.v1.ApplyRequest;
import io.dsfleet.proto.v1.ContainerStatus;
import io.dsfleet.proto.v1.DescribeRequest;
import io.dsfleet.proto.v1.Event;
import io.dsfleet.proto.v1.ObjectKind;
import io.dsfleet.proto.v1.PodStatus;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A node's reports move its plan: reporting its pod under another of the names the coordinator
 * gives a pod of that DaemonSet there (a salt of {@link PodNames}) makes the plan drop one name and
 * take the other, and the controller recorded PodScheduled and PodRemoved on the DaemonSet and the
 * node for each, outside the node's budget of events. Before 2026-12-07 a node (root on one, or any
 * name a join token admits) alternating two names pushed every other node's events out of the
 * DaemonSet's 50 kept ones, a failure of theirs among them, and flooded {@code dsctl events -w}.
 */
class PlacementEventsTest extends TlsFleetTest {
  /** The node's pod of ops/agent, Ready, or failing for {@code reason}. */
  private static PodStatus pod(String pod, String hash, String reason) {
    return PodStatus.newBuilder().setNamespace("ops").setDaemonSet("agent").setPodName(pod).setTemplateHash(hash).setPhase("Running")
        .setReady(reason.isEmpty()).setReason(reason).setMessage(reason).addContainers(ContainerStatus.newBuilder().setName("main")
            .setState("running").setReady(reason.isEmpty())).build();
  }

  @Test
  void aNodeRenamingItsPodInEachReportKeepsToItsShareOfTheDaemonSetsEvents() throws Throwable {
    control(credentialFile("admin.pem")).apply(ApplyRequest.newBuilder().setManifests(Fixtures.BASE).build());
    FakeAgent other = new FakeAgent(as(join("node-b", token())), "node-b").open();
    FakeAgent noisy = new FakeAgent(as(join("node-a", token())), "node-a").open();
    agents.addAll(List.of(other, noisy));
    var otherPod = other.nextDesired(Duration.ofSeconds(10)).getPods(0);
    other.report(pod(otherPod.getPodName(), otherPod.getTemplateHash(), "OOMKilled"));
    String hash = noisy.nextDesired(Duration.ofSeconds(10)).getPods(0).getTemplateHash();
    await().atMost(Duration.ofSeconds(10)).until(() -> server.fleet().node("node-b", true).pods().size() == 1);

    List<String> names = List.of(PodNames.name("agent", "node-a", 0), PodNames.name("agent", "node-a", 1));
    CoordinatorFixture.withReportsPacedEvery(Duration.ofMillis(5), () -> {
      for (int i = 0; i < 100; i++) {
        noisy.report(pod(names.get(i % 2), hash, ""));
      }
      noisy.heartbeat(true, "after the reports"); // applied in order with them
      await().atMost(Duration.ofSeconds(60)).until(() -> !server.fleet().node("node-a", true).ready());
    });
    List<Event> kept = control(credentialFile("admin.pem")).describe(DescribeRequest.newBuilder().setKind(ObjectKind.DAEMON_SET)
        .setNamespace("ops").setName("agent").build()).getEventsList();
    assertThat(kept).as("the other node's failure stays").anyMatch(e -> e.getReason().equals("OOMKilled") && e.getMessage().contains("on node-b"));
    assertThat(kept).filteredOn(e -> e.getMessage().contains(names.get(0)) || e.getMessage().contains(names.get(1)))
        .as("the noisy node's share").hasSizeLessThanOrEqualTo(10);
    assertThat(noisy.sessionError).isNull();
  }
}
