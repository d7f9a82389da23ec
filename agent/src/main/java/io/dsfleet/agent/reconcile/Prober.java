package io.dsfleet.agent.reconcile;

import io.dsfleet.agent.runtime.ContainerRuntime;
import io.dsfleet.common.manifest.Names;
import io.dsfleet.common.DaemonThreads;
import io.dsfleet.common.model.Container;
import io.dsfleet.common.model.ContainerPort;
import io.dsfleet.common.model.HTTPHeader;
import io.dsfleet.common.model.IntOrString;
import io.dsfleet.common.model.Probe;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLSocket;

/**
 * Runs one probe once: exec in the container, HTTP GET (2xx/3xx is success; redirects to the same
 * host are followed, as the kubelet follows them) or TCP connect, each within its timeout, whatever
 * the other end does.
 */
public final class Prober {
  private final ContainerRuntime runtime;
  /** The monotonic clock an exec's wait is measured on (a refusal told from a timeout); the sockets' deadlines are the system's. */
  private final java.util.function.LongSupplier nanoTime;
  private final ProbeTls tls = new ProbeTls();

  public Prober(ContainerRuntime runtime) {
    this(runtime, System::nanoTime);
  }

  Prober(ContainerRuntime runtime, java.util.function.LongSupplier nanoTime) {
    this.runtime = runtime;
    this.nanoTime = nanoTime;
  }

  /**
   * The outcome of one probe run.
   *
   * @param ran false when the runtime refused an exec probe (Docker answered the exec with an error, however late, or was
   *     gone at once): that says nothing of the container, and the result is thrown away, as the kubelet throws away a probe
   *     that errored; an exec the runtime did not answer within the timeout is a timeout, a failure
   */
  public record Result(boolean ok, String message, boolean ran) {
    public Result(boolean ok, String message) {
      this(ok, message, true);
    }
  }

