package io.dsfleet.coordinator.dashboard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.dsfleet.common.manifest.Fixtures;
import io.dsfleet.coordinator.CoordinatorServer;
import io.dsfleet.coordinator.cli.DsctlRun;
import io.dsfleet.coordinator.grpc.CoordinatorFixture;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The dashboard over real HTTPS (the coordinator's serving certificate, trusted through the fleet
 * CA only) with logins made by `dsctl dashboard` over real gRPC with the viewer and admin
 * credentials: no login, no data; a viewer reads and is refused every action; an admin pauses a
 * rollout with the form's token only; a revoked credential's login ends.
 */
class DashboardTest {
  @TempDir Path dir;
  CoordinatorServer server;
  Dashboard dashboard;
  HttpClient https;
  /** TLS trusting the fleet CA only, as the client's. */
  SSLContext tls;
  String addr;

  @BeforeEach
  void start() throws Exception {
    server = new CoordinatorServer(CoordinatorFixture.options(dir.resolve("data"), false), java.time.Clock.systemUTC(), false).start();
    addr = "127.0.0.1:" + server.port();
    dashboard = server.startDashboard(new InetSocketAddress("127.0.0.1", 0));
    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    try (var in = Files.newInputStream(dir.resolve("data/pki/ca.crt"))) {
      trust.setCertificateEntry("fleet", CertificateFactory.getInstance("X.509").generateCertificate(in));
    }
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    tls = SSLContext.getInstance("TLS");
    tls.init(null, tmf.getTrustManagers(), null);
    https = HttpClient.newBuilder().sslContext(tls).followRedirects(HttpClient.Redirect.NEVER).build();
    assertThat(dsctl("admin", "apply", "-f", Files.writeString(dir.resolve("ds.yaml"), Fixtures.BASE).toString()).exit()).isZero();
  }

  @AfterEach
  void stop() {
    dashboard.close();
    server.close();
  }

  DsctlRun.Result dsctl(String credential, String... args) {
    List<String> all = new ArrayList<>(List.of(args));
    all.addAll(List.of("--coordinator", addr, "--credentials", dir.resolve("data/pki/" + credential + ".pem").toString()));
    return DsctlRun.run(all);
  }

