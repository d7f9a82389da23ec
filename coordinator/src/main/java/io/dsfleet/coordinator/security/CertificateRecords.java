package io.dsfleet.coordinator.security;

import io.dsfleet.coordinator.store.Store.IssuedCertificate;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/** Which certificates' records the CA deletes at its start (a certificate without a record is revoked). */
final class CertificateRecords {
  private CertificateRecords() {}

  /** How long past its expiry a certificate's record is kept: a clock that jumped ahead purges no record still in use. */
  static final Duration RECORDS_KEPT_PAST_EXPIRY = Duration.ofDays(30);

  /**
   * Records of certificates that expired before this are deleted at start (0: none): a record's
   * absence means revoked, so the time is the earlier of this clock's and the newest issuance
   * recorded, less {@link #RECORDS_KEPT_PAST_EXPIRY}. Before 2026-12-05 it was this clock's time:
   * a leader whose clock ran 31 days fast deleted every node's record at the start of its term,
   * revoking the whole fleet in the group's replicated store (a review).
   */
  static long purgeHorizon(long nowMillis, List<IssuedCertificate> records) {
    long newest = records.stream().mapToLong(IssuedCertificate::issuedMillis).max().orElse(0);
    long horizon = Math.min(nowMillis, newest) - RECORDS_KEPT_PAST_EXPIRY.toMillis();
    return Math.max(0, horizon);
  }

  /**
   * Records of certificates that expired before this are deleted at start: {@link #purgeHorizon},
   * but never past the newest unrevoked record of a name and role (a leader whose clock ran fast and
   * issued one certificate then moved the newest issuance with it, and its next term deleted every
   * record, a review): whatever a clock does, each node and credential keeps the record of its
   * latest certificate; a revoked one may go (no record means revoked). One time, not a list of
   * serials: the store's command replicas of every version apply.
   */
  static long deletedBefore(long nowMillis, List<IssuedCertificate> records) {
    Map<String, IssuedCertificate> newest = new java.util.HashMap<>();
    for (IssuedCertificate c : records) {
      newest.merge(c.role() + "/" + c.name(), c, (a, b) -> b.issuedMillis() > a.issuedMillis() ? b : a);
    }
    long horizon = purgeHorizon(nowMillis, records);
    for (IssuedCertificate c : newest.values()) {
      if (c.revokedMillis() == 0) {
        horizon = Math.min(horizon, c.notAfterMillis());
      }
    }
    return horizon;
  }
}
