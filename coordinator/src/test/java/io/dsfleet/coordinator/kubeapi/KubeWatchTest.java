package io.dsfleet.coordinator.kubeapi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpContext;
import com.sun.net.httpserver.HttpExchange;
import io.dsfleet.common.Json;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * A watch hears of the fleet's changes from the fleet (its watchers) instead of looking on a
 * timer, and builds its list at most once per pace while changes keep coming.
 */
class KubeWatchTest {
  private final AtomicLong version = new AtomicLong(1);
  private final AtomicInteger items = new AtomicInteger(1);
  private final AtomicInteger builds = new AtomicInteger();
  private final AtomicReference<Runnable> told = new AtomicReference<>();
  private final AtomicInteger unfollowed = new AtomicInteger();

  /** A list of {@code items} ConfigMaps, built at each call. */
  private ObjectNode list() {
    builds.incrementAndGet();
    ObjectNode l = Json.mapper().createObjectNode().put("kind", "ConfigMapList").put("apiVersion", "v1");
    var arr = l.putArray("items");
    for (int i = 0; i < items.get(); i++) {
      arr.addObject().put("kind", "ConfigMap").putObject("metadata").put("namespace", "ops").put("name", "cm" + i);
    }
    return l;
  }

  private Runnable follow(Runnable r) {
    told.set(r);
    return unfollowed::incrementAndGet;
  }

  private final AtomicReference<Runnable> revoke = new AtomicReference<>();
  private final AtomicInteger unwatched = new AtomicInteger();

  private Runnable onRevoke(Runnable end) {
    revoke.set(end);
    return unwatched::incrementAndGet;
  }

  /** A change of the fleet: the version moves and the follower is told. */
  private void change() {
    version.incrementAndGet();
    Runnable r = told.get();
    if (r != null) {
      r.run();
    }
  }

  /** A watch of {@code seconds} on a thread of its own (interrupted: it ends). */
  private Thread watch(KubeWatch w, Exchange x, long seconds) {
    return watch(w, x, seconds, this::list);
  }

