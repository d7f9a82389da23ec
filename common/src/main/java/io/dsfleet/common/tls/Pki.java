package io.dsfleet.common.tls;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * The fleet's certificates as an agent needs them, with the JDK alone: keys, certificate requests,
 * PEM reading and writing, fingerprints. The CA's side (issuing, checking requests) is
 * {@link CertificateAuthority}, on BouncyCastle, which the agent's jar does not carry.
 *
 * <p>Who is who is in the subject: the common name is the node (or user) name and the
 * organisation is the role ({@link #NODES}, {@link #ADMINS}, {@link #VIEWERS}), as Kubernetes
 * puts nodes in "system:nodes". The coordinator's serving certificate carries the DNS name
 * {@link #SERVER_NAME}, which clients verify whatever address they dial; it alone has the
 * serverAuth key usage, so no client certificate can pose as a coordinator.
 */
public final class Pki {
  public static final String NODES = "dsfleet:nodes";
  public static final String ADMINS = "dsfleet:admins";
  public static final String VIEWERS = "dsfleet:viewers";
  /** Coordinator replicas, to each other: the only certificates the replication port accepts. */
  public static final String REPLICAS = "dsfleet:replicas";
  public static final String SERVER_NAME = "ds-coordinator";
  private static final SecureRandom RANDOM = new SecureRandom();

  private Pki() {}

  /** What a certificate may do: serve, be a client, or both (replicas call each other). */
  public enum Purpose { SERVER, CLIENT, PEER }

  /** Who a certificate or request names: common name and organisation (the role). */
  public record Subject(String name, String role) {}

  public static KeyPair newKeyPair() {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      g.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
      return g.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot generate an EC key", e);
    }
  }

  /**
   * A PKCS#10 request for {@code name} (PEM), signed with the EC key it asks a certificate for:
   * the subject is O=role, CN=name as UTF8Strings, no attributes, ECDSA with SHA-256 (RFC 2986,
   * RFC 5758), byte for byte what BouncyCastle's builder made before (CertificateRequestTest).
   */
  public static String csr(KeyPair keys, String name, String role) {
    if (!(keys.getPublic() instanceof ECPublicKey)) {
      throw new IllegalArgumentException("a certificate request needs an EC key, not " + keys.getPublic().getAlgorithm());
    }
    byte[] subject = der(0x30, der(0x31, der(0x30, OID_ORGANIZATION, utf8(role))), der(0x31, der(0x30, OID_COMMON_NAME, utf8(name))));
    byte[] info = der(0x30, new byte[] {0x02, 0x01, 0x00}, subject, keys.getPublic().getEncoded(), new byte[] {(byte) 0xA0, 0x00});
    try {
      Signature signer = Signature.getInstance("SHA256withECDSA");
      signer.initSign(keys.getPrivate(), RANDOM);
      signer.update(info);
      byte[] signature = signer.sign();
      byte[] bits = new byte[signature.length + 1];
      System.arraycopy(signature, 0, bits, 1, signature.length);
      return pemBlock("CERTIFICATE REQUEST", der(0x30, info, der(0x30, OID_ECDSA_SHA256), der(0x03, bits)));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot sign a certificate request", e);
    }
  }

  private static final byte[] OID_ORGANIZATION = {0x06, 0x03, 0x55, 0x04, 0x0A};
  private static final byte[] OID_COMMON_NAME = {0x06, 0x03, 0x55, 0x04, 0x03};
  /** 1.2.840.10045.4.3.2 */
  private static final byte[] OID_ECDSA_SHA256 = {0x06, 0x08, 0x2A, (byte) 0x86, 0x48, (byte) 0xCE, 0x3D, 0x04, 0x03, 0x02};

  private static byte[] utf8(String s) {
    return der(0x0C, s.getBytes(StandardCharsets.UTF_8));
  }

  /** One DER element: its tag, its definite length and the parts as its contents. */
  private static byte[] der(int tag, byte[]... parts) {
    ByteArrayOutputStream content = new ByteArrayOutputStream();
    for (byte[] p : parts) {
      content.writeBytes(p);
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(tag);
    int n = content.size();
    if (n < 0x80) {
      out.write(n);
    } else {
      int bytes = (32 - Integer.numberOfLeadingZeros(n) + 7) / 8;
      out.write(0x80 | bytes);
      for (int i = bytes - 1; i >= 0; i--) {
        out.write(n >>> (8 * i));
      }
    }
    out.writeBytes(content.toByteArray());
    return out.toByteArray();
  }

  /** SHA-256 of the certificate's DER encoding, lower-case hex: what a join token pins. */
  public static String fingerprint(X509Certificate cert) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(cert.getEncoded()));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  public static String serialHex(X509Certificate cert) {
    return cert.getSerialNumber().toString(16);
  }

  /**
   * Whether the private key belongs to the certificate: a signature made with one verifies with the
   * other. A node's key file and a coordinator's serving key are checked so before use (a crash
   * between writing a new key and its certificate leaves a pair that is not one).
   */
  public static boolean isKeyOf(PrivateKey key, X509Certificate cert) {
    try {
      String alg = key.getAlgorithm().equals("EC") ? "SHA256withECDSA" : "SHA256with" + key.getAlgorithm();
      byte[] probe = "dsfleet key check".getBytes(StandardCharsets.UTF_8);
      Signature s = Signature.getInstance(alg);
      s.initSign(key);
      s.update(probe);
      byte[] sig = s.sign();
      s.initVerify(cert.getPublicKey());
      s.update(probe);
      return s.verify(sig);
    } catch (GeneralSecurityException e) {
      return false;
    }
  }

  /**
   * Certificates start this long before they are made, for clocks a little behind the
   * coordinator's (or a coordinator's clock corrected back after it issued them): Kubernetes'
   * certificate signer backdates by 5 minutes too. It was 60 s (helper-82).
   */
  public static final Duration CLOCK_SKEW = Duration.ofMinutes(5);

  /**
   * Whether less than a third of the certificate's lifetime is left (time to renew), its life
   * counted from when it was made ({@link #CLOCK_SKEW} after its notBefore, never after its
   * notAfter). Counted from its notBefore, a certificate made for 2.5 minutes or less was due as
   * it was made, and its agent renewed at every heartbeat (helper-122's finding).
   */
  public static boolean dueForRenewal(X509Certificate cert, Instant now) {
    long end = cert.getNotAfter().getTime();
    long start = Math.min(end, cert.getNotBefore().getTime() + CLOCK_SKEW.toMillis());
    return now.toEpochMilli() >= end - (end - start) / 3;
  }

  // ---------------------------------------------------------------- PEM

  /** PEM text of a certificate, in the layout OpenSSL and BouncyCastle write (64-character lines). */
  public static String pem(X509Certificate c) {
    try {
      return pemBlock("CERTIFICATE", c.getEncoded());
    } catch (java.security.cert.CertificateEncodingException e) {
      throw new IllegalStateException("cannot encode a certificate", e);
    }
  }

  /** PEM text of a private key, PKCS#8 ("PRIVATE KEY"), the form the JDK's keys come in. */
  public static String pem(PrivateKey k) {
    if (!"PKCS#8".equals(k.getFormat())) {
      throw new IllegalArgumentException("cannot write a " + k.getAlgorithm() + " key in " + k.getFormat() + " as PEM: PKCS#8 only");
    }
    return pemBlock("PRIVATE KEY", k.getEncoded());
  }

  private static String pemBlock(String type, byte[] der) {
    return "-----BEGIN " + type + "-----\n" + PEM_BASE64.encodeToString(der) + "\n-----END " + type + "-----\n";
  }

  private static final java.util.Base64.Encoder PEM_BASE64 = java.util.Base64.getMimeEncoder(64, new byte[] {'\n'});
  private static final java.util.regex.Pattern PEM_BLOCK =
      java.util.regex.Pattern.compile("-----BEGIN ([A-Z0-9 ]+)-----[ \\t]*\\R(.*?)-----END \\1-----", java.util.regex.Pattern.DOTALL);

  /** The blocks of a PEM text, in order: their type ("CERTIFICATE", "PRIVATE KEY", ...) and body. */
  private record PemBlock(String type, String body) {
    /** The decoded body; null when it has headers (an encrypted legacy key) or is not Base64 (strictly: line breaks aside). */
    byte[] der() {
      if (body.contains(":")) {
        return null;
      }
      try {
        return java.util.Base64.getDecoder().decode(body.replaceAll("\\s", ""));
      } catch (IllegalArgumentException e) {
        return null;
      }
    }
  }

  /** @throws IllegalArgumentException when a BEGIN line has no END line (a cut file) */
  private static List<PemBlock> pemBlocks(String pem) {
    List<PemBlock> out = new ArrayList<>();
    var m = PEM_BLOCK.matcher(pem);
    while (m.find()) {
      out.add(new PemBlock(m.group(1), m.group(2)));
    }
    if (pem.split("-----BEGIN ", -1).length - 1 != out.size()) {
      throw new IllegalArgumentException("unreadable PEM: a BEGIN line without its END line");
    }
    return out;
  }

  /** Every certificate in a PEM text, in order (read by the JDK). */
  public static List<X509Certificate> certificates(String pem) {
    List<X509Certificate> out = new ArrayList<>();
    for (PemBlock b : pemBlocks(pem)) {
      if (b.type().equals("CERTIFICATE") || b.type().equals("X509 CERTIFICATE")) {
        byte[] der = b.der();
        try {
          if (der == null) {
            throw new java.security.cert.CertificateException("not Base64");
          }
          X509Certificate c = (X509Certificate) java.security.cert.CertificateFactory.getInstance("X.509")
              .generateCertificate(new java.io.ByteArrayInputStream(der));
          if (c.getEncoded().length != der.length) {
            throw new java.security.cert.CertificateException("data after the certificate");
          }
          out.add(c);
        } catch (java.security.cert.CertificateException e) {
          throw new IllegalArgumentException("unreadable certificate: " + e.getMessage());
        }
      }
    }
    return out;
  }

  public static X509Certificate certificate(String pem) {
    List<X509Certificate> all = certificates(pem);
    if (all.isEmpty()) {
      throw new IllegalArgumentException("no PEM certificate found");
    }
    return all.get(0);
  }

  /**
   * The first private key in a PEM text, which must be PKCS#8 ("PRIVATE KEY", what dsfleet writes).
   * {@link CertificateAuthority#privateKey} reads OpenSSL's other forms too.
   *
   * @throws IllegalArgumentException when there is none, naming the form found instead
   */
  public static PrivateKey privateKey(String pem) {
    PrivateKey key = pkcs8Key(pem);
    if (key != null) {
      return key;
    }
    for (PemBlock b : pemBlocks(pem)) {
      if (b.type().endsWith("PRIVATE KEY")) {
        throw new IllegalArgumentException("the private key is a \"" + b.type() + "\" block, not an unencrypted PKCS#8 key of an EC, RSA"
            + " or Ed25519 key (openssl pkcs8 -topk8 -nocrypt converts one)");
      }
    }
    throw new IllegalArgumentException("no PEM private key found");
  }

  /** The first PKCS#8 key in a PEM text as the JDK reads it (EC, RSA, Ed25519); null if there is none. */
  static PrivateKey pkcs8Key(String pem) {
    for (PemBlock b : pemBlocks(pem)) {
      byte[] der = b.der();
      if (b.type().equals("PRIVATE KEY") && der != null) {
        for (String algorithm : List.of("EC", "RSA", "Ed25519")) {
          try {
            return java.security.KeyFactory.getInstance(algorithm).generatePrivate(new java.security.spec.PKCS8EncodedKeySpec(der));
          } catch (GeneralSecurityException e) {
            // another algorithm's key
          }
        }
        return null;
      }
    }
    return null;
  }
}
