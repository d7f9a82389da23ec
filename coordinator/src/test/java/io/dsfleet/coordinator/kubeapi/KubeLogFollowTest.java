package io.dsfleet.coordinator.kubeapi;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import io.dsfleet.common.manifest.Fixtures;
import io.dsfleet.common.testing.RawHttp;
import io.dsfleet.coordinator.grpc.CoordinatorFixture;
import io.dsfleet.coordinator.grpc.FakeAgent;
import io.dsfleet.proto.v1.ApplyRequest;
import io.dsfleet.proto.v1.CoordinatorMessage;
import io.dsfleet.proto.v1.LogRequest;
import io.dsfleet.proto.v1.LogsRequest;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * `kubectl logs -f` on the Kubernetes API: the agent is asked to follow, and the stream ends, the
 * agent told to stop sending and the stream's slot free again, when the credential is revoked or
 * its client stops reading.
 */
class KubeLogFollowTest {
  @TempDir Path dir;
  private CoordinatorFixture c;
  private FakeAgent agent;
  private HttpServer server;
  private ExecutorService pool;
  /** Writes wait 1 s for a client, a quiet stream looks for its client every 200 ms. */
  private final KubeWatch streams = new KubeWatch(() -> System.nanoTime() / 1_000_000, 0, 1000, Duration.ofSeconds(1), 200);
  private final AtomicReference<Runnable> revoke = new AtomicReference<>();
  private final CountDownLatch served = new CountDownLatch(1);

