package io.dsfleet.common.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.StringWriter;
import java.net.URL;
import java.net.URLClassLoader;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.junit.jupiter.api.Test;

/**
 * PEM as the fleet writes and reads it: certificates and PKCS#8 keys through the JDK, in the
 * format BouncyCastle writes (so files written before read the same), other key forms through
 * BouncyCastle; and what an agent does with its credentials (a key and a request when it joins, its
 * bundle read, its files written, its TLS contexts made) works without BouncyCastle at all.
 */
class PemTest {
  static final KeyPair CA_KEYS = Pki.newKeyPair();
  static final X509Certificate CA = CertificateAuthority.newCa(CA_KEYS, "test-ca", Duration.ofDays(1));

  static String bouncyCastlePem(Object o) throws Exception {
    StringWriter w = new StringWriter();
    try (JcaPEMWriter pw = new JcaPEMWriter(w)) {
      pw.writeObject(o);
    }
    return w.toString();
  }

  @Test
  void certificatesAndKeysAreWrittenExactlyAsBouncyCastleWroteThem() throws Exception {
    KeyPair node = Pki.newKeyPair();
    X509Certificate cert = CertificateAuthority.issue(CA, CA_KEYS.getPrivate(), node.getPublic(), new Pki.Subject("node-a", Pki.NODES), Pki.Purpose.CLIENT, List.of(), Duration.ofHours(1));
    assertThat(Pki.pem(cert)).isEqualTo(bouncyCastlePem(cert));
    assertThat(Pki.pem(node.getPrivate()))
        .isEqualTo(bouncyCastlePem(new org.bouncycastle.openssl.jcajce.JcaPKCS8Generator(node.getPrivate(), null).generate()));
  }

  @Test
  void aBundleReadsBackInOrderWhateverTheLineEndings() {
    KeyPair node = Pki.newKeyPair();
    X509Certificate cert = CertificateAuthority.issue(CA, CA_KEYS.getPrivate(), node.getPublic(), new Pki.Subject("node-a", Pki.NODES), Pki.Purpose.CLIENT, List.of(), Duration.ofHours(1));
    String bundle = Pki.pem(cert) + Pki.pem(node.getPrivate()) + Pki.pem(CA);
    for (String text : List.of(bundle, bundle.replace("\n", "\r\n"))) {
      assertThat(Pki.certificates(text)).containsExactly(cert, CA);
      assertThat(Pki.privateKey(text)).isEqualTo(node.getPrivate());
    }
  }

  /** A throwaway key as `openssl ecparam -name prime256v1 -genkey -noout` writes it (SEC1), and its public half. */
  static final String OPENSSL_EC_KEY = """
      -----BEGIN EC PRIVATE KEY-----
      MHcCAQEEIOdjt/3F0yreIv0Enn+n0Nda6G8YcR1A3GoARXGZhGDhoAoGCCqGSM49
      AwEHoUQDQgAEWNaBfRf9dyxoK6VTSfvQWm+kt84EMH04mtbXad8PD5zA4zfT7mTB
      EuEMAIm1oOb+KG2e9HRRDNFcFTjt1n6hcA==
      -----END EC PRIVATE KEY-----
      """;
  static final String OPENSSL_EC_PUBLIC = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEWNaBfRf9dyxoK6VTSfvQWm+kt84EMH04mtbXad8PD5zA4zfT7mTBEuEMAIm1oOb+KG2e9HRRDNFcFTjt1n6hcA==";

