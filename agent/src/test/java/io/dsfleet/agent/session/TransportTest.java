package io.dsfleet.agent.session;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import io.dsfleet.common.tls.CertificateAuthority;
import io.dsfleet.common.tls.Pki;
import io.dsfleet.common.tls.Tls;
import io.dsfleet.proto.v1.AgentServiceGrpc;
import io.dsfleet.proto.v1.JoinRequest;
import io.dsfleet.proto.v1.JoinResponse;
import io.dsfleet.proto.v1.NodeInfo;
import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import javax.net.ssl.TrustManager;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The agent's OkHttp transport with its TLS in the sockets: against a server with the
 * coordinator's own TLS (Tls.server, Netty as the coordinator runs it), and against peers that
 * never finish connecting or handshaking.
 */
class TransportTest {
  static final KeyPair CA_KEYS = Pki.newKeyPair();
  static final X509Certificate CA = CertificateAuthority.newCa(CA_KEYS, "test-ca", Duration.ofDays(1));
  static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

  /** The TLS protocol and client certificate name of each call the server took. */
  final List<String> seen = new CopyOnWriteArrayList<>();
  final List<AutoCloseable> closing = new ArrayList<>();

  @AfterEach
  void close() throws Exception {
    for (AutoCloseable c : closing) {
      c.close();
    }
  }

