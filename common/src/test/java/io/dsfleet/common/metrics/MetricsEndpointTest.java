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
}
