package io.dsfleet.agent.session;

import io.dsfleet.common.Reconnects;
import io.dsfleet.common.tls.Tls;
import io.grpc.ChannelCredentials;
import io.grpc.ManagedChannelBuilder;
import io.grpc.okhttp.OkHttpChannelBuilder;
import io.grpc.okhttp.SslSocketFactoryChannelCredentials;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import javax.net.SocketFactory;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;

/**
 * How the session's channel reaches a coordinator. The agent uses gRPC's OkHttp transport: a
 * blocking socket and a reader thread for its one connection, on the JDK's TLS, about 150 classes
 * where Netty's transport loads 840 (docs/agent.md, "Footprint"). Thousands of simulated agents in
 * one JVM (bench) cannot afford a thread a connection: they bring Netty's transport through
 * {@link CoordinatorSession#over}.
 */
public interface Transport {
  /**
   * How long a connection may read nothing before it is dropped: longer than a keep-alive ping
   * and its answer ({@link #KEEPALIVE} and {@link #KEEPALIVE_TIMEOUT}), so a live connection never
   * reaches it; it bounds a TLS handshake that a coordinator accepts and never answers.
   */
  Duration READ_TIMEOUT = Duration.ofSeconds(60);
  /**
   * A connection that reads nothing for 30 s is pinged, and closed when 20 s pass without the
   * answer: a coordinator cut off (no reset ever arrives) does not keep a dead connection that the
   * next try would reuse (the coordinator allows a ping every 10 s).
   */
  Duration KEEPALIVE = Duration.ofSeconds(30);
  Duration KEEPALIVE_TIMEOUT = Duration.ofSeconds(20);
  /** The largest message taken from a coordinator: a desired set of many pods and their configs. */
  int MAX_INBOUND_MESSAGE = 64 * 1024 * 1024;

  /** A channel to {@code target} with these credentials, connect timeout and keep-alive set. */
  ManagedChannelBuilder<?> channel(String target, ChannelCredentials credentials);

  /** Mutual TLS with the node's certificate, its context made once for every channel of it. */
  ChannelCredentials mutualTls(X509Certificate ca, X509Certificate cert, PrivateKey key);

  /** gRPC's OkHttp transport: the agent's. */
  Transport OKHTTP = new Transport() {
    @Override
    public ManagedChannelBuilder<?> channel(String target, ChannelCredentials credentials) {
      return OkHttpChannelBuilder.forTarget(target, credentials)
          .socketFactory(new TimedSockets())
          .maxInboundMessageSize(MAX_INBOUND_MESSAGE)
          .keepAliveTime(KEEPALIVE.toSeconds(), java.util.concurrent.TimeUnit.SECONDS)
          .keepAliveTimeout(KEEPALIVE_TIMEOUT.toSeconds(), java.util.concurrent.TimeUnit.SECONDS);
    }

    @Override
    public ChannelCredentials mutualTls(X509Certificate ca, X509Certificate cert, PrivateKey key) {
      try {
        SSLContext tls = SSLContext.getInstance("TLS");
        tls.init(new KeyManager[] {Tls.clientKey(key, cert)}, new TrustManager[] {Tls.fleetTrust(ca)}, null);
        return SslSocketFactoryChannelCredentials.create(tls.getSocketFactory());
      } catch (GeneralSecurityException e) {
        throw new IllegalStateException("cannot set up TLS with the fleet CA: " + e.getMessage(), e);
      }
    }
  };

  /**
   * Sockets that give up connecting after {@link Reconnects#CONNECT_TIMEOUT} (OkHttp connects
   * with none: the system's SYN retries, about two minutes) and read with {@link #READ_TIMEOUT}.
   */
  final class TimedSockets extends SocketFactory {
    @Override
    public Socket createSocket() {
      return new Socket();
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

    private static Socket connected(InetSocketAddress to) throws IOException {
      Socket s = new Socket();
      try {
        s.setSoTimeout((int) READ_TIMEOUT.toMillis());
        s.connect(to, (int) Reconnects.CONNECT_TIMEOUT.toMillis());
        return s;
      } catch (IOException e) {
        s.close();
        throw e;
      }
    }
  }
}
