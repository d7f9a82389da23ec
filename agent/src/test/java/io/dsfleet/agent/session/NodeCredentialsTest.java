package io.dsfleet.agent.session;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.dsfleet.common.testing.FakeClock;
import io.dsfleet.common.tls.JoinToken;
import io.dsfleet.common.tls.CertificateAuthority;
import io.dsfleet.common.tls.Pki;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The node's key, certificate and CA on disk: what the agent accepts, keeps and forgets. */
class NodeCredentialsTest {
  @TempDir Path state;
  final KeyPair caKeys = Pki.newKeyPair();
  final X509Certificate ca = CertificateAuthority.newCa(caKeys, "test CA", Duration.ofDays(1));
  final String token = JoinToken.create(Pki.fingerprint(ca)).text();

  String sign(String csr, Duration validity) {
    CertificateAuthority.Request req = CertificateAuthority.parseCsr(csr);
    return Pki.pem(CertificateAuthority.issue(ca, caKeys.getPrivate(), req.key(), req.subject(), Pki.Purpose.CLIENT, List.of(), validity));
  }

  @Test
  void withoutCertificateOrTokenItSaysWhatToConfigure() {
    NodeCredentials c = NodeCredentials.tls(state, "n1", null, Clock.systemUTC());
    assertThat(c.hasCertificate()).isFalse();
    assertThatThrownBy(() -> c.channelCredentials(Transport.OKHTTP)).isInstanceOf(IllegalStateException.class).hasMessageContaining("joinToken");
  }

  /**
   * A host whose clock runs past its node certificate's end (booted a year ahead, before NTP set
   * it) and holds no join token is told that, and that its clock may be what is wrong: before
   * helper-163 the agent said it had no node certificate at all.
   */
  @Test
  void aCertificateExpiredByThisHostsClockIsNamedNotCalledMissing() {
    NodeCredentials c = NodeCredentials.tls(state, "n1", token, Clock.systemUTC());
    c.accept(sign(c.newRequest(), Duration.ofDays(30)), Pki.pem(ca));
    Clock aYearAhead = Clock.offset(Clock.systemUTC(), Duration.ofDays(365));
    NodeCredentials restarted = NodeCredentials.tls(state, "n1", null, aYearAhead);
    assertThat(restarted.hasCertificate()).isFalse();
    assertThatThrownBy(() -> restarted.channelCredentials(Transport.OKHTTP)).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("expired at " + restarted.certificate().getNotAfter().toInstant() + " by this host's clock")
        .hasMessageContaining("if that clock is wrong, set it right").hasMessageNotContaining("no node certificate");
  }

  /** A damaged file is named, not read as "no node certificate" (helper-75): the CA's file here, the certificate and key sound. */
  @Test
  void aDamagedCaFileIsNamedAndNoneOfTheCredentialsIsUsed() throws Exception {
    NodeCredentials c = NodeCredentials.tls(state, "n1", token, Clock.systemUTC());
    c.accept(sign(c.newRequest(), Duration.ofDays(30)), Pki.pem(ca));
    Files.writeString(state.resolve("pki/ca.crt"), "-----BEGIN CERTIFICATE-----\ntruncated");
    NodeCredentials restarted = NodeCredentials.tls(state, "n1", null, Clock.systemUTC());
    assertThat(restarted.hasCertificate()).isFalse();
    assertThatThrownBy(() -> restarted.channelCredentials(Transport.OKHTTP)).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("cannot read " + state.resolve("pki/ca.crt")).hasMessageContaining("joinToken");
  }

  @Test
  void theLeaveSecretIsMadeOnceKeptOwnerOnlyApartFromThePkiAndOutlivesAForgottenCertificate() throws Exception {
    NodeCredentials c = NodeCredentials.tls(state, "n1", token, Clock.systemUTC());
    String secret = c.leaveSecret();
    assertThat(secret).hasSize(64);
    Path file = state.resolve("leave-secret");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
    assertThat(state.resolve("pki")).isDirectoryNotContaining(p -> p.getFileName().toString().contains("leave"));
    assertThat(c.leaveSecretSha256()).isEqualTo(java.util.HexFormat.of().formatHex(java.security.MessageDigest
        .getInstance("SHA-256").digest(secret.getBytes(java.nio.charset.StandardCharsets.UTF_8))));
    c.forget();
    assertThat(NodeCredentials.tls(state, "n1", null, Clock.systemUTC()).leaveSecret()).as("same after a restart").isEqualTo(secret);
    assertThat(NodeCredentials.tls(state.resolve("other"), "n2", null, Clock.systemUTC()).leaveSecret()).isNotEqualTo(secret);
    assertThat(NodeCredentials.insecure().leaveSecretSha256()).isEmpty();
  }

  @Test
  void aMalformedTokenIsRefusedAtOnce() {
    assertThatThrownBy(() -> NodeCredentials.tls(state, "n1", "dsf1.abc", Clock.systemUTC())).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("dsf1.<ca-sha256>.<id>.<secret>");
  }

