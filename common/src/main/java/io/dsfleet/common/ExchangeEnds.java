package io.dsfleet.common;

import com.sun.net.httpserver.Filter;
import com.sun.net.httpserver.HttpExchange;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;

/**
 * The filter of every context of the daemons' HTTP servers ({@link JdkHttpServers#context}): an
 * exchange whose answer could not be written (its client went away, or its deadline cut it: {@link
 * ExchangeDeadlines}) ends with an IOException, even when its handler caught the error and returned,
 * and so does one whose handler returned without answering (a watch of a coordinator that stopped
 * leading); the JDK's server answers that by closing the connection and no longer counting it.
 *
 * <p>The server forgets a connection when its exchange ends with an error or its answer is written
 * whole. One whose handler caught a failed write (client_java's scrape handler does, and the
 * dashboard's log streams when a page is closed), or that never answered, it closes and keeps counting toward its cap
 * ({@code jdk.httpserver.maxConnections}) until its bound on answers ({@code
 * sun.net.httpserver.maxRspTime}) reaps it: 30 s before 2026-12-06, then 35 minutes, since watches of
 * the Kubernetes API last 30. Each closed log page, each Prometheus scrape that timed out mid-answer,
 * each answer cut at its deadline then held a place of the cap for 35 minutes, and a few dozen of
 * them (the cap is a sixteenth of the file-descriptor limit, 16 at least) closed every new
 * connection at accept (helper-135's review; ExchangeEndsTest).
 */
final class ExchangeEnds extends Filter {
  static final ExchangeEnds FILTER = new ExchangeEnds();

  private ExchangeEnds() {}

  @Override
  public void doFilter(HttpExchange exchange, Chain chain) throws IOException {
    Watched body = new Watched(exchange.getResponseBody());
    exchange.setStreams(null, body);
    chain.doFilter(exchange);
    boolean cut = ExchangeDeadlines.endCurrent();
    if (cut || body.failed || exchange.getResponseCode() < 0) {
      throw new IOException(cut ? "the exchange ran past its deadline and was cut" : body.failed ? "the answer could not be written whole"
          : "the handler returned without answering");
    }
  }

  @Override
  public String description() {
    return "ends an exchange whose answer broke with an error, so the server closes and forgets its connection";
  }

  /** The answer's stream, noting whether a write, flush or close of it failed. */
  private static final class Watched extends FilterOutputStream {
    volatile boolean failed;

    Watched(OutputStream out) {
      super(out);
    }

    private interface Step {
      void run() throws IOException;
    }

    private void noted(Step step) throws IOException {
      try {
        step.run();
      } catch (IOException e) {
        failed = true;
        throw e;
      }
    }

    @Override
    public void write(int b) throws IOException {
      noted(() -> out.write(b));
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      noted(() -> out.write(b, off, len));
    }

    @Override
    public void flush() throws IOException {
      noted(out::flush);
    }

    @Override
    public void close() throws IOException {
      noted(out::close);
    }
  }
}
