package io.dsfleet.coordinator.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.dsfleet.common.testing.FakeClock;
import io.dsfleet.common.tls.Pki;
import io.dsfleet.coordinator.fleet.ControlException;
import io.dsfleet.coordinator.store.SqliteStore;
import io.grpc.Status;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A node renews its certificate with its current one: not once that one is revoked (even by a call
 * that began before the revocation and waited), and a few times at most within an hour (a client
 * renewing in a loop would fill the store with records); a renewal revokes what the presented
 * certificate was renewed from, never another branch.
 */
class RenewalTest {
  @TempDir Path dir;
  final FakeClock clock = new FakeClock();

  @Test
  void aRenewalIsRefusedOnceItsCertificateIsRevokedAndWhenTooFrequent() {
    try (SqliteStore store = new SqliteStore(dir.resolve("data"))) {
      Authority ca = Authority.open(dir.resolve("data"), List.of("127.0.0.1"), store, clock, Duration.ofDays(30));
      String token = ca.createToken(Duration.ofHours(1), "test").text();
      X509Certificate first = ca.admit(ca.present(token, "node-a", csr(), false), false, "", false).certificate();
      String serial = Pki.serialHex(first);

      X509Certificate renewed = ca.renew("node-a", serial, csr());
      assertThat(renewed.getSerialNumber()).isNotEqualTo(first.getSerialNumber());
      clock.advance(Duration.ofMillis(1));
      ca.renew("node-a", serial, csr()); // its answer lost: asked again
      clock.advance(Duration.ofMillis(1));
      X509Certificate kept = ca.renew("node-a", serial, csr());
      assertThat(code(() -> ca.renew("node-a", serial, csr()))).as("a fourth renewal within the hour")
          .isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
      assertThat(ca.certificatesOf("node-a", Pki.NODES)).as("renewing with the first revokes nothing newer")
          .allMatch(c -> c.revokedMillis() == 0);
      renewed = kept;
      clock.advance(Authority.RENEWAL_WINDOW.plusSeconds(1)); // refused for the hour only
      clock.advance(Duration.ofMillis(1));
      renewed = ca.renew("node-a", Pki.serialHex(renewed), csr());
      assertThat(ca.certificatesOf("node-a", Pki.NODES)).as("renewing with the last: what it was renewed from revoked")
          .filteredOn(c -> c.serial().equals(serial)).singleElement().satisfies(c -> assertThat(c.revokedMillis()).isNotZero());
      assertThat(ca.certificatesOf("node-a", Pki.NODES)).as("the lost answers, another branch, run out with their time")
          .filteredOn(c -> c.revokedMillis() == 0).hasSize(4);

      // a copy of an older certificate (a backup) renewing: refused, it was revoked; and had it not
      // been, it would revoke nothing newer (the agent's current certificate stays)
      assertThat(code(() -> ca.renew("node-a", serial, csr()))).isEqualTo(Status.Code.UNAUTHENTICATED);

      String newest = Pki.serialHex(renewed);
      ca.revoke("node-a", Pki.NODES); // the node removed, or its certificates revoked, while a renewal waited
      assertThat(code(() -> ca.renew("node-a", newest, csr()))).as("a renewal with a certificate revoked meanwhile")
          .isEqualTo(Status.Code.UNAUTHENTICATED);
      assertThat(ca.certificatesOf("node-a", Pki.NODES)).as("nothing signed after the revocation")
          .allMatch(c -> c.revokedMillis() != 0);
    }
  }

  /** A copy of an older certificate (a backup, a pod that mounts pki/) renewing must not lock the real agent out. */
  @Test
  void aCopyOfAnOlderCertificateRenewingRevokesNothingNewer() {
    try (SqliteStore store = new SqliteStore(dir.resolve("data"))) {
      Authority ca = Authority.open(dir.resolve("data"), List.of("127.0.0.1"), store, clock, Duration.ofDays(30));
      X509Certificate first = ca.admit(ca.present(ca.createToken(Duration.ofHours(1), "test").text(), "node-a", csr(), false), false, "", false).certificate();
      clock.advance(Duration.ofMinutes(1));
      X509Certificate current = ca.renew("node-a", Pki.serialHex(first), csr()); // the agent's, stored and in use
      clock.advance(Duration.ofMinutes(1));
      X509Certificate copy = ca.renew("node-a", Pki.serialHex(first), csr()); // the copy's holder
      clock.advance(Duration.ofMinutes(1));
      ca.renew("node-a", Pki.serialHex(copy), csr()); // and again with what it got: newer than the agent's
      assertThat(ca.certificatesOf("node-a", Pki.NODES)).as("the agent's current certificate").filteredOn(c -> c.serial()
          .equals(Pki.serialHex(current))).singleElement().satisfies(c -> assertThat(c.revokedMillis()).isZero());
      assertThat(ca.certificatesOf("node-a", Pki.NODES)).as("the copy's line: what it renewed from is revoked").filteredOn(c -> c.serial()
          .equals(Pki.serialHex(first))).singleElement().satisfies(c -> assertThat(c.revokedMillis()).isNotZero());
    }
  }

