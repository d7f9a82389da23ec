package io.dsfleet.coordinator.replication;

import io.dsfleet.common.tls.CertificateAuthority;
import io.dsfleet.common.tls.Pki;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;
import org.apache.ratis.grpc.GrpcTlsConfig;

/**
 * Mutual TLS between replicas: each presents a replica certificate of the fleet CA
 * ({@link Pki#REPLICAS}) and accepts only such a certificate from the other side. A node's or an
 * admin's certificate, signed by the same CA, is refused: only replicas append to the log.
 */
public final class PeerTls {
  private PeerTls() {}

  static GrpcTlsConfig config(X509Certificate ca, X509Certificate cert, PrivateKey key) {
    return new GrpcTlsConfig(keyManager(ca, cert, key), new ReplicasOnly(ca), true);
  }

  private static KeyManager keyManager(X509Certificate ca, X509Certificate cert, PrivateKey key) {
    try {
      KeyStore ks = KeyStore.getInstance("PKCS12");
      ks.load(null, null);
      ks.setKeyEntry("replica", key, new char[0], new X509Certificate[] {cert, ca});
      KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      kmf.init(ks, new char[0]);
      return kmf.getKeyManagers()[0];
    } catch (Exception e) {
      throw new IllegalStateException("cannot load the replica's certificate: " + e.getMessage(), e);
    }
  }

  /** Chains to the fleet CA (PKIX) and names the replicas' role; anything else is refused. */
  static final class ReplicasOnly implements X509TrustManager {
    private final X509TrustManager pkix;
    private final X509Certificate ca;

    ReplicasOnly(X509Certificate ca) {
      this.ca = ca;
      try {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setCertificateEntry("fleet-ca", ca);
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ks);
        TrustManager tm = tmf.getTrustManagers()[0];
        this.pkix = (X509TrustManager) tm;
      } catch (Exception e) {
        throw new IllegalStateException("cannot trust the fleet CA: " + e.getMessage(), e);
      }
    }

    private static void requireReplica(X509Certificate[] chain) throws CertificateException {
      if (chain == null || chain.length == 0) {
        throw new CertificateException("no certificate");
      }
      String role = CertificateAuthority.subject(chain[0]).role();
      if (!Pki.REPLICAS.equals(role)) {
        throw new CertificateException("not a replica certificate (role " + role + ")");
      }
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
      pkix.checkClientTrusted(chain, authType);
      requireReplica(chain);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
      pkix.checkServerTrusted(chain, authType);
      requireReplica(chain);
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return new X509Certificate[] {ca};
    }
  }
}