  Server coordinator(String certifiedName) throws IOException {
    KeyPair keys = Pki.newKeyPair();
    X509Certificate cert = CertificateAuthority.issue(CA, CA_KEYS.getPrivate(), keys.getPublic(), new Pki.Subject(certifiedName, "dsfleet"),
        Pki.Purpose.SERVER, List.of(certifiedName), Duration.ofHours(1));
    AgentServiceGrpc.AgentServiceImplBase service = new AgentServiceGrpc.AgentServiceImplBase() {
      @Override
      public void join(JoinRequest req, StreamObserver<JoinResponse> out) {
        out.onNext(JoinResponse.newBuilder().setNodeName(req.getNode().getName()).build());
        out.onCompleted();
      }
    };
    ServerInterceptor tls = new ServerInterceptor() {
      @Override
      public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        SSLSession s = call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
        String client;
        try {
          client = ((X509Certificate) s.getPeerCertificates()[0]).getSubjectX500Principal().getName();
        } catch (SSLPeerUnverifiedException e) {
          client = "no client certificate";
        }
        seen.add(s.getProtocol() + " " + client);
        return next.startCall(call, headers);
      }
    };
    Server server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0), Tls.server(cert, keys.getPrivate(), CA))
        .addService(ServerInterceptors.intercept(service, tls)).build().start();
    closing.add(() -> server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS));
    return server;
  }

  JoinResponse join(Server server, ChannelCredentials credentials) {
    ManagedChannel ch = Transport.OKHTTP.channel("127.0.0.1:" + server.getPort(), credentials).overrideAuthority(Pki.SERVER_NAME).build();
    closing.add(ch::shutdownNow);
    return AgentServiceGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS)
        .join(JoinRequest.newBuilder().setNode(NodeInfo.newBuilder().setName("n1")).build());
  }

  @Test
  void mutualTlsReachesTheCoordinatorsTlsOnTls13WithTheNodesCertificate() throws IOException {
    Server server = coordinator(Pki.SERVER_NAME);
    KeyPair nodeKeys = Pki.newKeyPair();
    X509Certificate nodeCert = CertificateAuthority.issue(CA, CA_KEYS.getPrivate(), nodeKeys.getPublic(), new Pki.Subject("n1", Pki.NODES),
        Pki.Purpose.CLIENT, List.of(), Duration.ofHours(1));
    join(server, Transport.OKHTTP.tls(Pki.SERVER_NAME, Tls.clientKey(nodeKeys.getPrivate(), nodeCert), Tls.fleetTrust(CA)));
    assertThat(seen).singleElement().asString().startsWith("TLSv1.3 ").contains("CN=n1");
  }

  @Test
  void aJoinTokensPinnedCaIsCheckedAndNoClientCertificateIsSent() throws IOException {
    Server server = coordinator(Pki.SERVER_NAME);
    assertThat(join(server, Transport.OKHTTP.tls(Pki.SERVER_NAME, null, Tls.pinnedTrust(Pki.fingerprint(CA)))).getNodeName()).isEqualTo("n1");
    assertThat(seen).containsExactly("TLSv1.3 no client certificate");
    KeyPair otherKeys = Pki.newKeyPair();
    X509Certificate otherCa = CertificateAuthority.newCa(otherKeys, "another-ca", Duration.ofDays(1));
    assertThatThrownBy(() -> join(server, Transport.OKHTTP.tls(Pki.SERVER_NAME, null, Tls.pinnedTrust(Pki.fingerprint(otherCa)))))
        .isInstanceOf(StatusRuntimeException.class).hasMessageContaining("UNAVAILABLE")
        .hasStackTraceContaining("the coordinator's CA is not the one the join token pins");
    assertThat(seen).hasSize(1);
  }

  @Test
  void aCertificateForAnotherNameIsRefusedThoughTheFleetCaSignedIt() throws IOException {
    Server server = coordinator("not-the-coordinator");
    assertThatThrownBy(() -> join(server, Transport.OKHTTP.tls(Pki.SERVER_NAME, null, Tls.pinnedTrust(Pki.fingerprint(CA)))))
        .isInstanceOf(StatusRuntimeException.class).hasStackTraceContaining("does not name ds-coordinator");
    assertThat(seen).isEmpty();
  }

  /** A TLS server of the JDK's with a fleet-CA certificate for {@code name}; what it saw of each client, in {@link #seen}. */
  ServerSocket jdkServer(String name, java.util.function.Consumer<javax.net.ssl.SSLServerSocket> configure) throws Exception {
    KeyPair keys = Pki.newKeyPair();
    X509Certificate cert = CertificateAuthority.issue(CA, CA_KEYS.getPrivate(), keys.getPublic(), new Pki.Subject(name, "dsfleet"),
        Pki.Purpose.SERVER, List.of(name), Duration.ofHours(1));
    java.security.KeyStore store = java.security.KeyStore.getInstance("PKCS12");
    store.load(null, null);
    store.setKeyEntry("server", keys.getPrivate(), new char[0], new java.security.cert.Certificate[] {cert, CA});
    javax.net.ssl.KeyManagerFactory keyManagers = javax.net.ssl.KeyManagerFactory.getInstance("SunX509");
    keyManagers.init(store, new char[0]);
    SSLContext tls = SSLContext.getInstance("TLS");
    tls.init(keyManagers.getKeyManagers(), new TrustManager[] {Tls.fleetTrust(CA)}, null);
    javax.net.ssl.SSLServerSocket server = (javax.net.ssl.SSLServerSocket) tls.getServerSocketFactory().createServerSocket(0, 5, LOOPBACK);
    javax.net.ssl.SSLParameters h2 = server.getSSLParameters();
    h2.setApplicationProtocols(new String[] {"h2"});
    h2.setWantClientAuth(true);
    server.setSSLParameters(h2);
    configure.accept(server);
    closing.add(server);
    Thread accept = new Thread(() -> {
      try (javax.net.ssl.SSLSocket s = (javax.net.ssl.SSLSocket) server.accept()) {
        try {
          s.startHandshake();
          seen.add(s.getSession().getProtocol() + " " + ((X509Certificate) s.getSession().getPeerCertificates()[0]).getSubjectX500Principal().getName());
        } catch (SSLPeerUnverifiedException e) {
          seen.add("no client certificate");
        } catch (IOException e) {
          seen.add("handshake failed: " + e.getMessage());
        }
      } catch (IOException e) {
        // closed at the test's end
      }
    });
    accept.setDaemon(true);
    accept.start();
    return server;
  }

  Socket connect(ServerSocket server, ChannelCredentials credentials) throws IOException {
    return ((Transport.SocketTls) credentials).sockets.createSocket(LOOPBACK, server.getLocalPort());
  }

  ChannelCredentials nodeTls() {
    KeyPair nodeKeys = Pki.newKeyPair();
    X509Certificate nodeCert = CertificateAuthority.issue(CA, CA_KEYS.getPrivate(), nodeKeys.getPublic(), new Pki.Subject("n1", Pki.NODES),
        Pki.Purpose.CLIENT, List.of(), Duration.ofHours(1));
    return Transport.OKHTTP.tls(Pki.SERVER_NAME, Tls.clientKey(nodeKeys.getPrivate(), nodeCert), Tls.fleetTrust(CA));
  }

  @Test
  void anImpostorWithAFleetServingCertificateForAnotherNameNeverSeesTheNodesCertificate() throws Exception {
    ServerSocket impostor = jdkServer("impostor", s -> { });
    assertThatThrownBy(() -> connect(impostor, nodeTls())).isInstanceOf(javax.net.ssl.SSLHandshakeException.class)
        .hasMessageContaining("does not name ds-coordinator");
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> !seen.isEmpty());
    assertThat(seen).singleElement().asString().startsWith("handshake failed");
    ServerSocket coordinator = jdkServer(Pki.SERVER_NAME, s -> { });
    connect(coordinator, nodeTls()).close();
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> seen.size() == 2);
    assertThat(seen.get(1)).as("the same client against the coordinator's name").isEqualTo("TLSv1.3 CN=n1,O=dsfleet:nodes");
  }

  @Test
  void tls12WithoutForwardSecrecyOrAeadIsRefused() throws Exception {
    ServerSocket weak = jdkServer(Pki.SERVER_NAME, s -> {
      s.setEnabledProtocols(new String[] {"TLSv1.2"});
      s.setEnabledCipherSuites(new String[] {"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256"});
    });
    assertThatThrownBy(() -> connect(weak, nodeTls())).isInstanceOf(javax.net.ssl.SSLHandshakeException.class);
    ServerSocket tls12 = jdkServer(Pki.SERVER_NAME, s -> {
      s.setEnabledProtocols(new String[] {"TLSv1.2"});
      s.setEnabledCipherSuites(new String[] {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"});
    });
    connect(tls12, nodeTls()).close();
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> seen.size() == 2);
    assertThat(seen.get(0)).startsWith("handshake failed");
    assertThat(seen.get(1)).as("TLS 1.2 with forward secrecy and AEAD is taken").isEqualTo("TLSv1.2 CN=n1,O=dsfleet:nodes");
  }

  @Test
  void aCoordinatorWhoseConnectNeverCompletesIsGivenUpAfterTheConnectTimeout() throws IOException {
    Transport.Sockets sockets = new Transport.Sockets(null, Transport.HANDSHAKE_TIMEOUT);
    List<Socket> queued = new ArrayList<>();
    // a listener that never accepts, with a backlog of one: once its queue is full, Linux drops
    // the SYNs of further connects, as a host cut off the network would
    try (ServerSocket listener = new ServerSocket(0, 1, LOOPBACK)) {
      assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
        assertThatThrownBy(() -> {
          for (int i = 0; i < 10; i++) {
            queued.add(sockets.createSocket(LOOPBACK, listener.getLocalPort()));
          }
        }).isInstanceOf(SocketTimeoutException.class);
      });
      assertThat(queued).as("connects the listener's queue took before it was full").isNotEmpty().hasSizeLessThan(10);
    } finally {
      for (Socket s : queued) {
        s.close();
      }
    }
  }

  @Test
  void aHandshakeFedAByteAtATimeIsEndedWhenItsWholeTimeIsUp() throws Exception {
    SSLContext tls = SSLContext.getInstance("TLS");
    tls.init(null, new TrustManager[] {Tls.fleetTrust(CA)}, null);
    Transport.Sockets sockets = new Transport.Sockets(tls.getSocketFactory(), Duration.ofSeconds(1));
    try (ServerSocket listener = new ServerSocket(0, 5, LOOPBACK)) {
      Thread trickle = new Thread(() -> {
        try (Socket s = listener.accept(); OutputStream out = s.getOutputStream()) {
          // a TLS record header that promises a handshake message, then a byte every 300 ms:
          // every read gets something, so only a bound on the whole handshake ends it
          out.write(new byte[] {0x16, 0x03, 0x03, 0x40, 0x00});
          for (int i = 0; i < 100; i++) {
            Thread.sleep(300);
            out.write(0);
            out.flush();
          }
        } catch (IOException | InterruptedException e) {
          // the client gave up: what the test wants
        }
      });
      trickle.start();
      long t0 = System.nanoTime();
      assertTimeoutPreemptively(Duration.ofSeconds(20), () ->
          assertThatThrownBy(() -> sockets.createSocket(LOOPBACK, listener.getLocalPort()))
              .isInstanceOf(SocketTimeoutException.class).hasMessageContaining("not done within 1000 ms"));
      assertThat(Duration.ofNanos(System.nanoTime() - t0)).as("ended by the bound, not by the peer").isLessThan(Duration.ofSeconds(10));
      trickle.interrupt();
      trickle.join(5_000);
    }
  }

  @Test
  void theCoordinatorMaySendFourMebibytesAheadOfWhatTheAgentRead() throws Exception {
    try (ServerSocket listener = new ServerSocket(0, 5, LOOPBACK)) {
      ManagedChannel ch = Transport.OKHTTP.channel("127.0.0.1:" + listener.getLocalPort(), Transport.OKHTTP.plaintext()).build();
      closing.add(ch::shutdownNow);
      AgentServiceGrpc.newStub(ch).join(JoinRequest.getDefaultInstance(), new StreamObserver<>() {
        @Override
        public void onNext(JoinResponse value) {}

        @Override
        public void onError(Throwable t) {}

        @Override
        public void onCompleted() {}
      });
      listener.setSoTimeout(10_000);
      try (Socket s = listener.accept()) {
        s.setSoTimeout(10_000);
        DataInputStream in = new DataInputStream(s.getInputStream());
        in.readFully(new byte[24]); // the HTTP/2 client preface
        Map<Integer, Long> settings = new HashMap<>();
        int windowUpdate = -1;
        for (int frames = 0; frames < 2; frames++) {
          int length = in.readUnsignedShort() << 8 | in.readUnsignedByte();
          int type = in.readUnsignedByte();
          in.readUnsignedByte();
          int stream = in.readInt();
          byte[] payload = new byte[length];
          in.readFully(payload);
          DataInputStream p = new DataInputStream(new java.io.ByteArrayInputStream(payload));
          if (type == 0x4) {
            for (int i = 0; i < length / 6; i++) {
              settings.put(p.readUnsignedShort(), Integer.toUnsignedLong(p.readInt()));
            }
          } else if (type == 0x8 && stream == 0) {
            windowUpdate = p.readInt();
          }
        }
        assertThat(settings).as("the agent's SETTINGS").containsEntry(0x4, (long) Transport.FLOW_CONTROL_WINDOW);
        assertThat(windowUpdate).as("the connection's window grown from HTTP/2's 65,535").isEqualTo(Transport.FLOW_CONTROL_WINDOW - 65_535);
      }
    }
  }
}
