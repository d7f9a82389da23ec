package io.dsfleet.common.tls;

import java.io.IOException;
import java.io.StringReader;
import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import javax.security.auth.x500.X500Principal;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.DERUTF8String;
import org.bouncycastle.asn1.x500.RDN;
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
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.PKCSException;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequest;

/**
 * The coordinator's side of the fleet's certificates, on BouncyCastle: the CA, the certificates it
 * issues, the check of a certificate request, subjects read from certificates, and private keys in
 * OpenSSL's older forms. An agent never loads this class: it only makes keys and requests and reads
 * PEM ({@link Pki}, the JDK alone), so its jar carries no BouncyCastle.
 */
public final class CertificateAuthority {
  private static final String SIGNATURE = "SHA256withECDSA";
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final Duration CLOCK_SKEW = Pki.CLOCK_SKEW;

  private CertificateAuthority() {}

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
  public static X509Certificate issue(X509Certificate ca, PrivateKey caKey, PublicKey key, Pki.Subject subject,
      Pki.Purpose purpose, List<String> sans, Duration validity) {
    return issue(ca, caKey, key, subject, purpose, sans, validity, Instant.now());
  }

  /** As {@link #issue(X509Certificate, PrivateKey, PublicKey, Pki.Subject, Pki.Purpose, List, Duration)}, made at {@code now}: the caller's one reading of its clock (CoordinatorPki's start), or a test's signer whose clock ran ahead or behind. */
  public static X509Certificate issue(X509Certificate ca, PrivateKey caKey, PublicKey key, Pki.Subject subject,
      Pki.Purpose purpose, List<String> sans, Duration validity, Instant now) {
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

  /** A parsed request whose signature proves the requester holds the key. */
  public record Request(Pki.Subject subject, PublicKey key) {}

  /** @throws IllegalArgumentException when the text is not a PEM certificate request or its signature is wrong */
  public static Request parseCsr(String pem) {
    Object o = readPem(pem);
    if (!(o instanceof PKCS10CertificationRequest req)) {
      throw new IllegalArgumentException("not a PEM certificate request");
    }
    try {
      var jca = new JcaPKCS10CertificationRequest(req);
      PublicKey key = jca.getPublicKey();
      requireCheapToVerify(key, req.getSubjectPublicKeyInfo().getAlgorithm().getParameters());
      if (!req.isSignatureValid(verifier(req, key))) {
        throw new IllegalArgumentException("the certificate request's signature does not match its key");
      }
      return new Request(subjectOf(req.getSubject()), key);
    } catch (GeneralSecurityException | OperatorCreationException | PKCSException | IOException e) {
      throw new IllegalArgumentException("unreadable certificate request: " + e.getMessage());
    }
  }

  /**
   * Refuses a key whose signature check costs more than a request is worth, before it is checked:
   * an EC key on P-256 (what agents make) or P-384, or an RSA key of at most 4096 bits whose public
   * exponent is at most 2^31-1, as Go's crypto/rsa takes it (Kubernetes' CSRs with it): kubeadm's
   * choices of key. The JDK lets a modulus of up to 3072 bits carry an exponent as long, and checking
   * one request of 1.8 KB signed with such a key took 200 ms of the coordinator's CPU, under the CA's
   * lock (a renewal) or the fleet's (a join), before 2026-12-06; until helper-197 any curve the JDK
   * names (sect571k1: 10 ms a check, 25 times P-256's, for a request of 362 bytes) and any modulus
   * (16,384 bits: 7 ms) were checked, and a renewal whose signature fails counts against no budget.
   * Other key types (DSA, EdDSA) no agent sends, and are refused.
   */
  private static void requireCheapToVerify(PublicKey key, org.bouncycastle.asn1.ASN1Encodable curve) {
    if (key instanceof java.security.interfaces.ECPublicKey) {
      if (!CHEAP_CURVES.contains(curve)) {
        throw new IllegalArgumentException("the certificate request's EC key is on " + curveName(curve) + "; P-256 or P-384 is needed");
      }
      return;
    }
    if (!(key instanceof java.security.interfaces.RSAPublicKey rsa)) {
      throw new IllegalArgumentException("the certificate request's key is " + key.getAlgorithm() + "; an EC or RSA key is needed");
    }
    if (rsa.getModulus().bitLength() > MAX_RSA_BITS) {
      throw new IllegalArgumentException("the certificate request's RSA key has " + rsa.getModulus().bitLength() + " bits; at most "
          + MAX_RSA_BITS);
    }
    if (rsa.getPublicExponent().bitLength() > 31) {
      throw new IllegalArgumentException("the certificate request's RSA public exponent has " + rsa.getPublicExponent().bitLength()
          + " bits; at most 31 (65537 is usual)");
    }
  }

  /** The curves a request's EC key may be on (P-256, P-384), by their object identifiers. */
  private static final java.util.Set<org.bouncycastle.asn1.ASN1Encodable> CHEAP_CURVES = java.util.Set.of(
      org.bouncycastle.asn1.sec.SECObjectIdentifiers.secp256r1, org.bouncycastle.asn1.sec.SECObjectIdentifiers.secp384r1);
  private static final int MAX_RSA_BITS = 4096;

  private static String curveName(org.bouncycastle.asn1.ASN1Encodable curve) {
    if (curve instanceof org.bouncycastle.asn1.ASN1ObjectIdentifier oid) {
      String name = org.bouncycastle.asn1.x9.ECNamedCurveTable.getName(oid);
      return (name == null ? "" : name + " ") + "(" + oid.getId() + ")";
    }
    return "a curve given by its parameters";
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

  public static Pki.Subject subject(X509Certificate cert) {
    return subjectOf(X500Name.getInstance(cert.getSubjectX500Principal().getEncoded()));
  }

  /**
   * The first private key in a PEM text: a PKCS#8 key (what dsfleet writes) as {@link Pki} reads it
   * (the JDK); other forms (OpenSSL's "EC PRIVATE KEY" and "RSA PRIVATE KEY", PKCS#8 keys of
   * algorithms the JDK does not read) by BouncyCastle.
   */
  public static PrivateKey privateKey(String pem) {
    PrivateKey jdk = Pki.pkcs8Key(pem);
    if (jdk != null) {
      return jdk;
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

  private static X509Certificate sign(X509v3CertificateBuilder b, PrivateKey key) throws GeneralSecurityException {
    try {
      return new JcaX509CertificateConverter().getCertificate(b.build(new JcaContentSignerBuilder(SIGNATURE).build(key)));
    } catch (OperatorCreationException e) {
      throw new GeneralSecurityException(e);
    }
  }

  /**
   * O=role, CN=name as UTF8Strings, as {@link Pki#csr} writes them. Built from its parts, not through
   * BouncyCastle's name style, which refuses a common name over RFC 5280's 64 characters: node
   * names are DNS subdomains of up to 253 (as in Kubernetes, whose node certificates carry them too).
   */
  private static X500Name x500(String name, String role) {
    return new X500Name(new RDN[] {new RDN(BCStyle.O, new DERUTF8String(role)), new RDN(BCStyle.CN, new DERUTF8String(name))});
  }

  private static BigInteger serial() {
    return new BigInteger(127, RANDOM).add(BigInteger.ONE);
  }

  private static boolean isIp(String s) {
    return s.matches("[0-9.]+") || s.contains(":");
  }

  private static Pki.Subject subjectOf(X500Name x500) {
    return new Pki.Subject(rdn(x500, BCStyle.CN), rdn(x500, BCStyle.O));
  }

  private static String rdn(X500Name x500, org.bouncycastle.asn1.ASN1ObjectIdentifier oid) {
    var rdns = x500.getRDNs(oid);
    return rdns.length == 0 ? "" : IETFUtils.valueToString(rdns[0].getFirst().getValue());
  }
}
