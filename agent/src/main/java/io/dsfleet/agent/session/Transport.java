package io.dsfleet.agent.session;

import io.dsfleet.common.Reconnects;
import io.grpc.ChannelCredentials;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannelBuilder;
import io.grpc.okhttp.OkHttpChannelBuilder;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.security.GeneralSecurityException;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.SocketFactory;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;

/**
 * How the session's channel reaches a coordinator. The agent uses gRPC's OkHttp transport: a
 * blocking socket and a reader thread for its one connection, 90 classes where Netty's
 * transport loads 840 (docs/agent.md, "Footprint"). Thousands of simulated agents in one JVM
 * (bench) cannot afford a thread a connection: they bring Netty's transport through
 * {@link CoordinatorSession#over}.
 */
public interface Transport {
  /**
   * A connection that reads nothing for 30 s is pinged, and closed when 20 s pass without the
   * answer: a coordinator cut off (no reset ever arrives) does not keep a dead connection that the
   * next try would reuse (the coordinator allows a ping every 10 s).
   */
  Duration KEEPALIVE = Duration.ofSeconds(30);
  Duration KEEPALIVE_TIMEOUT = Duration.ofSeconds(20);
  /** The largest message taken from a coordinator: a desired set of many pods and their configs. */
  int MAX_INBOUND_MESSAGE = 64 * 1024 * 1024;
  /** How long a TLS handshake may take, all of it (Netty's own bound: 10 s). */
  Duration HANDSHAKE_TIMEOUT = Duration.ofSeconds(10);
  /**
   * How much a coordinator may send ahead of what the agent has read. OkHttp's default (64 KiB,
   * never grown) took 35 s to bring a 64 MiB desired set over a 20 ms round trip, longer than
   * the session waits for a heartbeat's acknowledgement queued behind it; Netty grows its window
   * to the link's. 4 MiB: the same set in about a second.
   */
  int FLOW_CONTROL_WINDOW = 4 * 1024 * 1024;

  /** A channel to {@code target} with these credentials (made by this transport), connect timeout and keep-alive set. */
  ManagedChannelBuilder<?> channel(String target, ChannelCredentials credentials);

  /** No TLS: a coordinator run with --insecure. */
  default ChannelCredentials plaintext() {
    return InsecureChannelCredentials.create();
  }

  /**
   * TLS to a coordinator whose certificate names {@code serverName} and which {@code trust}
   * accepts, as the holder of {@code key} (null: no client certificate); its context is made
   * here, once for every channel that uses the result.
   */
  ChannelCredentials tls(String serverName, KeyManager key, X509TrustManager trust);

