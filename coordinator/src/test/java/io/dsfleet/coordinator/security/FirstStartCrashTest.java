package io.dsfleet.coordinator.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.dsfleet.common.OwnerOnlyFiles;
import io.dsfleet.common.tls.Pki;
import io.dsfleet.coordinator.store.SqliteStore;
import io.dsfleet.coordinator.store.Store;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A coordinator's very first start (serve or init) stopped half-way, as a SIGKILL or a full disk
 * stops it between the fleet CA and the first credentials: the next start must make the fleet
 * whole, not find a CA and no admin credential (before 2026-12-05 the data directory then had
 * {@code ca.crt} without {@code admin.pem}, {@code init} answered "already initialised" and no
 * one could ever call the coordinator as an admin).
 */
class FirstStartCrashTest {
  @TempDir Path dir;

  @Test
  void aFirstStartStoppedBeforeItsCredentialsIsMadeWholeByTheNext() throws Exception {
    Path data = dir.resolve("data");
    Path pki = data.resolve("pki");
    try (SqliteStore real = new SqliteStore(data)) {
      // the first start dies as it records the first credential: the CA is made, no credential is written
      Store dying = (Store) Proxy.newProxyInstance(Store.class.getClassLoader(), new Class<?>[] {Store.class}, (proxy, m, args) -> {
        if (m.getName().equals("putCertificate")) {
          throw new IllegalStateException("killed");
        }
        try {
          return m.invoke(real, args);
        } catch (InvocationTargetException e) {
          throw e.getCause();
        }
      });
      assertThatThrownBy(() -> Authority.open(data, List.of(), dying, Clock.systemUTC(), Duration.ofDays(1))).hasMessage("killed");
      assertThat(pki.resolve("admin.pem")).doesNotExist();
      assertThat(pki.resolve("ca.crt")).as("no fleet marked made without its credentials").doesNotExist();

      Authority again = Authority.open(data, List.of(), real, Clock.systemUTC(), Duration.ofDays(1));
      assertThat(again.pki().created()).isTrue();
      for (String f : List.of("ca.crt", "ca.key", "admin.pem", "viewer.pem", "join-token")) {
        assertThat(pki.resolve(f)).exists();
      }
      var admin = Pki.certificate(OwnerOnlyFiles.read(pki.resolve("admin.pem")));
      admin.verify(Pki.certificate(OwnerOnlyFiles.read(pki.resolve("ca.crt"))).getPublicKey());
      assertThat(again.issuedExactly(admin)).as("the admin credential is recorded, so the coordinator takes it").isTrue();
      assertThat(OwnerOnlyFiles.read(pki.resolve("join-token"))).contains(again.pki().caHash());

      // and a later start finds the fleet made: nothing minted again
      String adminPem = OwnerOnlyFiles.read(pki.resolve("admin.pem"));
      Authority third = Authority.open(data, List.of(), real, Clock.systemUTC(), Duration.ofDays(1));
      assertThat(third.pki().created()).isFalse();
      assertThat(OwnerOnlyFiles.read(pki.resolve("admin.pem"))).isEqualTo(adminPem);
    }
  }

  /**
   * A start that renews the serving certificate (due, or new --tls-name) writes its key, then the
   * certificate: killed between the two, it left the old certificate beside a key that is not its
   * own, and every later start served TLS that no client could complete.
   */
  @Test
  void aServingKeyThatIsNotItsCertificatesIsReplacedAtStart() throws Exception {
    Path data = dir.resolve("data");
    try (SqliteStore store = new SqliteStore(data)) {
      Authority.open(data, List.of(), store, Clock.systemUTC(), Duration.ofDays(1));
    }
    Path pki = data.resolve("pki");
    OwnerOnlyFiles.write(pki.resolve("server.key"), Pki.pem(Pki.newKeyPair().getPrivate())); // the renewal's key, written; then killed
    CoordinatorPki again = CoordinatorPki.load(data, List.of(), true);
    java.security.Signature sign = java.security.Signature.getInstance("SHA256withECDSA");
    sign.initSign(again.serverKey());
    sign.update(new byte[] {1, 2, 3});
    byte[] signature = sign.sign();
    java.security.Signature verify = java.security.Signature.getInstance("SHA256withECDSA");
    verify.initVerify(again.serverCert().getPublicKey());
    verify.update(new byte[] {1, 2, 3});
    assertThat(verify.verify(signature)).as("the serving key is its certificate's").isTrue();
  }

  /**
   * A serving certificate or key a disk or a file system's repair emptied, tore or lost is made
   * again from the CA at start: before 2026-12-06 the start ended in a stack trace ("no PEM private
   * key found", naming no file) at every try, and the coordinator never served again (helper-139).
   */
  @Test
  void aServingCertificateOrKeyADiskDamagedIsMadeAgain() throws Exception {
    Path data = dir.resolve("data");
    try (SqliteStore store = new SqliteStore(data)) {
      Authority.open(data, List.of(), store, Clock.systemUTC(), Duration.ofDays(1));
    }
    Path pki = data.resolve("pki");
    String ca = Files.readString(pki.resolve("ca.crt"));
    for (String damage : List.of("server.key emptied", "server.crt torn", "server.key gone")) {
      switch (damage) {
        case "server.key emptied" -> Files.writeString(pki.resolve("server.key"), "");
        case "server.crt torn" -> Files.writeString(pki.resolve("server.crt"), Files.readString(pki.resolve("server.crt")).substring(0, 100));
        default -> Files.delete(pki.resolve("server.key"));
      }
      CoordinatorPki again = CoordinatorPki.load(data, List.of(), true);
      assertThat(again.created()).as(damage).isFalse();
      again.serverCert().verify(again.ca().getPublicKey());
      assertThat(Pki.isKeyOf(again.serverKey(), again.serverCert())).as(damage).isTrue();
      assertThat(Pki.certificate(Files.readString(pki.resolve("server.crt"))).getSerialNumber()).as(damage + ": written")
          .isEqualTo(again.serverCert().getSerialNumber());
      assertThat(Files.readString(pki.resolve("ca.crt"))).isEqualTo(ca);
    }
  }

  @Test
  void aReplicaNeverMakesAFleetOfItsOwn() {
    Path data = dir.resolve("replica");
    assertThatThrownBy(() -> CoordinatorPki.load(data, List.of(), false)).hasMessageContaining("no fleet CA");
    assertThat(data.resolve("pki").resolve("ca.crt")).doesNotExist();
    assertThat(data.resolve("pki").resolve("admin.pem")).doesNotExist();
  }
}
