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
 * renewing in a loop would fill the store with records); a renewal leaves the node two valid
 * certificates at most.
 */
class RenewalTest {
  @TempDir Path dir;
  final FakeClock clock = new FakeClock();

  @Test
  void aRenewalIsRefusedOnceItsCertificateIsRevokedAndWhenTooFrequent() {
    try (SqliteStore store = new SqliteStore(dir.resolve("data"))) {
      Authority ca = Authority.open(dir.resolve("data"), List.of("127.0.0.1"), store, clock, Duration.ofDays(30));
      String token = ca.createToken(Duration.ofHours(1), "test").text();
      X509Certificate first = ca.admit(token, "node-a", csr(), false).certificate();
      String serial = Pki.serialHex(first);

      X509Certificate renewed = ca.renew("node-a", serial, csr());
      assertThat(renewed.getSerialNumber()).isNotEqualTo(first.getSerialNumber());
      ca.renew("node-a", serial, csr()); // its answer lost: asked again
      X509Certificate kept = ca.renew("node-a", serial, csr());
      assertThat(code(() -> ca.renew("node-a", serial, csr()))).as("a fourth renewal within the hour")
          .isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
      assertThat(ca.certificatesOf("node-a", Pki.NODES)).as("valid: the one renewed with and the newest; the lost answers revoked")
          .filteredOn(c -> c.revokedMillis() == 0).extracting(c -> c.serial())
          .containsExactlyInAnyOrder(serial, Pki.serialHex(kept));
      renewed = kept;
      clock.advance(Authority.RENEWAL_WINDOW.plusSeconds(1)); // refused for the hour only
      renewed = ca.renew("node-a", Pki.serialHex(renewed), csr());
      assertThat(ca.certificatesOf("node-a", Pki.NODES)).as("the admission's certificate goes once the node renewed with a newer one")
          .filteredOn(c -> c.revokedMillis() == 0).hasSize(2).noneMatch(c -> c.serial().equals(serial));

      String newest = Pki.serialHex(renewed);
      ca.revoke("node-a", Pki.NODES); // the node removed, or its certificates revoked, while a renewal waited
      assertThat(code(() -> ca.renew("node-a", newest, csr()))).as("a renewal with a certificate revoked meanwhile")
          .isEqualTo(Status.Code.UNAUTHENTICATED);
      assertThat(ca.certificatesOf("node-a", Pki.NODES)).as("nothing signed after the revocation")
          .allMatch(c -> c.revokedMillis() != 0);
    }
  }

  private static String csr() {
    return Pki.csr(Pki.newKeyPair(), "node-a", Pki.NODES);
  }

  private static Status.Code code(Runnable call) {
    return catchThrowableOfType(ControlException.class, call::run).code();
  }
}