  /**
   * gRPC's OkHttp transport, the agent's, with the TLS in its sockets: OkHttp's own TLS offers
   * TLS 1.2 alone (its ConnectionSpec, fixed when credentials are given) and bounds neither the
   * connect nor the handshake; the sockets here connect within {@link Reconnects#CONNECT_TIMEOUT},
   * finish the handshake (TLS 1.3 or 1.2, ALPN h2, the server's name checked) within
   * {@link #HANDSHAKE_TIMEOUT}, and gRPC speaks HTTP/2 over them as over a plain socket.
   */
  Transport OKHTTP = new Transport() {
    @Override
    public ManagedChannelBuilder<?> channel(String target, ChannelCredentials credentials) {
      SocketFactory sockets;
      if (credentials instanceof SocketTls t) {
        sockets = t.sockets;
      } else if (credentials instanceof InsecureChannelCredentials) {
        sockets = new Sockets(null, HANDSHAKE_TIMEOUT);
      } else {
        throw new IllegalArgumentException("credentials not made by this transport: " + credentials);
      }
      return OkHttpChannelBuilder.forTarget(target, InsecureChannelCredentials.create())
          .socketFactory(sockets)
          // directly, whatever GRPC_PROXY_EXP or Java's proxy properties say: the sockets would
          // speak TLS to the proxy itself
          .proxyDetector(address -> null)
          .flowControlWindow(FLOW_CONTROL_WINDOW)
          .maxInboundMessageSize(MAX_INBOUND_MESSAGE)
          .keepAliveTime(KEEPALIVE.toSeconds(), TimeUnit.SECONDS)
          .keepAliveTimeout(KEEPALIVE_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    }

    @Override
    public ChannelCredentials tls(String serverName, KeyManager key, X509TrustManager trust) {
      try {
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(key == null ? null : new KeyManager[] {key}, new TrustManager[] {new Named(trust, serverName)}, null);
        return new SocketTls(new Sockets(context.getSocketFactory(), HANDSHAKE_TIMEOUT));
      } catch (GeneralSecurityException e) {
        throw new IllegalStateException("cannot set up TLS with the fleet CA: " + e.getMessage(), e);
      }
    }
  };

  /** TLS done by the socket factory: to gRPC, a plaintext channel over sockets that are already TLS. */
  final class SocketTls extends ChannelCredentials {
    final Sockets sockets;

    SocketTls(Sockets sockets) {
      this.sockets = sockets;
    }

    @Override
    public ChannelCredentials withoutBearerTokens() {
      return this;
    }
  }

  /**
   * The server's trust with its name checked in the handshake: the certificate must name the
   * coordinator (a DNS name, exactly: the fleet CA issues no wildcards), or the handshake fails
   * before the node's own certificate is sent. Not the JDK's "HTTPS" endpoint identification,
   * which reads the JDK's whole public CA store (150 certificates, about 1 MiB of heap kept for
   * the process's life) to tell whether a chain ends at a public CA. A plain X509TrustManager, so
   * the JDK still adds its session checks (algorithm constraints) around it.
   */
  final class Named implements X509TrustManager {
    private final X509TrustManager trust;
    private final String serverName;

    Named(X509TrustManager trust, String serverName) {
      this.trust = trust;
      this.serverName = serverName;
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
      trust.checkServerTrusted(chain, authType);
      for (List<?> name : Objects.requireNonNullElse(chain[0].getSubjectAlternativeNames(), List.<List<?>>of())) {
        if (Integer.valueOf(2).equals(name.get(0)) && serverName.equalsIgnoreCase(String.valueOf(name.get(1)))) {
          return;
        }
      }
      throw new CertificateException("the coordinator's certificate does not name " + serverName + " (it is "
          + chain[0].getSubjectX500Principal().getName() + ")");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
      throw new CertificateException("the agent serves no TLS");
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return trust.getAcceptedIssuers();
    }
  }

  /**
   * Sockets connected within {@link Reconnects#CONNECT_TIMEOUT} (OkHttp connects with none: the
   * system's SYN retries, about two minutes) and, with TLS, handshaken within a bound for the
   * whole handshake (a read timeout would not bound one that a peer feeds a byte at a time): the
   * raw socket is closed when the bound passes, which ends the handshake at once. OkHttp runs the
   * handshake on its transport's threads, and a channel shut down meanwhile does not stop it.
   */
  final class Sockets extends SocketFactory {
    /** Closes handshakes that overrun; its one thread ends when none is pending. */
    private static final ScheduledThreadPoolExecutor DEADLINES = deadlines();

    private static final int HANDSHAKING = 0;
    private static final int DONE = 1;
    private static final int TIMED_OUT = 2;

    private final SSLSocketFactory tls;
    private final Duration handshakeTimeout;

    Sockets(SSLSocketFactory tls, Duration handshakeTimeout) {
      this.tls = tls;
      this.handshakeTimeout = handshakeTimeout;
    }

    private static ScheduledThreadPoolExecutor deadlines() {
      ScheduledThreadPoolExecutor e = new ScheduledThreadPoolExecutor(1, r -> {
        Thread t = new Thread(r, "agent-tls-deadlines");
        t.setDaemon(true);
        return t;
      });
      e.setKeepAliveTime(10, TimeUnit.SECONDS);
      e.allowCoreThreadTimeOut(true);
      e.setRemoveOnCancelPolicy(true);
      return e;
    }

    @Override
    public Socket createSocket() {
      throw new UnsupportedOperationException("a coordinator connection is made connected: createSocket(address, port)");
    }

    @Override
    public Socket createSocket(String host, int port) throws IOException {
      return connected(new InetSocketAddress(host, port));
    }

    @Override
    public Socket createSocket(String host, int port, InetAddress localHost, int localPort) {
      throw new UnsupportedOperationException("a coordinator is reached from no chosen local address");
    }

    @Override
    public Socket createSocket(InetAddress host, int port) throws IOException {
      return connected(new InetSocketAddress(host, port));
    }

    @Override
    public Socket createSocket(InetAddress address, int port, InetAddress localAddress, int localPort) {
      throw new UnsupportedOperationException("a coordinator is reached from no chosen local address");
    }

    private Socket connected(InetSocketAddress to) throws IOException {
      Socket raw = new Socket();
      try {
        raw.connect(to, (int) Reconnects.CONNECT_TIMEOUT.toMillis());
        return tls == null ? raw : handshaken(raw, to);
      } catch (IOException | RuntimeException e) {
        raw.close();
        throw e;
      }
    }

    private SSLSocket handshaken(Socket raw, InetSocketAddress to) throws IOException {
      // the server's name travels with the trust (Named), not as the socket's peer host: no
      // endpoint identification by the JDK; the host dialled goes as SNI when it is a DNS name
      // with a dot (as any TLS client's; the coordinator has one certificate and ignores it)
      SSLSocket s = (SSLSocket) tls.createSocket(raw, to.getHostString(), to.getPort(), true);
      SSLParameters p = s.getSSLParameters();
      p.setApplicationProtocols(new String[] {"h2"});
      p.setProtocols(new String[] {"TLSv1.3", "TLSv1.2"});
      p.setCipherSuites(strong(s.getSupportedCipherSuites()));
      s.setSSLParameters(p);
      // HANDSHAKING -> DONE by this thread, or -> TIMED_OUT by the deadline, which then closes
      // the raw socket: whichever moves first decides, so a handshake that ends as the deadline
      // passes is either returned whole or refused as timed out, never returned closing
      AtomicInteger state = new AtomicInteger(HANDSHAKING);
      ScheduledFuture<?> deadline = DEADLINES.schedule(() -> {
        if (state.compareAndSet(HANDSHAKING, TIMED_OUT)) {
          closeQuietly(raw);
        }
      }, handshakeTimeout.toMillis(), TimeUnit.MILLISECONDS);
      IOException failed = null;
      try {
        s.startHandshake();
      } catch (IOException e) {
        failed = e;
      } finally {
        deadline.cancel(false);
      }
      if (!state.compareAndSet(HANDSHAKING, DONE)) {
        SocketTimeoutException t = new SocketTimeoutException("TLS handshake with " + to + " not done within "
            + handshakeTimeout.toMillis() + " ms");
        if (failed != null) {
          t.addSuppressed(failed); // "Socket closed": the deadline's doing, not the cause
        }
        throw t;
      }
      if (failed != null) {
        throw failed;
      }
      if (!"h2".equals(s.getApplicationProtocol())) {
        throw new SSLHandshakeException("the coordinator at " + to + " did not agree to HTTP/2 (ALPN h2)");
      }
      return s;
    }

    /** TLS 1.3's suites and TLS 1.2's with forward secrecy and AEAD (what HTTP/2 allows), in the JDK's order. */
    static String[] strong(String[] supported) {
      return Arrays.stream(supported)
          .filter(c -> c.startsWith("TLS_AES_") || c.startsWith("TLS_CHACHA20_")
              || c.startsWith("TLS_ECDHE_") && (c.contains("_GCM_") || c.contains("_CHACHA20_POLY1305_")))
          .toArray(String[]::new);
    }

    private static void closeQuietly(Socket s) {
      try {
        s.close();
      } catch (IOException ignored) {
        // closing only to end a handshake
      }
    }
  }
}
