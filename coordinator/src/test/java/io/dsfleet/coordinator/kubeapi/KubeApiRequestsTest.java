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
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Requests kubectl does not send, against a real coordinator's Kubernetes API: what a web page,
 * a hostile or a careless client sends is refused with a Status and changes nothing; watches from
 * a list's version see deletions; watches are capped per credential.
 */
class KubeApiRequestsTest {
  @TempDir Path dir;
  final HttpClient http = HttpClient.newHttpClient();
  String base;

  record Answer(int code, JsonNode body, String text) {}

  Answer send(String method, String path, String type, String body, String... headers) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(30))
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    if (type != null) {
      b.header("Content-Type", type);
    }
    for (int i = 0; i < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    JsonNode json = null;
    try {
      json = Json.read(r.body(), JsonNode.class);
    } catch (RuntimeException notOne) {
      // a watch's lines
    }
    return new Answer(r.statusCode(), json, r.body());
  }

  static final String CM = "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"%s\"},\"data\":{\"a\":\"b\"}}";
  static final String CMS = "/api/v1/namespaces/default/configmaps";

  /**
   * kubectl logs of a pod whose log is characters Docker could not decode (a pod writing binary:
   * U+FFFD, two bytes each in the heap, three in UTF-8) is written line by line as it was read:
   * before 2026-12-06 the read's 4 MiB of characters were joined into one string and that encoded
   * into one array: 85 MiB allocated (2 MiB now), about 40 MiB of it held at once by each request
   * besides its lines (a viewer's ten at once, 400 MiB of a coordinator's 1 GiB heap).
   */
  @Test
  void aLogReadWholeIsWrittenLineByLine() throws Exception {
    try (CoordinatorFixture c = new CoordinatorFixture(dir.resolve("data"));
        KubeApi api = c.server.startKubeApi(new InetSocketAddress("127.0.0.1", 0))) {
      base = "http://127.0.0.1:" + api.port();
      var agent = c.agent("node-a", Map.of());
      agent.nextDesired(Duration.ofSeconds(10));
      c.control().apply(io.dsfleet.proto.v1.ApplyRequest.newBuilder().setManifests(io.dsfleet.common.manifest.Fixtures.BASE).build());
      var desired = agent.nextDesired(Duration.ofSeconds(10));
      agent.reportAllReady(desired, c.clock.millis());
      String pod = desired.getPods(0).getPodName();
      org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> !c.server.fleet().node("node-a", false).pods().isEmpty());
      agent.answerLogs = false;
      io.dsfleet.coordinator.Allocations allocated = io.dsfleet.coordinator.Allocations.ofThreadsNamed("kube-api");
      CompletableFuture<HttpResponse<byte[]>> read = http.sendAsync(HttpRequest.newBuilder(URI.create(base
          + "/api/v1/namespaces/ops/pods/" + pod + "/log")).build(), HttpResponse.BodyHandlers.ofByteArray());
      String id = null;
      while (id == null) {
        var m = agent.received.poll(10, java.util.concurrent.TimeUnit.SECONDS);
        id = m != null && m.hasLogRequest() ? m.getLogRequest().getRequestId() : null;
      }
      List<String> chunk = java.util.Collections.nCopies(32, "\uFFFD".repeat(16384)); // 1.5 MiB on the wire
      for (int i = 0; i < 9; i++) { // 288 lines: past the read's 4 MiB
        agent.logChunk(id, chunk);
      }
      HttpResponse<byte[]> r = read.get(30, java.util.concurrent.TimeUnit.SECONDS);
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(new String(r.body(), java.nio.charset.StandardCharsets.UTF_8)).startsWith("\uFFFD".repeat(16384) + "\n")
          .endsWith("[the log goes on beyond 4 MiB: read it with a tail or with dsctl logs, which streams]\n");
      long spent = allocated.since();
      assertThat(spent).as("bytes the API's threads allocated answering it").isLessThan(16L << 20);
    }
  }

  /**
   * Connections that send nothing, more than the server keeps: each held a file descriptor until
   * the server's idle timer closed it 10-20 s later (a connection that has sent nothing is closed
   * once 10 s old, maxReqTime, by a timer every 10 s, the JDK's clockTick: the flood opened within a
   * second is closed 20 s after the server's start), and a flood of them took every descriptor of the
   * process. Those beyond the cap are closed at accept; a request on a new connection is answered
   * once the flood is gone. It runs beside the class's other tests (a server of its own; the flood
   * logs nothing and runs no request on the server's threads, which two of them watch), which took
   * as long as its wait one after the other.
   */
  @Test
  @org.junit.jupiter.api.parallel.Execution(org.junit.jupiter.api.parallel.ExecutionMode.CONCURRENT)
  void idleConnectionsBeyondTheCapAreClosedAtAccept() throws Exception {
    try (CoordinatorFixture c = new CoordinatorFixture(dir.resolve("data"));
        KubeApi api = c.server.startKubeApi(new InetSocketAddress("127.0.0.1", 0))) {
      base = "http://127.0.0.1:" + api.port();
      int cap = Integer.getInteger("jdk.httpserver.maxConnections");
      assertThat(cap).isEqualTo(io.dsfleet.common.JdkHttpServers.connectionCap(io.dsfleet.common.FileDescriptors.limit()));
      List<java.nio.channels.SocketChannel> flood = new ArrayList<>();
      try {
        for (int i = 0; i < cap + 200; i++) {
          // at the pace the server accepts them: a connection beyond its listen backlog (64) is
          // dropped by the kernel and its client tries again after 1 s, then 3 s: the flood took 8-13 s
          // to open, and one still opening 10 s after the server's start was closed by the idle
          // timer's tick 10 s later (the test 30 s, not 20)
          if (i % 32 == 31) {
            awaitAcceptQueueEmpty(api.port());
          }
          java.nio.channels.SocketChannel ch = java.nio.channels.SocketChannel.open(new InetSocketAddress("127.0.0.1", api.port()));
          ch.configureBlocking(false);
          flood.add(ch);
        }
        // What the server holds, counted from the kernel's tables (its side of each connection, a
        // descriptor of this JVM whose socket's local port is the API's), never more than the cap:
        // a connection beyond it is closed as it is accepted (one more for that moment). Until every
        // connection of the flood was closed by the server: beyond the cap at accept, the others by
        // the idle timer 10-20 s after theirs. Before, a fixed time told one from the other, and
        // a busy machine accepted the last ones late and counted them as the timer's (192 of 200).
        int most = 0;
        java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocate(16);
        boolean[] closed = new boolean[flood.size()];
        int closedCount = 0;
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (closedCount < flood.size() && System.nanoTime() < deadline) {
          most = Math.max(most, heldBy(api.port()));
          for (int i = 0; i < flood.size(); i++) {
            buf.clear();
            if (!closed[i] && flood.get(i).read(buf) < 0) {
              closed[i] = true;
              closedCount++;
            }
          }
          Thread.sleep(250); // what the server holds is steady between the accepts and the timer: each look costs ~20 ms of CPU
        }
        assertThat(closedCount).as("every connection sending nothing closed by the server").isEqualTo(cap + 200);
        assertThat(most).as("connections the server held at once, of %d sending nothing", cap + 200).isBetween(cap - 10, cap + 1);
      } finally {
        for (var ch : flood) {
          ch.close();
        }
      }
      org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> send("GET", CMS, null, null).code() == 200);
    }
  }

  /**
   * Requests begun and never ended: the JDK's server reads a request on an executor thread, and
   * each held one until its 10 s bound; 40 of them (more than the 32 threads the API had) kept
   * every kubectl waiting that long. Now a request is answered while every one is still held.
   */
  @Test
  void requestsThatStallHoldNoThreadAnotherRequestNeeds() throws Exception {
    try (CoordinatorFixture c = new CoordinatorFixture(dir.resolve("data"));
        KubeApi api = c.server.startKubeApi(new InetSocketAddress("127.0.0.1", 0));
        var stalled = io.dsfleet.common.testing.StalledRequests.open(api.port(), 40, io.dsfleet.common.testing.StalledRequests.httpStart())) {
      base = "http://127.0.0.1:" + api.port();
      assertThat(send("GET", CMS, null, null).code()).isEqualTo(200);
      assertThat(stalled.closedByServer()).as("answered while every stalled request was still held").isZero();
    }
  }

  @Test
  void whatAWebPageOrABadBodySendsIsRefusedAndChangesNothing() throws Exception {
    try (CoordinatorFixture c = new CoordinatorFixture(dir.resolve("data"));
        KubeApi api = c.server.startKubeApi(new InetSocketAddress("127.0.0.1", 0))) {
      base = "http://127.0.0.1:" + api.port();
      // a page's cross-site POST: text/plain needs no preflight, and Origin says where it comes from
      assertThat(send("POST", CMS, "text/plain;charset=UTF-8", CM.formatted("web")).code()).isEqualTo(415);
      Answer origin = send("POST", CMS, "application/json", CM.formatted("web"), "Origin", "https://evil.example");
      assertThat(origin.code()).isEqualTo(403);
      assertThat(origin.body().path("message").asText()).contains("does not answer web pages");
      assertThat(send("GET", CMS, null, null, "Sec-Fetch-Site", "cross-site").code()).isEqualTo(403);
      assertThat(send("GET", CMS + "/web", null, null).code()).as("nothing created").isEqualTo(404);

      assertThat(send("POST", CMS + "?dryRun=true", "application/json", CM.formatted("dry")).code()).isEqualTo(400);
      Answer dry = send("POST", CMS + "?dryRun=All&fieldManager=kubectl-create", "application/json", CM.formatted("dry"));
      assertThat(dry.code()).isEqualTo(201);
      // the object as a real create answers it (kubectl create --dry-run=server -o yaml prints it): the fields' managers as
      // metadata.managedFields, not the annotation they are stored in
      assertThat(dry.body().at("/metadata/managedFields/0/manager").asText()).isEqualTo("kubectl-create");
      assertThat(dry.body().at("/metadata/annotations").isMissingNode()).as(dry.text()).isTrue();
      assertThat(send("GET", CMS + "/dry", null, null).code()).as("a dry run stores nothing").isEqualTo(404);

      assertThat(send("POST", CMS, "application/json", "{\"metadata\":\"x\"}").code()).isEqualTo(400);
      // a key given twice: refused under strict field validation as the API server refuses it (it was the last one, silently);
      // without it, the last one, as the API server's default keeps it
      String twiceBody = CM.formatted("dup").replace("\"data\":{\"a\":\"b\"}", "\"data\":{\"a\":\"1\",\"a\":\"2\"}");
      Answer twice = send("POST", CMS + "?fieldValidation=Strict", "application/json", twiceBody);
      assertThat(twice.code()).isEqualTo(400);
      assertThat(twice.body().path("message").asText()).contains("Duplicate field 'a'");
      assertThat(send("GET", CMS + "/dup", null, null).code()).as("nothing created").isEqualTo(404);
      assertThat(send("POST", CMS, "application/json", twiceBody).code()).isEqualTo(201);
      assertThat(send("GET", CMS + "/dup", null, null).body().path("data").path("a").asText()).isEqualTo("2");
      assertThat(send("POST", CMS, "application/json", CM.formatted("c")).code()).isEqualTo(201);
      assertThat(send("PATCH", CMS + "/c", "application/merge-patch+json", null).code()).isEqualTo(400);
      assertThat(send("PATCH", CMS + "/c", "application/merge-patch+json", "{\"metadata\":\"x\"}").code()).isEqualTo(400);

      // copies that double the object with every operation: refused once they pass the cap
      StringBuilder bomb = new StringBuilder("[{\"op\":\"add\",\"path\":\"/data/x\",\"value\":\"" + "y".repeat(1000) + "\"},"
          + "{\"op\":\"add\",\"path\":\"/metadata/annotations\",\"value\":{}}");
      bomb.append(",{\"op\":\"add\",\"path\":\"/metadata/labels\",\"value\":{\"k\":{\"v\":\"").append("z".repeat(1000)).append("\"}}}");
      for (int i = 0; i < 40; i++) {
        bomb.append(",{\"op\":\"copy\",\"from\":\"/metadata/labels\",\"path\":\"/metadata/labels/c").append(i).append("\"}");
      }
      Answer refused = send("PATCH", CMS + "/c", "application/json-patch+json", bomb.append(']').toString());
      assertThat(refused.code()).isEqualTo(422);
      assertThat(refused.body().path("message").asText()).contains("copies more than 4 MiB");
      assertThat(send("GET", CMS + "/c", null, null).body().path("data").toString()).isEqualTo("{\"a\":\"b\"}");

      // server-side apply: no patch directives (they would take other managers' fields without a conflict), no 500s
      Answer directive = send("PATCH", CMS + "/c?fieldManager=bob", "application/apply-patch+yaml",
          "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c\"},\"data\":{\"$patch\":\"replace\",\"b\":\"1\"}}");
      assertThat(directive.code()).as(directive.text()).isEqualTo(422);
      assertThat(directive.body().path("message").asText()).contains("data.$patch");
      Answer nullContainer = send("PATCH", "/apis/apps/v1/namespaces/default/daemonsets/d?fieldManager=bob", "application/apply-patch+yaml",
          "{\"apiVersion\":\"apps/v1\",\"kind\":\"DaemonSet\",\"metadata\":{\"name\":\"d\"},\"spec\":{\"template\":{\"spec\":"
              + "{\"containers\":[null]}}}}");
      assertThat(nullContainer.code()).as(nullContainer.text()).isBetween(400, 499);
      assertThat(send("GET", CMS + "/c", null, null).body().path("data").toString()).isEqualTo("{\"a\":\"b\"}");

      // a ConfigMap of 30,000 keys: who set them is not kept (too large), the ConfigMap is
      StringBuilder big = new StringBuilder("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"big\"},\"data\":{");
      for (int i = 0; i < 30_000; i++) {
        big.append(i == 0 ? "" : ",").append("\"key").append(i).append("\":\"v\"");
      }
      Answer large = send("POST", CMS, "application/json", big.append("}}").toString());
      assertThat(large.code()).as(large.text().length() > 300 ? large.text().substring(0, 300) : large.text()).isEqualTo(201);

      // a delete whose preconditions do not hold deletes nothing
      Answer stale = send("DELETE", CMS + "/c", "application/json", "{\"preconditions\":{\"resourceVersion\":\"999\"}}");
      assertThat(stale.code()).isEqualTo(409);
      assertThat(send("GET", CMS + "/c", null, null).code()).isEqualTo(200);
    }
  }

  @Test
  void aNodePatchOfTheWrongTypesIsRefusedNotAWipe() throws Exception {
    try (CoordinatorFixture c = new CoordinatorFixture(dir.resolve("data"));
        KubeApi api = c.server.startKubeApi(new InetSocketAddress("127.0.0.1", 0))) {
      base = "http://127.0.0.1:" + api.port();
      c.agent("node-a", Map.of("disk", "ssd"));
      for (String patch : List.of("{\"metadata\":{\"labels\":\"x\"}}", "{\"spec\":{\"taints\":\"x\"}}", "{\"spec\":{\"unschedulable\":\"yes\"}}",
          "{\"spec\":\"x\"}", "{\"spec\":{\"taints\":[{\"key\":\"\",\"effect\":\"NoSchedule\"}]}}",
          "{\"spec\":{\"taints\":[{\"key\":\"a\",\"effect\":\"NoSchedule\"},{\"key\":\"a\",\"value\":\"b\",\"effect\":\"NoSchedule\"}]}}")) {
        Answer a = send("PATCH", "/api/v1/nodes/node-a", "application/merge-patch+json", patch);
        assertThat(a.code()).as(patch + ": " + a.text()).isEqualTo(422);
      }
      JsonNode node = send("GET", "/api/v1/nodes/node-a", null, null).body();
      assertThat(node.at("/metadata/labels/disk").asText()).isEqualTo("ssd");
      assertThat(node.at("/spec/taints").isMissingNode()).isTrue();
      assertThat(node.at("/spec/unschedulable").isMissingNode()).isTrue();
    }
  }

  @Test
  void aWatchFromAListsVersionSeesWhatWasDeletedSinceAndAnUnknownVersionIsExpired() throws Exception {
    try (CoordinatorFixture c = new CoordinatorFixture(dir.resolve("data"));
        KubeApi api = c.server.startKubeApi(new InetSocketAddress("127.0.0.1", 0))) {
      base = "http://127.0.0.1:" + api.port();
      send("POST", CMS, "application/json", CM.formatted("gone"));
      send("POST", CMS, "application/json", CM.formatted("stays"));
      String rv = send("GET", CMS, null, null).body().at("/metadata/resourceVersion").asText();
      send("DELETE", CMS + "/gone", null, null);
      send("POST", CMS, "application/json", CM.formatted("new"));
      Answer watch = send("GET", CMS + "?watch=true&timeoutSeconds=1&resourceVersion=" + rv, null, null);
      assertThat(watch.code()).isEqualTo(200);
      List<String> events = watch.text().lines().map(l -> {
        JsonNode e = Json.read(l, JsonNode.class);
        return e.path("type").asText() + " " + e.at("/object/metadata/name").asText();
      }).toList();
      assertThat(events).containsExactlyInAnyOrder("DELETED gone", "ADDED new");

      // two watches of one query share the lists built for them, and each sees every change
      String from = send("GET", CMS, null, null).body().at("/metadata/resourceVersion").asText();
      List<CompletableFuture<HttpResponse<String>>> both = new ArrayList<>();
      for (int i = 0; i < 2; i++) {
        both.add(http.sendAsync(HttpRequest.newBuilder(URI.create(base + CMS + "?watch=true&timeoutSeconds=3&resourceVersion=" + from))
            .build(), HttpResponse.BodyHandlers.ofString()));
      }
      // both watching (their turns taken) before the change: a fixed 500 ms did not prove it, and
      // took that much more of their 3 s on a busy machine
      org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> api.watchesOf("admin/insecure") == 2);
      send("POST", CMS, "application/json", CM.formatted("seen-by-both"));
      for (var w : both) {
        assertThat(w.get().body()).contains("\"type\":\"ADDED\"").contains("seen-by-both");
      }
      assertThat(send("GET", CMS + "/new?watch=true", null, null).code()).as("a watch is of a list").isEqualTo(405);
      assertThat(send("GET", "/api/v1/events?watch=true&timeoutSeconds=1", null, null).code()).isEqualTo(200);

      Answer expired = send("GET", CMS + "?watch=true&timeoutSeconds=1&resourceVersion=123456789", null, null);
      assertThat(expired.code()).isEqualTo(410);
      assertThat(expired.body().path("reason").asText()).isEqualTo("Expired");

      // a watch asked for bookmarks ends with one, and a watch from it goes on from exactly there
      Answer marked = send("GET", CMS + "?watch=true&allowWatchBookmarks=true&timeoutSeconds=1&resourceVersion=0", null, null);
      List<JsonNode> lines = marked.text().lines().map(l -> Json.read(l, JsonNode.class)).toList();
      assertThat(lines.get(lines.size() - 1).path("type").asText()).isEqualTo("BOOKMARK");
      String mark = lines.get(lines.size() - 1).at("/object/metadata/resourceVersion").asText();
      send("DELETE", CMS + "/stays", null, null);
      Answer resumed = send("GET", CMS + "?watch=true&timeoutSeconds=1&resourceVersion=" + mark, null, null);
      assertThat(resumed.code()).isEqualTo(200);
      assertThat(resumed.text().lines().map(l -> Json.read(l, JsonNode.class).path("type").asText() + " "
          + Json.read(l, JsonNode.class).at("/object/metadata/name").asText()).toList()).containsExactly("DELETED stays");

      // a watch list (client-go's WatchListClient) is refused as an API server without the feature refuses it, and its
      // client lists and watches instead; it was ignored, and ended without the bookmark that ends the initial events
      for (String query : List.of("sendInitialEvents=true&resourceVersionMatch=NotOlderThan", "resourceVersionMatch=NotOlderThan")) {
        Answer watchList = send("GET", CMS + "?watch=true&allowWatchBookmarks=true&timeoutSeconds=1&" + query, null, null);
        assertThat(watchList.code()).as(query).isEqualTo(422);
        assertThat(watchList.body().path("message").asText()).contains(query.split("=")[0] + ": Forbidden");
      }
    }
  }

  /**
   * A replace or patch naming another object's uid (kubectl replace -f of an object exported
   * before it was deleted and made again) is 409 Conflict with Kubernetes' message, and changes
   * nothing; the uid was dropped with what the server sets, and the write went to the new object.
   */
  @Test
  void aWriteNamingAnotherUidIsAConflict() throws Exception {
    try (CoordinatorFixture c = new CoordinatorFixture(dir.resolve("data"));
        KubeApi api = c.server.startKubeApi(new InetSocketAddress("127.0.0.1", 0))) {
      base = "http://127.0.0.1:" + api.port();
      assertThat(send("POST", CMS, "application/json", CM.formatted("cm")).code()).isEqualTo(201);
      String uid = send("GET", CMS + "/cm", null, null).body().at("/metadata/uid").asText();
      String other = "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"cm\",\"uid\":\"%s\"},\"data\":{\"a\":\"%s\"}}";
      Answer replaced = send("PUT", CMS + "/cm", "application/json", other.formatted("0ld-0bject", "replaced"));
      assertThat(replaced.code()).isEqualTo(409);
      assertThat(replaced.body().path("message").asText()).isEqualTo("Operation cannot be fulfilled on configmaps \"cm\": Precondition"
          + " failed: UID in precondition: 0ld-0bject, UID in object meta: " + uid);
      Answer patched = send("PATCH", CMS + "/cm", "application/merge-patch+json", "{\"metadata\":{\"uid\":\"0ld-0bject\"},\"data\":{\"a\":\"patched\"}}");
      assertThat(patched.code()).isEqualTo(409);
      assertThat(send("GET", CMS + "/cm", null, null).body().at("/data/a").asText()).as("nothing written").isEqualTo("b");
      assertThat(send("PUT", CMS + "/cm", "application/json", other.formatted(uid, "c")).code()).as("its own uid").isEqualTo(200);
      assertThat(send("GET", CMS + "/cm", null, null).body().at("/data/a").asText()).isEqualTo("c");
    }
  }

  /**
   * HEAD requests, a list's and a watch's, are answered without a body and log nothing. Before, a
   * HEAD of a watch was answered as a stream, with a length, and the JDK's server logged a warning
   * for each ("being invoked with a content length for a HEAD request"): a line a request.
   */
  @Test
  void headRequestsLogNothing() throws Exception {
    try (io.dsfleet.coordinator.http.JdkServerLog log = new io.dsfleet.coordinator.http.JdkServerLog();
        CoordinatorFixture c = new CoordinatorFixture(dir.resolve("data"));
        KubeApi api = c.server.startKubeApi(new InetSocketAddress("127.0.0.1", 0))) {
      base = "http://127.0.0.1:" + api.port();
      assertThat(send("HEAD", CMS, null, null).code()).isEqualTo(200);
      Answer watch = send("HEAD", CMS + "?watch=true&timeoutSeconds=1", null, null);
      assertThat(watch.code()).isEqualTo(405);
      assertThat(watch.text()).isEmpty();
      assertThat(log.lines()).as("the JDK server's log").isEmpty();
    }
  }

  @Test
  void oneCredentialHoldsAtMostSixWatches() throws Exception {
    try (CoordinatorFixture c = new CoordinatorFixture(dir.resolve("data"));
        KubeApi api = c.server.startKubeApi(new InetSocketAddress("127.0.0.1", 0))) {
      base = "http://127.0.0.1:" + api.port();
      List<CompletableFuture<HttpResponse<java.io.InputStream>>> held = new ArrayList<>();
      for (int i = 0; i < KubeWatch.PER_CREDENTIAL; i++) {
        held.add(http.sendAsync(HttpRequest.newBuilder(URI.create(base + CMS + "?watch=true&timeoutSeconds=5")).build(),
            HttpResponse.BodyHandlers.ofInputStream()));
      }
      // a watch's answer starts once it holds its slot: then all six are held
      for (var h : held) {
        assertThat(h.get(5, java.util.concurrent.TimeUnit.SECONDS).statusCode()).isEqualTo(200);
      }
      assertThat(send("GET", CMS + "?watch=true&timeoutSeconds=1", null, null).code()).as("a seventh watch").isEqualTo(429);
      for (var h : held) {
        try (java.io.InputStream body = h.get().body()) {
          body.readAllBytes(); // each ends at its timeout and gives its slot back
        }
      }
      assertThat(send("GET", CMS + "?watch=true&timeoutSeconds=1", null, null).code()).as("slots given back").isEqualTo(200);
    }
  }

  /**
   * Credentials are a role and a name ("credential revoke NAME --role R"): a viewer named as an
   * admin is another credential, and its requests do not spend the admin's share of the turns.
   * Before, turns were counted by name alone: a viewer issued the admin's name held 6 of the
   * admin's 10 with its watches, and the admin's fifth watch was refused (429) as if it were
   * the viewer's.
   */
  @Test
  void aViewerNamedAsAnAdminDoesNotSpendTheAdminsTurns() throws Exception {
    try (io.dsfleet.coordinator.CoordinatorServer server = new io.dsfleet.coordinator.CoordinatorServer(
        CoordinatorFixture.options(dir.resolve("data"), false), java.time.Clock.systemUTC(), false).start();
        KubeApi api = server.startKubeApi(new InetSocketAddress("127.0.0.1", 0))) {
      Path pki = dir.resolve("data/pki");
      String coordinator = "127.0.0.1:" + server.port();
      var made = io.dsfleet.coordinator.cli.DsctlRun.run(List.of("credential", "create", "admin", "--role", "viewer", "-o",
          dir.resolve("viewer-admin.pem").toString(), "--coordinator", coordinator, "--credentials", pki.resolve("admin.pem").toString()));
      assertThat(made.exit()).as(made.err()).isZero();
      HttpClient admin = clientOf(pki.resolve("admin.pem"), pki.resolve("ca.crt"));
      HttpClient viewer = clientOf(dir.resolve("viewer-admin.pem"), pki.resolve("ca.crt"));
      // the viewer's watches held long (12 s), the admin's short (2 s): on a busy machine the six
      // TLS watches took seconds to open, and with 6 s each the first could end before the last
      // opened (the wait for all six then failed) or before the admin's were sent (nothing tested)
      String base = "https://127.0.0.1:" + api.port() + CMS + "?watch=true&timeoutSeconds=";
      // answered at their headers: the test reads their status, not the 12 s of their bodies
      List<CompletableFuture<HttpResponse<java.io.InputStream>>> viewers = new ArrayList<>();
      for (int i = 0; i < KubeWatch.PER_CREDENTIAL; i++) {
        viewers.add(viewer.sendAsync(HttpRequest.newBuilder(URI.create(base + 12)).build(), HttpResponse.BodyHandlers.ofInputStream()));
      }
      org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> api.watchesOf("viewer/admin") == KubeWatch.PER_CREDENTIAL);
      List<CompletableFuture<HttpResponse<String>>> admins = new ArrayList<>();
      for (int i = 0; i < KubeWatch.PER_CREDENTIAL; i++) {
        admins.add(admin.sendAsync(HttpRequest.newBuilder(URI.create(base + 2)).build(), HttpResponse.BodyHandlers.ofString()));
      }
      for (var a : admins) {
        HttpResponse<String> r = a.get(20, java.util.concurrent.TimeUnit.SECONDS);
        assertThat(r.statusCode()).as("the admin's watch: %s", r.body()).isEqualTo(200);
      }
      assertThat(api.watchesOf("viewer/admin")).as("the viewer's watches still held when the admin's were answered")
          .isEqualTo(KubeWatch.PER_CREDENTIAL);
      for (var v : viewers) {
        HttpResponse<java.io.InputStream> r = v.get(30, java.util.concurrent.TimeUnit.SECONDS);
        assertThat(r.statusCode()).isEqualTo(200);
        r.body().close();
      }
    }
  }

  /**
   * Waits until the server has taken from the kernel every connection made to {@code port} so far:
   * its listening socket's accept queue (rx_queue of its LISTEN line in /proc/self/net/tcp{,6}) empty.
   */
  static void awaitAcceptQueueEmpty(int port) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (true) {
      long queued = 0;
      for (String table : List.of("/proc/self/net/tcp", "/proc/self/net/tcp6")) {
        List<String> lines = java.nio.file.Files.readAllLines(Path.of(table));
        for (String line : lines.subList(1, lines.size())) {
          String[] f = line.trim().split("\\s+"); // sl, local address:port, remote, state, tx_queue:rx_queue, ...
          if (f[3].equals("0A") && Integer.parseInt(f[1].substring(f[1].indexOf(':') + 1), 16) == port) {
            queued += Long.parseLong(f[4].substring(f[4].indexOf(':') + 1), 16);
          }
        }
      }
      if (queued == 0) {
        return;
      }
      assertThat(System.nanoTime()).as("%d connections still in the accept queue of port %d after 30 s", queued, port).isLessThan(deadline);
      Thread.sleep(2);
    }
  }

  /**
   * The connections this JVM's server side holds on {@code port}: descriptors of sockets whose local
   * port it is and that are connected, from /proc/self/net/tcp{,6} and /proc/self/fd.
   */
  static int heldBy(int port) throws java.io.IOException {
    java.util.Set<String> inodes = new java.util.HashSet<>();
    for (String table : List.of("/proc/self/net/tcp", "/proc/self/net/tcp6")) {
      List<String> lines = java.nio.file.Files.readAllLines(Path.of(table));
      for (String line : lines.subList(1, lines.size())) {
        String[] f = line.trim().split("\\s+"); // sl, local address:port, remote, state, ..., inode (the tenth)
        if (Integer.parseInt(f[1].substring(f[1].indexOf(':') + 1), 16) == port && f[3].equals("01")) {
          inodes.add(f[9]);
        }
      }
    }
    int held = 0;
    try (var fds = java.nio.file.Files.newDirectoryStream(Path.of("/proc/self/fd"))) {
      for (Path fd : fds) {
        try {
          String target = java.nio.file.Files.readSymbolicLink(fd).toString();
          held += target.startsWith("socket:[") && inodes.contains(target.substring(8, target.length() - 1)) ? 1 : 0;
        } catch (java.io.IOException gone) {
          // closed while the directory was read
        }
      }
    }
    return held;
  }

  /** HTTPS presenting a dsctl credential's certificate (its PEM: certificate, key, CA), trusting the fleet CA. */
  static HttpClient clientOf(Path credential, Path ca) throws Exception {
    String pem = java.nio.file.Files.readString(credential);
    var chain = io.dsfleet.common.tls.Pki.certificates(pem);
    java.security.KeyStore keys = java.security.KeyStore.getInstance("PKCS12");
    keys.load(null, null);
    keys.setKeyEntry("me", io.dsfleet.common.tls.CertificateAuthority.privateKey(pem), new char[0],
        chain.toArray(new java.security.cert.X509Certificate[0]));
    javax.net.ssl.KeyManagerFactory kmf = javax.net.ssl.KeyManagerFactory.getInstance(javax.net.ssl.KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(keys, new char[0]);
    java.security.KeyStore trust = java.security.KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    trust.setCertificateEntry("fleet", io.dsfleet.common.tls.Pki.certificates(java.nio.file.Files.readString(ca)).get(0));
    javax.net.ssl.TrustManagerFactory tmf = javax.net.ssl.TrustManagerFactory.getInstance(javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    javax.net.ssl.SSLContext tls = javax.net.ssl.SSLContext.getInstance("TLS");
    tls.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
    return HttpClient.newBuilder().sslContext(tls).version(HttpClient.Version.HTTP_1_1).build();
  }
}
