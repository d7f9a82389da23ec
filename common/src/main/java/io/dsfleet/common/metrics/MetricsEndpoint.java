package io.dsfleet.common.metrics;

import com.sun.net.httpserver.HttpHandler;
import com.sun.net.httpserver.HttpServer;
import io.prometheus.metrics.exporter.httpserver.DefaultHandler;
import io.prometheus.metrics.exporter.httpserver.HealthyHandler;
import io.prometheus.metrics.exporter.httpserver.MetricsHandler;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;

/**
 * The Prometheus endpoint of a daemon: {@code GET /metrics} in the text format, on an address of
 * its own (loopback by default: the metrics name nodes and DaemonSets, and nothing authenticates a
 * scrape). A port that is taken is logged and the daemon runs without
 * metrics: its pods and its fleet matter more than its numbers.
 */
public final class MetricsEndpoint implements AutoCloseable {
  /** The JDK's logger (common has no logging library): the daemons route it to theirs. */
  private static final System.Logger log = System.getLogger(MetricsEndpoint.class.getName());

  private final HttpServer server;
  private final ExecutorService threads;

  private MetricsEndpoint(HttpServer server, ExecutorService threads) {
    this.server = server;
    this.threads = threads;
  }

  /**
   * The listen address of {@code setting} ({@code HOST:PORT}, or {@code off}); null for off.
   *
   * @throws IllegalArgumentException naming the setting and what is wrong with the value
   */
  public static InetSocketAddress parse(String setting, String value) {
    if (value.equals("off")) {
      return null;
    }
    int colon = value.lastIndexOf(':');
    if (colon <= 0) {
      throw new IllegalArgumentException(setting + " must be HOST:PORT or off, got \"" + value + "\"");
    }
    String host = value.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    int port;
    try {
      port = Integer.parseInt(value.substring(colon + 1));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(setting + " port must be a number, got \"" + value + "\"");
    }
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException(setting + " port must be 0-65535, got " + port);
    }
    return InetSocketAddress.createUnresolved(host, port);
  }

  /** As {@link #start(InetSocketAddress, PrometheusRegistry, ExecutorService, Duration)}, each scrape rendered on its own. */
  public static MetricsEndpoint start(InetSocketAddress address, PrometheusRegistry registry, ExecutorService threads) {
    return start(address, registry, threads, Duration.ZERO);
  }

  /**
   * Serves {@code registry} on {@code address} on {@code threads} (from
   * {@link io.dsfleet.common.JdkHttpServers}: the server reads each request on one of them, so a
   * client that sends its request slowly holds one until its request bound; with one thread, a
   * review's two such connections held every scrape 8-9 s); null (after logging why, the threads
   * ended) when it cannot bind. As client_java's HTTPServer serves it ({@code /metrics},
   * {@code /-/healthy}, a page at {@code /}), with its handlers; with a {@code shareFor}, one
   * rendering serves the scrapes of that time ({@link SharedScrapes}).
   */
  public static MetricsEndpoint start(InetSocketAddress address, PrometheusRegistry registry, ExecutorService threads, Duration shareFor) {
    io.dsfleet.common.JdkHttpServers.limitClients();
    try {
      HttpServer server = HttpServer.create(new InetSocketAddress(address.getHostString(), address.getPort()), 3);
      HttpHandler metrics = new MetricsHandler(registry);
      io.dsfleet.common.JdkHttpServers.context(server, "/", new DefaultHandler("/metrics"));
      io.dsfleet.common.JdkHttpServers.context(server, "/metrics", shareFor.isZero() ? metrics
          : new SharedScrapes(metrics, shareFor, System::nanoTime));
      io.dsfleet.common.JdkHttpServers.context(server, "/-/healthy", new HealthyHandler());
      server.setExecutor(threads);
      // started on one of its threads, as client_java does: the server's dispatcher thread is then a daemon, as they are
      threads.submit(server::start).get();
      log.log(System.Logger.Level.INFO, "serving Prometheus metrics on http://" + address.getHostString() + ":"
          + server.getAddress().getPort() + "/metrics");
      return new MetricsEndpoint(server, threads);
    } catch (IOException | RuntimeException | ExecutionException e) {
      threads.shutdownNow();
      log.log(System.Logger.Level.ERROR, "cannot serve metrics on " + address.getHostString() + ":" + address.getPort() + " (" + e
          + "); running without them");
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      threads.shutdownNow();
      return null;
    }
  }

  public int port() {
    return server.getAddress().getPort();
  }

  @Override
  public void close() {
    server.stop(0);
    threads.shutdown();
  }
}
