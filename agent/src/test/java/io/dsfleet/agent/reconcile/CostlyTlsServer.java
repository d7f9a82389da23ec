package io.dsfleet.agent.reconcile;

import java.io.IOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.RSAPrivateKeySpec;
import java.security.spec.RSAPublicKeySpec;
import java.util.Date;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * An HTTPS server standing for a container's own, answering every request 200 after a handshake of
 * its choosing: its RSA key, its protocol and suites (and, run as its own JVM with
 * {@code -Djdk.tls.namedGroups}, its key exchange group), a fresh TLS context for each connection so
 * that no probe resumes a session. For {@code ProberTest}: the keys and groups that cost the
 * probing agent the most.
 */
final class CostlyTlsServer implements AutoCloseable {
  private final ServerSocket server;
  private final Thread accepting;

  /** The server's RSA key. */
  enum Key {
    /** 2,048 bits, exponent 65537. */
    ORDINARY,
    /** 2,048 bits, a public exponent about as long (its private one short, so signing stays cheap for the server). */
    HUGE_EXPONENT,
    /** 16,384 bits (the JDK's largest), exponent 65537; no key of primes: the probe refuses it before any use. */
    HUGE_MODULUS
  }

  /**
   * @param protocol TLSv1.3 or TLSv1.2
   * @param suite the one suite the server takes, or null for its defaults
   */
  CostlyTlsServer(Key key, String protocol, String suite) throws Exception {
    KeyManagerFactory keys = keyManagers(switch (key) {
      case ORDINARY -> ordinaryKeys();
      case HUGE_EXPONENT -> hugeExponentKeys();
      case HUGE_MODULUS -> hugeModulusKeys();
    });
    server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    accepting = new Thread(() -> {
      while (!server.isClosed()) {
        try {
          Socket raw = server.accept();
          Thread one = new Thread(() -> answer(raw, keys, protocol, suite), "costly-tls");
          one.setDaemon(true);
          one.start();
        } catch (IOException closed) {
          return;
        }
      }
    }, "costly-tls-accept");
    accepting.setDaemon(true);
    accepting.start();
  }

  int port() {
    return server.getLocalPort();
  }

  @Override
  public void close() throws IOException {
    server.close();
  }

  private static void answer(Socket raw, KeyManagerFactory keys, String protocol, String suite) {
    try {
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(keys.getKeyManagers(), null, null);
      try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket(raw, null, raw.getPort(), true)) {
        s.setUseClientMode(false);
        s.setEnabledProtocols(new String[] {protocol});
        if (suite != null) {
          s.setEnabledCipherSuites(new String[] {suite});
        }
        s.startHandshake();
        s.getOutputStream().write("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        s.getOutputStream().flush();
        s.getInputStream().read(); // until the probe closes
      }
    } catch (Exception e) {
      // the probe refused the handshake, or went
    }
  }

  private static KeyPair ordinaryKeys() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
    g.initialize(2048);
    return g.generateKeyPair();
  }

  /** A 2,048-bit RSA key whose public exponent has about as many bits (its private exponent 256). */
  private static KeyPair hugeExponentKeys() throws Exception {
    SecureRandom random = new SecureRandom();
    while (true) {
      BigInteger p = BigInteger.probablePrime(1024, random);
      BigInteger q = BigInteger.probablePrime(1024, random);
      BigInteger phi = p.subtract(BigInteger.ONE).multiply(q.subtract(BigInteger.ONE));
      BigInteger d = new BigInteger(256, random).setBit(255).setBit(0);
      if (d.gcd(phi).equals(BigInteger.ONE)) {
        BigInteger e = d.modInverse(phi);
        KeyFactory f = KeyFactory.getInstance("RSA");
        BigInteger n = p.multiply(q);
        return new KeyPair(f.generatePublic(new RSAPublicKeySpec(n, e)), f.generatePrivate(new RSAPrivateKeySpec(n, d)));
      }
    }
  }

  private static KeyPair hugeModulusKeys() throws Exception {
    BigInteger n = new BigInteger(16384, new SecureRandom()).setBit(16383).setBit(0);
    KeyFactory f = KeyFactory.getInstance("RSA");
    return new KeyPair(f.generatePublic(new RSAPublicKeySpec(n, BigInteger.valueOf(65537))),
        f.generatePrivate(new RSAPrivateKeySpec(n, BigInteger.valueOf(3))));
  }

  private static KeyManagerFactory keyManagers(KeyPair keys) throws Exception {
    X500Name name = new X500Name("CN=probed");
    long now = System.currentTimeMillis();
    X509Certificate cert = new JcaX509CertificateConverter().getCertificate(new JcaX509v3CertificateBuilder(name, BigInteger.ONE,
        new Date(now - 60_000), new Date(now + 3_600_000), name, keys.getPublic())
        .build(new JcaContentSignerBuilder("SHA256withRSA").build(keys.getPrivate())));
    KeyStore store = KeyStore.getInstance("PKCS12");
    store.load(null, null);
    store.setKeyEntry("k", keys.getPrivate(), new char[0], new java.security.cert.Certificate[] {cert});
    KeyManagerFactory kmf = KeyManagerFactory.getInstance("SunX509");
    kmf.init(store, new char[0]);
    return kmf;
  }

  /**
   * Runs a server as its own JVM (for {@code -Djdk.tls.namedGroups}, read once a JVM): prints its
   * port, then serves until its standard input ends. Arguments: protocol, suite or "-".
   */
  public static void main(String[] args) throws Exception {
    try (CostlyTlsServer s = new CostlyTlsServer(Key.ORDINARY, args[0], args[1].equals("-") ? null : args[1])) {
      System.out.println(s.port());
      System.out.flush();
      while (System.in.read() >= 0) {
        // serving
      }
    }
  }
}