  private Thread watch(KubeWatch w, Exchange x, long seconds, java.util.function.Supplier<ObjectNode> list) {
    Thread t = new Thread(() -> {
      try {
        w.serve(x, "viewer/v", "/api/v1/configmaps", list, version::get, this::follow, "0", seconds, null, false, this::onRevoke);
      } catch (InterruptedException e) {
        // ended by the test
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }, "watch");
    t.start();
    return t;
  }

  @Test
  void aChangeTheFleetTellsOfReachesTheWatchWithoutWaitingForTheSafetyCheck() throws Exception {
    // the safety check (60 s) comes after the window (20 s): only being told shows the change within it
    KubeWatch w = new KubeWatch(() -> System.nanoTime() / 1_000_000, 0, 60_000);
    Exchange x = new Exchange();
    Thread watch = watch(w, x, 20);
    await().atMost(Duration.ofSeconds(10)).until(() -> x.text().contains("cm0") && told.get() != null);
    items.incrementAndGet();
    change();
    await().atMost(Duration.ofSeconds(10)).until(() -> x.text().contains("\"ADDED\"") && x.text().contains("cm1"));
    assertThat(watch.isAlive()).as("still watching: the event came before the window's end").isTrue();
    watch.interrupt();
    watch.join(10_000);
    assertThat(unfollowed.get()).as("an interrupted watch no longer follows the fleet").isEqualTo(1);
  }

  @Test
  void aStreamOfChangesBuildsTheListOncePerPaceAndTheWatchStopsFollowingAtItsEnd() throws Exception {
    KubeWatch w = new KubeWatch(() -> System.nanoTime() / 1_000_000, 200, 1000);
    Exchange x = new Exchange();
    Thread watch = watch(w, x, 2);
    await().atMost(Duration.ofSeconds(10)).until(() -> told.get() != null && builds.get() == 1);
    long start = System.nanoTime();
    while (watch.isAlive()) { // a change every 5 ms until the watch's 2 s window ends
      items.incrementAndGet();
      change();
      Thread.sleep(5);
    }
    long ms = (System.nanoTime() - start) / 1_000_000;
    assertThat(builds.get() - 1).as("lists built in %d ms of changes every 5 ms", ms).isPositive().isLessThanOrEqualTo((int) (ms / 200) + 1);
    assertThat(unfollowed.get()).as("the watch no longer follows the fleet").isEqualTo(1);
    assertThat(x.text()).as("the changes' events").contains("\"ADDED\"").contains("cm1");
  }

  /** The credential watching is revoked: the watch ends at once and tells nothing more (a review's watch went on 25 s). */
  @Test
  void aWatchEndsWhenItsCredentialIsRevokedAndTellsNothingMore() throws Exception {
    KubeWatch w = new KubeWatch(() -> System.nanoTime() / 1_000_000, 0, 60_000);
    Exchange x = new Exchange();
    Thread t = watch(w, x, 20);
    await().atMost(Duration.ofSeconds(10)).until(() -> x.text().contains("cm0") && revoke.get() != null);
    items.incrementAndGet();
    revoke.get().run();
    change(); // a change that wakes the watch with the revocation: not told
    t.join(10_000);
    assertThat(t.isAlive()).as("ended well before its 20 s window").isFalse();
    assertThat(x.text()).doesNotContain("cm1");
    assertThat(unwatched.get()).as("no longer registered for the revocation").isEqualTo(1);
    assertThat(unfollowed.get()).isEqualTo(1);
  }

  /** A credential revoked between the request's check and the watch's registration: refused, nothing listed. */
  @Test
  void aWatchWhoseCredentialWasRevokedBeforeItBeganIsRefused() throws Exception {
    KubeWatch w = new KubeWatch(() -> System.nanoTime() / 1_000_000, 0, 60_000);
    Exchange x = new Exchange();
    w.serve(x, "viewer/v", "/api/v1/configmaps", this::list, version::get, this::follow, "0", 20, null, false, end -> {
      end.run(); // as Authority.onRevoke does for a serial revoked already
      return unwatched::incrementAndGet;
    });
    assertThat(x.codes).containsExactly(401);
    assertThat(x.text()).contains("revoked").doesNotContain("cm0");
  }

  /** Watches of one query share its list while one is open; the list is not kept once the last one ends. */
  @Test
  void aSharedListIsKeptWhileAWatchOfItsQueryIsOpenAndNoLonger() throws Exception {
    KubeWatch w = new KubeWatch(() -> System.nanoTime() / 1_000_000, 0, 60_000);
    String query = "/api/v1/configmaps";
    Exchange x = new Exchange();
    Thread t = watch(w, x, 20, () -> w.shared(query, version::get, this::list));
    await().atMost(Duration.ofSeconds(10)).until(() -> x.text().contains("cm0"));
    int built = builds.get();
    w.shared(query, version::get, this::list);
    assertThat(builds.get()).as("the open watch's list, shared").isEqualTo(built);
    assertThat(w.sharedLists()).isEqualTo(1);
    t.interrupt();
    t.join(10_000);
    assertThat(w.sharedLists()).as("no watch of it open: not kept").isZero();
    w.shared(query, version::get, this::list);
    assertThat(builds.get()).as("built again, not kept for nobody").isEqualTo(built + 1);
    assertThat(w.sharedLists()).isZero();
  }

  /** A coordinator that stops leading tells its watches of no change any more: the safety check ends them. */
  @Test
  void aWatchOfACoordinatorThatStoppedLeadingEndsAtTheSafetyCheck() throws Exception {
    java.util.concurrent.atomic.AtomicBoolean leading = new java.util.concurrent.atomic.AtomicBoolean(true);
    KubeWatch w = new KubeWatch(() -> System.nanoTime() / 1_000_000, 0, 100);
    Exchange x = new Exchange();
    Thread t = watch(w, x, 20, () -> leading.get() ? list() : null);
    await().atMost(Duration.ofSeconds(10)).until(() -> x.text().contains("cm0"));
    leading.set(false);
    t.join(10_000);
    assertThat(t.isAlive()).as("ended well before its 20 s window").isFalse();
    assertThat(unfollowed.get()).isEqualTo(1);
  }

  /** The parts of an exchange a watch uses: headers, a status and a body. */
  private static final class Exchange extends HttpExchange {
    private final Headers request = new Headers();
    private final Headers response = new Headers();
    private final ByteArrayOutputStream body = new ByteArrayOutputStream(); // its methods are synchronized
    private final List<Integer> codes = new CopyOnWriteArrayList<>();

    String text() {
      return body.toString(StandardCharsets.UTF_8);
    }

    @Override
    public Headers getRequestHeaders() {
      return request;
    }

    @Override
    public Headers getResponseHeaders() {
      return response;
    }

    @Override
    public URI getRequestURI() {
      return URI.create("/api/v1/configmaps?watch=true");
    }

    @Override
    public String getRequestMethod() {
      return "GET";
    }

    @Override
    public HttpContext getHttpContext() {
      return null;
    }

    @Override
    public void close() {
    }

    @Override
    public InputStream getRequestBody() {
      return InputStream.nullInputStream();
    }

    @Override
    public OutputStream getResponseBody() {
      return body;
    }

    @Override
    public void sendResponseHeaders(int code, long length) {
      codes.add(code);
    }

    @Override
    public InetSocketAddress getRemoteAddress() {
      return new InetSocketAddress("127.0.0.1", 1);
    }

    @Override
    public int getResponseCode() {
      return codes.isEmpty() ? -1 : codes.get(codes.size() - 1);
    }

    @Override
    public InetSocketAddress getLocalAddress() {
      return new InetSocketAddress("127.0.0.1", 2);
    }

    @Override
    public String getProtocol() {
      return "HTTP/1.1";
    }

    @Override
    public Object getAttribute(String name) {
      return null;
    }

    @Override
    public void setAttribute(String name, Object value) {
    }

    @Override
    public void setStreams(InputStream i, OutputStream o) {
    }

    @Override
    public com.sun.net.httpserver.HttpPrincipal getPrincipal() {
      return null;
    }
  }
}
