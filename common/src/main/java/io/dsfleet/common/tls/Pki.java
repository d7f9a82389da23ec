package io.dsfleet.common.tls;

import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.HexFormat;
import java.util.List;
import javax.security.auth.x500.X500Principal;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x500.style.IETFUtils;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.PKCSException;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequest;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;

/**
 * The fleet's certificates: an EC P-256 CA, certificates it issues, certificate requests and PEM.
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
  private static final String SIGNATURE = "SHA256withECDSA";
  private static final SecureRandom RANDOM = new SecureRandom();
  /** Certificates start this long before they are made, for clocks a little behind. */
  private static final Duration CLOCK_SKEW = Duration.ofSeconds(60);

  private Pki() {}

  /** What a certificate is for. */
  /** What a certificate may do: serve, be a client, or both (replicas call each other). */
  public enum Purpose { SERVER, CLIENT, PEER }

  /** Who a certificate or request names: common name and organisation (the role). */
  public record Subject(String name, String role) {
    static Subject of(X500Name x500) {
      return new Subject(rdn(x500, BCStyle.CN), rdn(x500, BCStyle.O));
    }

    private static String rdn(X500Name x500, org.bouncycastle.asn1.ASN1ObjectIdentifier oid) {
      var rdns = x500.getRDNs(oid);
      return rdns.length == 0 ? "" : IETFUtils.valueToString(rdns[0].getFirst().getValue());
    }
  }

  public static KeyPair newKeyPair() {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      g.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
      return g.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot generate an EC key", e);
    }
  }

  public static X509Certificate newCa(KeyPair keys, String name, Duration validity) {
    X500Name subject = x500(name, "dsfleet");
    Instant now = Instant.now();
    try {
      var b = new JcaX509v3CertificateBuilder(subject, serial(), Date.from(now.minus(CLOCK_SKEW)),
          Date.from(now.plus(validity)), subject, keys.getPublic());
      var ext = new JcaX509ExtensionUtils();
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
      b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
      b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(keys.getPublic()));
      return sign(b, keys.getPrivate());
    } catch (IOException | GeneralSecurityException e) {
      throw new IllegalStateException("cannot create the CA certificate", e);
    }
  }

  /**
   * Issues a certificate signed by the CA.
   *
   * @param sans DNS names and IP addresses (server certificates)
   */
  public static X509Certificate issue(X509Certificate ca, PrivateKey caKey, PublicKey key, Subject subject,
      Purpose purpose, List<String> sans, Duration validity) {
    Instant now = Instant.now();
    try {
      var b = new JcaX509v3CertificateBuilder(ca, serial(), Date.from(now.minus(CLOCK_SKEW)), Date.from(now.plus(validity)),
          new X500Principal(x500(subject.name(), subject.role()).getEncoded()), key);
      var ext = new JcaX509ExtensionUtils();
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
      b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyAgreement));
      b.addExtension(Extension.extendedKeyUsage, false,
          switch (purpose) {
            case SERVER -> new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth);
            case CLIENT -> new ExtendedKeyUsage(KeyPurposeId.id_kp_clientAuth);
            case PEER -> new ExtendedKeyUsage(new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth});
          });
      b.addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(ca));
      if (!sans.isEmpty()) {
        List<GeneralName> names = new ArrayList<>();
        for (String s : sans) {
          names.add(new GeneralName(isIp(s) ? GeneralName.iPAddress : GeneralName.dNSName, s));
        }
        b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(names.toArray(GeneralName[]::new)));
      }
      return sign(b, caKey);
    } catch (IOException | GeneralSecurityException e) {
      throw new IllegalStateException("cannot issue a certificate for " + subject.name(), e);
    }
  }

  /** A PKCS#10 request for {@code name}, signed with the key it asks a certificate for (PEM). */
  public static String csr(KeyPair keys, String name, String role) {
    try {
      ContentSigner signer = new JcaContentSignerBuilder(SIGNATURE).build(keys.getPrivate());
      return pem(new JcaPKCS10CertificationRequestBuilder(x500(name, role), keys.getPublic()).build(signer));
    } catch (OperatorCreationException e) {
      throw new IllegalStateException("cannot sign a certificate request", e);
    }
  }

  /** A parsed request whose signature proves the requester holds the key. */
  public record Request(Subject subject, PublicKey key) {}

  /** @throws IllegalArgumentException when the text is not a PEM certificate request or its signature is wrong */
  public static Request parseCsr(String pem) {
    Object o = readPem(pem);
    if (!(o instanceof PKCS10CertificationRequest req)) {
      throw new IllegalArgumentException("not a PEM certificate request");
    }
    try {
      var jca = new JcaPKCS10CertificationRequest(req);
      PublicKey key = jca.getPublicKey();
      if (!req.isSignatureValid(verifier(req, key))) {
        throw new IllegalArgumentException("the certificate request's signature does not match its key");
      }
      return new Request(Subject.of(req.getSubject()), key);
    } catch (GeneralSecurityException | OperatorCreationException | PKCSException | IOException e) {
      throw new IllegalArgumentException("unreadable certificate request: " + e.getMessage());
    }
  }

  /**
   * The check of a request's signature (its proof that the requester holds the key): BouncyCastle's
   * own P-256 arithmetic for EC keys, what every agent sends, about three times faster here than the
   * JDK's (whose check was most of a join's CPU at fleet scale: docs/benchmarks.md); the JDK's for
   * any other key. Only public values go in, so the choice of arithmetic exposes nothing.
   */
  private static org.bouncycastle.operator.ContentVerifierProvider verifier(PKCS10CertificationRequest req, PublicKey key)
      throws OperatorCreationException, IOException {
    if (key instanceof java.security.interfaces.ECPublicKey) {
      return new org.bouncycastle.operator.bc.BcECContentVerifierProviderBuilder(
          new org.bouncycastle.operator.DefaultDigestAlgorithmIdentifierFinder())
          .build(org.bouncycastle.crypto.util.PublicKeyFactory.createKey(req.getSubjectPublicKeyInfo()));
    }
    return new JcaContentVerifierProviderBuilder().build(key);
  }

  public static Subject subject(X509Certificate cert) {
    return Subject.of(X500Name.getInstance(cert.getSubjectX500Principal().getEncoded()));
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

  /** Whether less than a third of the certificate's lifetime is left (time to renew). */
  public static boolean dueForRenewal(X509Certificate cert, Instant now) {
    long start = cert.getNotBefore().getTime();
    long end = cert.getNotAfter().getTime();
    return now.toEpochMilli() >= end - (end - start) / 3;
  }

  // ---------------------------------------------------------------- PEM

  /**
   * PEM text of a certificate, a private key (PKCS#8) or a certificate request. Certificates and
   * keys, what every connection's TLS context is built from, are written with the JDK alone; only
   * a request (joining, renewing) needs BouncyCastle, so an agent's steady state loads none of it.
   */
  public static String pem(Object o) {
    if (o instanceof X509Certificate c) {
      try {
        return pemBlock("CERTIFICATE", c.getEncoded());
      } catch (java.security.cert.CertificateEncodingException e) {
        throw new IllegalStateException("cannot encode a certificate", e);
      }
    }
    if (o instanceof PrivateKey k && "PKCS#8".equals(k.getFormat())) {
      return pemBlock("PRIVATE KEY", k.getEncoded());
    }
    StringWriter w = new StringWriter();
    try (JcaPEMWriter pw = new JcaPEMWriter(w)) {
      pw.writeObject(o instanceof PrivateKey k ? new org.bouncycastle.openssl.jcajce.JcaPKCS8Generator(k, null).generate() : o);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return w.toString();
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
   * The first private key in a PEM text: a PKCS#8 key (what dsfleet writes) is read by the JDK;
   * other forms (OpenSSL's "EC PRIVATE KEY" and "RSA PRIVATE KEY") by BouncyCastle.
   */
  public static PrivateKey privateKey(String pem) {
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
        break; // another algorithm (RSASSA-PSS, DSA, Ed448): BouncyCastle's converter below
      }
    }
    for (Object o : readAllPem(pem)) {
      try {
        if (o instanceof org.bouncycastle.asn1.pkcs.PrivateKeyInfo info) {
          return new JcaPEMKeyConverter().getPrivateKey(info);
        }
        if (o instanceof org.bouncycastle.openssl.PEMKeyPair kp) {
          return new JcaPEMKeyConverter().getPrivateKey(kp.getPrivateKeyInfo());
        }
      } catch (IOException e) {
        throw new IllegalArgumentException("unreadable private key: " + e.getMessage());
      }
    }
    throw new IllegalArgumentException("no PEM private key found");
  }

  private static Object readPem(String pem) {
    List<Object> all = readAllPem(pem);
    return all.isEmpty() ? null : all.get(0);
  }

  private static List<Object> readAllPem(String pem) {
    List<Object> out = new ArrayList<>();
    try (PEMParser p = new PEMParser(new StringReader(pem))) {
      for (Object o = p.readObject(); o != null; o = p.readObject()) {
        out.add(o);
      }
    } catch (IOException | RuntimeException e) {
      throw new IllegalArgumentException("unreadable PEM: " + e.getMessage());
    }
    return out;
  }

  // ---------------------------------------------------------------- helpers

  private static X509Certificate sign(X509v3CertificateBuilder b, PrivateKey key) throws GeneralSecurityException {
    try {
      return new JcaX509CertificateConverter().getCertificate(b.build(new JcaContentSignerBuilder(SIGNATURE).build(key)));
    } catch (OperatorCreationException e) {
      throw new GeneralSecurityException(e);
    }
  }

  private static X500Name x500(String name, String role) {
    X500NameBuilder b = new X500NameBuilder(BCStyle.INSTANCE);
    b.addRDN(BCStyle.O, role);
    b.addRDN(BCStyle.CN, name);
    return b.build();
  }

  private static BigInteger serial() {
    return new BigInteger(127, RANDOM).add(BigInteger.ONE);
  }

  private static boolean isIp(String s) {
    return s.matches("[0-9.]+") || s.contains(":");
  }
}
