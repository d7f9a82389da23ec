package io.dsfleet.common;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import io.dsfleet.common.testing.RawHttp;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Each exchange of the JDK's HTTP server is bounded by its executor: a client that reads nothing of
 * a long answer holds its thread until the exchange's deadline, not until the JDK's process-wide
 * bound on answers (35 minutes now that watches last 30); an exchange that streams by design sets
 * its own and outlives the default.
 */
class ExchangeDeadlinesTest {
  private HttpServer server;
  private ExecutorService pool;

  @AfterEach
  void stop() {
    if (server != null) {
      server.stop(0);
    }
    if (pool != null) {
      pool.shutdownNow();
    }
  }

  private int serve(Duration bound, com.sun.net.httpserver.HttpHandler handler) throws Exception {
    pool = JdkHttpServers.threads("test-http", bound);
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 8);
    server.setExecutor(pool);
    server.createContext("/", handler);
    server.start();
    return server.getAddress().getPort();
  }

  @Test
  void aClientThatReadsNothingOfALongAnswerLosesItAtTheExchangesDeadline() throws Exception {
    CountDownLatch ended = new CountDownLatch(1);
    AtomicReference<Throwable> why = new AtomicReference<>();
    int port = serve(Duration.ofSeconds(1), x -> {
      try {
        x.sendResponseHeaders(200, 0);
        OutputStream out = x.getResponseBody();
        byte[] chunk = new byte[64 * 1024];
        for (int i = 0; i < 4096; i++) { // 256 MiB: far more than any socket buffer holds
          out.write(chunk);
        }
        out.close();
      } catch (Throwable t) {
        why.set(t);
        throw t;
      } finally {
        ended.countDown();
      }
    });
    long start = System.nanoTime();
    try (Socket s = RawHttp.get(port, "/big")) {
      assertThat(ended.await(15, TimeUnit.SECONDS)).as("the exchange ended at its 1 s deadline, its client reading nothing").isTrue();
      assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(10));
      assertThat(why.get()).as("its blocked write failed: the channel was closed under it").isInstanceOf(java.io.IOException.class);
    }
  }

  @Test
  void anExchangeThatSetsItsOwnDeadlineStreamsPastTheDefault() throws Exception {
    int port = serve(Duration.ofMillis(500), x -> {
      ExchangeDeadlines.extend(Duration.ofSeconds(10));
      x.sendResponseHeaders(200, 0);
      try (OutputStream out = x.getResponseBody()) {
        for (int i = 0; i < 6; i++) { // 1.5 s: three times the default
          out.write(("line " + i + "\n").getBytes(StandardCharsets.US_ASCII));
          out.flush();
          Thread.sleep(250);
        }
      } catch (InterruptedException e) {
        throw new java.io.IOException("interrupted", e);
      }
    });
    try (Socket s = RawHttp.get(port, "/stream")) {
      s.setSoTimeout(10_000);
      String answer = RawHttp.until(s.getInputStream(), RawHttp.LAST_CHUNK);
      assertThat(answer).contains("200 OK").contains("line 0").contains("line 5").contains("\r\n0\r\n\r\n"); // the last chunk: whole
    }
  }

  @Test
  void theProcessWideBoundOnAnswersStaysAboveTheLongestAnExchangeSetsItself() {
    JdkHttpServers.limitClients();
    assertThat(Long.parseLong(System.getProperty("sun.net.httpserver.maxRspTime")))
        .as("seconds").isGreaterThan(Duration.ofMinutes(30).toSeconds());
  }
}
