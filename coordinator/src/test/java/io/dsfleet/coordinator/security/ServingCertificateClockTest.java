package io.dsfleet.coordinator.security;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.common.OwnerOnlyFiles;
import io.dsfleet.common.tls.CertificateAuthority;
import io.dsfleet.common.tls.Pki;
import io.dsfleet.coordinator.store.SqliteStore;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The serving certificate and a clock that was wrong when it was made: a host that booted with its
 * clock a year ahead (its RTC, a VM's snapshot) and started the coordinator before NTP stepped it
 * back made a serving certificate valid only from that future; every agent and dsctl, on the right
 * time, refuses it in the handshake.
 */
class ServingCertificateClockTest {
  @TempDir Path dir;

  /**
   * Before helper-163 a start kept such a certificate (not due: a third of its life is left long
   * after now; names, CA and key right), so restarting the coordinator once its clock was right
   * did not help: the whole fleet stayed locked out until the day the certificate was made for.
   */
  @Test
  void aServingCertificateMadeWhileTheClockRanAheadIsMadeAgainAtTheNextStart() throws Exception {
    Path data = dir.resolve("data");
    try (SqliteStore store = new SqliteStore(data)) {
      Authority.open(data, List.of(), store, Clock.systemUTC(), Duration.ofDays(1));
    }
    Path pki = data.resolve("pki");
    X509Certificate ca = Pki.certificate(OwnerOnlyFiles.read(pki.resolve("ca.crt")));
    PrivateKey caKey = CertificateAuthority.privateKey(OwnerOnlyFiles.read(pki.resolve("ca.key")));
    KeyPair keys = Pki.newKeyPair();
    Instant aYearAhead = Instant.now().plus(Duration.ofDays(365));
    X509Certificate ahead = CertificateAuthority.issue(ca, caKey, keys.getPublic(), new Pki.Subject(Pki.SERVER_NAME, "dsfleet"),
        Pki.Purpose.SERVER, List.of(Pki.SERVER_NAME, "localhost", "127.0.0.1"), CoordinatorPki.SERVER_VALIDITY, aYearAhead);
    OwnerOnlyFiles.write(pki.resolve("server.key"), Pki.pem(keys.getPrivate()));
    OwnerOnlyFiles.write(pki.resolve("server.crt"), Pki.pem(ahead));
    assertThat(Pki.dueForRenewal(ahead, Instant.now())).as("not due by its life: the start must look at its notBefore").isFalse();

    CoordinatorPki again = CoordinatorPki.load(data, List.of(), true);

    assertThat(again.serverCert().getNotBefore().toInstant()).as("a serving certificate clients can take now").isBefore(Instant.now());
    again.serverCert().checkValidity();
    assertThat(Pki.certificate(OwnerOnlyFiles.read(pki.resolve("server.crt"))).getNotBefore().toInstant()).isBefore(Instant.now());
  }

  /** One made a little ahead (within the 5 minutes every certificate is backdated) is kept: no new certificate at every start. */
  @Test
  void aServingCertificateMadeAMinuteAheadIsKept() throws Exception {
    Path data = dir.resolve("data");
    try (SqliteStore store = new SqliteStore(data)) {
      Authority.open(data, List.of(), store, Clock.systemUTC(), Duration.ofDays(1));
    }
    Path pki = data.resolve("pki");
    X509Certificate ca = Pki.certificate(OwnerOnlyFiles.read(pki.resolve("ca.crt")));
    PrivateKey caKey = CertificateAuthority.privateKey(OwnerOnlyFiles.read(pki.resolve("ca.key")));
    KeyPair keys = Pki.newKeyPair();
    X509Certificate aMinuteAhead = CertificateAuthority.issue(ca, caKey, keys.getPublic(), new Pki.Subject(Pki.SERVER_NAME, "dsfleet"),
        Pki.Purpose.SERVER, List.of(Pki.SERVER_NAME, "localhost", "127.0.0.1"), CoordinatorPki.SERVER_VALIDITY,
        Instant.now().plus(Duration.ofMinutes(1)));
    OwnerOnlyFiles.write(pki.resolve("server.key"), Pki.pem(keys.getPrivate()));
    OwnerOnlyFiles.write(pki.resolve("server.crt"), Pki.pem(aMinuteAhead));

    assertThat(CoordinatorPki.load(data, List.of(), true).serverCert()).isEqualTo(aMinuteAhead);
  }

  /**
   * A first start on a host whose clock reads 1970 (its real-time clock reset, NTP not yet answered)
   * makes nothing and says why: before helper-163 it made a fleet CA valid from 1970 to 1980, which
   * no agent on the right time could ever trust, and the fleet had to be made again.
   */
  @Test
  void aStartWhoseClockReadsBeforeThisCodeExistedMakesNoCertificate() {
    Path data = dir.resolve("data");
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> CoordinatorPki.load(data, List.of(), true, Instant.parse("1970-01-01T00:00:05Z")))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("this host's clock reads 1970-01-01T00:00:05Z")
        .hasMessageContaining("set the clock");
    assertThat(data.resolve("pki/server.crt")).doesNotExist();
    assertThat(data.resolve("pki/ca.crt")).doesNotExist();
  }
}
