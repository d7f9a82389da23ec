package io.dsfleet.common.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.io.StringReader;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.DERUTF8String;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;
import org.junit.jupiter.api.Test;

/** A certificate request is taken only when it is signed by the key it asks a certificate for (proof of possession). */
class CertificateRequestTest {
  static String request(PublicKey named, KeyPair signer, String algorithm) throws Exception {
    return PemTest.bouncyCastlePem(new JcaPKCS10CertificationRequestBuilder(new X500Name("O=" + Pki.NODES + ",CN=node-a"), named)
        .build(new JcaContentSignerBuilder(algorithm).build(signer.getPrivate())));
  }

  static KeyPair rsa() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
    g.initialize(2048);
    return g.generateKeyPair();
  }

  @Test
  void anAgentsRequestIsTakenWithItsNameAndKey() {
    KeyPair keys = Pki.newKeyPair();
    CertificateAuthority.Request r = CertificateAuthority.parseCsr(Pki.csr(keys, "node-a", Pki.NODES));
    assertThat(r.key()).isEqualTo(keys.getPublic());
    assertThat(r.subject().name()).isEqualTo("node-a");
  }

  /**
   * The agent writes its request with the JDK alone (its jar carries no BouncyCastle); what it signs
   * is byte for byte what BouncyCastle's builder made before, for short and long names (DER's two
   * length forms), and BouncyCastle reads and checks it.
   */
  @Test
  void theJdkMadeRequestIsWhatBouncyCastleBuilt() throws Exception {
    KeyPair keys = Pki.newKeyPair();
    for (String name : List.of("node-a", "n".repeat(63) + "." + "x".repeat(63) + ".example" /* 135 characters */, "nœud-é")) {
      var ours = (PKCS10CertificationRequest) new PEMParser(new StringReader(Pki.csr(keys, name, Pki.NODES))).readObject();
      var subject = new X500Name(new RDN[] {new RDN(BCStyle.O, new DERUTF8String(Pki.NODES)), new RDN(BCStyle.CN, new DERUTF8String(name))});
      var theirs = new JcaPKCS10CertificationRequestBuilder(subject, keys.getPublic())
          .build(new JcaContentSignerBuilder("SHA256withECDSA").build(keys.getPrivate()));
      assertThat(ours.toASN1Structure().getCertificationRequestInfo().getEncoded())
          .isEqualTo(theirs.toASN1Structure().getCertificationRequestInfo().getEncoded());
      assertThat(ours.getSignatureAlgorithm()).isEqualTo(theirs.getSignatureAlgorithm());
      CertificateAuthority.Request r = CertificateAuthority.parseCsr(Pki.csr(keys, name, Pki.NODES));
      assertThat(r.subject()).isEqualTo(new Pki.Subject(name, Pki.NODES));
      assertThat(r.key()).isEqualTo(keys.getPublic());
      // and the certificate issued for it names the node, whose name may be longer than RFC 5280's 64 characters
      X509Certificate cert = CertificateAuthority.issue(PemTest.CA, PemTest.CA_KEYS.getPrivate(), r.key(), r.subject(), Pki.Purpose.CLIENT,
          List.of(), Duration.ofHours(1));
      assertThat(CertificateAuthority.subject(Pki.certificate(Pki.pem(cert)))).isEqualTo(new Pki.Subject(name, Pki.NODES));
    }
    KeyPair rsa = rsa();
    assertThatThrownBy(() -> Pki.csr(rsa, "node-a", Pki.NODES)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("needs an EC key");
  }

  @Test
  void aP256RequestSignedByAnotherKeyIsRefused() throws Exception {
    KeyPair victim = Pki.newKeyPair();
    KeyPair attacker = Pki.newKeyPair();
    assertThatThrownBy(() -> CertificateAuthority.parseCsr(request(victim.getPublic(), attacker, "SHA256withECDSA")))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("signature does not match its key");
  }

  /**
   * An RSA key with a public exponent as long as its 3072-bit modulus (the JDK takes one) made its
   * request's signature check cost about 200 ms of CPU for 1.8 KB sent, under the CA's lock at a
   * renewal and the fleet's at a join: refused before it is checked, as Go's crypto/rsa refuses it.
   * A DSA key, which no agent makes, is refused too.
   */
  @Test
  void aKeyCostlyToCheckIsRefusedBeforeItsSignatureIsChecked() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
    g.initialize(3072);
    var crt = (java.security.interfaces.RSAPrivateCrtKey) g.generateKeyPair().getPrivate();
    java.math.BigInteger phi = crt.getPrimeP().subtract(java.math.BigInteger.ONE).multiply(crt.getPrimeQ().subtract(java.math.BigInteger.ONE));
    java.math.BigInteger e = java.math.BigInteger.ONE.shiftLeft(3070).setBit(0);
    while (!e.gcd(phi).equals(java.math.BigInteger.ONE)) {
      e = e.add(java.math.BigInteger.TWO);
    }
    var rsa = java.security.KeyFactory.getInstance("RSA");
    KeyPair longExponent = new KeyPair(rsa.generatePublic(new java.security.spec.RSAPublicKeySpec(crt.getModulus(), e)),
        rsa.generatePrivate(new java.security.spec.RSAPrivateKeySpec(crt.getModulus(), e.modInverse(phi))));
    assertThatThrownBy(() -> CertificateAuthority.parseCsr(request(longExponent.getPublic(), longExponent, "SHA256withRSA")))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("public exponent has 3071 bits; at most 31");

    KeyPairGenerator d = KeyPairGenerator.getInstance("DSA");
    d.initialize(2048);
    KeyPair dsa = d.generateKeyPair();
    assertThatThrownBy(() -> CertificateAuthority.parseCsr(request(dsa.getPublic(), dsa, "SHA256withDSA")))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("key is DSA; an EC or RSA key is needed");
  }

  /**
   * An EC key on a curve other than P-256 and P-384, or an RSA key over 4096 bits, is refused
   * before its signature is checked: until helper-197 a sect571k1 key's check cost 10 ms of the
   * coordinator's CPU (25 times P-256's) for a request of 362 bytes, and one whose signature fails
   * counts against no renewal budget, so a node's certificate could renew in a loop at that cost.
   * P-384 (kubeadm's other curve) is taken.
   */
  @Test
  void aKeyOnACostlyCurveOrOfManyBitsIsRefusedBeforeItsSignatureIsChecked() throws Exception {
    var bc = new org.bouncycastle.jce.provider.BouncyCastleProvider();
    KeyPairGenerator ec = KeyPairGenerator.getInstance("EC", bc);
    ec.initialize(new java.security.spec.ECGenParameterSpec("sect571k1"));
    KeyPair binary = ec.generateKeyPair();
    String costly = PemTest.bouncyCastlePem(new JcaPKCS10CertificationRequestBuilder(new X500Name("O=" + Pki.NODES + ",CN=node-a"), binary.getPublic())
        .build(new JcaContentSignerBuilder("SHA256withECDSA").setProvider(bc).build(binary.getPrivate())));
    assertThatThrownBy(() -> CertificateAuthority.parseCsr(costly))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("EC key is on sect571k1 (1.3.132.0.38); P-256 or P-384 is needed");

    KeyPairGenerator rsa = KeyPairGenerator.getInstance("RSA");
    rsa.initialize(4104);
    KeyPair large = rsa.generateKeyPair();
    assertThatThrownBy(() -> CertificateAuthority.parseCsr(request(large.getPublic(), large, "SHA256withRSA")))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("RSA key has 4104 bits; at most 4096");

    ec = KeyPairGenerator.getInstance("EC");
    ec.initialize(new java.security.spec.ECGenParameterSpec("secp384r1"));
    KeyPair p384 = ec.generateKeyPair();
    assertThat(CertificateAuthority.parseCsr(request(p384.getPublic(), p384, "SHA384withECDSA")).key()).isEqualTo(p384.getPublic());
  }

  @Test
  void otherKeyTypesAreCheckedToo() throws Exception {
    KeyPair keys = rsa();
    assertThat(CertificateAuthority.parseCsr(request(keys.getPublic(), keys, "SHA256withRSA")).key()).isEqualTo(keys.getPublic());
    assertThatThrownBy(() -> CertificateAuthority.parseCsr(request(keys.getPublic(), rsa(), "SHA256withRSA")))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("signature does not match its key");
  }
}
