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
