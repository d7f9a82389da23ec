package io.dsfleet.agent.session;

import io.dsfleet.common.tls.CertificateAuthority;
import io.dsfleet.common.tls.Pki;
import io.dsfleet.common.tls.Tls;
import io.grpc.BindableService;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
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
}