  /** A certificate renewed before parents were recorded ("renewal"): its renewal revokes what was issued before it, as then. */
  @Test
  void aRenewalOfACertificateRecordedWithoutItsParentRevokesWhatCameBefore() {
    try (SqliteStore store = new SqliteStore(dir.resolve("data"))) {
      Authority ca = Authority.open(dir.resolve("data"), List.of("127.0.0.1"), store, clock, Duration.ofDays(30));
      X509Certificate first = ca.admit(ca.present(ca.createToken(Duration.ofHours(1), "test").text(), "node-a", csr(), false), false, "", false).certificate();
      clock.advance(Duration.ofMinutes(1));
      X509Certificate current = ca.renew("node-a", Pki.serialHex(first), csr());
      var record = ca.certificatesOf("node-a", Pki.NODES).stream().filter(c -> c.serial().equals(Pki.serialHex(current))).findFirst()
          .orElseThrow();
      store.putCertificate(new io.dsfleet.coordinator.store.Store.IssuedCertificate(record.serial(), record.name(), record.role(),
          record.notAfterMillis(), 0, record.issuedMillis(), "renewal", record.sha256())); // as an older coordinator wrote it
      Authority upgraded = Authority.open(dir.resolve("data"), List.of("127.0.0.1"), store, clock, Duration.ofDays(30));
      clock.advance(Duration.ofMinutes(1));
      upgraded.renew("node-a", Pki.serialHex(current), csr());
      assertThat(upgraded.certificatesOf("node-a", Pki.NODES)).filteredOn(c -> c.serial().equals(Pki.serialHex(first)))
          .singleElement().satisfies(c -> assertThat(c.revokedMillis()).as("the admission's certificate").isNotZero());
    }
  }

  /**
   * A copy of a node's certificate renewing in a loop with requests that fail their check (or that
   * pass it, once the node's renewals ran out): each request was read and its signature checked
   * under the CA's monitor, which a join waits for under the fleet's lock, so every session,
   * report and apply waited behind the loop. Read before the monitor now: refused while another
   * holds it.
   */
  @Test
  void aRenewalsRequestIsReadBeforeTheCasMonitor() throws Exception {
    try (SqliteStore store = new SqliteStore(dir.resolve("data"))) {
      Authority ca = Authority.open(dir.resolve("data"), List.of("127.0.0.1"), store, clock, Duration.ofDays(30));
      String token = ca.createToken(Duration.ofHours(1), "test").text();
      String serial = Pki.serialHex(ca.admit(ca.present(token, "node-a", csr(), false), false, "", false).certificate());
      java.util.concurrent.CountDownLatch held = new java.util.concurrent.CountDownLatch(1);
      java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
      var holder = java.util.concurrent.CompletableFuture.runAsync(() -> {
        synchronized (ca) { // what a join signing under the fleet's lock holds, or a slow store's commit of it
          held.countDown();
          try {
            release.await(20, java.util.concurrent.TimeUnit.SECONDS);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }
      });
      try {
        assertThat(held.await(10, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        for (String request : List.of("x".repeat(1 << 20), Pki.csr(Pki.newKeyPair(), "node-b", Pki.NODES))) {
          var refused = java.util.concurrent.CompletableFuture.supplyAsync(() -> code(() -> ca.renew("node-a", serial, request)));
          assertThat(refused.get(5, java.util.concurrent.TimeUnit.SECONDS)).as("refused while the CA's monitor is held")
              .isIn(Status.Code.INVALID_ARGUMENT, Status.Code.PERMISSION_DENIED);
        }
      } finally {
        release.countDown();
        holder.get(20, java.util.concurrent.TimeUnit.SECONDS);
      }
    }
  }

  /**
   * A renewal whose key is on a curve costly to check (sect571k1: 25 times P-256's check) is
   * INVALID_ARGUMENT naming the curve, before its signature is checked; refused, it counts against
   * no budget, which is why its check must be cheap (a node's certificate could send it in a loop).
   */
  @Test
  void aRenewalWithAKeyOnACostlyCurveIsRefusedNamingIt() throws Exception {
    try (SqliteStore store = new SqliteStore(dir.resolve("data"))) {
      Authority ca = Authority.open(dir.resolve("data"), List.of("127.0.0.1"), store, clock, Duration.ofDays(30));
      String token = ca.createToken(Duration.ofHours(1), "test").text();
      String serial = Pki.serialHex(ca.admit(ca.present(token, "node-a", csr(), false), false, "", false).certificate());
      var bc = new org.bouncycastle.jce.provider.BouncyCastleProvider();
      var g = java.security.KeyPairGenerator.getInstance("EC", bc);
      g.initialize(new java.security.spec.ECGenParameterSpec("sect571k1"));
      var keys = g.generateKeyPair();
      var req = new org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder(
          new org.bouncycastle.asn1.x500.X500Name("O=" + Pki.NODES + ",CN=node-a"), keys.getPublic())
          .build(new org.bouncycastle.operator.jcajce.JcaContentSignerBuilder("SHA256withECDSA").setProvider(bc).build(keys.getPrivate()));
      String pem = "-----BEGIN CERTIFICATE REQUEST-----\n" + java.util.Base64.getMimeEncoder(64, "\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII))
          .encodeToString(req.getEncoded()) + "\n-----END CERTIFICATE REQUEST-----\n";
      ControlException refused = catchThrowableOfType(ControlException.class, () -> ca.renew("node-a", serial, pem));
      assertThat(refused.code()).isEqualTo(Status.Code.INVALID_ARGUMENT);
      assertThat(refused).hasMessageContaining("EC key is on sect571k1");
      for (int i = 0; i < Authority.RENEWALS_PER_WINDOW; i++) { // the refusal took none of the window's renewals
        clock.advance(Duration.ofMillis(1));
        ca.renew("node-a", serial, csr());
      }
    }
  }

  private static String csr() {
    return Pki.csr(Pki.newKeyPair(), "node-a", Pki.NODES);
  }

  private static Status.Code code(Runnable call) {
    return catchThrowableOfType(ControlException.class, call::run).code();
  }
}
