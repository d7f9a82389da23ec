package io.dsfleet.common.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatNoException;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.security.KeyPair;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/**
 * The coordinator's client trust: a certificate the CA recorded by its exact bytes skips the
 * signature check; anything else (a copied serial, another CA, a serving certificate, an expired
 * one) gets the full check or is refused.
 */
class IssuedFirstTrustTest {
  static final KeyPair CA_KEYS = Pki.newKeyPair();
  static final X509Certificate CA = CertificateAuthority.newCa(CA_KEYS, "fleet", Duration.ofDays(1));
  static final KeyPair OTHER_KEYS = Pki.newKeyPair();
  static final X509Certificate OTHER_CA = CertificateAuthority.newCa(OTHER_KEYS, "impostor", Duration.ofDays(1));

  /** What the CA recorded: serial to SHA-256 of the DER, as Authority keeps it. */
  final Map<String, String> recorded = new HashMap<>();
  final Predicate<X509Certificate> issuedHere = c -> Pki.fingerprint(c).equals(recorded.get(Pki.serialHex(c)));

  static X509Certificate issue(X509Certificate ca, KeyPair caKeys, Pki.Purpose purpose, Duration validity) {
    return CertificateAuthority.issue(ca, caKeys.getPrivate(), Pki.newKeyPair().getPublic(), new Pki.Subject("node-a", Pki.NODES), purpose, List.of(),
        validity);
  }

  X509Certificate record(X509Certificate c) {
    recorded.put(Pki.serialHex(c), Pki.fingerprint(c));
    return c;
  }

  Tls.IssuedFirst trust(X509Certificate anchor) throws Exception {
    return new Tls.IssuedFirst(Tls.pkix(anchor), issuedHere);
  }

  @Test
  void aRecordedCertificateIsTrustedWithoutTheSignatureCheck() throws Exception {
    X509Certificate mine = record(issue(CA, CA_KEYS, Pki.Purpose.CLIENT, Duration.ofHours(1)));
    assertThatNoException().isThrownBy(() -> trust(CA).checkClientTrusted(new X509Certificate[] {mine}, "EC"));
    // trusting another anchor, the full check would refuse it: accepted all the same, so no signature was checked
    assertThatNoException().isThrownBy(() -> trust(OTHER_CA).checkClientTrusted(new X509Certificate[] {mine}, "EC"));
  }

  @Test
  void anUnrecordedCertificateGetsTheFullCheck() throws Exception {
    X509Certificate mine = issue(CA, CA_KEYS, Pki.Purpose.CLIENT, Duration.ofHours(1));
    assertThatNoException().isThrownBy(() -> trust(CA).checkClientTrusted(new X509Certificate[] {mine}, "EC"));
    X509Certificate foreign = issue(OTHER_CA, OTHER_KEYS, Pki.Purpose.CLIENT, Duration.ofHours(1));
    assertThatThrownBy(() -> trust(CA).checkClientTrusted(new X509Certificate[] {foreign}, "EC")).isInstanceOf(CertificateException.class);
  }

  @Test
  void aCertificateCopyingARecordedSerialIsCheckedInFullAndRefused() throws Exception {
    X509Certificate mine = issue(CA, CA_KEYS, Pki.Purpose.CLIENT, Duration.ofHours(1));
    X509Certificate forged = issue(OTHER_CA, OTHER_KEYS, Pki.Purpose.CLIENT, Duration.ofHours(1));
    recorded.put(Pki.serialHex(forged), Pki.fingerprint(mine)); // the forgery's serial is one the CA issued: its bytes differ
    assertThatThrownBy(() -> trust(CA).checkClientTrusted(new X509Certificate[] {forged}, "EC")).isInstanceOf(CertificateException.class);
  }

  @Test
  void aRecordedCertificateMustStillBeValidNowAndMadeForClients() throws Exception {
    X509Certificate expired = record(issue(CA, CA_KEYS, Pki.Purpose.CLIENT, Duration.ofHours(-2)));
    assertThatThrownBy(() -> trust(CA).checkClientTrusted(new X509Certificate[] {expired}, "EC"))
        .isInstanceOf(java.security.cert.CertificateExpiredException.class);
    X509Certificate serving = record(issue(CA, CA_KEYS, Pki.Purpose.SERVER, Duration.ofHours(1)));
    assertThatThrownBy(() -> trust(CA).checkClientTrusted(new X509Certificate[] {serving}, "EC"))
        .as("a serving certificate goes to the full check, which refuses it as a client's").isInstanceOf(CertificateException.class);
    assertThat(issuedHere.test(serving)).isTrue();
  }

  /**
   * A coordinator whose clock ran ahead (a day, a year: booted before NTP stepped it back) signed
   * certificates valid only from then; once its clock is right the record still shows it made them.
   * Before helper-163 the handshake refused them as not yet valid: every node that joined or renewed
   * in that window, and any dsctl credential made then, was locked out until that day (the node's
   * token refused too: its certificate not expired), its pods unmanaged and the node NotReady.
   */
  @Test
  void aRecordedCertificateSignedWhileTheCoordinatorsClockRanAheadIsTrusted() throws Exception {
    java.time.Instant aDayAhead = java.time.Instant.now().plus(Duration.ofDays(1));
    X509Certificate mine = record(CertificateAuthority.issue(CA, CA_KEYS.getPrivate(), Pki.newKeyPair().getPublic(),
        new Pki.Subject("node-a", Pki.NODES), Pki.Purpose.CLIENT, List.of(), Duration.ofDays(30), aDayAhead));
    assertThatThrownBy(mine::checkValidity).isInstanceOf(java.security.cert.CertificateNotYetValidException.class);
    assertThatNoException().isThrownBy(() -> trust(CA).checkClientTrusted(new X509Certificate[] {mine}, "EC"));
    // one this CA has no record of gets the full check, which refuses it until its time comes
    X509Certificate unrecorded = CertificateAuthority.issue(CA, CA_KEYS.getPrivate(), Pki.newKeyPair().getPublic(),
        new Pki.Subject("node-b", Pki.NODES), Pki.Purpose.CLIENT, List.of(), Duration.ofDays(30), aDayAhead);
    assertThatThrownBy(() -> trust(CA).checkClientTrusted(new X509Certificate[] {unrecorded}, "EC")).isInstanceOf(CertificateException.class);
  }
}