  @Test
  void openSslsOwnKeyFormIsReadToo() throws Exception {
    PrivateKey key = CertificateAuthority.privateKey(OPENSSL_EC_KEY);
    java.security.Signature sign = java.security.Signature.getInstance("SHA256withECDSA");
    sign.initSign(key);
    sign.update(new byte[] {1, 2, 3});
    byte[] signature = sign.sign();
    java.security.Signature verify = java.security.Signature.getInstance("SHA256withECDSA");
    verify.initVerify(java.security.KeyFactory.getInstance("EC")
        .generatePublic(new java.security.spec.X509EncodedKeySpec(java.util.Base64.getDecoder().decode(OPENSSL_EC_PUBLIC))));
    verify.update(new byte[] {1, 2, 3});
    assertThat(verify.verify(signature)).as("the key read is the one openssl made").isTrue();
    KeyPair rsa = CertificateRequestTest.rsa();
    assertThat(CertificateAuthority.privateKey(Pki.pem(rsa.getPrivate()))).isEqualTo(rsa.getPrivate());
    assertThat(Pki.privateKey(Pki.pem(rsa.getPrivate()))).isEqualTo(rsa.getPrivate());
    // Pki (the JDK alone, what an agent has) names the form it cannot read
    assertThatThrownBy(() -> Pki.privateKey(OPENSSL_EC_KEY)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("\"EC PRIVATE KEY\" block").hasMessageContaining("openssl pkcs8 -topk8");
  }

  @Test
  void damagedPemIsRefusedWithWhatIsWrong() {
    String cert = Pki.pem(CA);
    String damaged = cert.replace(cert.substring(100, 140), "A".repeat(40));
    assertThatThrownBy(() -> Pki.certificate(damaged)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("unreadable certificate");
    assertThatThrownBy(() -> Pki.certificate("hello")).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no PEM certificate");
    assertThatThrownBy(() -> Pki.privateKey(cert)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no PEM private key");
    // a cut file, a character outside Base64, data after the certificate: refused, not skipped or ignored
    assertThatThrownBy(() -> Pki.certificates(cert + cert.substring(0, 200))).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("BEGIN line without its END");
    int mid = cert.indexOf('\n', 100);
    assertThatThrownBy(() -> Pki.certificate(cert.substring(0, mid) + "*" + cert.substring(mid)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("unreadable certificate");
    String body = cert.replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
    byte[] der = java.util.Base64.getDecoder().decode(body);
    byte[] longer = java.util.Arrays.copyOf(der, der.length + 3);
    String padded = "-----BEGIN CERTIFICATE-----\n" + java.util.Base64.getMimeEncoder().encodeToString(longer) + "\n-----END CERTIFICATE-----\n";
    assertThatThrownBy(() -> Pki.certificate(padded)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("data after");
    // what other tools write and is still PEM: spaces after the BEGIN line
    assertThat(Pki.certificate(cert.replace("-----BEGIN CERTIFICATE-----", "-----BEGIN CERTIFICATE-----  "))).isEqualTo(CA);
  }

  /** A loader of its own for the fleet's classes and their libraries, BouncyCastle left out: what the agent's jar holds. */
  static final class WithoutBouncyCastle extends URLClassLoader {
    WithoutBouncyCastle() {
      super(classpath(), ClassLoader.getPlatformClassLoader());
    }

    static URL[] classpath() {
      List<URL> urls = new ArrayList<>();
      try {
        for (String entry : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
          if (!entry.contains("bouncycastle")) {
            urls.add(java.nio.file.Path.of(entry).toUri().toURL());
          }
        }
      } catch (java.net.MalformedURLException e) {
        throw new IllegalStateException(e);
      }
      return urls.toArray(URL[]::new);
    }
  }

  @Test
  void whatAnAgentDoesWithItsCredentialsNeedsNoBouncyCastle() throws Exception {
    KeyPair node = Pki.newKeyPair();
    X509Certificate cert = CertificateAuthority.issue(CA, CA_KEYS.getPrivate(), node.getPublic(), new Pki.Subject("node-a", Pki.NODES),
        Pki.Purpose.CLIENT, List.of(), Duration.ofHours(1));
    String nodePem = Pki.pem(cert) + Pki.pem(node.getPrivate()) + Pki.pem(CA);
    try (WithoutBouncyCastle loader = new WithoutBouncyCastle()) {
      Class<?> pki = loader.loadClass(Pki.class.getName());
      // joining: a key and a request for it
      KeyPair fresh = (KeyPair) pki.getMethod("newKeyPair").invoke(null);
      String csr = (String) pki.getMethod("csr", KeyPair.class, String.class, String.class).invoke(null, fresh, "node-b", Pki.NODES);
      assertThat(CertificateAuthority.parseCsr(csr)).isEqualTo(new CertificateAuthority.Request(new Pki.Subject("node-b", Pki.NODES), fresh.getPublic()));
      // every start and reconnect: read its bundle, write its files, check the CA's pin, its renewal, and make its TLS contexts
      List<?> certs = (List<?>) pki.getMethod("certificates", String.class).invoke(null, nodePem);
      PrivateKey key = (PrivateKey) pki.getMethod("privateKey", String.class).invoke(null, nodePem);
      String written = (String) pki.getMethod("pem", X509Certificate.class).invoke(null, certs.get(0))
          + pki.getMethod("pem", PrivateKey.class).invoke(null, key);
      assertThat(written).isEqualTo(Pki.pem(cert) + Pki.pem(node.getPrivate()));
      assertThat(key.getEncoded()).isEqualTo(node.getPrivate().getEncoded());
      assertThat(pki.getMethod("fingerprint", X509Certificate.class).invoke(null, certs.get(1))).isEqualTo(Pki.fingerprint(CA));
      assertThat(pki.getMethod("dueForRenewal", X509Certificate.class, java.time.Instant.class).invoke(null, certs.get(0), java.time.Instant.now()))
          .isEqualTo(false);
      Class<?> tls = loader.loadClass(Tls.class.getName());
      assertThat(tls.getMethod("client", X509Certificate.class, X509Certificate.class, PrivateKey.class).invoke(null, CA, cert, key)).isNotNull();
      assertThat(tls.getMethod("pinned", String.class).invoke(null, Pki.fingerprint(CA))).isNotNull();
      // the check can fail: the CA's side does need BouncyCastle, which this loader does not have
      assertThatThrownBy(() -> loader.loadClass(CertificateAuthority.class.getName()).getMethod("subject", X509Certificate.class).invoke(null, cert))
          .hasRootCauseInstanceOf(ClassNotFoundException.class).hasStackTraceContaining("org.bouncycastle");
    }
  }
}
