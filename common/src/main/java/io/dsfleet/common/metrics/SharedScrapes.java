package io.dsfleet.common.metrics;

import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpContext;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import com.sun.net.httpserver.HttpPrincipal;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongSupplier;

/**
 * {@code GET /metrics} rendered once for every scrape that asks for the same thing (method, query,
 * {@code Accept}, {@code Accept-Encoding}) within {@code shareFor}, and rendered one scrape at a
 * time: a scrape that comes while another renders waits for it. The text of a large fleet (5.6 MB
 * at 20,000 nodes, gzipped for Prometheus) took about 65 ms of a core for each scrape, so a few
 * clients scraping in a loop kept the cores busy; now scrapes in a loop from any number of
 * connections render at most once per {@code shareFor} each kind of request, and at most one core
 * renders whatever they ask. A scrape whose rendering is kept is served without waiting for a
 * rendering of another kind under way (a client asking in ever new ways keeps the turn busy). The
 * answer is written to each client outside that turn, so a client that reads slowly holds no other.
 * A scrape still waiting for the turn at its exchange's deadline ends there, unanswered.
 */
final class SharedScrapes implements HttpHandler {
  /** The kinds of request whose last rendering is kept: Prometheus servers send one or two. */
  static final int KINDS_KEPT = 8;

  private final HttpHandler render;
  private final long shareForNanos;
  private final LongSupplier nanoTime;
  /**
   * Held while rendering; fair, so scrapes render in the order they came: a monitor let a client
   * that asks in ever new ways from many connections render again and again before a scrape
   * that had waited longer.
   */
  private final ReentrantLock turn = new ReentrantLock(true);
  /** The last rendering of each kind; its own lock, held a moment: a kept rendering is served while another renders. */
  private final Map<String, Rendered> last = new HashMap<>();

  private record Rendered(int status, Map<String, List<String>> headers, byte[] body, long atNanos) {}

  /**
   * @param render the handler that renders (client_java's)
   * @param nanoTime the monotonic clock {@code shareFor} is counted on
   */
  SharedScrapes(HttpHandler render, Duration shareFor, LongSupplier nanoTime) {
    this.render = render;
    this.shareForNanos = shareFor.toNanos();
    this.nanoTime = nanoTime;
  }

  /** The renderings kept. */
  int kept() {
    synchronized (last) {
      return last.size();
    }
  }

  @Override
  public void handle(HttpExchange exchange) throws IOException {
    try {
      Rendered r = rendered(exchange);
      r.headers().forEach((name, values) -> exchange.getResponseHeaders().put(name, values));
      // a HEAD gets no body whatever was rendered (its length is the Content-Length the handler set)
      boolean sent = r.body().length > 0 && !exchange.getRequestMethod().equalsIgnoreCase("HEAD");
      exchange.sendResponseHeaders(r.status(), sent ? r.body().length : -1);
      if (sent) {
        try (OutputStream body = exchange.getResponseBody()) {
          body.write(r.body());
        }
      }
    } finally {
      exchange.close();
    }
  }

  private Rendered rendered(HttpExchange exchange) throws IOException {
    Headers h = exchange.getRequestHeaders();
    String kind = exchange.getRequestMethod() + " " + exchange.getRequestURI().getRawQuery() + " " + h.get("Accept") + " "
        + h.get("Accept-Encoding");
    Rendered r = kept(kind);
    if (r != null) { // served without waiting for a rendering of another kind under way
      return r;
    }
    try {
      // interruptibly: the exchange's deadline (ExchangeDeadlines) interrupts a scrape still waiting, which then ends
      // unanswered; before 2026-12-06 it waited on, rendered past its deadline, and only its write failed
      turn.lockInterruptibly();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("the scrape's deadline came while it waited for its turn to render", e);
    }
    try {
      r = kept(kind); // rendered while this scrape waited for its turn
      if (r != null) {
        return r;
      }
      long now = nanoTime.getAsLong();
      Capture c = new Capture(exchange);
      render.handle(c);
      Map<String, List<String>> headers = new HashMap<>();
      boolean head = exchange.getRequestMethod().equalsIgnoreCase("HEAD");
      c.responseHeaders.forEach((name, values) -> {
        // the server sets a body's length itself; a HEAD's, which has none, is the handler's (client_java's gives the GET's)
        if (!(name.equalsIgnoreCase("Content-length") && !head) && !name.equalsIgnoreCase("Transfer-encoding")) {
          headers.put(name, List.copyOf(values));
        }
      });
      r = new Rendered(c.status, headers, c.body.toByteArray(), now);
      synchronized (last) {
        // what no scrape may be served any more goes: a large fleet's text is megabytes a kind
        last.values().removeIf(kept -> now - kept.atNanos() >= shareForNanos);
        if (r.status() == 200) { // an error is rendered again by the next scrape
          if (last.size() >= KINDS_KEPT) {
            last.clear();
          }
          last.put(kind, r);
        }
      }
      return r;
    } finally {
      turn.unlock();
    }
  }

  /** The scrapes waiting for their turn to render. */
  int waiting() {
    return turn.getQueueLength();
  }

  /** The rendering of {@code kind} that may still be served, or null. */
  private Rendered kept(String kind) {
    synchronized (last) {
      Rendered r = last.get(kind);
      return r != null && nanoTime.getAsLong() - r.atNanos() < shareForNanos ? r : null;
    }
  }

  /** The request as the client sent it; the answer kept, to be written to every client it serves. */
  private static final class Capture extends HttpExchange {
    private final HttpExchange request;
    final Headers responseHeaders = new Headers();
    final ByteArrayOutputStream body = new ByteArrayOutputStream();
    int status = -1;

    Capture(HttpExchange request) {
      this.request = request;
    }

    @Override
    public Headers getRequestHeaders() {
      return request.getRequestHeaders();
    }

    @Override
    public Headers getResponseHeaders() {
      return responseHeaders;
    }

    @Override
    public URI getRequestURI() {
      return request.getRequestURI();
    }

    @Override
    public String getRequestMethod() {
      return request.getRequestMethod();
    }

    @Override
    public HttpContext getHttpContext() {
      return request.getHttpContext();
    }

    @Override
    public void close() {}

    @Override
    public InputStream getRequestBody() {
      return request.getRequestBody();
    }

    @Override
    public OutputStream getResponseBody() {
      return body;
    }

    @Override
    public void sendResponseHeaders(int code, long length) {
      status = code;
    }

    @Override
    public InetSocketAddress getRemoteAddress() {
      return request.getRemoteAddress();
    }

    @Override
    public int getResponseCode() {
      return status;
    }

    @Override
    public InetSocketAddress getLocalAddress() {
      return request.getLocalAddress();
    }

    @Override
    public String getProtocol() {
      return request.getProtocol();
    }

    @Override
    public Object getAttribute(String name) {
      return request.getAttribute(name);
    }

    @Override
    public void setAttribute(String name, Object value) {
      request.setAttribute(name, value);
    }

    @Override
    public void setStreams(InputStream i, OutputStream o) {
      throw new UnsupportedOperationException("a rendering is kept, not filtered");
    }

    @Override
    public HttpPrincipal getPrincipal() {
      return request.getPrincipal();
    }
  }
}
