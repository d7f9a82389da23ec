package io.dsfleet.coordinator.kubeapi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpServer;
import io.dsfleet.common.Json;
import io.dsfleet.common.testing.RawHttp;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A watch on the JDK's HTTP server, as the Kubernetes API serves it: it lasts its own window, not
 * the bound every other answer has (until 2026-12-06 the JDK's server cut every answer at 30 s, and
 * `kubectl get -w` ended after 25 s), and a client that stops reading loses it once a write has
 * waited its bound, which frees its slot.
 */
class KubeWatchDeadlinesTest {
  private final AtomicLong version = new AtomicLong(1);
  private final AtomicInteger items = new AtomicInteger(1);
  private final AtomicInteger itemBytes = new AtomicInteger(10);
  private final AtomicReference<Runnable> told = new AtomicReference<>();
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

  private ObjectNode list() {
    ObjectNode l = Json.mapper().createObjectNode().put("kind", "ConfigMapList").put("apiVersion", "v1");
    var arr = l.putArray("items");
    String data = "x".repeat(itemBytes.get());
    for (int i = 0; i < items.get(); i++) {
      ObjectNode cm = arr.addObject().put("kind", "ConfigMap");
      cm.putObject("metadata").put("namespace", "ops").put("name", "cm" + i);
      cm.putObject("data").put("d", data + version.get());
    }
    return l;
  }

  private void change() {
    version.incrementAndGet();
    Runnable r = told.get();
    if (r != null) {
      r.run();
    }
  }

