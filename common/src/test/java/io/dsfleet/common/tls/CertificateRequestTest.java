package io.dsfleet.common.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PublicKey;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;
import org.junit.jupiter.api.Test;

/** A certificate request is taken only when it is signed by the key it asks a certificate for (proof of possession). */
class CertificateRequestTest {
  static String request(PublicKey named, KeyPair signer, String algorithm) throws Exception {
    return Pki.pem(new JcaPKCS10CertificationRequestBuilder(new X500Name("O=" + Pki.NODES + ",CN=node-a"), named)
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
    Pki.Request r = Pki.parseCsr(Pki.csr(keys, "node-a", Pki.NODES));
    assertThat(r.key()).isEqualTo(keys.getPublic());
    assertThat(r.subject().name()).isEqualTo("node-a");
  }

  @Test
  void aP256RequestSignedByAnotherKeyIsRefused() throws Exception {
    KeyPair victim = Pki.newKeyPair();
    KeyPair attacker = Pki.newKeyPair();
    assertThatThrownBy(() -> Pki.parseCsr(request(victim.getPublic(), attacker, "SHA256withECDSA")))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("signature does not match its key");
  }

  @Test
  void otherKeyTypesAreCheckedToo() throws Exception {
    KeyPair keys = rsa();
    assertThat(Pki.parseCsr(request(keys.getPublic(), keys, "SHA256withRSA")).key()).isEqualTo(keys.getPublic());
    assertThatThrownBy(() -> Pki.parseCsr(request(keys.getPublic(), rsa(), "SHA256withRSA")))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("signature does not match its key");
  }
}
