package io.dsfleet.common.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * One rendering of /metrics serves the scrapes of the next second that ask for the same, and one
 * scrape renders at a time: clients scraping in a loop, or many at once, cannot keep the cores
 * rendering a large fleet's text.
 */
class SharedScrapesTest {
  private final AtomicLong nanos = new AtomicLong();
  private final AtomicInteger renders = new AtomicInteger();
  private volatile CountDownLatch holdFirst;
  /** Which rendering holdFirst holds. */
  private volatile int held = 1;
  private final CountDownLatch firstRendering = new CountDownLatch(1);
  private HttpServer server;
  private SharedScrapes shared;
  private ExecutorService pool;

  /** Renders its count of renderings and what the client accepts, as the metrics' handler renders what it is asked. */
  private final HttpHandler render = exchange -> {
    int n = renders.incrementAndGet();
    if (n == held && holdFirst != null) {
      firstRendering.countDown();
      boolean interrupted = false;
      long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      // held until the test lets it go, whatever interrupts it (a rendering that ignores its deadline)
      while (holdFirst.getCount() > 0 && System.nanoTime() < until) {
        try {
          holdFirst.await(until - System.nanoTime(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
          interrupted = true;
        }
      }
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
    byte[] body = ("rendering " + n + " for " + exchange.getRequestHeaders().getFirst("Accept-Encoding")).getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    exchange.sendResponseHeaders(200, body.length);
    exchange.getResponseBody().write(body);
    exchange.close();
  };

  private int start() throws Exception {
    io.dsfleet.common.JdkHttpServers.limitClients(); // before the JVM's first server: the bounds are read once, and other tests count on them
    return start(Executors.newCachedThreadPool());
  }

  /** On {@code threads}, through the daemons' context filter ({@code JdkHttpServers.context}). */
  private int start(ExecutorService threads) throws Exception {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 50);
    shared = new SharedScrapes(render, Duration.ofSeconds(1), nanos::get);
    io.dsfleet.common.JdkHttpServers.context(server, "/metrics", shared);
    pool = threads;
    server.setExecutor(pool);
    server.start();
    return server.getAddress().getPort();
  }

  @AfterEach
  void stop() {
    if (holdFirst != null) {
      holdFirst.countDown();
    }
    server.stop(0);
    pool.shutdownNow();
  }

  private static HttpResponse<String> get(int port, String encoding) throws Exception {
    return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics"))
        .header("Accept-Encoding", encoding).build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void scrapesWithinASecondOfARenderingServeItAndALaterOneRendersAgain() throws Exception {
    int port = start();
    for (int i = 0; i < 5; i++) {
      HttpResponse<String> r = get(port, "identity");
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.body()).isEqualTo("rendering 1 for identity");
      assertThat(r.headers().firstValue("Content-Type")).hasValue("text/plain; version=0.0.4; charset=utf-8");
      nanos.addAndGet(Duration.ofMillis(199).toNanos());
    }
    assertThat(get(port, "gzip").body()).as("another kind of request: its own rendering").isEqualTo("rendering 2 for gzip");
    nanos.addAndGet(Duration.ofMillis(5).toNanos()); // a second after the first
    assertThat(get(port, "identity").body()).isEqualTo("rendering 3 for identity");
    assertThat(renders).hasValue(3);
    nanos.addAndGet(Duration.ofSeconds(1).toNanos());
    assertThat(get(port, "gzip").body()).isEqualTo("rendering 4 for gzip");
    assertThat(shared.kept()).as("the identity rendering, a second old, no longer kept").isEqualTo(1);
  }

  @Test
  void scrapesThatComeWhileOneRendersWaitForItAndServeItsRendering() throws Exception {
    holdFirst = new CountDownLatch(1);
    int port = start();
    CompletableFuture<HttpResponse<String>> first = CompletableFuture.supplyAsync(() -> call(port));
    assertThat(firstRendering.await(10, TimeUnit.SECONDS)).isTrue();
    List<CompletableFuture<HttpResponse<String>>> others = new java.util.ArrayList<>();
    for (int i = 0; i < 4; i++) {
      others.add(CompletableFuture.supplyAsync(() -> call(port), Executors.newSingleThreadExecutor()));
    }
    try {
      // each of the four has come to the rendering and waits for its turn (or was answered: nothing else holds them)
      Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> shared.waiting() + others.stream().filter(CompletableFuture::isDone)
          .count() == 4);
      assertThat(renders).as("renderings while the first scrape renders").hasValue(1);
    } finally {
      holdFirst.countDown();
    }
    assertThat(first.get(10, TimeUnit.SECONDS).body()).isEqualTo("rendering 1 for identity");
    for (var o : others) {
      assertThat(o.get(10, TimeUnit.SECONDS).body()).isEqualTo("rendering 1 for identity");
    }
    assertThat(renders).as("renderings for five scrapes at once").hasValue(1);
  }

  /**
   * A scrape whose rendering is kept is served while a rendering of another kind is under way: a
   * client asking in ever new ways (a query of its own each time) keeps the turn busy, and
   * Prometheus' scrapes, whose rendering is kept, waited behind each of its renderings.
   */
  @Test
  void aScrapeWhoseRenderingIsKeptIsServedWhileAnotherKindRenders() throws Exception {
    holdFirst = new CountDownLatch(1);
    held = 2;
    int port = start();
    assertThat(get(port, "gzip").body()).isEqualTo("rendering 1 for gzip");
    CompletableFuture<HttpResponse<String>> other = CompletableFuture.supplyAsync(() -> call(port));
    assertThat(firstRendering.await(10, TimeUnit.SECONDS)).as("the identity rendering is under way").isTrue();
    try {
      HttpResponse<String> kept = CompletableFuture.supplyAsync(() -> {
        try {
          return get(port, "gzip");
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      }).get(10, TimeUnit.SECONDS); // the rendering under way is held for 30 s
      assertThat(kept.body()).isEqualTo("rendering 1 for gzip");
    } finally {
      holdFirst.countDown();
    }
    assertThat(other.get(10, TimeUnit.SECONDS).body()).isEqualTo("rendering 2 for identity");
    assertThat(renders).hasValue(2);
  }

  /**
   * Scrapes render in the order they came to wait for the turn: whoever asks in new ways from many
   * connections cannot have its renderings go before a scrape that waited longer (a monitor's
   * waiters are let in in no set order, and Prometheus' scrape could wait past its timeout).
   */
  @Test
  void scrapesOfDifferentKindsRenderInTheOrderTheyCame() throws Exception {
    holdFirst = new CountDownLatch(1);
    int port = start();
    CompletableFuture<HttpResponse<String>> first = CompletableFuture.supplyAsync(() -> call(port));
    assertThat(firstRendering.await(10, TimeUnit.SECONDS)).isTrue();
    List<CompletableFuture<HttpResponse<String>>> queued = new java.util.ArrayList<>();
    try {
      for (int i = 1; i <= 4; i++) {
        String encoding = "kind-" + i;
        queued.add(CompletableFuture.supplyAsync(() -> {
          try {
            return get(port, encoding);
          } catch (Exception e) {
            throw new IllegalStateException(e);
          }
        }, Executors.newSingleThreadExecutor()));
        int waiting = i;
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> shared.waiting() == waiting);
      }
    } finally {
      holdFirst.countDown();
    }
    assertThat(first.get(10, TimeUnit.SECONDS).body()).isEqualTo("rendering 1 for identity");
    for (int i = 1; i <= 4; i++) {
      assertThat(queued.get(i - 1).get(10, TimeUnit.SECONDS).body()).isEqualTo("rendering " + (i + 1) + " for kind-" + i);
    }
  }

  /**
   * A scrape still waiting for its turn when its exchange's deadline comes ends then, unanswered,
   * rendering nothing: before 2026-12-06 it waited on for the turn (the lock ignored the
   * deadline's interrupt) and rendered past its deadline.
   */
  @Test
  void aScrapeWaitingForItsTurnEndsAtItsDeadline() throws Exception {
    holdFirst = new CountDownLatch(1);
    int port = start(io.dsfleet.common.JdkHttpServers.threads("scrapes", Duration.ofMillis(500)));
    CompletableFuture<HttpResponse<String>> first = CompletableFuture.supplyAsync(() -> call(port));
    assertThat(firstRendering.await(10, TimeUnit.SECONDS)).isTrue();
    CompletableFuture<HttpResponse<String>> waiting = CompletableFuture.supplyAsync(() -> call(port), Executors.newSingleThreadExecutor());
    try {
      assertThat(waiting).as("the waiting scrape, ended at its deadline while the first still renders")
          .failsWithin(Duration.ofSeconds(10));
      assertThat(shared.waiting()).as("scrapes waiting for the turn").isZero();
      assertThat(renders).as("renderings").hasValue(1);
    } finally {
      holdFirst.countDown();
    }
    first.handle((r, e) -> null).get(10, TimeUnit.SECONDS);
    assertThat(renders).as("renderings once the first ended").hasValue(1);
  }

  private static HttpResponse<String> call(int port) {
    try {
      return get(port, "identity");
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