  /** The watch served on a real JDK server whose answers are bounded by {@code bound} unless they set another. */
  private int serve(KubeWatch w, Duration bound, long timeoutSeconds) throws IOException {
    pool = io.dsfleet.common.JdkHttpServers.threads("kube-watch-test", bound);
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 8);
    server.setExecutor(pool);
    server.createContext("/", x -> {
      try {
        String query = x.getRequestURI().getQuery();
        String who = query != null && query.contains("who=") ? query.substring(query.indexOf("who=") + 4) : "viewer/v";
        w.serve(x, who, "/api/v1/configmaps", this::list, version::get, r -> {
          told.set(r);
          return () -> told.set(null);
        }, "0", timeoutSeconds, null, false, end -> () -> { });
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } finally {
        x.close();
      }
    });
    server.start();
    return server.getAddress().getPort();
  }

  private static Socket watch(int port) throws IOException {
    return RawHttp.get(port, "/api/v1/configmaps?watch=true");
  }

  @Test
  void aWatchLastsItsWindowPastTheBoundOfEveryOtherAnswer() throws Exception {
    KubeWatch w = new KubeWatch(() -> System.nanoTime() / 1_000_000, 0, 200, Duration.ofSeconds(5));
    int port = serve(w, Duration.ofMillis(500), 3); // answers bounded at 0.5 s; the watch asks for 3 s
    long start = System.nanoTime();
    try (Socket s = watch(port)) {
      s.setSoTimeout(20_000);
      Thread changer = new Thread(() -> {
        try {
          Thread.sleep(1500); // three times the bound of an answer
          items.incrementAndGet();
          change();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      });
      changer.start();
      String answer = RawHttp.until(s.getInputStream(), RawHttp.LAST_CHUNK);
      changer.join();
      assertThat(answer).as("the first state, the change 1.5 s in, and the stream's end").contains("\"cm0\"").contains("\"cm1\"")
          .contains("\r\n0\r\n\r\n");
      assertThat(Duration.ofNanos(System.nanoTime() - start)).as("the watch's window").isGreaterThanOrEqualTo(Duration.ofMillis(2900));
    }
  }

  @Test
  void aWatchWhoseClientStopsReadingEndsOnceAWriteWaitedItsBound() throws Exception {
    KubeWatch w = new KubeWatch(() -> System.nanoTime() / 1_000_000, 0, 200, Duration.ofSeconds(1));
    int port = serve(w, Duration.ofMinutes(5), 60); // neither an answer's bound nor the window ends it
    itemBytes.set(256 * 1024);
    try (Socket s = watch(port)) {
      await().atMost(Duration.ofSeconds(10)).until(() -> w.watching("viewer/v") == 1 && told.get() != null);
      long start = System.nanoTime();
      // the client reads nothing; every change sends 256 KiB more until the kernel's buffers are full
      while (w.watching("viewer/v") == 1 && System.nanoTime() - start < 30_000_000_000L) {
        change();
        Thread.sleep(20);
      }
      assertThat(w.watching("viewer/v")).as("the watch ended: its write waited 1 s for a client reading nothing").isZero();
      assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(15));
    }
  }

  /**
   * A client that reads steadily, each write taken well within its bound, but slower than the
   * watch's window needs for a large first state, loses the watch at its window and a write's bound:
   * each write's bound is counted to there at most. Before, every write was given its whole bound
   * from when it began, so a watch asked for 2 s ran on while its first state trickled out (here
   * 48 MB at about 3 MB/s; a larger list for as long as the JDK's net of 35 minutes).
   */
  @Test
  void aClientThatReadsSlowlyLosesTheWatchAtItsWindowAndAWritesBound() throws Exception {
    KubeWatch w = new KubeWatch(() -> System.nanoTime() / 1_000_000, 0, 200, Duration.ofSeconds(2));
    int port = serve(w, Duration.ofMinutes(5), 2); // the watch asks for 2 s; no answer's bound ends it
    items.set(6000);
    itemBytes.set(8 * 1024);
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.getOutputStream().write("GET /api/v1/configmaps?watch=true HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
      AtomicLong read = new AtomicLong();
      Thread reader = new Thread(() -> {
        byte[] b = new byte[64 * 1024];
        try {
          InputStream in = s.getInputStream();
          while (!stop.get()) {
            int n = in.readNBytes(b, 0, b.length);
            if (n <= 0) {
              return;
            }
            read.addAndGet(n);
            Thread.sleep(20); // about 3 MB/s: each 8 KiB event is taken within milliseconds of room for it
          }
        } catch (IOException | InterruptedException e) {
          // the watch was cut
        }
      });
      reader.start();
      await().atMost(Duration.ofSeconds(20)).until(() -> w.watching("viewer/v") == 1);
      long start = System.nanoTime();
      await().atMost(Duration.ofSeconds(90)).until(() -> w.watching("viewer/v") == 0);
      Duration lasted = Duration.ofNanos(System.nanoTime() - start);
      long whenCut = read.get();
      stop.set(true);
      reader.join(10_000);
      assertThat(whenCut).as("the client read all along").isGreaterThan(4L << 20);
      System.out.printf("a slow reader's watch of 2 s lasted %d ms%n", lasted.toMillis());
      // and a loaded machine's delay; a watch whose writes each had their whole bound ran on while its 48 MB trickled out (16 s)
      assertThat(lasted).as("the window (2 s) and a write's bound (2 s)").isLessThan(Duration.ofSeconds(12));
    }
  }

  /** The status line of a watch asked for as {@code who}. */
  private static String statusOf(Socket s) throws IOException {
    s.setSoTimeout(10_000);
    StringBuilder b = new StringBuilder();
    InputStream in = s.getInputStream();
    for (int c = in.read(); c >= 0 && c != '\r'; c = in.read()) {
      b.append((char) c);
    }
    return b.toString();
  }

  private static Socket watchAs(int port, String who) throws IOException {
    Socket s = new Socket("127.0.0.1", port);
    s.getOutputStream().write(("GET /api/v1/configmaps?watch=true&who=" + who + " HTTP/1.1\r\nHost: x\r\n\r\n")
        .getBytes(StandardCharsets.US_ASCII));
    return s;
  }

  /**
   * Viewers' credentials hold twelve of the sixteen slots together: with two viewers at their six
   * each, a third viewer is refused and an admin's watch (its rollout status) is served. Before,
   * a third viewer took the last four, and any admin's watch was refused while they lasted (30
   * minutes each for a `kubectl get -w`).
   */
  @Test
  void viewersTogetherLeaveSlotsForAdmins() throws Exception {
    KubeWatch w = new KubeWatch(() -> System.nanoTime() / 1_000_000, 0, 200, Duration.ofSeconds(5));
    int port = serve(w, Duration.ofMinutes(5), 30);
    java.util.List<Socket> open = new java.util.ArrayList<>();
    try {
      for (String viewer : java.util.List.of("viewer/a", "viewer/b")) {
        for (int i = 0; i < KubeWatch.PER_CREDENTIAL; i++) {
          open.add(watchAs(port, viewer));
        }
      }
      await().atMost(Duration.ofSeconds(20)).until(() -> w.watching("viewer/a") + w.watching("viewer/b") == 2 * KubeWatch.PER_CREDENTIAL);
      Socket third = watchAs(port, "viewer/c");
      open.add(third);
      assertThat(statusOf(third)).as("a third viewer's watch, 12 of viewers' held").startsWith("HTTP/1.1 429");
      Socket admin = watchAs(port, "admin/ci");
      open.add(admin);
      assertThat(statusOf(admin)).as("an admin's watch").startsWith("HTTP/1.1 200");
      assertThat(w.watching("viewer/c")).isZero();
    } finally {
      for (Socket s : open) {
        s.close();
      }
    }
  }

  /**
   * A client gone from a quiet watch (kubectl get -w ended with Ctrl-C, nothing changing) is noticed
   * by a newline written when the watch has been quiet a while: the JDK's server reads nothing of a
   * connection while it answers. Before 2026-12-06 such a watch held its slot until its window's
   * end, 30 minutes.
   */
  @Test
  void aQuietWatchWhoseClientLeftEndsAtItsNextProbe() throws Exception {
    KubeWatch w = new KubeWatch(() -> System.nanoTime() / 1_000_000, 0, 200, Duration.ofSeconds(5), 200);
    int port = serve(w, Duration.ofMinutes(5), 60);
    try (Socket s = watch(port)) {
      s.setSoTimeout(10_000);
      assertThat(RawHttp.until(s.getInputStream(), "\"cm0\"")).contains("200 OK");
      await().atMost(Duration.ofSeconds(10)).until(() -> w.watching("viewer/v") == 1);
    } // the client leaves; nothing changes in the fleet
    long left = System.nanoTime();
    await().atMost(Duration.ofSeconds(15)).until(() -> w.watching("viewer/v") == 0);
    assertThat(Duration.ofNanos(System.nanoTime() - left)).as("its slot free at the probes, not at its window's end (60 s)")
        .isLessThan(Duration.ofSeconds(10));
  }

  /**
   * A client that closes its side and reads on: its newlines are taken, so before the kernel's
   * table was read the watch ran to its window. Kubernetes' server (Go's net/http, which reads the
   * connection while the handler runs) ends a request whose client closed its side; so does this
   * one now, at its next probe.
   */
  @Test
  void aWatchWhoseClientClosedItsSideEndsAtItsNextProbeThoughItsWritesAreTaken() throws Exception {
    KubeWatch w = new KubeWatch(() -> System.nanoTime() / 1_000_000, 0, 200, Duration.ofSeconds(5), 200);
    int port = serve(w, Duration.ofMinutes(5), 60);
    try (Socket s = watch(port)) {
      s.setSoTimeout(10_000);
      assertThat(RawHttp.until(s.getInputStream(), "\"cm0\"")).contains("200 OK");
      s.shutdownOutput();
      long closed = System.nanoTime();
      String rest = RawHttp.until(s.getInputStream(), RawHttp.LAST_CHUNK);
      assertThat(rest).as("the answer ended").endsWith(RawHttp.LAST_CHUNK);
      assertThat(Duration.ofNanos(System.nanoTime() - closed)).as("at a probe, not at its window's end (60 s)")
          .isLessThan(Duration.ofSeconds(5));
      await().atMost(Duration.ofSeconds(30)).until(() -> w.watching("viewer/v") == 0);
    }
  }
}
