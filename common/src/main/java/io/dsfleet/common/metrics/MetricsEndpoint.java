package io.dsfleet.common.metrics;

import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.net.InetSocketAddress;

/**
 * The Prometheus endpoint of a daemon: {@code GET /metrics} in the text format, on an address of
 * its own (loopback by default: the metrics name nodes and DaemonSets, and nothing authenticates a
 * scrape). A port that is taken is logged and the daemon runs without
 * metrics: its pods and its fleet matter more than its numbers.
 */
public final class MetricsEndpoint implements AutoCloseable {
  /** The JDK's logger (common has no logging library): the daemons route it to theirs. */
  private static final System.Logger log = System.getLogger(MetricsEndpoint.class.getName());

  private final HTTPServer server;

  private MetricsEndpoint(HTTPServer server) {
    this.server = server;
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

  /**
   * Serves {@code registry} on {@code address} on {@code threads} (from
   * {@link io.dsfleet.common.JdkHttpServers}: the server reads each request on one of them, so a
   * client that sends its request slowly holds one until its request bound; with one thread, a
   * review's two such connections held every scrape 8-9 s); null (after logging why, the threads
   * ended) when it cannot bind.
   */
  public static MetricsEndpoint start(InetSocketAddress address, PrometheusRegistry registry, java.util.concurrent.ExecutorService threads) {
    io.dsfleet.common.JdkHttpServers.limitClients();
    try {
      HTTPServer server = HTTPServer.builder().hostname(address.getHostString()).port(address.getPort()).registry(registry)
          .executorService(threads).buildAndStart();
      log.log(System.Logger.Level.INFO, "serving Prometheus metrics on http://" + address.getHostString() + ":" + server.getPort() + "/metrics");
      return new MetricsEndpoint(server);
    } catch (IOException | RuntimeException e) {
      threads.shutdownNow();
      log.log(System.Logger.Level.ERROR, "cannot serve metrics on " + address.getHostString() + ":" + address.getPort() + " (" + e
          + "); running without them");
      return null;
    }
  }

  public int port() {
    return server.getPort();
  }

  @Override
  public void close() {
    server.close();
  }
}