  /** Logs in as dsctl dashboard prints it: the login cookie. */
  String login(String credential) throws Exception {
    DsctlRun.Result r = dsctl(credential, "dashboard");
    assertThat(r.exit()).as(r.err()).isZero();
    assertThat(r.err()).contains("logged in as " + credential);
    URI url = URI.create(r.out().strip());
    assertThat(url.getScheme()).isEqualTo("https");
    HttpResponse<String> opened = https.send(HttpRequest.newBuilder(url).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(opened.statusCode()).isEqualTo(303);
    String cookie = opened.headers().firstValue("Set-Cookie").orElseThrow();
    assertThat(cookie).contains("HttpOnly").contains("Secure").contains("SameSite=Strict")
        .as("the cookie holds another token than the URL").doesNotContain(url.getQuery().substring("token=".length()));
    assertThat(https.send(HttpRequest.newBuilder(url).build(), HttpResponse.BodyHandlers.ofString()).statusCode())
        .as("the URL logs in once: it stays in the browser's history").isEqualTo(401);
    assertThat(cookie).startsWith("__Host-dsfleet_login=");
    return cookie.substring(0, cookie.indexOf(';'));
  }

  HttpResponse<String> get(String path, String cookie) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + dashboard.port() + path));
    if (cookie != null) {
      b.header("Cookie", cookie);
    }
    return https.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  /** @param headers more request headers, name then value */
  HttpResponse<String> post(String path, String cookie, String form, String... headers) throws Exception {
    var request = HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + dashboard.port() + path)).header("Cookie", cookie);
    if (headers.length > 0) {
      request.headers(headers);
    }
    return https.send(request.header("Content-Type", "application/x-www-form-urlencoded").POST(HttpRequest.BodyPublishers.ofString(form)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void boundToLoopbackItAnswersOnlyRequestsToLoopback() {
    assertThat(Dashboard.InetAddressCheck.loopbackHost("127.0.0.1:7482")).isTrue();
    assertThat(Dashboard.InetAddressCheck.loopbackHost("localhost:7482")).isTrue();
    assertThat(Dashboard.InetAddressCheck.loopbackHost("[::1]:7482")).isTrue();
    assertThat(Dashboard.InetAddressCheck.loopbackHost("rebound.evil.example:7482")).as("DNS rebinding").isFalse();
    assertThat(Dashboard.InetAddressCheck.loopbackHost("127.12.0.254:7482")).isTrue();
    // names that only start like a loopback address (a review's Host headers, answered 200 before)
    assertThat(Dashboard.InetAddressCheck.loopbackHost("127.0.0.1.attacker.example:7482")).isFalse();
    assertThat(Dashboard.InetAddressCheck.loopbackHost("127.evil.test:7482")).isFalse();
    assertThat(Dashboard.InetAddressCheck.loopbackHost("127.0.0.256")).isFalse();
    assertThat(Dashboard.InetAddressCheck.loopbackHost(null)).isFalse();
  }

  boolean paused() {
    return server.fleet().daemonSet("ops", "agent").rollout().paused();
  }

  /**
   * Connections that send the first bytes of a TLS ClientHello and stop: the JDK's server shakes
   * hands on an executor thread, and each held one until its 10 s request bound. 48 of them (more
   * than the 40 threads the dashboard had) kept every page waiting that long; now a page is served
   * while every one of them is still held open.
   */
  @Test
  void handshakesThatStallHoldNoThreadAPageNeeds() throws Exception {
    try (var stalled = io.dsfleet.common.testing.StalledRequests.open(dashboard.port(), 48, io.dsfleet.common.testing.StalledRequests.tlsStart())) {
      assertThat(get("/", null).statusCode()).isEqualTo(401);
      assertThat(stalled.closedByServer()).as("answered while every stalled handshake was still waiting").isZero();
    }
  }

  /**
   * A review's POSTs without a login, each announcing a body it never sends: the dashboard's turns
   * were taken before the login was checked, so 16 of them held every turn until the request
   * bound; then a viewer's did the same while its form was read. A turn is taken only once the
   * login is known and an action's form read; an admin's page is served meanwhile.
   */
  @Test
  void postsThatNeverSendTheirBodyHoldNoTurn() throws Exception {
    String viewer = login("viewer");
    List<javax.net.ssl.SSLSocket> held = new ArrayList<>();
    try {
      for (int i = 0; i < 2 * Dashboard.ANSWERING + 8; i++) {
        var socket = (javax.net.ssl.SSLSocket) tls.getSocketFactory().createSocket("127.0.0.1", dashboard.port());
        held.add(socket);
        // half of them without a login, half a viewer's (helper-73: a viewer's held every turn while its form was read)
        String cookie = i % 2 == 0 ? "" : "Cookie: " + viewer + "\r\n";
        socket.getOutputStream().write(("POST /daemonsets/ops/agent/pause HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 60000\r\n"
            + cookie + "Content-Type: application/x-www-form-urlencoded\r\n\r\nab").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        socket.getOutputStream().flush();
      }
      assertThat(get("/", login("admin")).statusCode()).isEqualTo(200);
      // each is refused (401) or waits for its form: none was closed by the bound yet, so the page
      // was served while every one was held (before, it waited for the bound to close 16)
      for (var socket : held) {
        socket.setSoTimeout(200);
        byte[] buf = new byte[4096];
        assertThatThrownBy(() -> {
          while (socket.getInputStream().read(buf) >= 0) {
            // the refusal's bytes
          }
        }).as("still open").isInstanceOf(java.net.SocketTimeoutException.class);
      }
    } finally {
      for (var socket : held) {
        socket.close();
      }
    }
  }

  @Test
  void withoutALoginThereIsNoData() throws Exception {
    for (String path : List.of("/", "/daemonsets", "/daemonsets/ops/agent", "/fragments/daemonsets/ops/agent", "/nodes", "/events")) {
      HttpResponse<String> r = get(path, null);
      assertThat(r.statusCode()).as(path).isEqualTo(401);
      assertThat(r.body()).as(path).doesNotContain("agent").contains("dsctl dashboard");
    }
    assertThat(get("/", "__Host-dsfleet_login=made-up").statusCode()).isEqualTo(401);
    assertThat(get("/login?token=made-up", null).statusCode()).isEqualTo(401);
    String url = dsctl("viewer", "dashboard").out().strip();
    String urlToken = url.substring(url.indexOf("token=") + "token=".length());
    assertThat(get("/", "__Host-dsfleet_login=" + urlToken).statusCode()).as("a login URL's token is no cookie").isEqualTo(401);
    HttpResponse<String> fromElsewhere = https.send(HttpRequest.newBuilder(URI.create(url)).header("Sec-Fetch-Site", "cross-site").build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(fromElsewhere.statusCode()).as("a login opened from another site (login CSRF)").isEqualTo(403);
  }

  /**
   * HEAD requests, which any web page the operator visits can make the browser send here (a
   * no-cors fetch needs no preflight), without a login: each is answered without a body and logs
   * nothing. Before, every answer named its length, and the JDK's server logged a warning for
   * each ("being invoked with a content length for a HEAD request"), a line a request, to flood
   * the coordinator's log; and cut the connection when the body followed.
   */
  @Test
  void headRequestsWithoutALoginLogNothing() throws Exception {
    try (io.dsfleet.coordinator.http.JdkServerLog log = new io.dsfleet.coordinator.http.JdkServerLog()) {
      for (String path : List.of("/", "/nodes", "/login", "/static/live.js", "/static/nothing")) {
        HttpResponse<String> r = https.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + dashboard.port() + path))
            .method("HEAD", HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(path).isIn(200, 401, 404);
        assertThat(r.body()).as(path).isEmpty();
      }
      assertThat(log.lines()).as("the JDK server's log").isEmpty();
    }
  }

  @Test
  void aViewerReadsEveryPageAndIsRefusedEveryAction() throws Exception {
    String viewer = login("viewer");
    HttpResponse<String> overview = get("/", viewer);
    assertThat(overview.statusCode()).isEqualTo(200);
    assertThat(overview.body()).contains("<a href=\"/daemonsets/ops/agent\">agent</a>").contains("viewer viewer")
        .contains("RevisionCreated");
    HttpResponse<String> ds = get("/daemonsets/ops/agent", viewer);
    assertThat(ds.body()).contains("Revision <b>r1</b>").contains("data-live=\"/fragments/daemonsets/ops/agent\"")
        .as("no action for a viewer").doesNotContain("action=\"/daemonsets");
    assertThat(get("/fragments/daemonsets/ops/agent", viewer).body()).startsWith("<p class=\"rollout\">Revision <b>r1</b>");
    assertThat(get("/daemonsets/ops/missing", viewer).statusCode()).isEqualTo(404);

    HttpResponse<String> pause = post("/daemonsets/ops/agent/pause", viewer, "token=anything");
    assertThat(pause.statusCode()).isEqualTo(403);
    assertThat(pause.body()).contains("viewer viewer is read-only");
    assertThat(paused()).isFalse();

    assertThat(dsctl("admin", "credential", "revoke", "viewer", "--role", "viewer").exit()).isZero();
    assertThat(get("/", viewer).statusCode()).as("a revoked credential's login ends").isEqualTo(401);
  }

  /** A login ends itself (a viewer's too), with its own form only; the credential's other logins go on. */
  @Test
  void aLoginLogsItselfOutWithItsOwnFormOnly() throws Exception {
    String viewer = login("viewer");
    String other = login("viewer");
    String page = get("/", viewer).body();
    Matcher form = Pattern.compile("action=\"/logout\"><input type=\"hidden\" name=\"token\" value=\"([^\"]+)\"").matcher(page);
    assertThat(form.find()).as(page).isTrue();
    assertThat(post("/logout", viewer, "token=forged").statusCode()).as("another page's form").isEqualTo(403);
    HttpResponse<String> crossSite = post("/logout", viewer, "token=" + form.group(1), "Origin", "https://evil.example");
    assertThat(crossSite.statusCode()).as("another site, even with the token").isEqualTo(403);
    assertThat(get("/", viewer).statusCode()).as("still logged in").isEqualTo(200);

    HttpResponse<String> out = post("/logout", viewer, "token=" + form.group(1));
    assertThat(out.statusCode()).isEqualTo(200);
    assertThat(out.headers().firstValue("Set-Cookie")).get().asString().startsWith("__Host-dsfleet_login=;").contains("Max-Age=0")
        .contains("Secure");
    assertThat(get("/", viewer).statusCode()).as("the login ended: its cookie, kept, opens nothing").isEqualTo(401);
    assertThat(get("/", other).statusCode()).as("the credential's other login goes on").isEqualTo(200);
  }

  @Test
  void anAdminPausesAndResumesARolloutWithTheFormsTokenOnly() throws Exception {
    String admin = login("admin");
    String page = get("/daemonsets/ops/agent", admin).body();
    Matcher form = Pattern.compile("action=\"/daemonsets/ops/agent/pause\"><input type=\"hidden\" name=\"token\" value=\"([^\"]+)\"")
        .matcher(page);
    assertThat(form.find()).as(page).isTrue();
    String token = form.group(1);

    assertThat(post("/daemonsets/ops/agent/pause", admin, "token=forged").statusCode()).as("another site's form").isEqualTo(403);
    HttpResponse<String> crossSite = https.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + dashboard.port()
        + "/daemonsets/ops/agent/pause")).header("Cookie", admin).header("Origin", "https://evil.example")
        .header("Content-Type", "application/x-www-form-urlencoded").POST(HttpRequest.BodyPublishers.ofString("token=" + token)).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(crossSite.statusCode()).as("another origin, even with the token").isEqualTo(403);
    assertThat(paused()).isFalse();
    HttpResponse<String> pause = post("/daemonsets/ops/agent/pause", admin, "token=" + token);
    assertThat(pause.statusCode()).isEqualTo(303);
    assertThat(pause.headers().firstValue("Location")).hasValue("/daemonsets/ops/agent");
    assertThat(paused()).isTrue();
    assertThat(get("/daemonsets/ops/agent", admin).body()).contains(">paused</span>").contains("Resume rollout");

    assertThat(post("/daemonsets/ops/agent/resume", admin, "token=" + token, "Origin", "null").statusCode())
        .as("an opaque origin, no fetch metadata to say more").isEqualTo(403);
    // what Chromium sends for the page's own form: the page's no-referrer policy makes its Origin "null"
    assertThat(post("/daemonsets/ops/agent/resume", admin, "token=" + token, "Origin", "null", "Sec-Fetch-Site", "same-origin")
        .statusCode()).isEqualTo(303);
    assertThat(paused()).isFalse();
    long shown = server.fleet().daemonSet("ops", "agent").resourceVersion();
    assertThat(post("/daemonsets/ops/agent/restart", admin, "token=" + token + "&rv=" + (shown - 1)).statusCode())
        .as("the page showed an older version").isEqualTo(409);
    assertThat(server.fleet().daemonSet("ops", "agent").revision()).isEqualTo(1);
    assertThat(post("/daemonsets/ops/agent/restart", admin, "token=" + token + "&rv=" + shown).statusCode()).isEqualTo(303);
    assertThat(server.fleet().daemonSet("ops", "agent").revision()).as("a restart is a new revision").isEqualTo(2);
  }
}
