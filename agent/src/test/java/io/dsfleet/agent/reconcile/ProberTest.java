package io.dsfleet.agent.reconcile;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.agent.runtime.FakeRuntime;
import io.dsfleet.common.Json;
import io.dsfleet.common.model.Container;
import io.dsfleet.common.model.Probe;
import io.dsfleet.common.testing.FakeClock;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import org.junit.jupiter.api.Test;

/**
 * A probe ends within its timeout whatever the other end does, a TLS handshake fed a byte at a
 * time included; and a timeout of any size the API server accepts (an int32 of seconds) works.
 */
class ProberTest {
  /** The monotonic clock the exec probes' waits are measured on, moved by the tests' runtimes instead of sleeping. */
  private final java.util.concurrent.atomic.AtomicLong nanos = new java.util.concurrent.atomic.AtomicLong();

  /** The pod's headers replace the probe's own of the same name (a second Host is a 400 from Go and nginx servers: RFC 7230). */
  @Test
  void aPodsHeadersReplaceTheProbesOwnAndNoneBreaksALine() throws Exception {
    String req = Prober.request("/healthz", "10.0.0.1:80", java.util.List.of(new io.dsfleet.common.model.HTTPHeader("host", "app.example"),
        new io.dsfleet.common.model.HTTPHeader("X-A", "1")));
    assertThat(req).isEqualTo("GET /healthz HTTP/1.1\r\nUser-Agent: kube-probe/1.32\r\nAccept: */*\r\nhost: app.example\r\nX-A: 1\r\n"
        + "Connection: close\r\n\r\n");
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> Prober.request("/", "h:1",
        java.util.List.of(new io.dsfleet.common.model.HTTPHeader("X-A", "1\r\nHost: evil")))).isInstanceOf(java.io.IOException.class);
  }

  /**
   * An exec probe the runtime refuses within its timeout (Docker's 409 for a paused container, any
   * error status) did not run: thrown away, neither success nor failure. One the
   * runtime did not answer within the timeout timed out: a failure.
   */
  @Test
  void anExecTheRuntimeRefusesDidNotRunAndOneItDoesNotAnswerInTimeTimedOut() throws Exception {
    Probe probe = Json.read("{\"exec\": {\"command\": [\"true\"]}, \"timeoutSeconds\": 1}", Probe.class);
    Container c = Json.read("{\"name\": \"main\", \"image\": \"local/busybox:1\"}", Container.class);
    FakeRuntime runtime = new FakeRuntime(new FakeClock());
    runtime.setExecRule(cmd -> {
      throw new IllegalStateException("Status 500: connection error: desc = transport: Error while dialing containerd.sock");
    });
    Prober.Result refused = new Prober(runtime).run(probe, c, "c1", "127.0.0.1");
    assertThat(refused.ran()).as("refused at once: not run").isFalse();
    runtime.setExecRule(cmd -> {
      nanos.addAndGet(1_100_000_000L); // the daemon's wait, past the probe's timeout
      throw new io.dsfleet.agent.runtime.RuntimeUnavailableException("docker did not answer (exec)", null);
    });
    Prober.Result late = new Prober(runtime, nanos::get).run(probe, c, "c1", "127.0.0.1");
    assertThat(late.ran()).as("not answered within the timeout: it ran, and timed out").isTrue();
    assertThat(late.ok()).isFalse();
    assertThat(late.message()).contains("timed out");
  }

  /**
   * A refusal Docker answers late (a busy daemon answering a paused container's exec 409 after more
   * than the probe's 1 s) is still a refusal, thrown away, as the kubelet throws away every exec its
   * runtime answered with an error: only one the runtime did not answer is a timeout. Taken for a
   * timeout, a paused container's liveness probe failed on a loaded node and killed it.
   */
  @Test
  void aRefusalTheRuntimeAnswersAfterTheTimeoutIsStillNoResult() throws Exception {
    Probe probe = Json.read("{\"exec\": {\"command\": [\"true\"]}, \"timeoutSeconds\": 1}", Probe.class);
    Container c = Json.read("{\"name\": \"main\", \"image\": \"local/busybox:1\"}", Container.class);
    FakeRuntime runtime = new FakeRuntime(new FakeClock());
    runtime.setExecRule(cmd -> {
      nanos.addAndGet(1_100_000_000L); // a busy daemon's answer, past the probe's timeout
      throw new IllegalStateException("Status 409: Container c1 is paused, unpause the container before exec");
    });
    Prober.Result late = new Prober(runtime, nanos::get).run(probe, c, "c1", "127.0.0.1");
    assertThat(late.ran()).as("answered, with a refusal: not run, whenever it came (%s)", late.message()).isFalse();
  }

  @Test
  void anHttpsProbeWhoseHandshakeTricklesEndsWithinItsTimeout() throws Exception {
    try (ServerSocket server = new ServerSocket(0, 5, InetAddress.getLoopbackAddress())) {
      Thread trickler = new Thread(() -> {
        try (Socket s = server.accept()) {
          OutputStream out = s.getOutputStream();
          out.write(new byte[] {0x16, 0x03, 0x03, 0x40, 0x00}); // a handshake record of 16 KiB announced
          out.flush();
          for (int i = 0; i < 100; i++) { // then a byte every 200 ms: each read waits less than the timeout
            Thread.sleep(200);
            out.write(0x02);
            out.flush();
          }
        } catch (Exception e) {
          // the probe hung up: what the test wants
        }
      }, "trickler");
      trickler.setDaemon(true);
      trickler.start();
      Probe probe = Json.read("{\"httpGet\": {\"path\": \"/\", \"port\": " + server.getLocalPort() + ", \"scheme\": \"HTTPS\"},"
          + " \"timeoutSeconds\": 1}", Probe.class);
      Container c = Json.read("{\"name\": \"main\", \"image\": \"local/busybox:1\"}", Container.class);
      long start = System.nanoTime();
      Prober.Result r = new Prober(new FakeRuntime(new FakeClock())).run(probe, c, "c1", "127.0.0.1");
      double seconds = (System.nanoTime() - start) / 1e9;
      System.out.printf("an HTTPS probe of 1 s against a trickled handshake ended after %.2f s%n", seconds);
      assertThat(r.ok()).isFalse();
      // its timer late by a loaded machine's delay at most: half the 20 s the handshake would take
      assertThat(seconds).as("ended at its 1 s timeout, not when the handshake would end (20 s here)").isLessThan(10);
    }
  }


  /**
   * A probe whose write blocks ends at its deadline too. A TLS 1.3 server can make the probe
   * write as much as it likes and read none of it: it asks for a key update again and again, and
   * the probe answers each with one of its own, until the connection is full and the probe's write
   * blocks, holding its socket's write lock. The JDK's SSLSocket sends close_notify under that lock
   * when closed, so the close at the deadline waited for it: the probe and the one thread that ends
   * every probe at its deadline hung for as long as the server ran (seen with a key-update flood
   * against a probe of 8 s; 160,000 answers fill a loopback connection, fewer a bridge's). Here the
   * request the server never reads blocks the write the same way, at once.
   */
  @Test
  void anHttpsProbeWhoseWriteBlocksEndsWithinItsTimeout() throws Exception {
    java.security.KeyPair keys = io.dsfleet.common.tls.Pki.newKeyPair();
    java.security.cert.X509Certificate cert = io.dsfleet.common.tls.CertificateAuthority.newCa(keys, "probe-target", java.time.Duration.ofHours(1));
    java.security.KeyStore store = java.security.KeyStore.getInstance("PKCS12");
    store.load(null, null);
    store.setKeyEntry("k", keys.getPrivate(), new char[0], new java.security.cert.Certificate[] {cert});
    javax.net.ssl.KeyManagerFactory kmf = javax.net.ssl.KeyManagerFactory.getInstance("PKIX");
    kmf.init(store, new char[0]);
    javax.net.ssl.SSLContext ctx = javax.net.ssl.SSLContext.getInstance("TLSv1.3");
    ctx.init(kmf.getKeyManagers(), null, null);
    java.util.concurrent.CountDownLatch done = new java.util.concurrent.CountDownLatch(1);
    try (ServerSocket server = ctx.getServerSocketFactory().createServerSocket(0, 5, InetAddress.getLoopbackAddress())) {
      Thread deaf = new Thread(() -> {
        try (javax.net.ssl.SSLSocket s = (javax.net.ssl.SSLSocket) server.accept()) {
          s.startHandshake();
          done.await(); // and reads nothing
        } catch (Exception e) {
          // the test is over
        }
      }, "deaf");
      deaf.setDaemon(true);
      deaf.start();
      Probe probe = Json.read("{\"httpGet\": {\"path\": \"/\", \"port\": " + server.getLocalPort() + ", \"scheme\": \"HTTPS\","
          + " \"httpHeaders\": [{\"name\": \"X-Long\", \"value\": \"" + "x".repeat(16 << 20) + "\"}]}, \"timeoutSeconds\": 1}", Probe.class);
      Container c = Json.read("{\"name\": \"main\", \"image\": \"local/busybox:1\"}", Container.class);
      var r = java.util.concurrent.CompletableFuture.supplyAsync(() -> new Prober(new FakeRuntime(new FakeClock())).run(probe, c, "c1", "127.0.0.1"));
      assertThat(r.get(10, java.util.concurrent.TimeUnit.SECONDS).ok()).as("ended at its 1 s timeout").isFalse();
    } finally {
      done.countDown();
    }
  }
  /**
   * An HTTPS server (the probed container's own process) chooses the handshake's costliest keys
   * and groups the JDK takes: an RSA key whose public exponent is as long as its modulus (cheap to
   * sign with for the server, 90-300 ms of the agent's CPU to check: its flags run C1 alone), an
   * ffdhe8192 group in TLS 1.3, an 8,192-bit DHE group in TLS 1.2 (150-450 ms each, against 10 for
   * an ordinary server, at every probe), a 16,384-bit RSA key (30-80 ms with the exponents the JDK
   * takes for it). The probe refuses each as the kubelet's Go client refuses it (an exponent over
   * 2^31-1, a modulus over 8,192 bits; no finite-field Diffie-Hellman at all), and ordinary servers of
   * either version still answer. The ffdhe server runs as a JVM of its own: the JDK reads its groups
   * once a JVM.
   */
  @Test
  void anHttpsServerChoosingCostlyKeysIsRefusedAsTheKubeletsGoClientRefusesIt() throws Exception {
    Container c = Json.read("{\"name\": \"main\", \"image\": \"local/busybox:1\"}", Container.class);
    Prober prober = new Prober(new FakeRuntime(new FakeClock()));
    java.util.function.IntFunction<Prober.Result> probe = port -> prober.run(Json.read("{\"httpGet\": {\"path\": \"/\", \"port\": " + port
        + ", \"scheme\": \"HTTPS\"}, \"timeoutSeconds\": 10}", Probe.class), c, "c1", "127.0.0.1");
    try (CostlyTlsServer ordinary13 = new CostlyTlsServer(CostlyTlsServer.Key.ORDINARY, "TLSv1.3", null);
        CostlyTlsServer ordinary12 = new CostlyTlsServer(CostlyTlsServer.Key.ORDINARY, "TLSv1.2", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
        CostlyTlsServer hugeExponent = new CostlyTlsServer(CostlyTlsServer.Key.HUGE_EXPONENT, "TLSv1.3", null);
        CostlyTlsServer hugeModulus = new CostlyTlsServer(CostlyTlsServer.Key.HUGE_MODULUS, "TLSv1.3", null);
        CostlyTlsServer dhe = new CostlyTlsServer(CostlyTlsServer.Key.ORDINARY, "TLSv1.2", "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256")) {
      assertThat(probe.apply(ordinary13.port()).message()).isEqualTo("HTTP 200");
      assertThat(probe.apply(ordinary12.port()).message()).isEqualTo("HTTP 200");
      Prober.Result r = probe.apply(hugeExponent.port());
      assertThat(r.ok()).as(r.message()).isFalse();
      assertThat(r.message()).contains("public exponent");
      r = probe.apply(hugeModulus.port());
      assertThat(r.ok()).as(r.message()).isFalse();
      assertThat(r.message()).contains("16384 bits");
      r = probe.apply(dhe.port());
      assertThat(r.ok()).as(r.message()).isFalse();
    }
    Process ffdhe = new ProcessBuilder(java.nio.file.Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-XX:TieredStopAtLevel=1",
        "-Djdk.tls.namedGroups=ffdhe8192", "-cp", System.getProperty("java.class.path"), CostlyTlsServer.class.getName(), "TLSv1.3", "-")
        .redirectError(ProcessBuilder.Redirect.INHERIT).start();
    try {
      int port = Integer.parseInt(new java.io.BufferedReader(new java.io.InputStreamReader(ffdhe.getInputStream(),
          java.nio.charset.StandardCharsets.US_ASCII)).readLine().strip());
      Prober.Result r = probe.apply(port);
      assertThat(r.ok()).as(r.message()).isFalse();
    } finally {
      ffdhe.destroy();
      ffdhe.waitFor(30, java.util.concurrent.TimeUnit.SECONDS);
    }
  }

  @Test
  void aTimeoutOfYearsProbesAsAnyOther() throws Exception {
    try (ServerSocket server = new ServerSocket(0, 5, InetAddress.getLoopbackAddress())) {
      Thread answer = new Thread(() -> {
        for (int i = 0; i < 2; i++) {
          try (Socket s = server.accept()) {
            s.getInputStream().read();
            s.getOutputStream().write("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
          } catch (Exception e) {
            return;
          }
        }
      }, "answer");
      answer.setDaemon(true);
      answer.start();
      Container c = Json.read("{\"name\": \"main\", \"image\": \"local/busybox:1\"}", Container.class);
      Prober prober = new Prober(new FakeRuntime(new FakeClock()));
      int port = server.getLocalPort();
      for (String handler : java.util.List.of("\"httpGet\": {\"path\": \"/\", \"port\": " + port + ", \"scheme\": \"HTTP\"}",
          "\"tcpSocket\": {\"port\": " + port + "}")) {
        Probe probe = Json.read("{" + handler + ", \"timeoutSeconds\": " + Integer.MAX_VALUE + "}", Probe.class);
        Prober.Result r = prober.run(probe, c, "c1", "127.0.0.1");
        assertThat(r.ok()).as(handler + ": " + r.message()).isTrue();
      }
    }
  }

  /**
   * Redirects to the same host are followed, as the kubelet's probe follows them (at most 9: the 10th fails it), and
   * the page they end at decides; one to another host is not followed and counts as a success. No
   * redirect was followed: a redirect to a failing page counted as a success.
   */
  @Test
  void redirectsToTheSameHostAreFollowedAndTheLastPageDecides() throws Exception {
    com.sun.net.httpserver.HttpServer server = com.sun.net.httpserver.HttpServer.create(new java.net.InetSocketAddress("127.0.0.1", 0), 0);
    java.util.Map<String, String> to = java.util.Map.of("/to-failing", "/failing", "/to-ok", "ok?x=1", "/away", "http://elsewhere.example/",
        "/loop", "/loop");
    server.createContext("/", x -> {
      String path = x.getRequestURI().getPath();
      String where = to.get(path);
      if (path.startsWith("/chain/") && !path.equals("/chain/0")) { // /chain/N: N redirects to go
        where = "/chain/" + (Integer.parseInt(path.substring(7)) - 1);
      }
      if (path.equals("/choices")) { // a 300 with a Location, which Go's client does not follow
        x.getResponseHeaders().add("Location", "/failing");
        x.sendResponseHeaders(300, -1);
        x.close();
        return;
      }
      if (where != null) {
        x.getResponseHeaders().add("Location", where);
      }
      int code = where != null ? 302 : path.equals("/failing") ? 500 : path.equals("/chain/0") ? 200 : path.equals("/ok") && "x=1".equals(x.getRequestURI().getQuery()) ? 200 : 404;
      x.sendResponseHeaders(code, -1);
      x.close();
    });
    server.start();
    try {
      Container c = Json.read("{\"name\": \"main\", \"image\": \"local/busybox:1\"}", Container.class);
      Prober prober = new Prober(new FakeRuntime(new FakeClock()));
      java.util.function.Function<String, Prober.Result> probe = path -> prober.run(Json.read("{\"httpGet\": {\"path\": \"" + path
          + "\", \"port\": " + server.getAddress().getPort() + ", \"scheme\": \"HTTP\"}, \"timeoutSeconds\": 10}", Probe.class), c, "c1", "127.0.0.1");
      assertThat(probe.apply("/to-failing").message()).isEqualTo("HTTP 500");
      assertThat(probe.apply("/to-failing").ok()).isFalse();
      assertThat(probe.apply("/to-ok").message()).as("a relative Location, its query kept").isEqualTo("HTTP 200");
      assertThat(probe.apply("/away").message()).as("another host's: not followed").isEqualTo("HTTP 302");
      assertThat(probe.apply("/away").ok()).isTrue();
      Prober.Result loop = probe.apply("/loop");
      assertThat(loop.ok()).isFalse();
      assertThat(loop.message()).contains("stopped after 10 redirects");
      // as Go's client counts them (CheckRedirect refuses a request once 10 were made): 9 redirects are followed, a 10th fails
      // the probe; until a fix of 2026-12-08 a 10th was followed too, and an 11th failed it
      assertThat(probe.apply("/chain/9").message()).as("9 redirects followed").isEqualTo("HTTP 200");
      assertThat(probe.apply("/chain/10").message()).as("the 10th refused").contains("stopped after 10 redirects");
      // Go's client follows 301, 302, 303, 307 and 308 alone: a 300 with a Location is the answer, a success
      assertThat(probe.apply("/choices").message()).as("300 not followed").isEqualTo("HTTP 300");
    } finally {
      server.stop(0);
    }
  }
}