  @BeforeEach
  void fleet() throws Exception {
    c = new CoordinatorFixture(dir.resolve("data"));
    agent = c.agent("node-a", Map.of("disk", "ssd"));
    agent.nextDesired(Duration.ofSeconds(10));
    c.control().apply(ApplyRequest.newBuilder().setManifests(Fixtures.BASE).build());
    agent.reportAllReady(agent.nextDesired(Duration.ofSeconds(10)), c.clock.millis());
    // the report is applied on the coordinator's own time: a follow before it finds no pod (404) and asks no agent
    Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> !c.server.fleet().node("node-a", false).pods().isEmpty());
    agent.answerLogs = false;
    pool = io.dsfleet.common.JdkHttpServers.threads("kube-logs-test");
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 8);
    server.setExecutor(pool);
    server.createContext("/", x -> {
      try {
        KubeLogFollow.serve(x, c.server.fleet(), c.server.logRelay(), LogsRequest.newBuilder().setNamespace("ops").setDaemonSet("agent")
            .setNodeName("node-a").build(), streams, "viewer/v", end -> {
              revoke.set(end);
              return () -> revoke.set(null);
            }, 0);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } finally {
        x.close();
        served.countDown();
      }
    });
    server.start();
  }

  @AfterEach
  void close() {
    server.stop(0);
    pool.shutdownNow();
    c.close();
  }

  private Socket follow() throws IOException {
    return RawHttp.get(server.getAddress().getPort(), "/log?follow=true");
  }

  private LogRequest asked() {
    AtomicReference<LogRequest> r = new AtomicReference<>();
    Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> {
      for (CoordinatorMessage m : agent.received) {
        if (m.hasLogRequest()) {
          r.set(m.getLogRequest());
          return true;
        }
      }
      return false;
    });
    return r.get();
  }

  private boolean cancelled(String requestId) {
    return agent.received.stream().anyMatch(m -> m.hasLogCancel() && m.getLogCancel().getRequestId().equals(requestId));
  }

  /**
   * What a followed log holds for its answer's writes is bounded in bytes, as the relay's own wait
   * is (LogRelay.MAX_WAITING_BYTES, each line as {@link io.dsfleet.coordinator.grpc.LogRelay#heapBytes}
   * counts it): before, 1,000 lines of any length, so an agent's lines of 16,384 characters (its
   * own cut) held 16-32 MiB for each of the API's 16 streams while their clients read slowly, and
   * a node's of 4 MiB each (a message's bound) 4 GiB.
   */
  @Test
  void theLinesAFollowedLogHoldsForItsClientAreBoundedInBytes() {
    KubeLogFollow follower = new KubeLogFollow();
    String line = "\u00e9\u4e2d".repeat(8 * 1024); // 16,384 characters, wide: two bytes each on the heap
    long held = 0;
    int taken = 0;
    while (follower.isReady() && taken < 100_000) {
      follower.onNext(io.dsfleet.proto.v1.LogLine.newBuilder().setLine(line).build());
      held += io.dsfleet.coordinator.grpc.LogRelay.heapBytes(line);
      taken++;
    }
    assertThat(taken).as("it takes lines, then waits for its client").isPositive();
    assertThat(held).as("what it holds: its bound and one line more at most")
        .isLessThanOrEqualTo(KubeLogFollow.MAX_QUEUED_BYTES + io.dsfleet.coordinator.grpc.LogRelay.heapBytes(line));
  }

  @Test
  void aRevokedCredentialsFollowedLogEndsAndItsAgentStopsSending() throws Exception {
    try (Socket s = follow()) {
      s.setSoTimeout(15_000);
      LogRequest req = asked();
      assertThat(req.getFollow()).isTrue();
      agent.logChunk(req.getRequestId(), List.of("before the revocation"));
      assertThat(RawHttp.until(s.getInputStream(), "before the revocation")).contains("200 OK");
      assertThat(streams.watching("viewer/v")).isEqualTo(1);
      revoke.get().run();
      agent.logChunk(req.getRequestId(), List.of("after the revocation"));
      String rest = RawHttp.until(s.getInputStream(), RawHttp.LAST_CHUNK);
      assertThat(rest).as("the stream ended, nothing more written").endsWith("\r\n0\r\n\r\n").doesNotContain("after the revocation");
      assertThat(served.await(10, TimeUnit.SECONDS)).isTrue();
      Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> cancelled(req.getRequestId()));
      assertThat(streams.watching("viewer/v")).as("its slot is free").isZero();
    }
  }

  @Test
  void aClientThatStopsReadingLosesItsFollowedLogOnceAWriteWaitedItsBound() throws Exception {
    try (Socket s = follow()) {
      LogRequest req = asked();
      String line = "x".repeat(16 * 1024);
      long start = System.nanoTime();
      // the client reads nothing; the agent sends 256 KiB a time until the kernel's buffers are full and a write waits 1 s
      while (served.getCount() > 0 && System.nanoTime() - start < TimeUnit.SECONDS.toNanos(30)) {
        agent.logChunk(req.getRequestId(), Collections.nCopies(16, line));
        Thread.sleep(20);
      }
      assertThat(served.getCount()).as("the followed log ended: its write waited 1 s for a client reading nothing").isZero();
      assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(15));
      Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> cancelled(req.getRequestId()));
      assertThat(streams.watching("viewer/v")).isZero();
    }
  }

  /**
   * kubectl logs -f ended with Ctrl-C on a log with nothing to say: nothing is written that would
   * fail, and the JDK's server reads nothing of the connection, so before the kernel's table was
   * read the stream held its slot, and its follow on the agent, for its whole window (30 minutes).
   * A client still there keeps its stream through the same looks.
   */
  @Test
  void aClientThatLeavesAQuietLogGivesItsSlotBackAndItsAgentStopsFollowing() throws Exception {
    LogRequest req;
    try (Socket s = follow()) {
      s.setSoTimeout(15_000);
      req = asked();
      agent.logChunk(req.getRequestId(), List.of("first"));
      assertThat(RawHttp.until(s.getInputStream(), "first")).contains("200 OK");
      Thread.sleep(1000); // quiet for five of its looks, its client there
      agent.logChunk(req.getRequestId(), List.of("after a quiet second"));
      assertThat(RawHttp.until(s.getInputStream(), "after a quiet second")).as("a client still there keeps its stream").isNotEmpty();
      assertThat(streams.watching("viewer/v")).isEqualTo(1);
    } // the client leaves; the log says nothing more
    assertThat(served.await(10, TimeUnit.SECONDS)).as("the stream ended without a line to write").isTrue();
    assertThat(streams.watching("viewer/v")).as("its slot is free").isZero();
    Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> cancelled(req.getRequestId()));
  }
}