  @Test
  void theIssuedCertificateIsKeptOwnerOnlyAndSurvivesARestart() throws Exception {
    NodeCredentials c = NodeCredentials.tls(state, "n1", token, Clock.systemUTC());
    c.accept(sign(c.newRequest(), Duration.ofDays(30)), Pki.pem(ca));
    for (String f : List.of("node.pem", "ca.crt")) {
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(state.resolve("pki").resolve(f)))).isEqualTo("rw-------");
    }
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(state.resolve("pki")))).isEqualTo("rwx------");
    NodeCredentials restarted = NodeCredentials.tls(state, "n1", null, Clock.systemUTC());
    assertThat(restarted.hasCertificate()).isTrue();
    assertThat(CertificateAuthority.subject(restarted.certificate())).isEqualTo(new Pki.Subject("n1", Pki.NODES));
    assertThat(restarted.channelCredentials(Transport.OKHTTP)).isNotNull();
    restarted.forget();
    assertThat(state.resolve("pki/node.pem")).doesNotExist();
    assertThat(NodeCredentials.tls(state, "n1", null, Clock.systemUTC()).hasCertificate()).isFalse();
  }

  @Test
  void aCertificateForAnotherKeyOrACaOtherThanThePinnedOneIsRefused() {
    NodeCredentials c = NodeCredentials.tls(state, "n1", token, Clock.systemUTC());
    c.newRequest();
    String otherKeys = sign(Pki.csr(Pki.newKeyPair(), "n1", Pki.NODES), Duration.ofDays(1));
    assertThatThrownBy(() -> c.accept(otherKeys, Pki.pem(ca))).hasMessageContaining("another key");

    String good = sign(c.newRequest(), Duration.ofDays(1));
    X509Certificate otherCa = CertificateAuthority.newCa(Pki.newKeyPair(), "other", Duration.ofDays(1));
    assertThatThrownBy(() -> c.accept(good, Pki.pem(otherCa))).hasMessageContaining("not the one the join token pins");
    assertThat(c.hasCertificate()).isFalse();
  }

  /** A broken answer of the right coordinator: a certificate for the key, but signed by another CA, or expired. Refused, the old kept. */
  @Test
  void aRenewedCertificateTheCaDidNotSignOrThatExpiredIsRefusedAndTheOldOneKept() throws Exception {
    NodeCredentials c = NodeCredentials.tls(state, "n1", token, Clock.systemUTC());
    c.accept(sign(c.newRequest(), Duration.ofDays(30)), Pki.pem(ca));
    String before = Files.readString(state.resolve("pki/node.pem"));

    java.security.KeyPair otherKeys = Pki.newKeyPair();
    X509Certificate otherCa = CertificateAuthority.newCa(otherKeys, "other", Duration.ofDays(1));
    CertificateAuthority.Request req = CertificateAuthority.parseCsr(c.newRequest());
    String foreign = Pki.pem(CertificateAuthority.issue(otherCa, otherKeys.getPrivate(), req.key(), req.subject(), Pki.Purpose.CLIENT, List.of(),
        Duration.ofDays(30)));
    assertThatThrownBy(() -> c.accept(foreign, null)).hasMessageContaining("its CA did not sign").hasMessageContaining("kept the one");
    assertThat(Files.readString(state.resolve("pki/node.pem"))).isEqualTo(before);

    NodeCredentials late = NodeCredentials.tls(state, "n1", token, Clock.offset(Clock.systemUTC(), Duration.ofDays(2)));
    String expired = sign(late.newRequest(), Duration.ofDays(1)); // signed now, for a day: two days on, expired
    assertThatThrownBy(() -> late.accept(expired, null)).hasMessageContaining("expired at");
    assertThat(Files.readString(state.resolve("pki/node.pem"))).isEqualTo(before);
  }

  /**
   * Key and certificate are one file, replaced in one rename: a crash mid-renewal leaves the old
   * pair or the new one. A pair that does not match anyway (an older agent's two files, half
   * written) is ignored, never used: the node joins again with its token.
   */
  @Test
  void aRenewalReplacesKeyAndCertificateTogetherAndAMismatchedPairIsNeverUsed() throws Exception {
    NodeCredentials c = NodeCredentials.tls(state, "n1", token, Clock.systemUTC());
    c.accept(sign(c.newRequest(), Duration.ofDays(30)), Pki.pem(ca));
    String first = Files.readString(state.resolve("pki/node.pem"));
    c.accept(sign(c.newRequest(), Duration.ofDays(30)), null);
    String second = Files.readString(state.resolve("pki/node.pem"));
    assertThat(second).isNotEqualTo(first);
    assertThat(Pki.isKeyOf(Pki.privateKey(second), Pki.certificate(second))).isTrue();
    try (var files = Files.list(state.resolve("pki"))) {
      assertThat(files.map(p -> p.getFileName().toString()).sorted().toList()).containsExactly("ca.crt", "node.pem");
    }
    // an older agent's layout, torn by a crash between its two writes: the new key beside the old certificate
    Files.delete(state.resolve("pki/node.pem"));
    Files.writeString(state.resolve("pki/node.crt"), Pki.pem(Pki.certificate(first)));
    Files.writeString(state.resolve("pki/node.key"), Pki.pem(Pki.privateKey(second)));
    NodeCredentials torn = NodeCredentials.tls(state, "n1", token, Clock.systemUTC());
    assertThat(torn.hasCertificate()).isFalse();
    // the same layout, not torn, is read
    Files.writeString(state.resolve("pki/node.key"), Pki.pem(Pki.privateKey(first)));
    assertThat(NodeCredentials.tls(state, "n1", null, Clock.systemUTC()).hasCertificate()).isTrue();
  }

  /**
   * A host whose clock is set back after its certificate came (a VM restored from a snapshot, NTP
   * stepping back a clock that ran ahead, one that keeps running behind) renews when two thirds of
   * the certificate's life have passed since it came, by the monotonic clock, not only when its
   * wall clock says so: before helper-163 a clock 15 days behind renewed at the 35th day of a
   * 30-day certificate, the coordinator refused the expired certificate in the handshake, and the
   * node was locked out until its own clock saw the certificate expire and its token (if still
   * valid) admitted it again.
   */
  @Test
  void renewalIsDueByTheTimeSinceTheCertificateCameWhenTheWallClockWasSetBack() {
    FakeClock clock = new FakeClock(Instant.now());
    NodeCredentials c = NodeCredentials.tls(state, "n1", token, clock, clock::nanos);
    c.accept(sign(c.newRequest(), Duration.ofDays(30)), Pki.pem(ca));
    clock.stepWall(Duration.ofDays(-15));
    clock.advance(Duration.ofDays(19));
    assertThat(c.dueForRenewal(clock.instant())).as("19 days of its 30").isFalse();
    clock.advance(Duration.ofDays(2));
    assertThat(c.dueForRenewal(clock.instant())).as("21 days since it came, though the wall clock says 6").isTrue();
    assertThat(NodeCredentials.tls(state, "n1", null, clock, clock::nanos).dueForRenewal(clock.instant()))
        .as("loaded at a start: its age then, 6 days by the wall clock").isFalse();
  }

  /**
   * A certificate loaded at the start is timed as one accepted then: its age by the wall clock at
   * the start, and the monotonic clock's from there, so a wall clock set back after the start puts
   * its renewal off no more than one that came since. Before helper-166 only the latter was so
   * timed: an agent restarted since its last renewal (most, after an upgrade or a reboot) whose
   * clock was then set back 15 days renewed at the 36th day of a 30-day certificate, locked out
   * from its 30th.
   */
  @Test
  void aCertificateLoadedAtTheStartIsDueByItsAgeThenAndTheTimeSinceWhenTheWallClockWasSetBack() {
    NodeCredentials first = NodeCredentials.tls(state, "n1", token, Clock.systemUTC());
    first.accept(sign(first.newRequest(), Duration.ofDays(30)), Pki.pem(ca));
    FakeClock clock = new FakeClock(Instant.now().plus(Duration.ofDays(5)));
    NodeCredentials c = NodeCredentials.tls(state, "n1", null, clock, clock::nanos);
    assertThat(c.dueForRenewal(clock.instant())).as("5 days of its 30").isFalse();
    clock.stepWall(Duration.ofDays(-15));
    clock.advance(Duration.ofDays(14));
    assertThat(c.dueForRenewal(clock.instant())).as("19 days of its 30").isFalse();
    clock.advance(Duration.ofDays(2));
    assertThat(c.dueForRenewal(clock.instant())).as("21 days old, though the wall clock says 6").isTrue();
  }

  @Test
  void renewalIsDueWhenAThirdOfTheLifeIsLeft() {
    NodeCredentials c = NodeCredentials.tls(state, "n1", token, Clock.systemUTC());
    c.accept(sign(c.newRequest(), Duration.ofDays(30)), Pki.pem(ca));
    Instant end = c.certificate().getNotAfter().toInstant();
    assertThat(c.dueForRenewal(Instant.now())).isFalse();
    assertThat(c.dueForRenewal(end.minus(Duration.ofDays(11)))).isFalse();
    assertThat(c.dueForRenewal(end.minus(Duration.ofDays(9)))).isTrue();
  }

  /**
   * A certificate of 2 minutes (`nodeCertTtl` may be as short as 1 m) is due once a third of its
   * 2 minutes is left, not as it is made: its notBefore, 5 minutes before it was made, counted in
   * its life had it due at once, and the agent renewed at every heartbeat.
   */
  @Test
  void aShortCertificateIsDueWhenAThirdOfItsLifeIsLeftNotAsItIsMade() {
    NodeCredentials c = NodeCredentials.tls(state, "n1", token, Clock.systemUTC());
    c.accept(sign(c.newRequest(), Duration.ofMinutes(2)), Pki.pem(ca));
    Instant end = c.certificate().getNotAfter().toInstant();
    assertThat(c.dueForRenewal(end.minus(Duration.ofSeconds(90)))).as("a made certificate, 1.5 of its 2 minutes left").isFalse();
    assertThat(c.dueForRenewal(end.minus(Duration.ofSeconds(50)))).isFalse();
    assertThat(c.dueForRenewal(end.minus(Duration.ofSeconds(35)))).isTrue();
  }
}
