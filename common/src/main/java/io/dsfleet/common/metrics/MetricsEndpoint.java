package io.dsfleet.common.metrics;

import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.net.InetSocketAddress;

/**
 * The Prometheus endpoint of a daemon: {@code GET /metrics} in the text format, on an address of
 * its own (loopback by default: the metrics name nodes and DaemonSets, and nothing authenticates a
 * scrape). A few threads serve it ({@link #start}). A port that is taken is logged and the daemon runs without
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
   * The JDK's HTTP server waits for a request and its answer without end by default: a client
   * that sends a byte a minute would hold a thread for ever. Bounded here, before the first
   * server is made (the limits are read once per JVM); flags given on the command line win. The
   * server checks the bounds on a timer thread, every second by default: every 5 s here (a slow
   * client is cut off 10-15 s into its request), since each wake of an otherwise idle process
   * costs CPU (on this project's test machine the 1 s timer was a tenth of an idle agent's).
   * Nor does it cap its connections: idle ones each held a file descriptor for those 10-15 s, and
   * a flood of them took every descriptor of the process (the gRPC port then accepted nothing).
   * Each server now closes a connection at accept beyond {@link #httpConnectionCap}.
   */
  public static void limitClients() {
    if (System.getProperty("sun.net.httpserver.maxReqTime") == null) {
      System.setProperty("sun.net.httpserver.maxReqTime", "10");
    }
    if (System.getProperty("sun.net.httpserver.maxRspTime") == null) {
      System.setProperty("sun.net.httpserver.maxRspTime", "30");
    }
    if (System.getProperty("sun.net.httpserver.timerMillis") == null) {
      System.setProperty("sun.net.httpserver.timerMillis", "5000");
    }
    if (System.getProperty("jdk.httpserver.maxConnections") == null) {
      System.setProperty("jdk.httpserver.maxConnections", String.valueOf(httpConnectionCap(io.dsfleet.common.FileDescriptors.limit())));
    }
  }

  /**
   * Open connections one HTTP server (the Kubernetes API, the dashboard, metrics) keeps: a
   * sixteenth of the file-descriptor limit, 16 to 1,024, so the three of a coordinator stay within
   * the half its gRPC connections leave.
   */
  public static int httpConnectionCap(long fileDescriptorLimit) {
    return (int) Math.max(16, Math.min(1024, fileDescriptorLimit / 16));
  }

  /**
   * Serves {@code registry} on {@code address}; null (after logging why) when it cannot bind.
   *
   * @param threads requests served at once: the JDK's server reads a request on the thread that
   *     answers it, so a client that sends its request slowly holds a thread for up to 10-15 s
   *     ({@link #limitClients}) and, with one thread, delays every scrape meanwhile (a review held
   *     the coordinator's scrapes 8-9 s with two such connections). Made when needed, ended after
   *     30 s idle.
   */
  public static MetricsEndpoint start(InetSocketAddress address, PrometheusRegistry registry, int threads) {
    limitClients();
    java.util.concurrent.ThreadPoolExecutor thread = new java.util.concurrent.ThreadPoolExecutor(threads, threads, 30,
        java.util.concurrent.TimeUnit.SECONDS, new java.util.concurrent.LinkedBlockingQueue<>(), io.dsfleet.common.DaemonThreads.named("metrics"));
    thread.allowCoreThreadTimeOut(true);
    try {
      HTTPServer server = HTTPServer.builder().hostname(address.getHostString()).port(address.getPort()).registry(registry)
          .executorService(thread).buildAndStart();
      log.log(System.Logger.Level.INFO, "serving Prometheus metrics on http://" + address.getHostString() + ":" + server.getPort() + "/metrics");
      return new MetricsEndpoint(server);
    } catch (IOException | RuntimeException e) {
      thread.shutdownNow();
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
