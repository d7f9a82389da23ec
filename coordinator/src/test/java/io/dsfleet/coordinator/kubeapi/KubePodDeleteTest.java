package io.dsfleet.coordinator.kubeapi;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.dsfleet.common.Json;
import io.dsfleet.coordinator.grpc.CoordinatorFixture;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** DELETE of a pod with DeleteOptions' preconditions: checked as Kubernetes checks them, or refused by name; never ignored. */
class KubePodDeleteTest {
  @TempDir Path dir;
  final HttpClient http = HttpClient.newHttpClient();
  String base;

  record Answer(int code, JsonNode body) {}

  Answer send(String method, String path, String body) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(30))
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    if (body != null) {
      b.header("Content-Type", "application/json");
    }
    HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    return new Answer(r.statusCode(), Json.read(r.body(), JsonNode.class));
  }

  @Test
  void aPodDeleteWhosePreconditionsDoNotHoldDeletesNothing() throws Exception {
    try (CoordinatorFixture c = new CoordinatorFixture(dir.resolve("data"));
        KubeApi api = c.server.startKubeApi(new InetSocketAddress("127.0.0.1", 0))) {
      base = "http://127.0.0.1:" + api.port();
      var agent = c.agent("node-a", Map.of());
      agent.nextDesired(Duration.ofSeconds(10));
      c.control().apply(io.dsfleet.proto.v1.ApplyRequest.newBuilder().setManifests(io.dsfleet.common.manifest.Fixtures.BASE).build());
      var desired = agent.nextDesired(Duration.ofSeconds(10));
      agent.reportAllReady(desired, c.clock.millis());
      String pod = "/api/v1/namespaces/ops/pods/" + desired.getPods(0).getPodName();
      String uid = send("GET", pod, null).body().at("/metadata/uid").asText();
      String deleted = "/api/v1/namespaces/ops/events?fieldSelector=reason%3DPodDeleted";

      Answer otherUid = send("DELETE", pod, "{\"kind\":\"DeleteOptions\",\"apiVersion\":\"v1\",\"preconditions\":{\"uid\":\"0ld-p0d\"}}");
      assertThat(otherUid.code()).as(otherUid.body().toString()).isEqualTo(409);
      assertThat(otherUid.body().path("message").asText()).isEqualTo("Operation cannot be fulfilled on pods \""
          + desired.getPods(0).getPodName() + "\": Precondition failed: UID in precondition: 0ld-p0d, UID in object meta: " + uid);
      Answer version = send("DELETE", pod, "{\"preconditions\":{\"resourceVersion\":\"7\"}}");
      assertThat(version.code()).as(version.body().toString()).isEqualTo(422);
      assertThat(version.body().path("message").asText()).contains("preconditions.resourceVersion");
      assertThat(send("DELETE", pod, "{\"preconditions\":\"x\"}").code()).isEqualTo(400);
      assertThat(send("GET", deleted, null).body().path("items")).as("nothing deleted").isEmpty();

      Answer same = send("DELETE", pod, "{\"preconditions\":{\"uid\":\"" + uid + "\"}}");
      assertThat(same.code()).as(same.body().toString()).isEqualTo(200);
      assertThat(send("GET", deleted, null).body().path("items")).as("the pod's own uid: deleted").hasSize(1);
    }
  }
}
