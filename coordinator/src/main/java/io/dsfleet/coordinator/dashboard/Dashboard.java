package io.dsfleet.coordinator.dashboard;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import io.dsfleet.common.Json;
import io.dsfleet.coordinator.fleet.ControlException;
import io.dsfleet.coordinator.fleet.Fleet;
import io.dsfleet.coordinator.fleet.FleetView.DsSnapshot;
import io.dsfleet.coordinator.grpc.LogRelay;
import io.dsfleet.coordinator.security.Authority;
import io.dsfleet.proto.v1.LogsRequest;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The web dashboard (docs/dashboard.md): served by the coordinator on a listener of its own, over
 * HTTPS with the coordinator's serving certificate (the fleet CA's), to logins made with `dsctl
 * dashboard` ({@link Logins}): a viewer's login reads, an admin's also pauses, resumes, undoes and
 * restarts rollouts and cordons nodes. A request without a valid login gets 401 and no data. On an
 * insecure coordinator (--insecure) it is plain HTTP and every login an admin's, as on its gRPC
 * port, but a login it still needs: any web page the operator visits could post to it otherwise.
 * Bound to loopback, it answers only requests addressed to loopback (DNS rebinding); an action
 * from another origin is refused whatever it carries.
 */
public final class Dashboard implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Dashboard.class);
  /** __Host-: only this origin sets or reads it (no Domain, Path=/, Secure); plain HTTP cannot use the prefix. */
  private final String cookieName;

  private final HttpServer server;
  private final ExecutorService threads;
  /**
   * Requests of logged-in callers answered at once, as by the 16 threads before 2026-12-05 (8 of
   * them log streams at most), half of them by one credential; taken after the login is checked,
   * so callers without one cannot hold them (a review's 16 POSTs announcing bodies they never sent
   * held every turn 10-15 s).
   */
  static final int ANSWERING = LogStreams.MAX_STREAMING + 8;
  private final io.dsfleet.coordinator.http.Turns answering = new io.dsfleet.coordinator.http.Turns(ANSWERING, ANSWERING / 2);
  private final Supplier<Fleet> fleet;
  private final Supplier<Authority> authority;
  private final Logins logins;
  private final boolean insecure;
  private final Clock clock;
  private final boolean loopbackOnly;
  private final LogStreams logs;

  /**
   * @param fleet the fleet this coordinator serves now (null on a replica that does not lead)
   * @param serving the serving certificate chain and key; null: plain HTTP (an insecure coordinator)
   */
  public Dashboard(InetSocketAddress at, Supplier<Fleet> fleet, Supplier<Authority> authority, Logins logins, LogRelay relays,
      X509Certificate[] chain, PrivateKey key, Clock clock) throws IOException {
    this.fleet = fleet;
    this.authority = authority;
    this.logins = logins;
    this.insecure = chain == null;
    this.cookieName = insecure ? "dsfleet_login" : "__Host-dsfleet_login";
    this.clock = clock;
    this.loopbackOnly = InetAddressCheck.loopback(at.getHostString());
    io.dsfleet.common.JdkHttpServers.limitClients();
    InetSocketAddress bind = new InetSocketAddress(at.getHostString(), at.getPort());
    if (insecure) {
      server = HttpServer.create(bind, 64);
    } else {
      HttpsServer https = HttpsServer.create(bind, 64);
      https.setHttpsConfigurator(new HttpsConfigurator(io.dsfleet.coordinator.security.ServingTls.context(chain, key, null)));
      server = https;
    }
    logs = new LogStreams(relays, Duration.ofSeconds(20), Duration.ofSeconds(30)); // once the port is ours
    // the JDK's server reads requests and shakes hands on these threads too: one a connection being served
    threads = io.dsfleet.common.JdkHttpServers.threads("dashboard");
    server.setExecutor(threads);
    io.dsfleet.common.JdkHttpServers.context(server, "/", this::handle); // an exchange its deadline cut is forgotten
    server.start();
    log.info("dashboard on {}://{}:{}/ (log in with dsctl dashboard)", insecure ? "http" : "https", at.getHostString(), port());
  }

  public int port() {
    return server.getAddress().getPort();
  }

  /** Log streams' times: a response's length, and how long one nobody reads lives on (tests shorten them). */
  void logStreamTimes(Duration window, Duration idle) {
    logs.times(window, idle);
  }

  /** Where a browser on this host opens it. */
  public String url(String host) {
    return (insecure ? "http" : "https") + "://" + host + ":" + port() + "/";
  }

  private void handle(HttpExchange x) throws IOException {
    try {
      String path = x.getRequestURI().getRawPath();
      if (path.startsWith("/static/")) {
        asset(x, path.substring("/static/".length()));
        return;
      }
      if (loopbackOnly && !InetAddressCheck.loopbackHost(x.getRequestHeaders().getFirst("Host"))) {
        send(x, 421, "text/plain", "this dashboard answers requests to loopback only\n");
        return;
      }
      if (!insecure && authority.get() == null) {
        send(x, 503, "text/plain", "this coordinator replica does not serve now: open the leader's dashboard\n");
        return;
      }
      if (path.equals("/login")) {
        login(x);
        return;
      }
      Logins.Login who = logins.check(cookie(x), authority.get());
      if (who == null) {
        send(x, 401, "text/plain", "not logged in: run `dsctl dashboard` and open the URL it prints\n");
        return;
      }
      Fleet f = fleet.get();
      if (f == null) {
        send(x, 503, "text/plain", "this coordinator replica does not lead now: open the leader's dashboard\n");
        return;
      }
      // an action's form is read before its turn: a body sent slowly holds only its own thread
      Map<String, String> form = x.getRequestMethod().equals("POST") ? form(x) : null;
      // answered a few at a time once logged in (a caller without a login holds only its own thread); a
      // credential is its role and name: a viewer named as an admin is another one, with a share of its own
      String credential = who.credential();
      io.dsfleet.coordinator.http.Turns.Turn turn = answering.take(credential);
      if (turn == null) {
        send(x, 503, "text/plain", "the dashboard is " + answering.refusal(credential) + "\n");
        return;
      }
      try (turn) {
        answer(x, f, who, path, form);
      }
    } catch (ControlException e) {
      int status = switch (e.code()) {
        case NOT_FOUND -> 404;
        case RESOURCE_EXHAUSTED -> 429;
        default -> 400;
      };
      send(x, status, "text/plain", e.getMessage() + "\n");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      send(x, 503, "text/plain", "the dashboard is stopping\n");
    } catch (RuntimeException e) {
      log.warn("dashboard request {} failed", x.getRequestURI(), e);
      send(x, 500, "text/plain", "internal error (the coordinator's log has it)\n");
    } finally {
      x.close(); // after the answer, an error's included
    }
  }

  private void answer(HttpExchange x, Fleet f, Logins.Login who, String path, Map<String, String> form)
      throws IOException, InterruptedException {
    if (form != null) {
      act(x, f, who, path, form);
      return;
    }
    if (startsWork(path) && !fromThisSite(x)) {
      send(x, 403, "text/plain", "another site's page does not read this dashboard's logs or live parts\n");
      return;
    }
    if (!x.getRequestMethod().equals("GET")) {
      send(x, 405, "text/plain", "GET or POST\n");
      return;
    }
    page(x, f, who, path);
  }

  private void page(HttpExchange x, Fleet f, Logins.Login who, String path) throws IOException, InterruptedException {
    long now = clock.millis();
    long t0 = System.nanoTime();
    String[] p = parts(path);
    String html;
    if (p.length == 0) {
      html = Html.page("Fleet", Pages.overview(f, now), who);
    } else if (p[0].equals("fragments") && p.length == 2 && p[1].equals("overview")) {
      var nodes = f.nodes();
      html = Pages.counters(f, nodes.size(), nodes.stream().filter(n -> n.ready()).count(),
          nodes.stream().filter(n -> n.unschedulable()).count());
    } else if (p[0].equals("fragments") && p.length == 4 && p[1].equals("daemonsets")) {
      html = Pages.rolloutSection(f, f.daemonSet(p[2], p[3]), now);
    } else if (p[0].equals("nodes") && p.length == 1) {
      html = Html.page("Nodes", Pages.nodes(f, now), who);
    } else if (p[0].equals("nodes") && p.length == 2) {
      html = Html.page("Node " + p[1], Pages.node(f, f.node(p[1], true), who.admin(), who.formToken(), now), who);
    } else if (p[0].equals("daemonsets") && p.length == 1) {
      html = Html.page("DaemonSets", Pages.daemonSetTable(f.daemonSets(), now), who);
    } else if (p[0].equals("daemonsets") && p.length == 3) {
      DsSnapshot d = f.daemonSet(p[1], p[2]);
      html = Html.page("DaemonSet " + d.namespace() + "/" + d.name(), Pages.daemonSet(f, d, who.admin(), who.formToken(), now), who);
    } else if (p[0].equals("nodes") && p.length == 5 && p[2].equals("logs")) {
      LogsRequest req = logsRequest(x, p);
      java.util.List<String> tail = logs.tail(f, req.toBuilder().setTailLines(200).build());
      x.getResponseHeaders().set("Server-Timing", "render;dur=%.1f".formatted((System.nanoTime() - t0) / 1e6));
      logPage(x, Html.top("Logs of " + p[4] + " on " + p[1], who) + Pages.logsTop(req), tail);
      return;
    } else if (p[0].equals("streams") && p.length == 6 && p[1].equals("nodes") && p[3].equals("logs")) {
      headers(x);
      String cookie = cookie(x);
      logs.serve(x, f, who.formToken(), who.credential(), logsRequest(x, java.util.Arrays.copyOfRange(p, 1, 6)),
          () -> logins.check(cookie, authority.get()) != null);
      return;
    } else if (p[0].equals("events") && p.length == 1) {
      html = Html.page("Events", Pages.events(f, k -> true, 500, now), who);
    } else {
      send(x, 404, "text/plain", "no such page\n");
      return;
    }
    // the time this page took to make, for the browser's developer tools and the benchmark (docs/benchmarks.md)
    x.getResponseHeaders().set("Server-Timing", "render;dur=%.1f".formatted((System.nanoTime() - t0) / 1e6));
    send(x, 200, "text/html; charset=utf-8", html);
  }

  /**
   * Pages that ask agents for work or are fetched each second: not for another site's page to load
   * with the operator's cookie. Decided on the path as it is routed (decoded, empty segments
   * dropped): on the raw path, {@code /%73treams/...} or {@code /nodes/N//logs/...} slipped past.
   */
  private static boolean startsWork(String path) {
    String[] p = parts(path);
    return p.length > 0 && (p[0].equals("streams") || p[0].equals("fragments") || p.length > 2 && p[0].equals("nodes") && p[2].equals("logs"));
  }

  /** A request of this dashboard's own pages, or the operator's own navigation, as the browser's fetch metadata says (when it says). */
  private static boolean fromThisSite(HttpExchange x) {
    String site = x.getRequestHeaders().getFirst("Sec-Fetch-Site");
    return site == null || site.equals("same-origin") || site.equals("none");
  }

  /** The logs request of /nodes/NODE/logs/NAMESPACE/DAEMONSET[?container=NAME]. */
  private static LogsRequest logsRequest(HttpExchange x, String[] p) {
    return LogsRequest.newBuilder().setNodeName(p[1]).setNamespace(p[3]).setDaemonSet(p[4])
        .setContainer(query(x).getOrDefault("container", "")).build();
  }

  private void act(HttpExchange x, Fleet f, Logins.Login who, String path, Map<String, String> form) throws IOException {
    if (!sameOrigin(x)) {
      send(x, 403, "text/plain", "an action from another site is refused\n");
      return;
    }
    if (path.equals("/logout")) { // every login may end itself, a viewer's too
      if (formOfThisLogin(x, who, form)) {
        logins.end(cookie(x));
        x.getResponseHeaders().add("Set-Cookie", cookieName + "=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict" + (insecure ? "" : "; Secure"));
        log.info("dashboard: logout of {}", who.credential());
        send(x, 200, "text/plain", "logged out: run `dsctl dashboard` to log in again\n");
      }
      return;
    }
    if (!who.admin()) {
      send(x, 403, "text/plain", "viewer " + who.name() + " is read-only: an admin's login acts\n");
      return;
    }
    if (!formOfThisLogin(x, who, form)) {
      return;
    }
    String[] p = parts(path);
    String back;
    if (p.length == 4 && p[0].equals("daemonsets")) {
      DsSnapshot d = f.daemonSet(p[1], p[2]);
      if ((p[3].equals("undo") || p[3].equals("restart")) && !String.valueOf(d.resourceVersion()).equals(form.get("rv"))) {
        send(x, 409, "text/plain", "the DaemonSet changed since the page was shown: reload it and look again\n");
        return;
      }
      switch (p[3]) {
        case "pause" -> f.pause(d.namespace(), d.name(), true);
        case "resume" -> f.pause(d.namespace(), d.name(), false);
        case "undo" -> f.undo(d.namespace(), d.name(), 0, d.resourceVersion());
        case "restart" -> f.apply(io.dsfleet.coordinator.fleet.RolloutRestart.manifest(Json.mapper().valueToTree(d.ds()), d.resourceVersion(), clock.instant()),
            "dashboard restart by " + who.name(), false);
        default -> {
          send(x, 404, "text/plain", "no such action\n");
          return;
        }
      }
      back = "/daemonsets/" + Html.seg(d.namespace()) + "/" + Html.seg(d.name());
    } else if (p.length == 3 && p[0].equals("nodes") && (p[2].equals("cordon") || p[2].equals("uncordon"))) {
      f.cordon(p[1], p[2].equals("cordon"));
      back = "/nodes/" + Html.seg(p[1]);
    } else {
      send(x, 404, "text/plain", "no such action\n");
      return;
    }
    log.info("dashboard: {} by {}", path, who.name());
    redirect(x, back);
  }

  /** Whether the form carries the login's own token (a page of this login posted it); answers 403 when not. */
  private static boolean formOfThisLogin(HttpExchange x, Logins.Login who, Map<String, String> form) throws IOException {
    if (java.security.MessageDigest.isEqual(who.formToken().getBytes(StandardCharsets.UTF_8),
        form.getOrDefault("token", "").getBytes(StandardCharsets.UTF_8))) {
      return true;
    }
    send(x, 403, "text/plain", "the form was not this login's (reload the page)\n");
    return false;
  }

  private void login(HttpExchange x) throws IOException {
    String site = x.getRequestHeaders().getFirst("Sec-Fetch-Site");
    if (site != null && !site.equals("none") && !site.equals("same-origin")) {
      send(x, 403, "text/plain", "a login is opened from dsctl's URL, not from another site\n"); // login CSRF
      return;
    }
    String token = logins.redeem(query(x).get("token"), authority.get());
    if (token == null) {
      send(x, 401, "text/plain", "this login is unknown or expired: run `dsctl dashboard` for a new one\n");
      return;
    }
    long seconds = Math.max(0, logins.expiry(token).getEpochSecond() - clock.instant().getEpochSecond());
    x.getResponseHeaders().add("Set-Cookie", cookieName + "=" + token + "; Path=/; Max-Age=" + seconds + "; HttpOnly; SameSite=Strict"
        + (insecure ? "" : "; Secure"));
    redirect(x, "/");
  }

  private void asset(HttpExchange x, String name) throws IOException {
    String type = name.equals("dashboard.css") ? "text/css" : name.equals("live.js") ? "text/javascript" : null;
    InputStream in = type == null ? null : Dashboard.class.getResourceAsStream(name);
    if (in == null) {
      send(x, 404, "text/plain", "no such file\n");
      return;
    }
    try (in) {
      byte[] body = in.readAllBytes();
      headers(x);
      x.getResponseHeaders().set("Content-Type", type + "; charset=utf-8");
      x.getResponseHeaders().set("Cache-Control", "max-age=300");
      respond(x, 200, body);
    }
  }

  private static String[] parts(String rawPath) {
    return java.util.Arrays.stream(rawPath.split("/")).filter(s -> !s.isEmpty())
        .map(s -> URLDecoder.decode(s, StandardCharsets.UTF_8)).toArray(String[]::new);
  }

  private String cookie(HttpExchange x) {
    for (String header : x.getRequestHeaders().getOrDefault("Cookie", java.util.List.of())) {
      for (String c : header.split(";")) {
        String t = c.strip();
        if (t.startsWith(cookieName + "=")) {
          return t.substring(cookieName.length() + 1);
        }
      }
    }
    return null;
  }

  /**
   * A post from a page of this dashboard: the browser's fetch metadata says so when it sends it
   * (its Origin is then "null": the pages' no-referrer policy hides it from forms), else its Origin,
   * when it sends one (a client that is no browser sends neither, and still needs the form token).
   */
  private boolean sameOrigin(HttpExchange x) {
    String site = x.getRequestHeaders().getFirst("Sec-Fetch-Site");
    if (site != null) {
      return site.equals("same-origin");
    }
    String origin = x.getRequestHeaders().getFirst("Origin");
    String host = x.getRequestHeaders().getFirst("Host");
    return origin == null || origin.equals((insecure ? "http://" : "https://") + host);
  }

  private static void redirect(HttpExchange x, String to) throws IOException {
    headers(x);
    x.getResponseHeaders().set("Location", to);
    x.sendResponseHeaders(303, -1);
  }

  /** On every answer: never cached, never sniffed, no referrer (a login URL carries a token), no framing, no foreign code. */
  static void headers(HttpExchange x) {
    x.getResponseHeaders().set("Cache-Control", "no-store");
    x.getResponseHeaders().set("X-Content-Type-Options", "nosniff");
    x.getResponseHeaders().set("Referrer-Policy", "no-referrer");
    x.getResponseHeaders().set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; form-action 'self'");
  }

  private static Map<String, String> query(HttpExchange x) {
    return io.dsfleet.coordinator.http.UrlPairs.parse(x.getRequestURI().getRawQuery());
  }

  private static Map<String, String> form(HttpExchange x) throws IOException {
    byte[] body = x.getRequestBody().readNBytes(8192);
    return io.dsfleet.coordinator.http.UrlPairs.parse(new String(body, StandardCharsets.UTF_8));
  }

  /**
   * A log page, its lines escaped and written one by one, chunked: the read's 4 MiB of lines
   * escaped into one string, put into the page's and encoded whole allocated 113 MiB for
   * characters Docker could not decode, about 40 MiB held at once (DashboardLiveTest).
   */
  private static void logPage(HttpExchange x, String top, java.util.List<String> lines) throws IOException {
    headers(x);
    x.getResponseHeaders().set("Content-Type", "text/html; charset=utf-8");
    x.sendResponseHeaders(200, 0);
    var out = new java.io.BufferedWriter(new java.io.OutputStreamWriter(x.getResponseBody(), StandardCharsets.UTF_8));
    out.write(top);
    for (String line : lines) {
      Html.esc(out, line);
      out.write('\n');
    }
    out.write("</pre>" + Html.BOTTOM);
    out.flush();
  }

  private static void send(HttpExchange x, int status, String type, String body) throws IOException {
    byte[] b = body.getBytes(StandardCharsets.UTF_8);
    headers(x);
    x.getResponseHeaders().set("Content-Type", type);
    respond(x, status, b);
  }

  /**
   * The status and body; a HEAD's answer has none, and names no length: the JDK's server logs a
   * warning for every HEAD answered with one, and any web page can make a browser send HEADs here
   * (a no-cors fetch), a log line each.
   */
  private static void respond(HttpExchange x, int status, byte[] body) throws IOException {
    if (x.getRequestMethod().equals("HEAD")) {
      x.sendResponseHeaders(status, -1);
      return;
    }
    x.sendResponseHeaders(status, body.length);
    x.getResponseBody().write(body);
  }

  /** Loopback addresses and names: what a dashboard bound to loopback answers to. */
  static final class InetAddressCheck {
    private InetAddressCheck() {}

    private static final java.util.regex.Pattern LOOPBACK_V4 = java.util.regex.Pattern.compile("127(\\.(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)){3}");

    /** "localhost", "::1" or an IPv4 literal in 127.0.0.0/8; not a name that starts like one ("127.0.0.1.evil.example"). */
    static boolean loopback(String host) {
      return host.equals("localhost") || host.equals("::1") || host.equals("[::1]") || LOOPBACK_V4.matcher(host).matches();
    }

    /** The host of a Host header ("127.0.0.1:7482", "[::1]:7482", "localhost") is a loopback one. */
    static boolean loopbackHost(String header) {
      if (header == null) {
        return false;
      }
      String host = header.startsWith("[") ? header.substring(0, header.indexOf(']') + 1)
          : header.contains(":") ? header.substring(0, header.lastIndexOf(':')) : header;
      return loopback(host.toLowerCase(java.util.Locale.ROOT));
    }
  }

  @Override
  public void close() {
    logs.close();
    server.stop(0);
    threads.shutdownNow();
  }
}
