package io.dsfleet.common.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class MetricsEndpointTest {
  /** Scrapes go on while more requests than the coordinator's endpoint once had threads (4) are begun and never ended. */
  @Test
  void requestsThatStallEachHoldOnlyTheirOwnThread() throws Exception {
    try (MetricsEndpoint endpoint = MetricsEndpoint.start(InetSocketAddress.createUnresolved("127.0.0.1", 0), new PrometheusRegistry(),
        io.dsfleet.common.JdkHttpServers.threads("metrics"));
        var stalled = io.dsfleet.common.testing.StalledRequests.open(endpoint.port(), 8, io.dsfleet.common.testing.StalledRequests.httpStart())) {
      HttpResponse<String> scrape = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + endpoint.port()
          + "/metrics")).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(scrape.statusCode()).isEqualTo(200);
      assertThat(stalled.closedByServer()).as("scraped while every stalled request was still held").isZero();
    }
  }

  /**
   * A client that starts a request and never ends it holds one of the endpoint's threads until the
   * server's request bound (10 s, checked every 5 s) cuts it off; meanwhile a scrape is answered on
   * another thread (with one thread, a review's two such connections held every scrape 8-9 s).
   */
  @Test
  void aClientThatNeverEndsItsRequestHoldsOneThreadUntilTheBoundAndScrapesGoOn() throws Exception {
    try (MetricsEndpoint endpoint = MetricsEndpoint.start(InetSocketAddress.createUnresolved("127.0.0.1", 0), new PrometheusRegistry(),
        io.dsfleet.common.JdkHttpServers.few("metrics", 2));
        Socket slow = new Socket("127.0.0.1", endpoint.port())) {
      slow.getOutputStream().write("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n".getBytes(StandardCharsets.US_ASCII)); // no blank line
      slow.getOutputStream().flush();
      long t0 = System.nanoTime();
      HttpResponse<String> meanwhile = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + endpoint.port()
          + "/metrics")).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(meanwhile.statusCode()).isEqualTo(200);
      slow.setSoTimeout(100);
      assertThatThrownBy(() -> slow.getInputStream().read()).as("the slow request is still held: the scrape did not wait for its end")
          .isInstanceOf(java.net.SocketTimeoutException.class);
      slow.setSoTimeout(60_000);
      slow.getInputStream().readAllBytes(); // until the server closes the connection
      double seconds = (System.nanoTime() - t0) / 1e9;
      assertThat(seconds).as("cut off after the 10 s bound, at a check of the 5 s timer (a loaded machine adds some)").isBetween(9.0, 30.0);
    }
  }

  /**
   * An endpoint that shares its renderings answers each kind of request as client_java's handler
   * does (the text format, OpenMetrics, gzip, a name filter), the same bytes each.
   */
  @Test
  void aSharedEndpointAnswersEveryKindOfRequestAsClientJavasHandlerDoes() throws Exception {
    PrometheusRegistry registry = new PrometheusRegistry();
    registry.register(io.prometheus.metrics.core.metrics.Counter.builder().name("things_total").help("Things").build());
    registry.register(io.prometheus.metrics.core.metrics.Gauge.builder().name("level").help("A level").build());
    try (MetricsEndpoint own = MetricsEndpoint.start(InetSocketAddress.createUnresolved("127.0.0.1", 0), registry,
        io.dsfleet.common.JdkHttpServers.threads("metrics"));
        MetricsEndpoint shared = MetricsEndpoint.start(InetSocketAddress.createUnresolved("127.0.0.1", 0), registry,
            io.dsfleet.common.JdkHttpServers.threads("metrics"), java.time.Duration.ofSeconds(1))) {
      List<List<String>> kinds = List.of(List.of(), List.of("Accept-Encoding", "gzip"),
          List.of("Accept", "application/openmetrics-text; version=1.0.0; charset=utf-8", "Accept-Encoding", "gzip"));
      for (String path : List.of("/metrics", "/metrics?name[]=level")) {
        for (List<String> headers : kinds) {
          for (int i = 0; i < 2; i++) { // the second from the shared rendering
            HttpResponse<byte[]> a = get(own.port(), path, headers);
            HttpResponse<byte[]> b = get(shared.port(), path, headers);
            assertThat(b.statusCode()).isEqualTo(200).isEqualTo(a.statusCode());
            for (String h : List.of("Content-Type", "Content-Encoding")) {
              assertThat(b.headers().firstValue(h)).as("%s of %s %s", h, path, headers).isEqualTo(a.headers().firstValue(h));
            }
            assertThat(text(b)).as("%s %s", path, headers).isEqualTo(text(a)).contains("level");
          }
        }
      }
    }
  }

  /**
   * A HEAD of a shared endpoint is answered as client_java's handler answers it: the headers of the
   * GET with its length, no body; a GET right after it gets the whole text.
   */
  @Test
  void aSharedEndpointAnswersAHeadAsClientJavasHandlerDoes() throws Exception {
    PrometheusRegistry registry = new PrometheusRegistry();
    registry.register(io.prometheus.metrics.core.metrics.Gauge.builder().name("level").help("A level").build());
    try (MetricsEndpoint own = MetricsEndpoint.start(InetSocketAddress.createUnresolved("127.0.0.1", 0), registry,
        io.dsfleet.common.JdkHttpServers.threads("metrics"));
        MetricsEndpoint shared = MetricsEndpoint.start(InetSocketAddress.createUnresolved("127.0.0.1", 0), registry,
            io.dsfleet.common.JdkHttpServers.threads("metrics"), java.time.Duration.ofSeconds(1))) {
      for (String encoding : List.of("", "Accept-Encoding: gzip\r\n")) {
        for (int i = 0; i < 2; i++) {
          String a = raw(own.port(), "HEAD", encoding);
          String b = raw(shared.port(), "HEAD", encoding);
          assertThat(headers(b)).as("HEAD %s", encoding).isEqualTo(headers(a));
        }
      }
      assertThat(raw(shared.port(), "GET", "")).contains("level");
    }
  }

  /**
   * A collection that throws fails its scrape (client_java's 500) and is not kept: the next scrape,
   * within the same second, collects again and is answered.
   */
  @Test
  void aFailedScrapeIsNotKeptAndTheNextCollectsAgain() throws Exception {
    PrometheusRegistry registry = new PrometheusRegistry();
    java.util.concurrent.atomic.AtomicInteger collections = new java.util.concurrent.atomic.AtomicInteger();
    registry.register(io.prometheus.metrics.core.metrics.GaugeWithCallback.builder().name("level").help("A level").callback(cb -> {
      if (collections.incrementAndGet() == 1) {
        throw new IllegalStateException("the fleet could not be read");
      }
      cb.call(7);
    }).build());
    try (MetricsEndpoint shared = MetricsEndpoint.start(InetSocketAddress.createUnresolved("127.0.0.1", 0), registry,
        io.dsfleet.common.JdkHttpServers.threads("metrics"), java.time.Duration.ofMinutes(1))) {
      assertThat(get(shared.port(), "/metrics", List.of()).statusCode()).isEqualTo(500);
      HttpResponse<byte[]> next = get(shared.port(), "/metrics", List.of());
      assertThat(next.statusCode()).isEqualTo(200);
      assertThat(text(next)).contains("level 7.0");
      assertThat(collections).hasValue(2);
    }
  }

  /** The answer to {@code method /metrics} on a connection of its own, as sent. */
  private static String raw(int port, String method, String headers) throws Exception {
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.getOutputStream().write((method + " /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" + headers + "\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      s.setSoTimeout(10_000);
      return new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
    }
  }

  /** The status line and headers but the date, in order of name. */
  private static List<String> headers(String response) {
    return response.lines().takeWhile(l -> !l.isEmpty()).filter(l -> !l.toLowerCase(java.util.Locale.ROOT).startsWith("date:"))
        .map(l -> l.toLowerCase(java.util.Locale.ROOT)).sorted().toList();
  }

  private static HttpResponse<byte[]> get(int port, String path, List<String> headers) throws Exception {
    var request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path));
    for (int i = 0; i < headers.size(); i += 2) {
      request.header(headers.get(i), headers.get(i + 1));
    }
    return HttpClient.newHttpClient().send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
  }

  private static String text(HttpResponse<byte[]> r) throws java.io.IOException {
    byte[] body = r.body();
    if (r.headers().firstValue("Content-Encoding").orElse("").equals("gzip")) {
      body = new java.util.zip.GZIPInputStream(new java.io.ByteArrayInputStream(body)).readAllBytes();
    }
    return new String(body, StandardCharsets.UTF_8);
  }

  /**
   * Scrapes that go away in the middle of a large text (a Prometheus scrape that timed out) leave
   * the endpoint's connection cap: client_java's handler, which the agent's endpoint serves with,
   * catches the error of its write and returns, and the JDK's server counted each such connection
   * until its own bound on answers (35 minutes since 2026-12-06, 30 s before): with a cap of two,
   * two of them and every later scrape was closed at accept. Run in a process of its own: the JDK's
   * server reads its cap once per JVM.
   */
  @Test
  void scrapesThatGoAwayMidAnswerLeaveTheConnectionCap() throws Exception {
    Process p = new ProcessBuilder(java.nio.file.Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Djdk.httpserver.maxConnections=2", "-cp", System.getProperty("java.class.path"), GoneScrapes.class.getName())
        .redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
    assertThat(out).as("two scrapes gone, then a scrape").contains("gone 2").contains("scraped: HTTP/1.1 200");
  }

  /** {@link #scrapesThatGoAwayMidAnswerLeaveTheConnectionCap}, in its process. */
  public static final class GoneScrapes {
    public static void main(String[] args) throws Exception {
      PrometheusRegistry registry = new PrometheusRegistry();
      var gauge = io.prometheus.metrics.core.metrics.Gauge.builder().name("big").help("a large text").labelNames("v").register(registry);
      String wide = "x".repeat(2048);
      for (int i = 0; i < 5000; i++) { // about 10 MB of text: more than loopback's socket buffers take
        gauge.labelValues(wide + i).set(i);
      }
      MetricsEndpoint endpoint = MetricsEndpoint.start(InetSocketAddress.createUnresolved("127.0.0.1", 0), registry,
          io.dsfleet.common.JdkHttpServers.threads("metrics"));
      for (int i = 0; i < 2; i++) {
        try (Socket s = new Socket("127.0.0.1", endpoint.port())) {
          s.setReceiveBufferSize(4096);
          s.getOutputStream().write("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
          s.setSoTimeout(20_000);
          s.getInputStream().readNBytes(1024); // the answer began
          s.setSoLinger(true, 0); // then the scrape goes, its connection reset
        }
      }
      System.out.println("gone 2");
      long until = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
      String answer = "refused";
      while (System.nanoTime() < until && !answer.startsWith("HTTP/1.1 200")) {
        try (Socket s = new Socket("127.0.0.1", endpoint.port())) {
          s.getOutputStream().write("GET /-/healthy HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
          s.setSoTimeout(5000);
          String line = new java.io.BufferedReader(new java.io.InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII)).readLine();
          answer = line == null ? "refused: closed at accept" : line;
        } catch (java.io.IOException e) {
          answer = "refused: " + e;
        }
        if (!answer.startsWith("HTTP/1.1 200")) {
          Thread.sleep(100); // the server forgets a broken scrape's connection as its thread ends it
        }
      }
      System.out.println("scraped: " + answer);
      System.exit(0);
    }
  }
}
