package io.dsfleet.agent.reconcile;

import java.io.IOException;
import java.math.BigInteger;
import java.net.Socket;
import java.security.AlgorithmConstraints;
import java.security.AlgorithmParameters;
import java.security.CryptoPrimitive;
import java.security.Key;
import java.security.SecureRandom;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.security.interfaces.RSAPublicKey;
import java.util.Locale;
import java.util.Set;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;

/**
 * The TLS of HTTPS probes, as the kubelet's (Go's crypto/tls client): the server's certificate is
 * not verified, and the handshake costs the agent what Go's costs the kubelet, whatever the server
 * (the probed container's own process) chooses: no finite-field Diffie-Hellman (neither TLS 1.2's
 * DHE suites nor TLS 1.3's ffdhe groups, which Go's client does not offer), and an RSA key past
 * Go's bounds (a modulus over 8,192 bits, a public exponent over 2^31-1) refused before it is used. The JDK's defaults let a server
 * choose each: an RSA certificate whose exponent is as long as its 3,072-bit modulus (a small
 * private exponent makes signing cheap for the server), an 8,192-bit DHE group in TLS 1.2, or
 * ffdhe8192 in TLS 1.3, cost the agent 90-450 ms of CPU at each probe where an ordinary server
 * costs 10 (the agent's flags, C1 alone, no BigInteger intrinsics): before 2026-12-07 a container
 * so answering its HTTPS probes took the agent, which has no CPU limit, a tenth to a half of a core
 * for each probe with a period of a second, outside the container's own limit (helper-185;
 * {@code ProberTest.anHttpsServerChoosingCostlyKeysIsRefusedAsTheKubeletsGoClientRefusesIt}).
 */
final class ProbeTls {
  /** Go's crypto/tls refuses larger RSA keys from a server (CVE-2023-29409's bound). */
  static final int MAX_RSA_BITS = 8192;
  /** Go's crypto/rsa refuses larger public exponents. */
  static final BigInteger MAX_RSA_EXPONENT = BigInteger.valueOf(Integer.MAX_VALUE);

  private final SSLContext context = context();

  /** A client TLS layer over {@code tcp}, closing it when closed. */
  SSLSocket over(Socket tcp, String host, int port) throws IOException {
    SSLSocket s = (SSLSocket) context.getSocketFactory().createSocket(tcp, host, port, true);
    SSLParameters p = s.getSSLParameters();
    p.setAlgorithmConstraints(NO_FINITE_FIELD_DH); // with the JDK's own constraints, which still apply
    s.setSSLParameters(p);
    return s;
  }

  /** Refuses finite-field Diffie-Hellman in any of its names (TLS 1.2's DHE suites and groups, TLS 1.3's ffdhe groups), nothing else. */
  private static final AlgorithmConstraints NO_FINITE_FIELD_DH = new AlgorithmConstraints() {
    @Override
    public boolean permits(Set<CryptoPrimitive> primitives, String algorithm, AlgorithmParameters parameters) {
      String a = algorithm.toLowerCase(Locale.ROOT);
      return !(a.startsWith("ffdhe") || a.equals("dh") || a.equals("diffiehellman") || a.startsWith("dhe_"));
    }

    @Override
    public boolean permits(Set<CryptoPrimitive> primitives, Key key) {
      return true;
    }

    @Override
    public boolean permits(Set<CryptoPrimitive> primitives, String algorithm, Key key, AlgorithmParameters parameters) {
      return permits(primitives, algorithm, parameters);
    }
  };

  /**
   * Refuses a server key Go's TLS client refuses, before the handshake uses it ({@link ProbeTls}); any
   * other is taken unverified, as Kubernetes takes a probe's.
   */
  static void checkServerKey(X509Certificate[] chain) throws CertificateException {
    if (chain == null || chain.length == 0) {
      throw new CertificateException("the server sent no certificate");
    }
    if (chain[0].getPublicKey() instanceof RSAPublicKey rsa) {
      if (rsa.getModulus().bitLength() > MAX_RSA_BITS) {
        throw new CertificateException("the server's RSA key has " + rsa.getModulus().bitLength() + " bits, over the " + MAX_RSA_BITS
            + " Go's TLS (the kubelet's) takes");
      }
      if (rsa.getPublicExponent().compareTo(MAX_RSA_EXPONENT) > 0) {
        throw new CertificateException("the server's RSA key has a public exponent of " + rsa.getPublicExponent().bitLength()
            + " bits, over the 2^31-1 Go's TLS (the kubelet's) takes");
      }
    }
  }

  private static SSLContext context() {
    try {
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(null, new TrustManager[] {new X509TrustManager() {
        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) {}

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
          checkServerKey(chain);
        }

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
