package io.dsfleet.common.metrics;

import static org.assertj.core.api.Assertions.assertThat;

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
  /**
   * The endpoint serves on one thread: a client that starts a request and never ends it holds that
   * thread until the server's request bound (10 s, checked every 5 s) cuts it off; then the next
   * client is answered.
   */
  @Test
  void aClientThatNeverEndsItsRequestIsCutOffAfterTheBoundAndTheNextOneIsServed() throws Exception {
    try (MetricsEndpoint endpoint = MetricsEndpoint.start(InetSocketAddress.createUnresolved("127.0.0.1", 0), new PrometheusRegistry());
        Socket slow = new Socket("127.0.0.1", endpoint.port())) {
      slow.getOutputStream().write("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n".getBytes(StandardCharsets.US_ASCII)); // no blank line
      slow.getOutputStream().flush();
      slow.setSoTimeout(60_000);
      long t0 = System.nanoTime();
      slow.getInputStream().readAllBytes(); // until the server closes the connection
      double seconds = (System.nanoTime() - t0) / 1e9;
      assertThat(seconds).as("cut off after the 10 s bound, at a check of the 5 s timer (a loaded machine adds some)").isBetween(9.0, 30.0);
      HttpResponse<String> next = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + endpoint.port()
          + "/metrics")).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(next.statusCode()).isEqualTo(200);
    }
  }
}
