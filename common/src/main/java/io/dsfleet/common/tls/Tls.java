package io.dsfleet.common.tls;

import io.grpc.ChannelCredentials;
import io.grpc.ServerCredentials;
import io.grpc.TlsChannelCredentials;
import io.grpc.TlsServerCredentials;
import java.io.IOException;
import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.net.ssl.X509ExtendedTrustManager;
import javax.net.ssl.X509TrustManager;

/** gRPC credentials for the fleet's TLS: mutual TLS against the fleet CA, and the pinned bootstrap. */
public final class Tls {
  private static final String SERVER_AUTH = "1.3.6.1.5.5.7.3.1";

  private Tls() {}

  /**
   * The coordinator's side: its certificate chain (serving certificate then CA, so a joining
   * agent can check the CA against its token), and client certificates verified against the CA
   * when presented (a joining agent has none yet; the interceptor decides what each caller may do).
   */
  public static ServerCredentials server(X509Certificate cert, PrivateKey key, X509Certificate ca) {
    return server(cert, key, ca, c -> false);
  }

  /**
   * As {@link #server(X509Certificate, PrivateKey, X509Certificate)}; a client certificate for which
   * {@code issuedHere} holds (the CA recorded exactly these bytes when it issued them) is trusted
   * without its signature checked again, once it is within its validity and made for clients:
   * checking an EC signature in Java is most of what a TLS handshake costs the coordinator.
   */
  public static ServerCredentials server(X509Certificate cert, PrivateKey key, X509Certificate ca,
      java.util.function.Predicate<X509Certificate> issuedHere) {
    try {
      return TlsServerCredentials.newBuilder()
          .keyManager(new OwnKey(key, cert, ca))
          .trustManager(new IssuedFirst(pkix(ca), issuedHere))
          .clientAuth(TlsServerCredentials.ClientAuth.OPTIONAL)
          .build();
    } catch (IOException | GeneralSecurityException e) {
      throw new IllegalStateException("cannot set up the coordinator's TLS: " + e.getMessage(), e);
    }
  }

