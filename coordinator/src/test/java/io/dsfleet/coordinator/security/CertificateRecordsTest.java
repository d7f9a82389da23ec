package io.dsfleet.coordinator.security;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.coordinator.store.SqliteStore;
import io.dsfleet.coordinator.store.Store.IssuedCertificate;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A certificate without a record is revoked, so the records deleted at start must be only those
 * no certificate in use needs. A review's leader, its clock 400 days fast, deleted them all at the
 * start of its term, in the group's replicated store: every node and credential revoked.
 */
class CertificateRecordsTest {
  @TempDir Path dir;

  @Test
  void aClockThatRanAheadDeletesNoRecordStillInUse() {
    Path data = dir.resolve("data");
    try (SqliteStore store = new SqliteStore(data)) {
      Authority.open(data, List.of("127.0.0.1"), store, Clock.systemUTC(), Duration.ofDays(30));
      List<IssuedCertificate> records = store.certificates();
      assertThat(records).as("the first credentials' records").isNotEmpty();
      Authority ahead = Authority.open(data, List.of("127.0.0.1"), store, Clock.offset(Clock.systemUTC(), Duration.ofDays(400)),
          Duration.ofDays(30));
      assertThat(store.certificates()).hasSameSizeAs(records);
      IssuedCertificate admin = records.stream().filter(c -> c.name().equals("admin")).findFirst().orElseThrow();
      assertThat(ahead.revoked(admin.serial(), admin.role(), admin.name())).isFalse();
    }
  }

  /**
   * A revocation the store refuses part-way (a full disk: the first record's write fit in the WAL,
   * the second's did not) revoked the first certificate, in memory and on disk, and threw before
   * the calls open under it were ended; the retry revokes only the second. Before 2026-12-05 a
   * stream open under the first (a log follow, a watch) went on for good under a revoked credential
   * (helper-94): its end now comes with the failed call.
   */
  @Test
  void aRevocationTheStoreRefusesPartWayEndsTheCallsOfWhatItDidRevoke() {
    Path data = dir.resolve("data");
    try (SqliteStore sqlite = new SqliteStore(data)) {
      int[] certificateWrites = {0};
      int[] failAt = {0};
      io.dsfleet.coordinator.store.Store store = (io.dsfleet.coordinator.store.Store) java.lang.reflect.Proxy.newProxyInstance(
          io.dsfleet.coordinator.store.Store.class.getClassLoader(), new Class<?>[] {io.dsfleet.coordinator.store.Store.class},
          (p, m, args) -> {
            if (m.getName().equals("putCertificate") && ++certificateWrites[0] == failAt[0]) {
              throw new io.dsfleet.coordinator.store.StoreException("store write failed: [SQLITE_FULL] (a test's)", null);
            }
            try {
              return m.invoke(sqlite, args);
            } catch (java.lang.reflect.InvocationTargetException e) {
              throw e.getCause();
            }
          });
      Authority ca = Authority.open(data, List.of("127.0.0.1"), store, Clock.systemUTC(), Duration.ofDays(30));
      ca.credential("ops", io.dsfleet.common.tls.Pki.ADMINS);
      ca.credential("ops", io.dsfleet.common.tls.Pki.ADMINS);
      List<String> serials = ca.certificatesOf("ops", io.dsfleet.common.tls.Pki.ADMINS).stream().map(IssuedCertificate::serial).toList();
      assertThat(serials).hasSize(2);
      boolean[] ended = new boolean[2];
      ca.onRevoke(serials.get(0), () -> ended[0] = true);
      ca.onRevoke(serials.get(1), () -> ended[1] = true);
      failAt[0] = certificateWrites[0] + 2; // the first revocation's write goes through, the second's is refused
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> ca.revoke("ops", io.dsfleet.common.tls.Pki.ADMINS))
          .isInstanceOf(io.dsfleet.coordinator.store.StoreException.class);
      assertThat(ca.revoked(serials.get(0), io.dsfleet.common.tls.Pki.ADMINS, "ops")).as("the first, revoked before the refusal").isTrue();
      assertThat(ended[0]).as("the call open under the certificate the failed revocation did revoke").isTrue();
      assertThat(ca.revoke("ops", io.dsfleet.common.tls.Pki.ADMINS)).as("the retry revokes the rest").isEqualTo(1);
      assertThat(ended[1]).isTrue();
    }
  }

  @Test
  void recordsGoThirtyDaysAfterTheyExpiredByTheEarlierOfTheClockAndTheNewestIssuance() {
    long day = Duration.ofDays(1).toMillis();
    long now = 1_000 * day;
    var issuedLately = new IssuedCertificate("s", "n", "nodes", now, 0, now - day, "token", "");
    assertThat(CertificateRecords.purgeHorizon(now, List.of(issuedLately))).isEqualTo(now - 31 * day);
    assertThat(CertificateRecords.purgeHorizon(now + 400 * day, List.of(issuedLately))).as("a clock ahead of every issuance").isEqualTo(now - 31 * day);
    assertThat(CertificateRecords.purgeHorizon(now, List.of())).as("nothing issued: nothing to delete").isZero();
  }

  /** A leader whose clock ran fast issued a certificate then: its next term still keeps every name's newest record. */
  @Test
  void eachNamesNewestRecordStaysWhateverTheClock() {
    long day = Duration.ofDays(1).toMillis();
    long now = 1_000 * day;
    var old = new IssuedCertificate("old", "n1", "nodes", now - 40 * day, 0, now - 70 * day, "token", "");
    var current = new IssuedCertificate("current", "n1", "nodes", now + 20 * day, 0, now - 10 * day, "renewal", "");
    var admin = new IssuedCertificate("admin", "admin", "admins", now + 300 * day, 0, now - 65 * day, "init", "");
    var fromTheFuture = new IssuedCertificate("fast", "viewer", "viewers", now + 430 * day, 0, now + 400 * day, "credential", "");
    var removed = new IssuedCertificate("removed", "n2", "nodes", now - 200 * day, now - 230 * day, now - 230 * day, "token", "");
    List<IssuedCertificate> records = List.of(old, current, admin, fromTheFuture, removed);
    for (long clock : List.of(now, now + 400 * day)) {
      long before = CertificateRecords.deletedBefore(clock, records);
      assertThat(records.stream().filter(c -> c.notAfterMillis() < before).map(IssuedCertificate::serial))
          .as("deleted with the clock at day %d: the old and the revoked; every name's newest unrevoked record stays", clock / day)
          .containsExactlyInAnyOrder("old", "removed");
    }
  }
}
