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

/**
 * DeleteOptions as Kubernetes reads them: a pod's preconditions checked, or refused by name; a
 * DaemonSet's orphanDependents (what older clients send) taken as its propagation policy. Never
 * ignored.
 */
class KubeDeleteOptionsTest {
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

  /** node-a joined and the base DaemonSet applied; its first (empty) desired set taken. */
  private static io.dsfleet.coordinator.grpc.FakeAgent nodeWithTheBaseDaemonSet(CoordinatorFixture c) throws Exception {
    var agent = c.agent("node-a", Map.of());
    agent.nextDesired(Duration.ofSeconds(10));
    c.control().apply(io.dsfleet.proto.v1.ApplyRequest.newBuilder().setManifests(io.dsfleet.common.manifest.Fixtures.BASE).build());
    return agent;
  }

  @Test
  void aPodDeleteWhosePreconditionsDoNotHoldDeletesNothing() throws Exception {
    try (CoordinatorFixture c = new CoordinatorFixture(dir.resolve("data"));
        KubeApi api = c.server.startKubeApi(new InetSocketAddress("127.0.0.1", 0))) {
      base = "http://127.0.0.1:" + api.port();
      var agent = nodeWithTheBaseDaemonSet(c);
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

  /**
   * orphanDependents: true, as older clients ask a DaemonSet's pods orphaned, leaves them running
   * (the node's next set releases its pod, as dsctl delete --cascade=orphan); it was not read, and
   * the pods were stopped. Given with propagationPolicy, or not a boolean, it is refused and nothing
   * is deleted.
   */
  @Test
  void orphanDependentsOrphansADaemonSetsPods() throws Exception {
    try (CoordinatorFixture c = new CoordinatorFixture(dir.resolve("data"));
        KubeApi api = c.server.startKubeApi(new InetSocketAddress("127.0.0.1", 0))) {
      base = "http://127.0.0.1:" + api.port();
      var agent = nodeWithTheBaseDaemonSet(c);
      String pod = agent.nextDesired(Duration.ofSeconds(10)).getPods(0).getPodName();
      String ds = "/apis/apps/v1/namespaces/ops/daemonsets/agent";
      Answer both = send("DELETE", ds + "?propagationPolicy=Background", "{\"orphanDependents\":true}");
      assertThat(both.code()).as(both.body().toString()).isEqualTo(422);
      assertThat(both.body().path("message").asText()).contains("orphanDependents and deletionPropagation cannot be both set");
      assertThat(send("DELETE", ds + "?orphanDependents=maybe", null).code()).isEqualTo(400);
      assertThat(send("GET", ds, null).code()).as("nothing deleted").isEqualTo(200);

      Answer orphaned = send("DELETE", ds, "{\"kind\":\"DeleteOptions\",\"apiVersion\":\"v1\",\"orphanDependents\":true}");
      assertThat(orphaned.code()).as(orphaned.body().toString()).isEqualTo(200);
      var next = agent.nextDesired(Duration.ofSeconds(10));
      assertThat(next.getPodsList()).isEmpty();
      assertThat(next.getOrphanedPodsList()).as("released, left running").containsExactly(pod);
    }
  }

  /**
   * DeleteOptions that are not an object, or whose preconditions are not one (a list of them, a
   * string), are refused (400) and nothing is deleted, as Kubernetes refuses a body it cannot
   * decode: the preconditions a client meant to hold were not read, and the DaemonSet, ConfigMap or
   * pod was deleted whatever they said.
   */
  @Test
  void deleteOptionsOfTheWrongShapeDeleteNothing() throws Exception {
    try (CoordinatorFixture c = new CoordinatorFixture(dir.resolve("data"));
        KubeApi api = c.server.startKubeApi(new InetSocketAddress("127.0.0.1", 0))) {
      base = "http://127.0.0.1:" + api.port();
      var agent = nodeWithTheBaseDaemonSet(c);
      String pod = "/api/v1/namespaces/ops/pods/" + agent.nextDesired(Duration.ofSeconds(10)).getPods(0).getPodName();
      String ds = "/apis/apps/v1/namespaces/ops/daemonsets/agent";
      for (String path : new String[] {ds, pod}) {
        for (String options : new String[] {"{\"preconditions\":[{\"uid\":\"0ld\"}]}", "{\"preconditions\":\"0ld\"}", "[{\"uid\":\"0ld\"}]"}) {
          Answer refused = send("DELETE", path, options);
          assertThat(refused.code()).as(path + " " + options + ": " + refused.body()).isEqualTo(400);
          assertThat(refused.body().path("kind").asText()).isEqualTo("Status");
        }
      }
      assertThat(send("GET", ds, null).code()).as("nothing deleted").isEqualTo(200);
      assertThat(send("GET", "/api/v1/namespaces/ops/events?fieldSelector=reason%3DPodDeleted", null).body().path("items"))
          .as("no pod deleted").isEmpty();
    }
  }
}