  /** The JDK's PKIX trust manager with the CA as its only anchor. */
  static X509ExtendedTrustManager pkix(X509Certificate ca) throws IOException, GeneralSecurityException {
    java.security.KeyStore anchors = java.security.KeyStore.getInstance(java.security.KeyStore.getDefaultType());
    anchors.load(null, null);
    anchors.setCertificateEntry("ca", ca);
    javax.net.ssl.TrustManagerFactory f = javax.net.ssl.TrustManagerFactory.getInstance(javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
    f.init(anchors);
    for (javax.net.ssl.TrustManager t : f.getTrustManagers()) {
      if (t instanceof X509ExtendedTrustManager x) {
        return x;
      }
    }
    throw new GeneralSecurityException("no X.509 trust manager");
  }

  /** Client certificates: those the CA recorded as issued by their exact bytes first, the full PKIX check otherwise. */
  static final class IssuedFirst extends X509ExtendedTrustManager {
    private static final String CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
    private final X509ExtendedTrustManager pkix;
    private final java.util.function.Predicate<X509Certificate> issuedHere;

    IssuedFirst(X509ExtendedTrustManager pkix, java.util.function.Predicate<X509Certificate> issuedHere) {
      this.pkix = pkix;
      this.issuedHere = issuedHere;
    }

    /**
     * Whether the chain's certificate is one the CA issued, for clients, not expired (throws when it
     * has). Its notBefore is not held against it: the record shows this CA made it, and a start still
     * to come says only that the coordinator's clock ran ahead when it signed and was stepped back
     * since (refused, every node that joined or renewed then was locked out until that day; helper-163).
     */
    private boolean known(X509Certificate[] chain) throws CertificateException {
      if (chain == null || chain.length == 0 || !issuedHere.test(chain[0])) {
        return false;
      }
      List<String> usage = chain[0].getExtendedKeyUsage();
      if (usage == null || !usage.contains(CLIENT_AUTH)) {
        return false; // the full check decides (and refuses)
      }
      if (System.currentTimeMillis() > chain[0].getNotAfter().getTime()) {
        throw new java.security.cert.CertificateExpiredException("certificate expired on " + chain[0].getNotAfter().toInstant());
      }
      return true;
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
      if (!known(chain)) {
        pkix.checkClientTrusted(chain, authType);
      }
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, java.net.Socket socket) throws CertificateException {
      if (!known(chain)) {
        pkix.checkClientTrusted(chain, authType, socket);
      }
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, javax.net.ssl.SSLEngine engine) throws CertificateException {
      if (!known(chain)) {
        pkix.checkClientTrusted(chain, authType, engine);
      }
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
      throw new CertificateException("not a client trust manager");
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, java.net.Socket socket) throws CertificateException {
      throw new CertificateException("not a client trust manager");
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, javax.net.ssl.SSLEngine engine) throws CertificateException {
      throw new CertificateException("not a client trust manager");
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return pkix.getAcceptedIssuers();
    }
  }

  /** A client with a certificate (node, admin or viewer), trusting only the fleet CA. */
  public static ChannelCredentials client(X509Certificate ca, X509Certificate cert, PrivateKey key) {
    return TlsChannelCredentials.newBuilder().keyManager(clientKey(key, cert)).trustManager(fleetTrust(ca)).build();
  }

  /**
   * The key and trust of {@link #client(X509Certificate, X509Certificate, PrivateKey)}, for a client
   * that builds its TLS context once and connects many times with it (the agent: a trust store
   * built and a context made for every reconnect try cost CPU in a fleet's reconnect storm).
   */
  public static X509ExtendedKeyManager clientKey(PrivateKey key, X509Certificate cert) {
    return new OwnKey(key, cert);
  }

  /** @see #clientKey */
  public static X509ExtendedTrustManager fleetTrust(X509Certificate ca) {
    try {
      return pkix(ca);
    } catch (IOException | GeneralSecurityException e) {
      throw new IllegalStateException("cannot set up TLS with the fleet CA: " + e.getMessage(), e);
    }
  }

  /**
   * A client from a credential bundle (what dsctl reads): the client certificate first, its key,
   * and the fleet CA last, in one PEM text.
   *
   * @throws IllegalArgumentException when the text is not such a bundle
   */
  public static ChannelCredentials client(String bundlePem) {
    List<X509Certificate> certs = Pki.certificates(bundlePem);
    if (certs.size() < 2) {
      throw new IllegalArgumentException("not a credential: it must hold the client certificate, its key and the CA");
    }
    return client(certs.get(certs.size() - 1), certs.get(0), Pki.privateKey(bundlePem));
  }

  /** A client without a certificate that trusts a coordinator only if its chain holds the CA with this hash. */
  public static ChannelCredentials pinned(String caHash) {
    return TlsChannelCredentials.newBuilder().trustManager(pinnedTrust(caHash)).build();
  }

  /** @see #pinned */
  public static X509TrustManager pinnedTrust(String caHash) {
    return new PinnedTrust(caHash);
  }

  /** Trusts a server whose chain carries the pinned CA and whose certificate that CA signed for serving. */
  static final class PinnedTrust implements X509TrustManager {
    private final String pin;

    PinnedTrust(String pin) {
      this.pin = pin;
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
      X509Certificate ca = null;
      for (X509Certificate c : chain) {
        if (Pki.fingerprint(c).equals(pin)) {
          ca = c;
        }
      }
      if (ca == null) {
        throw new CertificateException("the coordinator's CA is not the one the join token pins (sha256 " + pin + ")");
      }
      try {
        chain[0].verify(ca.getPublicKey());
      } catch (GeneralSecurityException e) {
        throw new CertificateException("the coordinator's certificate is not signed by the pinned CA", e);
      }
      chain[0].checkValidity();
      List<String> usage = chain[0].getExtendedKeyUsage();
      if (usage == null || !usage.contains(SERVER_AUTH)) {
        throw new CertificateException("the coordinator's certificate is not a serving certificate");
      }
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
      throw new CertificateException("not a server trust manager");
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return new X509Certificate[0];
    }
  }

  /**
   * The one key and certificate chain this side shows, handed over as the JDK's own objects: given
   * PEM instead, Netty parses it with BouncyCastle where that is on the classpath and loads its whole
   * provider (about 800 classes in an agent that otherwise needs none: docs/benchmarks.md). Offered
   * for the key's own algorithm only, as the JDK's key managers do (JSSE asks for "EC", "RSA", ...;
   * a suffix after "_", as in Netty's OpenSSL key types, is not compared), and JSSE checks the key
   * against the type again before it uses it.
   */
  static final class OwnKey extends X509ExtendedKeyManager {
    private static final String ALIAS = "dsfleet";
    private final PrivateKey key;
    private final X509Certificate[] chain;

    OwnKey(PrivateKey key, X509Certificate... chain) {
      this.key = key;
      this.chain = chain.clone();
    }

    private boolean fits(String keyType) {
      if (keyType == null) {
        return false;
      }
      int underscore = keyType.indexOf('_');
      return (underscore < 0 ? keyType : keyType.substring(0, underscore)).equals(key.getAlgorithm());
    }

    private String alias(String... keyTypes) {
      for (String t : keyTypes == null ? new String[0] : keyTypes) {
        if (fits(t)) {
          return ALIAS;
        }
      }
      return null;
    }

    @Override
    public String[] getClientAliases(String keyType, Principal[] issuers) {
      return fits(keyType) ? new String[] {ALIAS} : null;
    }

    @Override
    public String chooseClientAlias(String[] keyTypes, Principal[] issuers, Socket socket) {
      return alias(keyTypes);
    }

    @Override
    public String chooseEngineClientAlias(String[] keyTypes, Principal[] issuers, SSLEngine engine) {
      return alias(keyTypes);
    }

    @Override
    public String[] getServerAliases(String keyType, Principal[] issuers) {
      return getClientAliases(keyType, issuers);
    }

    @Override
    public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
      return alias(keyType);
    }

    @Override
    public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
      return alias(keyType);
    }

    @Override
    public X509Certificate[] getCertificateChain(String alias) {
      return ALIAS.equals(alias) ? chain.clone() : null;
    }

    @Override
    public PrivateKey getPrivateKey(String alias) {
      return ALIAS.equals(alias) ? key : null;
    }
  }
}
