package io.dsfleet.coordinator.dashboard;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.common.manifest.Fixtures;
import io.dsfleet.coordinator.grpc.CoordinatorFixture;
import io.dsfleet.coordinator.grpc.FakeAgent;
import io.dsfleet.proto.v1.ApplyRequest;
import io.dsfleet.proto.v1.CoordinatorMessage;
import io.dsfleet.proto.v1.LogRequest;
import io.dsfleet.proto.v1.DesiredState;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The dashboard's live parts, on an insecure coordinator (plain HTTP, everyone an admin, as its
 * gRPC port) with agents that report what a real one would: a DaemonSet's rollout drawn as a grid
 * of nodes, each cell naming the node, the revision its pod runs and its state in words (colour
 * only repeats them); a pod's log streamed as server-sent events across responses.
 */
class DashboardLiveTest {
  @TempDir Path dir;
  CoordinatorFixture c;
  Dashboard dashboard;
  final HttpClient http = HttpClient.newHttpClient();
  String cookie;

  /** Logged in as `dsctl --insecure dashboard` does it: an insecure coordinator's logins are admins', but logins they are. */
  @BeforeEach
  void start() throws Exception {
    c = new CoordinatorFixture(dir.resolve("data"));
    dashboard = c.server.startDashboard(new InetSocketAddress("127.0.0.1", 0));
    var made = io.dsfleet.coordinator.cli.DsctlRun.run(java.util.List.of("--coordinator", "127.0.0.1:" + c.server.port(), "--insecure",
        "dashboard"));
    assertThat(made.exit()).as(made.err()).isZero();
    HttpResponse<Void> login = http.send(HttpRequest.newBuilder(URI.create(made.out().strip())).build(),
        HttpResponse.BodyHandlers.discarding());
    assertThat(login.statusCode()).isEqualTo(303);
    String set = login.headers().firstValue("Set-Cookie").orElseThrow();
    cookie = set.substring(0, set.indexOf(';'));
  }

