package io.dsfleet.agent.session;

import io.dsfleet.common.tls.CertificateAuthority;
import io.dsfleet.common.tls.Pki;
import io.dsfleet.common.tls.Tls;
import io.dsfleet.proto.v1.AgentMessage;
import io.dsfleet.proto.v1.CoordinatorMessage;
import io.dsfleet.proto.v1.DesiredState;
import io.dsfleet.proto.v1.HeartbeatAck;
import io.grpc.BindableService;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import java.net.InetSocketAddress;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import javax.net.ssl.SSLSession;

/**
 * A TLS coordinator stand-in for the session's tests: a fleet CA, a server with its serving
 * certificate for a service of the test's, and the serial of each session's client certificate.
 */
final class TlsStandIn {
  static final KeyPair CA_KEYS = Pki.newKeyPair();
  static final X509Certificate CA = CertificateAuthority.newCa(CA_KEYS, "test-ca", Duration.ofDays(30));

  private TlsStandIn() {}

  /**
   * Serves {@code service} on the loopback port with the CA's serving certificate, recording the
   * serial of each Session call's client certificate ("none" without one) in {@code sessionSerials};
   * with {@code nodesOnly}, a Session without one is refused, as the coordinator's AuthInterceptor does.
   */
  static Server start(int port, BindableService service, List<String> sessionSerials, boolean nodesOnly) throws Exception {
    KeyPair serverKeys = Pki.newKeyPair();
    X509Certificate serverCert = CertificateAuthority.issue(CA, CA_KEYS.getPrivate(), serverKeys.getPublic(),
        new Pki.Subject(Pki.SERVER_NAME, "dsfleet"), Pki.Purpose.SERVER, List.of(Pki.SERVER_NAME, "127.0.0.1"), Duration.ofHours(1));
    ServerInterceptor serials = new ServerInterceptor() {
      @Override
      public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        if (call.getMethodDescriptor().getBareMethodName().equals("Session")) {
          SSLSession tls = call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
          try {
            sessionSerials.add(Pki.serialHex((X509Certificate) tls.getPeerCertificates()[0]));
          } catch (javax.net.ssl.SSLPeerUnverifiedException e) {
            sessionSerials.add("none");
            if (nodesOnly) {
              call.close(io.grpc.Status.UNAUTHENTICATED.withDescription("a node certificate is needed for Session; join first"), new Metadata());
              return new ServerCall.Listener<>() { };
            }
          }
        }
        return next.startCall(call, headers);
      }
    };
    return NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", port), Tls.server(serverCert, serverKeys.getPrivate(), CA))
        .addService(ServerInterceptors.intercept(service, serials)).build().start();
  }

  /** A certificate the CA issues, as the coordinator issues a node's. */
  static X509Certificate issue(java.security.PublicKey key, Pki.Subject subject, Duration validity) {
    return CertificateAuthority.issue(CA, CA_KEYS.getPrivate(), key, subject, Pki.Purpose.CLIENT, List.of(), validity);
  }

  /**
   * Writes node {@code node}'s credentials (a certificate valid for {@code validity}, its key, the
   * CA) where its agent keeps them; returns the certificate.
   */
  static X509Certificate writeNodeCredentials(java.nio.file.Path stateDir, String node, Duration validity) throws java.io.IOException {
    KeyPair keys = Pki.newKeyPair();
    X509Certificate cert = issue(keys.getPublic(), new Pki.Subject(node, Pki.NODES), validity);
    java.nio.file.Path pki = java.nio.file.Files.createDirectories(stateDir.resolve("pki"));
    java.nio.file.Files.writeString(pki.resolve(NodeCredentials.BUNDLE), Pki.pem(cert) + Pki.pem(keys.getPrivate()));
    java.nio.file.Files.writeString(pki.resolve("ca.crt"), Pki.pem(CA));
    return cert;
  }

  /**
   * A coordinator's side of a session as these tests need it: desired set 1 when the agent opens
   * it, each heartbeat acknowledged; {@code seen} sees every message first.
   */
  static StreamObserver<AgentMessage> session(StreamObserver<CoordinatorMessage> response, java.util.function.Consumer<AgentMessage> seen) {
    return new StreamObserver<>() {
      @Override
      public synchronized void onNext(AgentMessage m) {
        seen.accept(m);
        if (m.hasOpen()) {
          response.onNext(CoordinatorMessage.newBuilder().setDesired(DesiredState.newBuilder().setVersion(1)).build());
        } else if (m.hasHeartbeat()) {
          response.onNext(CoordinatorMessage.newBuilder().setHeartbeatAck(HeartbeatAck.newBuilder().setSeq(m.getHeartbeat().getSeq())).build());
        }
      }

      @Override
      public void onError(Throwable t) {}

      @Override
      public void onCompleted() {}
    };
  }
}
