package io.dsfleet.coordinator.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.dsfleet.proto.v1.ContainerStatus;
import io.dsfleet.proto.v1.PodStatus;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A node sending full pod reports as fast as it can (root on a node, or any name a join token
 * admits): each is applied under the fleet's lock, 10 ms of the session worker for one of 256
 * pods with their texts at their bounds, and they were applied back to back. A session's reports
 * are now read ten at once, then one each 100 ms; what the node sends meanwhile waits on its side
 * (flow control), in order: the heartbeat sent after the reports is answered after them, and the
 * session goes on.
 */
class ReportPacingTest {
  @TempDir
  Path dir;

  static PodStatus pod(String message) {
    return PodStatus.newBuilder().setNamespace("ops").setDaemonSet("agent").setPodName("agent-x").setTemplateHash("abc")
        .setPhase("Running").setMessage(message).addContainers(ContainerStatus.newBuilder().setName("main").setState("running")).build();
  }

  @Test
  void aNodesReportsAreReadTenAtOnceThenTenASecond() throws Exception {
    try (CoordinatorFixture f = new CoordinatorFixture(dir)) {
      FakeAgent agent = f.agent("node-a", Map.of());
      int sent = 40;
      long start = System.nanoTime();
      for (int i = 0; i < sent; i++) {
        agent.report(pod("report " + i));
      }
      agent.heartbeat(); // answered once the session has read (and queued) every report before it
      await().atMost(Duration.ofSeconds(60)).until(agent::heartbeatAcked);
      Duration took = Duration.ofNanos(System.nanoTime() - start);
      // the open's report and 9 of these within the allowance of 10, the other 31 one each 100 ms
      assertThat(took).as("40 reports read at most 10 at once, then one each 100 ms").isGreaterThanOrEqualTo(Duration.ofMillis(2_900));
      assertThat(agent.sessionError).isNull();
      assertThat(f.server.fleet().connected("node-a")).isTrue();
    }
  }

  /**
   * A node flipping its condition (container runtime down, up) in every heartbeat: each change is
   * applied under the fleet's lock, the node planned again and its desired set sent. Paced as the
   * reports are, with them.
   */
  @Test
  void aNodesConditionChangesAreReadAsItsReportsAre() throws Exception {
    try (CoordinatorFixture f = new CoordinatorFixture(dir)) {
      FakeAgent agent = f.agent("node-a", Map.of());
      int sent = 40;
      long start = System.nanoTime();
      for (int i = 0; i < sent; i++) {
        agent.heartbeat(i % 2 == 0, "flip " + i);
      }
      agent.heartbeat(); // up again: a change too, answered once applied
      await().atMost(Duration.ofSeconds(60)).until(agent::heartbeatAcked);
      Duration took = Duration.ofNanos(System.nanoTime() - start);
      // the open's report and 9 of these within the allowance of 10, the other 32 one each 100 ms
      assertThat(took).as("41 changes read at most 10 at once, then one each 100 ms").isGreaterThanOrEqualTo(Duration.ofMillis(2_900));
      assertThat(agent.sessionError).isNull();
      assertThat(f.server.fleet().node("node-a", true).ready()).isTrue();
    }
  }
}