  HttpResponse<String> get(String path) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + dashboard.port() + path)).header("Cookie", cookie).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @AfterEach
  void stop() {
    dashboard.close();
    c.close();
  }

  String grid() throws Exception {
    HttpResponse<String> r = get("/fragments/daemonsets/ops/agent");
    assertThat(r.statusCode()).isEqualTo(200);
    return r.body();
  }

  @Test
  void eachNodeShowsTheRevisionItRunsAndItsStateInWords() throws Exception {
    FakeAgent a = c.agent("node-a", Map.of("disk", "ssd"));
    FakeAgent b = c.agent("node-b", Map.of());
    a.nextDesired(Duration.ofSeconds(10));
    b.nextDesired(Duration.ofSeconds(10));
    c.control().apply(ApplyRequest.newBuilder().setManifests(Fixtures.BASE).build());
    DesiredState sa = a.nextDesired(Duration.ofSeconds(10));
    DesiredState sb = b.nextDesired(Duration.ofSeconds(10));
    assertThat(grid()).contains("node-a</a><span>r1 starting</span>").contains("node-b</a><span>r1 starting</span>")
        .contains("class=\"cell pending\"");
    a.reportAllReady(sa, c.clock.millis());
    b.reportAllReady(sb, c.clock.millis());
    Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> grid().contains("node-b</a><span>r1 Ready</span>"));
    assertThat(grid()).contains("node-a</a><span>r1 Ready</span>").contains("2 of 2 updated").contains("rollout <span class=\"state complete\">");

    // a new revision: nodes move one at a time (maxUnavailable 1); the grid says which runs which
    c.control().apply(ApplyRequest.newBuilder().setManifests(Fixtures.BASE.replace("busybox:1", "busybox:2")).build());
    Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> grid().contains("r1 \u2192 r2 moving"));
    String moving = grid();
    assertThat(moving).contains("Revision <b>r2</b>").contains("rollout <span class=\"state progressing\">")
        .as("one node at a time: the other still runs r1").containsPattern("node-[ab]</a><span>r1 Ready</span>")
        .contains("class=\"cell old\"");

    // a node the DaemonSet no longer selects: its pod goes (until its agent says it went), and the page says why
    c.control().apply(ApplyRequest.newBuilder().setManifests(Fixtures.BASE.replace("busybox:1", "busybox:2")
        .replace("      containers:", "      nodeSelector: {disk: ssd}\n      containers:")).build());
    Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> grid().contains("node-b</a><span>r1 removing</span>"));
    String page = get("/daemonsets/ops/agent").body();
    assertThat(page).contains("<a href=\"/nodes/node-b\">node-b</a></td><td>node selector");
  }

  /** One response of a log stream, read to its end: its events' ids, data and names, in order. */
  List<String> events(String path, String lastEventId) throws Exception {
    var request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + dashboard.port() + path)).header("Cookie", cookie);
    if (lastEventId != null) {
      request.header("Last-Event-ID", lastEventId);
    }
    HttpResponse<java.util.stream.Stream<String>> r = http.send(request.build(), HttpResponse.BodyHandlers.ofLines());
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("Content-Type")).hasValue("text/event-stream; charset=utf-8");
    return r.body().filter(l -> !l.isEmpty() && !l.startsWith("retry:") && !l.startsWith(":")).toList(); // no pings, no retry times
  }

  /** The log request the agent got; its pod's first report made it a running pod of the DaemonSet. */
  LogRequest logRequest(FakeAgent a) throws InterruptedException {
    while (true) {
      CoordinatorMessage m = a.received.poll(10, TimeUnit.SECONDS);
      assertThat(m).as("a log request reached the agent").isNotNull();
      if (m.hasLogRequest()) {
        return m.getLogRequest();
      }
    }
  }

  /** node-a, running the DaemonSet's pod, Ready. */
  FakeAgent podRunningOnNodeA() throws Exception {
    FakeAgent a = c.agent("node-a", Map.of());
    a.nextDesired(Duration.ofSeconds(10));
    c.control().apply(ApplyRequest.newBuilder().setManifests(Fixtures.BASE).build());
    a.reportAllReady(a.nextDesired(Duration.ofSeconds(10)), c.clock.millis());
    Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> grid().contains("r1 Ready"));
    return a;
  }

  /** Another login, as `dsctl --insecure dashboard` makes one (an insecure coordinator's logins are all one credential's): its cookie. */
  String anotherLogin() throws Exception {
    var made = io.dsfleet.coordinator.cli.DsctlRun.run(List.of("--coordinator", "127.0.0.1:" + c.server.port(), "--insecure", "dashboard"));
    assertThat(made.exit()).as(made.err()).isZero();
    String set = http.send(HttpRequest.newBuilder(URI.create(made.out().strip())).build(), HttpResponse.BodyHandlers.discarding()).headers()
        .firstValue("Set-Cookie").orElseThrow();
    return set.substring(0, set.indexOf(';'));
  }

  /** One response of a log stream with this login's cookie, read to its end: every line but empty ones. */
  List<String> response(String login, String lastEventId) throws Exception {
    var request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + dashboard.port() + "/streams/nodes/node-a/logs/ops/agent"))
        .header("Cookie", login);
    if (lastEventId != null) {
      request.header("Last-Event-ID", lastEventId);
    }
    return http.send(request.build(), HttpResponse.BodyHandlers.ofLines()).body().filter(l -> !l.isEmpty()).toList();
  }

  /**
   * One credential cannot take every log stream of the dashboard: `dsctl dashboard` gives it up to
   * 20 logins of 4 followers each, and several responses may read one follower (a reconnect names
   * it). Before, three logins of one viewer held 12 of the 16 followers (four held them all, and
   * every other page was told the dashboard had 16 open), and one login's eight requests naming
   * one follower held all 8 responses (every other page told to come back in 5 s, again and
   * again). Now a credential holds at most half of each: its ninth follower replaces its oldest
   * unread one, its fifth response at once is told to come back later.
   */
  @Test
  void oneCredentialHoldsAtMostHalfTheDashboardsLogStreams() throws Exception {
    FakeAgent a = podRunningOnNodeA();
    a.answerLogs = false;
    dashboard.logStreamTimes(Duration.ofMillis(300), Duration.ofSeconds(60)); // short responses; no follower ends unread meanwhile
    List<String> logins = List.of(cookie, anotherLogin(), anotherLogin());
    String lastId = null;
    for (String login : logins) {
      for (int i = 0; i < LogStreams.MAX_PER_LOGIN; i++) {
        List<String> got = response(login, null);
        assertThat(got).as("a stream of its own, no refusal").anyMatch(l -> l.startsWith("id: ")).noneMatch(l -> l.startsWith("event: end"));
        lastId = got.stream().filter(l -> l.startsWith("id: ")).findFirst().orElseThrow().substring("id: ".length());
      }
    }
    Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> c.server.logRelay().open() <= LogStreams.MAX_FOLLOWERS / 2);
    assertThat(c.server.logRelay().open()).as("the credential's oldest unread followers were replaced, their relays ended")
        .isEqualTo(LogStreams.MAX_FOLLOWERS / 2);

    dashboard.logStreamTimes(Duration.ofSeconds(4), Duration.ofSeconds(60));
    String follower = lastId;
    String login = logins.get(2);
    List<java.util.concurrent.CompletableFuture<List<String>>> at = new java.util.ArrayList<>();
    for (int i = 0; i <= LogStreams.MAX_STREAMING / 2; i++) {
      at.add(java.util.concurrent.CompletableFuture.supplyAsync(() -> {
        try {
          return response(login, follower);
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      }));
    }
    List<List<String>> answers = at.stream().map(f -> f.join()).toList();
    assertThat(answers.stream().filter(r -> r.stream().anyMatch(l -> l.startsWith("id: "))).count()).as("served at once").isEqualTo(
        LogStreams.MAX_STREAMING / 2);
    assertThat(answers).as("the one more is told to come back in 5 s, where it was").anyMatch(r -> r.equals(List.of("retry: 5000")));
  }

  /**
   * A follower stopped while its relay starts (replaced by a newer page of its login, or reaped)
   * has that relay cancelled once it is there: nobody else knows of it, and left running it held
   * an agent's place and its credential's share on every node until the nodes' sessions ended.
   */
  @Test
  void aFollowerStoppedWhileItsRelayStartsEndsThatRelay() throws Exception {
    FakeAgent a = podRunningOnNodeA();
    a.answerLogs = false;
    java.lang.reflect.Field logsField = Dashboard.class.getDeclaredField("logs");
    logsField.setAccessible(true);
    LogStreams streams = (LogStreams) logsField.get(dashboard);
    java.lang.reflect.Field followsField = io.dsfleet.coordinator.grpc.LogRelay.class.getDeclaredField("follows");
    followsField.setAccessible(true);
    Object follows = followsField.get(c.server.logRelay());
    java.lang.reflect.Field followersField = LogStreams.class.getDeclaredField("followers");
    followersField.setAccessible(true);
    Map<?, ?> followers = (Map<?, ?>) followersField.get(streams);
    var req = io.dsfleet.proto.v1.LogsRequest.newBuilder().setNamespace("ops").setDaemonSet("agent").setNodeName("node-a").build();
    java.util.concurrent.CompletableFuture<LogStreams.Follower> started;
    Thread[] follower = new Thread[1];
    synchronized (follows) { // the relay's start waits here, its follower already listed
      started = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
        follower[0] = Thread.currentThread();
        return streams.follow(c.server.fleet(), "login", "admin/insecure", req);
      });
      Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> follower[0] != null && follower[0].getState() == Thread.State.BLOCKED);
      assertThat(followers).hasSize(1);
      ((LogStreams.Follower) followers.values().iterator().next()).stop(); // as a newer page of its login replacing it does
    }
    started.get(10, TimeUnit.SECONDS);
    assertThat(c.server.logRelay().open()).as("the stopped follower's relay ended").isZero();
  }

  /** A login that ends while its log stream waits for lines is sent none of the lines that came meanwhile. */
  @Test
  void aLogStreamWhoseLoginEndsSendsNothingMore() throws Exception {
    FakeAgent a = podRunningOnNodeA();
    a.received.clear();
    a.answerLogs = false;
    dashboard.logStreamTimes(Duration.ofSeconds(20), Duration.ofSeconds(20));
    List<String> got = new java.util.concurrent.CopyOnWriteArrayList<>();
    var stream = java.util.concurrent.CompletableFuture.runAsync(() -> {
      try {
        HttpResponse<java.util.stream.Stream<String>> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + dashboard.port()
            + "/streams/nodes/node-a/logs/ops/agent")).header("Cookie", cookie).build(), HttpResponse.BodyHandlers.ofLines());
        r.body().filter(l -> !l.isEmpty()).forEach(got::add);
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
    LogRequest req = logRequest(a);
    a.logChunk(req.getRequestId(), List.of("before"));
    Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> got.contains("data: before"));
    c.clock.advance(io.dsfleet.coordinator.dashboard.Logins.MAX_TTL.plusHours(1)); // the login expires while the stream waits for its next line
    a.logChunk(req.getRequestId(), List.of("after"));
    stream.get(20, TimeUnit.SECONDS);
    assertThat(got).as("ended for the login, within the wait").contains("event: end").noneMatch(l -> l.contains("after"));
  }

  /**
   * A log page of characters Docker could not decode (a pod writing binary: U+FFFD, two bytes each
   * in the heap, three in UTF-8) is written line by line: before 2026-12-06 the read's lines were
   * escaped into one string, that put into the page's and the page encoded into one array: 113 MiB
   * allocated for 4 MiB of characters, about 40 MiB of it held at once, a credential's eight pages
   * at once a third of a coordinator's 1 GiB heap.
   */
  @Test
  void aLogPageIsWrittenLineByLine() throws Exception {
    FakeAgent a = podRunningOnNodeA();
    a.answerLogs = false;
    io.dsfleet.coordinator.Allocations allocated = io.dsfleet.coordinator.Allocations.ofThreadsNamed("dashboard");
    var page = http.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + dashboard.port() + "/nodes/node-a/logs/ops/agent"))
        .header("Cookie", cookie).build(), HttpResponse.BodyHandlers.ofString());
    String id = logRequest(a).getRequestId();
    a.logChunk(id, List.of("<script>x</script> & \"'"));
    List<String> chunk = java.util.Collections.nCopies(32, "\uFFFD".repeat(16384)); // 1.5 MiB on the wire
    for (int i = 0; i < 9; i++) { // 288 lines: past the read's 4 MiB
      a.logChunk(id, chunk);
    }
    var r = page.get(30, TimeUnit.SECONDS);
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body()).contains("<pre class=\"log\" data-stream=\"/streams/nodes/node-a/logs/ops/agent\">"
            + "&lt;script&gt;x&lt;/script&gt; &amp; &quot;&#39;\n" + "\uFFFD".repeat(16384) + "\n")
        .contains("[the log goes on beyond 4 MiB: read it with a tail or with dsctl logs, which streams]\n</pre>").endsWith("</html>");
    long spent = allocated.since();
    assertThat(spent).as("bytes the dashboard's threads allocated answering it").isLessThan(16L << 20);
  }

  @Test
  void aPodsLogStreamsAcrossResponsesWithNoLineLostOrRepeatedAndEndsWhenNobodyReads() throws Exception {
    FakeAgent a = podRunningOnNodeA();
    assertThat(get("/nodes/node-a").body()).contains("<a href=\"/nodes/node-a/logs/ops/agent\">logs</a>");

    // the page: the last lines, read whole (what a browser without the script shows), and the stream's address
    String page = get("/nodes/node-a/logs/ops/agent").body();
    assertThat(page).contains("<pre class=\"log\" data-stream=\"/streams/nodes/node-a/logs/ops/agent\">log of agent-")
        .contains("second line\n</pre>");
    assertThat(c.server.logRelay().open()).as("a relay whose every agent sent its last chunk is gone").isZero();
    a.received.clear();

    a.answerLogs = false;
    dashboard.logStreamTimes(Duration.ofSeconds(2), Duration.ofSeconds(2));
    String stream = "/streams/nodes/node-a/logs/ops/agent";
    assertThat(http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + dashboard.port() + stream)).header("Cookie", cookie)
        .header("Sec-Fetch-Site", "same-site").build(), HttpResponse.BodyHandlers.ofString()).statusCode())
        .as("another site's page (another port of localhost) starts no agent work with the operator's cookie").isEqualTo(403);
    for (String spelled : List.of("/%73treams/nodes/node-a/logs/ops/agent", "/streams//nodes/node-a/logs/ops/agent",
        "/nodes/node-a//logs/ops/agent", "/nodes/node-a/%6Cogs/ops/agent", "/%66ragments/overview")) {
      assertThat(http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + dashboard.port() + spelled)).header("Cookie", cookie)
          .header("Sec-Fetch-Site", "same-site").build(), HttpResponse.BodyHandlers.ofString()).statusCode())
          .as("%s: the same page spelled otherwise", spelled).isEqualTo(403);
    }
    var first = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
      try {
        return events(stream, null);
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
    LogRequest req = logRequest(a);
    assertThat(req.getFollow()).isTrue();
    assertThat(req.getTailLines()).isEqualTo(200);
    a.logChunk(req.getRequestId(), List.of("one", "two"));
    List<String> got = first.get(10, TimeUnit.SECONDS);
    assertThat(got).as("the stream's id before any line (a log with no line resumes too), then each line's").hasSize(5);
    String follower = got.get(0).substring("id: ".length(), got.get(0).lastIndexOf(':'));
    assertThat(got).containsExactly("id: " + follower + ":0", "id: " + follower + ":1", "data: one", "id: " + follower + ":2", "data: two");

    a.logChunk(req.getRequestId(), List.of("three")); // while no response is open: it waits for the reconnect
    List<String> next = events(stream, follower + ":2");
    assertThat(next).as("the reconnect goes on after the last line it had").containsExactly("id: " + follower + ":2",
        "id: " + follower + ":3", "data: three");
    assertThat(a.received.stream().noneMatch(CoordinatorMessage::hasLogRequest)).as("the same relay, not a new one").isTrue();

    // nobody reconnects: the follower ends, and the agent is told to stop sending
    Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> a.received.stream().anyMatch(m -> m.hasLogCancel()
        && m.getLogCancel().getRequestId().equals(req.getRequestId())));
    assertThat(c.server.logRelay().open()).isZero();
    var late = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
      try {
        return events(stream, follower + ":3");
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
    LogRequest again = logRequest(a);
    assertThat(again.getRequestId()).as("an ended follower is not resumed: a new relay").isNotEqualTo(req.getRequestId());
    a.logChunk(again.getRequestId(), List.of("tail again"));
    List<String> after = late.get(10, TimeUnit.SECONDS);
    assertThat(after).as("the page is told its log starts again, then gets the new stream's lines").element(0).isEqualTo("event: reset");
    assertThat(after).contains("data: tail again").noneMatch(l -> l.contains("three"));
  }
}
