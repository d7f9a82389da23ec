package io.dsfleet.coordinator.security;

import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/** The TLS of the coordinator's HTTPS listeners (the dashboard, the Kubernetes API): its serving certificate, for the JDK's server. */
public final class ServingTls {
  private ServingTls() {}

  /**
   * @param chain the serving certificate, then the fleet CA
   * @param clientCa the CA whose client certificates the listener takes; null: it asks for none
   */
  public static SSLContext context(X509Certificate[] chain, PrivateKey key, X509Certificate clientCa) {
    try {
      KeyStore keys = KeyStore.getInstance("PKCS12");
      keys.load(null, null);
      char[] none = new char[0];
      keys.setKeyEntry("serving", key, none, chain);
      KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      kmf.init(keys, none);
      TrustManagerFactory tmf = null;
      if (clientCa != null) {
        KeyStore anchors = KeyStore.getInstance("PKCS12");
        anchors.load(null, null);
        anchors.setCertificateEntry("fleet-ca", clientCa);
        tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(anchors);
      }
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(kmf.getKeyManagers(), tmf == null ? null : tmf.getTrustManagers(), null);
      return ctx;
    } catch (Exception e) {
      throw new IllegalStateException("the serving certificate's TLS: " + e.getMessage(), e);
    }
  }
}
