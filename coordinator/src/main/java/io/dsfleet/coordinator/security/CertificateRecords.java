package io.dsfleet.coordinator.security;

import io.dsfleet.common.tls.Pki;
import io.dsfleet.coordinator.store.Store.IssuedCertificate;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/** Which certificates' records the CA deletes at its start (a certificate without a record is revoked). */
final class CertificateRecords {
  private CertificateRecords() {}

  /**
   * Whether a node's certificates have all lapsed: it has one at least, none it could still present
   * (each expired or revoked), and the newest expired unrevoked (an admin's revocation of the node
   * revokes every one, the newest with them). Its agent (its leave secret shown) may then be
   * re-admitted by any join token ({@link Authority#admit}): an outage of the coordinator longer than
   * a certificate has left (a third of {@code nodeCertTtl} once renewed) left every node of a fleet
   * with only an expired certificate, each refused as a member by the token its agent joins with
   * until an admin made one token per node (and the node's collection, the other way back, waits
   * while most of the fleet is NotReady, as all of it is then).
   */
  static boolean lapsed(List<IssuedCertificate> records, long nowMillis) {
    IssuedCertificate newest = null;
    for (IssuedCertificate c : records) {
      if (c.revokedMillis() == 0 && c.notAfterMillis() > nowMillis) {
        return false; // one it can present: it needs no token
      }
      if (newest == null || c.issuedMillis() > newest.issuedMillis()) {
        newest = c;
      }
    }
    return newest != null && newest.revokedMillis() == 0;
  }

  /**
   * A CA is made ({@link Authority#open}) only where none issued anything yet: a
   * {@code pki/ca.crt} lost (deleted, a file system's repair) in a data directory whose store
   * records certificates beyond what a first start records before it keeps its CA (the
   * {@code admin} and {@code viewer} credentials) is refused, naming it, and nothing is written:
   * a node's, a replica's, a credential made with dsctl show the directory had its CA (an insecure
   * coordinator records none). Before 2026-12-06 a start there made a new CA, wrote its key over
   * the old one's and new admin and viewer credentials over theirs: every node's and credential's
   * certificate refused from then on, the old CA's key gone for good (helper-139). An admin who
   * replaces the CA on purpose (a leaked CA or serving key) says so ({@link #replaceAsked}): from
   * 2026-12-06 to that fix this refusal barred docs/security.md's rotation of the CA, and said no
   * way on but putting the old CA back (helper-149).
   */
  static void refuseNewCaOverAFleet(java.nio.file.Path pkiDir, List<IssuedCertificate> records) {
    if (replaceAsked(pkiDir)) {
      return;
    }
    List<IssuedCertificate> issued = records.stream().filter(c -> !(c.name().equals("admin") && c.role().equals(Pki.ADMINS))
        && !(c.name().equals("viewer") && c.role().equals(Pki.VIEWERS))).toList();
    if (!issued.isEmpty()) {
      throw new IllegalStateException(pkiDir.resolve("ca.crt") + " is missing, but the store records " + issued.size()
          + " certificate" + (issued.size() == 1 ? "" : "s") + " its CA issued (" + issued.get(0).role() + " " + issued.get(0).name()
          + (issued.size() > 1 ? ", ..." : "") + "): a new CA would cut every node and credential off; nothing made. Put the"
          + " fleet's ca.crt back beside its ca.key (its backup, or the last certificate of any credential file, admin.pem among"
          + " them: each holds a copy); or, to replace the fleet's CA on purpose, create " + pkiDir.resolve(REPLACE_CA) + " (an empty"
          + " file) and start again: a new CA, credentials and join token, every node to join again (docs/security.md, \"Rotating"
          + " everything\")");
    }
  }

  /**
   * The file an admin creates in {@code pki/} beside a {@code ca.crt} removed to have the next start
   * ({@code serve}, {@code init}) make a new CA over a fleet's records; the start removes it. A
   * file, not an option, so the shipped unit (DynamicUser=, whose directory root's {@code init}
   * may not write) takes it at its next start, and no option left in a unit replaces a CA lost later.
   */
  static final String REPLACE_CA = "replace-ca";

  /** Whether {@link #REPLACE_CA} is in {@code pkiDir}. */
  static boolean replaceAsked(java.nio.file.Path pkiDir) {
    return java.nio.file.Files.exists(pkiDir.resolve(REPLACE_CA), java.nio.file.LinkOption.NOFOLLOW_LINKS);
  }

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
