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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A get's and a list's resourceVersion and resourceVersionMatch, as Kubernetes reads them: an
 * Exact list is at that version or 410 Expired, never another version answered as if it were that
 * one; NotOlderThan is the newest; what Kubernetes refuses, and what is not served, is refused
 * naming the parameter.
 */
class KubeReadVersionTest {
  @TempDir Path dir;
  final HttpClient http = HttpClient.newHttpClient();
  String base;

  record Answer(int code, JsonNode body) {}

  Answer get(String path) throws Exception {
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(30)).build(),
        HttpResponse.BodyHandlers.ofString());
    return new Answer(r.statusCode(), Json.read(r.body(), JsonNode.class));
  }

  Answer post(String path, String body) throws Exception {
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(30))
        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
        HttpResponse.BodyHandlers.ofString());
    return new Answer(r.statusCode(), Json.read(r.body(), JsonNode.class));
  }

  static final String CMS = "/api/v1/namespaces/default/configmaps";
  static final String CM = "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"%s\"},\"data\":{\"a\":\"b\"}}";

  @Test
  void anExactListIsAtItsVersionOrExpired() throws Exception {
    try (CoordinatorFixture c = new CoordinatorFixture(dir.resolve("data"));
        KubeApi api = c.server.startKubeApi(new InetSocketAddress("127.0.0.1", 0))) {
      base = "http://127.0.0.1:" + api.port();
      assertThat(post(CMS, CM.formatted("first")).code()).isEqualTo(201);
      // the fleet's version moves with lease sweeps too: an Exact list right after the list is at
      // its version unless one came between, which a few tries get past
      Answer exact = null;
      for (int i = 0; i < 20 && (exact == null || exact.code() != 200); i++) {
        String v = get(CMS).body().at("/metadata/resourceVersion").asText();
        exact = get(CMS + "?resourceVersion=" + v + "&resourceVersionMatch=Exact");
        if (exact.code() == 200) {
          assertThat(exact.body().at("/metadata/resourceVersion").asText()).isEqualTo(v);
        }
      }
      assertThat(exact.code()).as(exact.body().toString()).isEqualTo(200);
      String before = exact.body().at("/metadata/resourceVersion").asText();

      assertThat(post(CMS, CM.formatted("second")).code()).isEqualTo(201);
      Answer gone = get(CMS + "?resourceVersion=" + before + "&resourceVersionMatch=Exact");
      assertThat(gone.code()).as("the version before the second ConfigMap, not the list after it: %s", gone.body()).isEqualTo(410);
      assertThat(gone.body().path("reason").asText()).isEqualTo("Expired");
      assertThat(gone.body().path("message").asText()).startsWith("too old resource version: " + before);

      Answer newer = get(CMS + "?resourceVersion=" + before + "&resourceVersionMatch=NotOlderThan");
      assertThat(newer.code()).isEqualTo(200);
      assertThat(newer.body().path("items").size()).as("the newest: both ConfigMaps").isEqualTo(2);
      assertThat(get(CMS + "?resourceVersion=0").code()).isEqualTo(200);
      assertThat(get(CMS + "/first?resourceVersion=" + before).code()).as("a get, not older than the version").isEqualTo(200);
    }
  }

  /**
   * A watch from a list's version of DaemonSets that did not change since sends nothing: the list
   * is remembered as text and read back, where a long (a DaemonSet's generation) is an int, and
   * every DaemonSet was sent as MODIFIED (kubectl get ds -w printed each twice).
   */
  @Test
  void aWatchFromAListsVersionSendsNoChangeThatDidNotHappen() throws Exception {
    try (CoordinatorFixture c = new CoordinatorFixture(dir.resolve("data"));
        KubeApi api = c.server.startKubeApi(new InetSocketAddress("127.0.0.1", 0))) {
      base = "http://127.0.0.1:" + api.port();
      c.control().apply(io.dsfleet.proto.v1.ApplyRequest.newBuilder().setManifests(io.dsfleet.common.manifest.Fixtures.BASE).build());
      String dss = "/apis/apps/v1/namespaces/ops/daemonsets";
      // the rollout pass's status first (observedGeneration): a change that did happen, and is sent
      org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).until(() -> Json.read(http.send(
          HttpRequest.newBuilder(URI.create(base + dss)).build(), HttpResponse.BodyHandlers.ofString()).body(), JsonNode.class)
          .at("/items/0/status/observedGeneration").asLong() == 1);
      for (String accept : new String[] {"application/json", "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"}) {
        HttpResponse<String> list = http.send(HttpRequest.newBuilder(URI.create(base + dss)).header("Accept", accept).build(),
            HttpResponse.BodyHandlers.ofString());
        String v = Json.read(list.body(), JsonNode.class).at("/metadata/resourceVersion").asText();
        // the watch compares the list it remembered with the fleet's at once, and ends after a second
        HttpResponse<String> watch = http.send(HttpRequest.newBuilder(URI.create(base + dss + "?watch=true&timeoutSeconds=1"
            + "&resourceVersion=" + v)).header("Accept", accept).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(watch.statusCode()).as(watch.body()).isEqualTo(200);
        assertThat(watch.body()).as(accept).isEmpty();
      }
    }
  }

  @Test
  void whatIsNotKubernetesOrNotServedIsRefusedByName() throws Exception {
    try (CoordinatorFixture c = new CoordinatorFixture(dir.resolve("data"));
        KubeApi api = c.server.startKubeApi(new InetSocketAddress("127.0.0.1", 0))) {
      base = "http://127.0.0.1:" + api.port();
      assertThat(post(CMS, CM.formatted("first")).code()).isEqualTo(201);
      record Refused(String query, int code, String says) {}
      for (Refused r : new Refused[] {
          new Refused(CMS + "?resourceVersion=yesterday", 400, "resourceVersion: Invalid value: \"yesterday\""),
          new Refused(CMS + "?resourceVersionMatch=Exact", 422, "resourceVersionMatch is forbidden unless resourceVersion is provided"),
          new Refused(CMS + "?resourceVersion=0&resourceVersionMatch=Exact", 422, "resourceVersionMatch \"exact\" is forbidden for"
              + " resourceVersion \"0\""),
          new Refused(CMS + "?resourceVersion=1&resourceVersionMatch=Latest", 422, "resourceVersionMatch: Unsupported value: \"Latest\""),
          new Refused(CMS + "/first?resourceVersion=1&resourceVersionMatch=Exact", 400, "resourceVersionMatch is served on lists only"),
          new Refused("/api/v1/nodes/nope?resourceVersion=x", 400, "resourceVersion: Invalid value"),
          new Refused(CMS + "?limit=1&continue=eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ", 400, "continue key is not valid")}) {
        Answer a = get(r.query());
        assertThat(a.code()).as(r.query() + ": " + a.body()).isEqualTo(r.code());
        assertThat(a.body().path("message").asText()).as(r.query()).contains(r.says());
      }
    }
  }
}
