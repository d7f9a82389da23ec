package io.dsfleet.agent.reconcile;

import io.dsfleet.agent.runtime.ContainerRuntime;
import io.dsfleet.common.model.Container;
import io.dsfleet.common.model.ContainerPort;
import io.dsfleet.common.model.HTTPHeader;
import io.dsfleet.common.model.IntOrString;
import io.dsfleet.common.model.Probe;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;

/** Runs one probe once: exec in the container, HTTP GET (2xx/3xx is success) or TCP connect, each within its timeout. */
public final class Prober {
  private final ContainerRuntime runtime;
  private final HttpClient http;

  public Prober(ContainerRuntime runtime) {
    this.runtime = runtime;
    this.http = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER).sslContext(trustAll()).build();
  }

  /** The outcome of one probe run. */
  public record Result(boolean ok, String message) {}

  public Result run(Probe probe, Container container, String containerId, String host) {
    Duration timeout = Duration.ofSeconds(probe.timeoutSeconds());
    try {
      if (probe.exec() != null) {
        var r = runtime.exec(containerId, probe.exec().command(), timeout);
        return new Result(r.exitCode() == 0, r.exitCode() == -1 ? "exec timed out" : "exit code " + r.exitCode());
      }
      if (probe.httpGet() != null) {
        var g = probe.httpGet();
        String target = g.host() == null || g.host().isEmpty() ? host : g.host();
        URI uri = URI.create(g.scheme().toLowerCase() + "://" + hostPort(target, port(g.port(), container))
            + (g.path().startsWith("/") ? g.path() : "/" + g.path()));
        HttpRequest.Builder req = HttpRequest.newBuilder(uri).timeout(timeout).GET();
        for (HTTPHeader h : g.httpHeaders() == null ? List.<HTTPHeader>of() : g.httpHeaders()) {
          req.header(h.name(), h.value());
        }
        int code = http.send(req.build(), HttpResponse.BodyHandlers.discarding()).statusCode();
        return new Result(code >= 200 && code < 400, "HTTP " + code);
      }
      var t = probe.tcpSocket();
      String target = t.host() == null || t.host().isEmpty() ? host : t.host();
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress(target, port(t.port(), container)), (int) timeout.toMillis());
      }
      return new Result(true, "connected");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new Result(false, "interrupted");
    } catch (Exception e) {
      return new Result(false, e.getClass().getSimpleName() + ": " + e.getMessage());
    }
  }

  private static String hostPort(String host, int port) {
    return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
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

  /** Kubernetes does not verify certificates of HTTPS probes; neither do we. */
  private static SSLContext trustAll() {
    try {
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(null, new TrustManager[] {new X509TrustManager() {
        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) {}

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) {}

        @Override
        public X509Certificate[] getAcceptedIssuers() {
          return new X509Certificate[0];
        }
      }}, new SecureRandom());
      return ctx;
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
