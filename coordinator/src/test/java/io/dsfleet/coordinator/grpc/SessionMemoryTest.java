package io.dsfleet.coordinator.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnknownFieldSet;
import io.dsfleet.proto.v1.AgentMessage;
import io.dsfleet.proto.v1.Heartbeat;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a session's messages cost while they wait for the session worker (the fleet's lock held by
 * an apply, a rollout pass): at most 128 of them, a heartbeat's texts bounded before it waits. A
 * heartbeat also kept whatever fields protobuf did not know (a 4 MiB message of them, from root on
 * a node or any name a join token admits): 128 such heartbeats held 512 MiB per session until the
 * worker came to them. A waiting heartbeat now keeps only what the coordinator reads of it.
 */
public class SessionMemoryTest {
  @TempDir
  Path dir;

  /** The heap in use after a few collections. */
  public static long heapUsed() {
    for (int i = 0; i < 3; i++) {
      System.gc();
    }
    return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
  }

  @Test
  void aWaitingHeartbeatKeepsNoFieldsTheCoordinatorDoesNotRead() throws Throwable {
    try (CoordinatorFixture f = new CoordinatorFixture(dir)) {
      FakeAgent agent = f.agent("node-a", Map.of());
      f.whileTheFleetLockIsHeld(() -> { // as an apply holding the fleet's lock
        long before = heapUsed();
        ByteString padding = ByteString.copyFrom(new byte[3 << 20]);
        int sent = 60;
        for (int i = 1; i <= sent; i++) { // the condition flips with the first: each waits for the worker
          Heartbeat hb = Heartbeat.newBuilder().setSeq(i).setRuntimeUnavailable(i % 2 == 1).setAckNotNeeded(true)
              .setUnknownFields(UnknownFieldSet.newBuilder().addField(999, UnknownFieldSet.Field.newBuilder()
                  .addLengthDelimited(padding).build()).build()).build();
          agent.send(AgentMessage.newBuilder().setHeartbeat(hb).build());
        }
        // all taken from the socket, decoded and queued for the worker (which holds the first, waiting for the lock)
        await().atMost(Duration.ofSeconds(60)).until(() -> f.server.queuedSessionMessages() >= sent - 1);
        long grown = heapUsed() - before;
        assertThat(grown).as("heap held by %d heartbeats waiting for the worker (each sent with 3 MiB of unknown fields)", sent)
            .isLessThan(32L << 20);
      });
      await().atMost(Duration.ofSeconds(30)).until(() -> f.server.queuedSessionMessages() == 0);
      assertThat(f.server.fleet().connected("node-a")).as("the session goes on").isTrue();
    }
  }

  /**
   * A node that sends heartbeats asking for an answer and never reads its session (root on a node,
   * or any name a join token admits): each answer was handed to gRPC, which queued what the agent
   * did not take, a few hundred bytes of the coordinator's memory for a heartbeat of a dozen
   * bytes, without end. The newest answer now waits, as the newest desired set does.
   */
  @Test
  void heartbeatAnswersANodeDoesNotReadDoNotPileUp() throws Exception {
    try (CoordinatorFixture f = new CoordinatorFixture(dir)) {
      FakeAgent agent = new FakeAgent(f.server.port(), "node-b");
      agent.reading = false;
      agent.join(Map.of()).open();
      await().atMost(Duration.ofSeconds(10)).until(() -> f.server.fleet().connected("node-b"));
      long before = heapUsed();
      for (int i = 0; i < 300_000; i++) {
        agent.heartbeat();
      }
      // a heartbeat that changes the node's condition, applied once the session has taken (and answered) every one before it
      agent.heartbeat(true, "after the 300,000");
      await().atMost(Duration.ofSeconds(60)).until(() -> !f.server.fleet().node("node-b", true).ready());
      long grown = heapUsed() - before;
      assertThat(grown).as("heap held by the answers to 300,000 heartbeats of a node that reads nothing").isLessThan(16L << 20);
      agent.close();
    }
  }
}
