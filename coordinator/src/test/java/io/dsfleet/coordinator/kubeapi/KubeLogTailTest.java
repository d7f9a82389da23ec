package io.dsfleet.coordinator.kubeapi;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.common.manifest.Fixtures;
import io.dsfleet.coordinator.grpc.CoordinatorFixture;
import io.dsfleet.coordinator.grpc.FakeAgent;
import io.dsfleet.proto.v1.ApplyRequest;
import io.dsfleet.proto.v1.LogRequest;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * `kubectl logs --tail=0` asks for none of the log's lines before now, as Kubernetes reads
 * {@code tailLines=0}: `kubectl logs -f --tail=0` prints only the lines that come. Before
 * 2026-12-06 a tail of 0 was taken for no tail, and the whole log came back.
 */
class KubeLogTailTest {
  @TempDir Path dir;
  private final HttpClient http = HttpClient.newHttpClient();

  private static LogRequest asked(FakeAgent agent) throws InterruptedException {
    while (true) {
      var m = agent.received.poll(10, TimeUnit.SECONDS);
      assertThat(m).as("the agent is asked for the log").isNotNull();
      if (m.hasLogRequest()) {
        return m.getLogRequest();
      }
    }
  }

  @Test
  void aTailOfNoLinesAsksTheAgentForNoneBeforeNowAndNoTailForAll() throws Exception {
    try (CoordinatorFixture c = new CoordinatorFixture(dir.resolve("data"));
        KubeApi api = c.server.startKubeApi(new InetSocketAddress("127.0.0.1", 0))) {
      String base = "http://127.0.0.1:" + api.port();
      FakeAgent agent = c.agent("node-a", Map.of("disk", "ssd"));
      agent.nextDesired(Duration.ofSeconds(10));
      c.control().apply(ApplyRequest.newBuilder().setManifests(Fixtures.BASE).build());
      var desired = agent.nextDesired(Duration.ofSeconds(10));
      agent.reportAllReady(desired, c.clock.millis());
      String pod = desired.getPods(0).getPodName();
      org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> !c.server.fleet().node("node-a", false).pods().isEmpty());
      agent.answerLogs = false;
      String log = base + "/api/v1/namespaces/ops/pods/" + pod + "/log";
      for (var q : Map.of("?tailLines=0&follow=true", 0, "?tailLines=0", 0, "?tailLines=3", 3, "", -1).entrySet()) {
        agent.received.clear();
        CompletableFuture<HttpResponse<String>> read = http.sendAsync(HttpRequest.newBuilder(URI.create(log + q.getKey())).build(),
            HttpResponse.BodyHandlers.ofString());
        LogRequest req = asked(agent);
        assertThat(req.getTailLines()).as(q.getKey() + ": the agent's tail (negative: all)").isEqualTo(q.getValue());
        agent.send(io.dsfleet.proto.v1.AgentMessage.newBuilder().setLogChunk(io.dsfleet.proto.v1.LogChunk.newBuilder()
            .setRequestId(req.getRequestId()).setEof(true)).build());
        assertThat(read.get(20, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
      }
    }
  }
}