  public Result run(Probe probe, Container container, String containerId, String host) {
    Duration timeout = Duration.ofSeconds(probe.timeoutSeconds());
    try {
      if (probe.exec() != null) {
        ContainerRuntime.ExecResult r;
        long start = nanoTime.getAsLong();
        try {
          r = runtime.exec(containerId, probe.exec().command(), timeout);
        } catch (RuntimeException e) {
          if (e instanceof io.dsfleet.agent.runtime.RuntimeUnavailableException && nanoTime.getAsLong() - start >= timeout.toNanos()) {
            // not answered past its timeout: a timeout, as the kubelet counts an exec its runtime did not answer in time (a
            // daemon stuck on the container gives up after its own wait: DockerRuntime's calls of the passes'). A refusal
            // answered late is still a refusal (below): a busy daemon's 409 for a paused container, counted a timeout, had its
            // liveness probe kill it (until 2026-12-06)
            return new Result(false, "exec timed out: the runtime did not answer within " + timeout.toSeconds() + " s (" + e.getMessage() + ")");
          }
          // the command's own end is a result (its exit code, its timeout); the runtime refusing to run it is not: dockerd
          // answers an exec's create 409 while the container is paused or restarting (a start that fails once accepted,
          // containerd down, is exit code 126 in the exec's stream: a result). Counted as failures, such refusals killed
          // healthy containers once their failureThreshold was reached (before 2026-12-06)
          return new Result(false, "the exec could not run: " + e.getMessage(), false);
        }
        return new Result(r.exitCode() == 0, r.exitCode() == -1 ? "exec timed out" : "exit code " + r.exitCode());
      }
      if (probe.httpGet() != null) {
        var g = probe.httpGet();
        String target = g.host() == null || g.host().isEmpty() ? host : g.host();
        int code = followed(g.scheme().equalsIgnoreCase("HTTPS"), target, port(g.port(), container),
            g.path().startsWith("/") ? g.path() : "/" + g.path(), g.httpHeaders() == null ? List.of() : g.httpHeaders(), timeout);
        return new Result(code >= 200 && code < 400, "HTTP " + code);
      }
      var t = probe.tcpSocket();
      String target = t.host() == null || t.host().isEmpty() ? host : t.host();
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress(target, port(t.port(), container)), millis(timeout.toMillis()));
      }
      return new Result(true, "connected");
    } catch (Exception e) {
      return new Result(false, e.getClass().getSimpleName() + ": " + e.getMessage());
    }
  }

  private static String hostPort(String host, int port) {
    return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
  }

  /**
   * The redirect at which a probe stops and fails, the kubelet's (Go's client's 10: its CheckRedirect refuses a request once
   * 10 were made, so 9 redirects are followed; until a fix of 2026-12-08 a 10th was followed too).
   */
  static final int MAX_REDIRECTS = 10;

  /**
   * An HTTP GET and the redirects it is answered with to the same host (its name; port and scheme
   * may change), fewer than {@link #MAX_REDIRECTS}, all within {@code timeout}: the last status code.
   * A redirect to another host is not followed and counts as its 3xx, a success, as the kubelet's
   * probe takes it ("Probe terminated redirects"). Until 2026-12-08 no redirect was followed, and a
   * redirect to a page that failed counted as a success (helper-202).
   */
  private int followed(boolean https, String host, int port, String path, List<HTTPHeader> headers, Duration timeout) throws IOException {
    long deadline = System.nanoTime() + timeout.toNanos();
    for (int redirects = 0; ; redirects++) {
      Answer a = httpGet(https, host, port, path, headers, deadline);
      if (a.location() == null) {
        return a.code();
      }
      java.net.URI to;
      try {
        to = java.net.URI.create((https ? "https://" : "http://") + hostPort(host, port) + path).resolve(a.location().strip());
      } catch (IllegalArgumentException e) {
        throw new IOException("redirected to \"" + a.location() + "\", which is no URL", e);
      }
      boolean web = "http".equalsIgnoreCase(to.getScheme()) || "https".equalsIgnoreCase(to.getScheme());
      if (!web || to.getHost() == null || !to.getHost().replaceAll("^\\[|\\]$", "").equalsIgnoreCase(host)) {
        return a.code(); // another host's: not followed, the redirect itself the answer
      }
      if (redirects + 1 == MAX_REDIRECTS) {
        throw new IOException("stopped after " + MAX_REDIRECTS + " redirects");
      }
      https = "https".equalsIgnoreCase(to.getScheme());
      port = to.getPort() >= 0 ? to.getPort() : https ? 443 : 80;
      path = (to.getRawPath() == null || to.getRawPath().isEmpty() ? "/" : to.getRawPath()) + (to.getRawQuery() == null ? "" : "?" + to.getRawQuery());
    }
  }

  /** A status code, and where a redirect (3xx with a Location) points; null for none. */
  record Answer(int code, String location) {}

  /**
   * One HTTP GET by {@code deadline} in all (connect, TLS, request, status line, a redirect's
   * headers): the status code. Only the status line is read, then the connection is closed, so a server that sends
   * headers and then stalls, or an endless body, holds a probe thread no longer than the timeout
   * (the JDK's HttpClient timeout covers the headers only).
   */
  private Answer httpGet(boolean https, String host, int port, String path, List<HTTPHeader> headers, long deadline) throws IOException {
    try (Socket tcp = new Socket()) {
      // the connection, not its TLS layer, is closed at the deadline whatever it waits for: a read's
      // timeout bounds each read alone, and a TLS handshake fed a byte at a time makes many reads (it
      // held a probe thread for hours); an SSLSocket's close waits for its write lock to send
      // close_notify, and a server that reads nothing holds a write blocked under it for good (it
      // asks for a key update again and again, each answered by the probe)
      ScheduledFuture<?> cut = DEADLINES.schedule(() -> close(tcp), remaining(deadline), TimeUnit.MILLISECONDS);
      try {
        tcp.connect(new InetSocketAddress(host, port), remaining(deadline));
        Socket s = https ? tls.over(tcp, host, port) : tcp;
        try (s) {
          return exchange(s, host, port, path, headers, deadline);
        }
      } finally {
        cut.cancel(false);
      }
    }
  }

  /** Closes the probes' sockets at their deadlines; its one thread ends when no probe waits. */
  private static final ScheduledThreadPoolExecutor DEADLINES = deadlines();

  private static ScheduledThreadPoolExecutor deadlines() {
    var e = new ScheduledThreadPoolExecutor(1, DaemonThreads.named("probe-deadline"));
    e.setKeepAliveTime(30, TimeUnit.SECONDS);
    e.allowCoreThreadTimeOut(true);
    e.setRemoveOnCancelPolicy(true);
    return e;
  }

  private static void close(Socket s) {
    try {
      s.close();
    } catch (IOException e) {
      // closing is all that is asked
    }
  }

  /**
   * The probe's request. The pod's headers replace the probe's own of the same name (Host,
   * User-Agent, Accept), as the kubelet's do: a second Host header makes servers answer 400 (RFC
   * 7230), so a pod that names its virtual host would never be Ready. A name or value that would
   * break the request's lines (a coordinator before 2026-12-05 let them through) fails the probe.
   */
  /** The User-Agent of HTTP probes, the kubelet's for the Kubernetes minor the coordinator's API serves (1.32). */
  static final String USER_AGENT = "kube-probe/1.32";

  static String request(String path, String hostPort, List<HTTPHeader> headers) throws IOException {
    Map<String, String> own = new LinkedHashMap<>();
    own.put("Host", hostPort);
    // the kubelet's (kube-probe/MAJOR.MINOR, of the Kubernetes the coordinator's API speaks): servers that tell probes from
    // users by it (their access logs, a sidecar passing probes through) take these as the kubelet's; until 2026-12-08
    // ds-agent-probe, which they took for a user's request (helper-202)
    own.put("User-Agent", USER_AGENT);
    own.put("Accept", "*/*");
    StringBuilder given = new StringBuilder();
    for (HTTPHeader h : headers) {
      String name = h.name() == null ? "" : h.name();
      String value = h.value() == null ? "" : h.value();
      if (Names.httpHeaderName(name) != null || Names.httpHeaderValue(value) != null) {
        throw new IOException("httpHeaders: \"" + name + "\" is not a header name, or its value breaks a line");
      }
      own.keySet().removeIf(n -> n.equalsIgnoreCase(name));
      given.append(name).append(": ").append(value).append("\r\n");
    }
    StringBuilder req = new StringBuilder("GET " + path + " HTTP/1.1\r\n");
    own.forEach((n, v) -> req.append(n).append(": ").append(v).append("\r\n"));
    return req.append(given).append("Connection: close\r\n\r\n").toString();
  }

  private Answer exchange(Socket s, String host, int port, String path, List<HTTPHeader> headers, long deadline) throws IOException {
    s.setSoTimeout(remaining(deadline));
    if (s instanceof SSLSocket ssl) {
      ssl.startHandshake();
    }
    s.getOutputStream().write(request(path, hostPort(host, port), headers).getBytes(StandardCharsets.ISO_8859_1));
    s.getOutputStream().flush();
    InputStream in = s.getInputStream();
    String line = line(s, in, deadline);
    String[] f = line.trim().split(" ");
    if (f.length < 2 || !f[0].startsWith("HTTP/")) {
      throw new IOException("not an HTTP response: " + line.trim());
    }
    int code = Integer.parseInt(f[1]);
    if (code != 301 && code != 302 && code != 303 && code != 307 && code != 308) {
      return new Answer(code, null); // Go's client follows these alone: another 3xx (300, 304) is the answer, as the kubelet takes it
    }
    // a redirect's headers, for its Location: at most 64 lines of 1 KiB read, by the same deadline
    for (int i = 0; i < 64; i++) {
      String h = line(s, in, deadline).strip();
      if (h.isEmpty()) {
        break;
      }
      if (h.regionMatches(true, 0, "Location:", 0, 9)) {
        return new Answer(code, h.substring(9));
      }
    }
    return new Answer(code, null);
  }

  /** One line of the answer, at most 1,024 characters of it (the rest left unread), by {@code deadline}. */
  private static String line(Socket s, InputStream in, long deadline) throws IOException {
    StringBuilder line = new StringBuilder();
    while (line.length() < 1024) {
      s.setSoTimeout(remaining(deadline));
      int c = in.read();
      if (c < 0 || c == '\n') {
        break;
      }
      line.append((char) c);
    }
    return line.toString();
  }

  private static int remaining(long deadlineNanos) throws SocketTimeoutException {
    long left = (deadlineNanos - System.nanoTime()) / 1_000_000;
    if (left <= 0) {
      throw new SocketTimeoutException("timed out");
    }
    return millis(left);
  }

  /**
   * A socket's timeout: at least 1 ms, at most what an int holds (24 days; a probe's timeout is an
   * int32 of seconds, and a cast of its milliseconds went negative: every probe failed).
   */
  private static int millis(long ms) {
    return (int) Math.max(1, Math.min(Integer.MAX_VALUE, ms));
  }

  static int port(IntOrString port, Container c) {
    if (port.intValue() != null) {
      return port.intValue();
    }
    for (ContainerPort p : c.ports() == null ? List.<ContainerPort>of() : c.ports()) {
      if (port.strValue().equals(p.name())) {
        return p.containerPort();
      }
    }
    throw new IllegalArgumentException("no port named " + port.strValue());
  }
}
