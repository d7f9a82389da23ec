package io.dsfleet.bench;

import io.dsfleet.proto.v1.DashboardLoginRequest;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * The dashboard's weight and speed on a fleet: a DaemonSet's page (its rollout grid a cell per
 * node) and the fragment its script fetches each second, asked for in turn over one HTTPS
 * connection with an admin's login, as a browser would. Server time is the page's own
 * Server-Timing (from the request's routing to the HTML made, before it is sent); the round trip
 * adds TLS, transfer and the client.
 */
final class DashboardProbe {
  private DashboardProbe() {}

  record Figures(long pageBytes, Stats pageServerMs, Stats pageTotalMs, long fragmentBytes, Stats fragmentServerMs) {}

  static Figures measure(LocalFleet fleet, Path caPem, String namespace, String daemonSet, int requests) throws Exception {
    String url;
    try {
      url = fleet.control().dashboardLogin(DashboardLoginRequest.newBuilder().setTtlSeconds(600).build()).getUrl();
    } catch (io.grpc.StatusRuntimeException e) { // why it serves none is in its log alone (a port taken: "cannot serve the dashboard")
      Path log = fleet.dir.resolve("coordinator.log");
      String said = Files.exists(log) ? String.join("\n", Files.readAllLines(log).stream().filter(l -> l.contains("dashboard")).toList()) : "";
      throw new IllegalStateException("no dashboard login (" + e.getStatus() + "); the coordinator's log on its dashboard: "
          + (said.isEmpty() ? "nothing" : said), e);
    }
    HttpClient https = HttpClient.newBuilder().sslContext(trusting(caPem)).build();
    HttpResponse<Void> login = https.send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.discarding());
    String set = login.headers().firstValue("Set-Cookie").orElseThrow(() -> new IllegalStateException("no login: " + login.statusCode()));
    String cookie = set.substring(0, set.indexOf(';'));
    String base = url.substring(0, url.indexOf("/login"));
    String page = "/daemonsets/" + namespace + "/" + daemonSet;
    Stats pageServer = new Stats();
    Stats pageTotal = new Stats();
    Stats fragmentServer = new Stats();
    long pageBytes = 0;
    long fragmentBytes = 0;
    for (int i = 0; i < requests; i++) {
      long t0 = System.nanoTime();
      HttpResponse<byte[]> r = get(https, base + page, cookie);
      pageTotal.add((System.nanoTime() - t0) / 1e6);
      pageServer.add(serverMs(r));
      pageBytes = r.body().length;
      HttpResponse<byte[]> f = get(https, base + "/fragments" + page, cookie);
      fragmentServer.add(serverMs(f));
      fragmentBytes = f.body().length;
    }
    return new Figures(pageBytes, pageServer, pageTotal, fragmentBytes, fragmentServer);
  }

  private static HttpResponse<byte[]> get(HttpClient https, String url, String cookie) throws Exception {
    HttpResponse<byte[]> r = https.send(HttpRequest.newBuilder(URI.create(url)).header("Cookie", cookie).build(),
        HttpResponse.BodyHandlers.ofByteArray());
    if (r.statusCode() != 200) {
      throw new IllegalStateException(url + ": " + r.statusCode() + " " + new String(r.body()));
    }
    return r;
  }

  private static double serverMs(HttpResponse<?> r) {
    String timing = r.headers().firstValue("Server-Timing").orElseThrow(() -> new IllegalStateException("no Server-Timing"));
    return Double.parseDouble(timing.substring(timing.indexOf("dur=") + 4));
  }

  private static SSLContext trusting(Path caPem) throws Exception {
    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    try (var in = Files.newInputStream(caPem)) {
      trust.setCertificateEntry("fleet", CertificateFactory.getInstance("X.509").generateCertificate(in));
    }
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    SSLContext tls = SSLContext.getInstance("TLS");
    tls.init(null, tmf.getTrustManagers(), null);
    return tls;
  }
}
