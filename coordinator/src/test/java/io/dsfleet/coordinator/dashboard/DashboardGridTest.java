package io.dsfleet.coordinator.dashboard;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.common.manifest.Fixtures;
import io.dsfleet.coordinator.grpc.CoordinatorFixture;
import io.dsfleet.coordinator.grpc.FakeAgent;
import io.dsfleet.proto.v1.ApplyRequest;
import io.dsfleet.proto.v1.DesiredState;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A DaemonSet's rollout drawn as a grid of nodes, each cell naming the node, the revision its pod
 * runs and its state in words (colour only repeats them), on an insecure coordinator (plain HTTP,
 * everyone an admin, as its gRPC port) with agents that report what a real one would.
 */
class DashboardGridTest {
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
}
