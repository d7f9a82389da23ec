package io.dsfleet.coordinator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.dsfleet.common.manifest.Fixtures;
import io.dsfleet.coordinator.store.SqliteStore;
import io.dsfleet.coordinator.store.Store;
import io.dsfleet.proto.v1.ApplyRequest;
import io.dsfleet.proto.v1.GetRequest;
import io.dsfleet.proto.v1.ObjectKind;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The store's file gone: deleted, emptied or replaced under a running coordinator, or missing at
 * a start in a data directory that held one; and the fleet's CA certificate gone. Nothing is acknowledged that a restart would not
 * find, and no start serves an empty fleet in its place (helper-139).
 */
class LostStoreTest {
  @TempDir Path dir;

  /** serve on {@code data} as a process of its own: one that serves (the store taken) is killed after the deadline, failing the test. */
  private io.dsfleet.common.testing.Processes.Result serve(Path data) throws Exception {
    return serve(data, "--insecure");
  }

  private io.dsfleet.common.testing.Processes.Result serve(Path data, String... more) throws Exception {
    List<String> command = new java.util.ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path"), CoordinatorMain.class.getName(),
        "serve", "--data-dir", data.toString(), "--config", dir.resolve("none.yaml").toString(), "--listen", "127.0.0.1:0",
        "--metrics-listen", "off", "--dashboard-listen", "off", "--kube-api-listen", "off"));
    command.addAll(List.of(more));
    return io.dsfleet.common.testing.Processes.run(new ProcessBuilder(command), java.time.Duration.ofSeconds(60));
  }

  /**
   * The fleet CA's key or certificate emptied or torn (a disk, a file system's repair): serve
   * refuses in one line naming the file and what to do, and leaves it as it is; before 2026-12-06
   * a stack trace ("no PEM private key found") named no file.
   */
  @Test
  void aDamagedCaFileIsRefusedNamingIt() throws Exception {
    Path data = dir.resolve("data");
    try (var s = new SqliteStore(data)) {
      io.dsfleet.coordinator.security.Authority.open(data, List.of(), s, java.time.Clock.systemUTC(), java.time.Duration.ofDays(1));
    }
    Path pki = data.resolve("pki");
    Files.writeString(pki.resolve("ca.key"), "");
    var emptied = serve(data, "--tls-name", "coordinator.example");
    assertThat(emptied.exit()).as(emptied.output()).isEqualTo(1);
    assertThat(emptied.output()).doesNotContain("Exception").doesNotContain("\tat ").contains("ds-coordinator: " + pki.resolve("ca.key")
        + " does not hold the fleet CA's key (").contains("; 0 bytes): the disk or a repair damaged it; nothing made. Put it back");
    assertThat(Files.size(pki.resolve("ca.key"))).isZero();
    String ca = Files.readString(pki.resolve("ca.crt"));
    Files.writeString(pki.resolve("ca.crt"), ca.substring(0, ca.length() / 2));
    var torn = serve(data, "--tls-name", "coordinator.example");
    assertThat(torn.exit()).as(torn.output()).isEqualTo(1);
    assertThat(torn.output()).doesNotContain("Exception").contains("ds-coordinator: " + pki.resolve("ca.crt")
        + " does not hold the fleet CA's certificate (");
    assertThat(Files.readString(pki.resolve("ca.crt"))).isEqualTo(ca.substring(0, ca.length() / 2));
  }

  /**
   * A {@code ca.key} that is not the key of {@code ca.crt} (a partial restore of {@code pki/}, one
   * file from another backup or fleet): serve refuses, naming both, and leave them as they
   * are. Before helper-151 the start went on and signed what it issued with a key no node's CA
   * verifies: every join and renewal handed out a certificate its holder could not use.
   */
  @Test
  void aCaKeyThatIsNotTheCertificatesIsRefusedNamingBoth() throws Exception {
    Path data = dir.resolve("data");
    Path other = dir.resolve("other");
    for (Path d : List.of(data, other)) {
      try (var s = new SqliteStore(d)) {
        io.dsfleet.coordinator.security.Authority.open(d, List.of(), s, java.time.Clock.systemUTC(), java.time.Duration.ofDays(1));
      }
    }
    Path pki = data.resolve("pki");
    Files.copy(other.resolve("pki/ca.key"), pki.resolve("ca.key"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    String key = Files.readString(pki.resolve("ca.key"));
    String server = Files.readString(pki.resolve("server.crt"));
    var served = serve(data, "--tls-name", "coordinator.example"); // TLS, a new name: the serving certificate would be made
    assertThat(served.exit()).as(served.output()).isEqualTo(1);
    assertThat(served.output()).doesNotContain("Exception").contains("ds-coordinator: " + pki.resolve("ca.key") + " is not the key of "
        + pki.resolve("ca.crt")).contains("nothing made");
    assertThat(Files.readString(pki.resolve("ca.key"))).isEqualTo(key);
    assertThat(Files.readString(pki.resolve("server.crt"))).as("no serving certificate made with it").isEqualTo(server);
  }

  /**
   * {@code pki/secrets.key} lost while the store holds Secrets sealed with it: serve refuses,
   * naming it, and makes no key in its place; before 2026-12-06 it wrote a new key there, then
   * failed on the first Secret ("another key sealed it"), the new key left behind.
   */
  @Test
  void aLostSecretsKeyIsRefusedNotMadeAnew() throws Exception {
    Path data = dir.resolve("data");
    try (var s = new SqliteStore(data)) {
      s.putObjects(List.of(new Store.ObjectWrite(new Store.StoredObject("Secret", "ns", "creds", "{\"data\": {}}", 1, 0, 0), 0, null,
          List.of(), null)));
    }
    Path key = data.resolve("pki/secrets.key");
    Files.move(key, dir.resolve("secrets.key.aside"));
    var served = serve(data);
    assertThat(served.exit()).as(served.output()).isEqualTo(1);
    assertThat(served.output()).doesNotContain("Exception").contains(key + " is missing, but the store holds 1 Secret sealed with it:"
        + " a new key would open none of them; nothing made");
    assertThat(key).as("no key made in its place").doesNotExist();
    Files.move(dir.resolve("secrets.key.aside"), key);
    try (var s = new SqliteStore(data)) {
      assertThat(s.objects()).extracting(Store.StoredObject::name).containsExactly("creds");
    }
  }

  /**
   * A fleet's {@code pki/ca.crt} lost (deleted, a file system's repair) while its store records
   * certificates the CA issued: serve and init refuse, naming it, and write nothing (its key, the
   * credentials, the serving certificate as they were); with the file put back from a credential's
   * copy the coordinator serves again. Before 2026-12-06 a start made a new CA, wrote its key over
   * the old one's and new admin and viewer credentials over theirs: every node and credential was
   * refused from then on, and the old CA's key was gone for good.
   */
  @Test
  void aFleetsLostCaCertificateIsRefusedNotMadeAnew() throws Exception {
    Path data = dir.resolve("data");
    Path pki = data.resolve("pki");
    try (var s = new SqliteStore(data)) {
      io.dsfleet.coordinator.security.Authority.open(data, List.of(), s, java.time.Clock.systemUTC(), java.time.Duration.ofDays(1))
          .credential("ops", io.dsfleet.common.tls.Pki.ADMINS); // one made with dsctl credential create
    }
    String caPem = Files.readString(pki.resolve("ca.crt"));
    Files.delete(pki.resolve("ca.crt"));
    java.util.Map<String, String> before = new java.util.TreeMap<>();
    try (var files = Files.list(pki)) {
      for (Path f : files.toList()) {
        before.put(f.getFileName().toString(), Files.readString(f));
      }
    }
    var served = serve(data, "--tls-name", "coordinator.example"); // TLS (no --insecure), where the CA is made
    assertThat(served.exit()).as(served.output()).isEqualTo(1);
    assertThat(served.output()).doesNotContain("Exception").contains("ds-coordinator: " + pki.resolve("ca.crt") + " is missing, but the"
        + " store records 1 certificate its CA issued (dsfleet:admins ops): a new CA would cut every node and credential off; nothing made");
    var init = ReplicaCliTest.run(new CoordinatorMain(), "init", "--data-dir", data.toString(), "--config", dir.resolve("none.yaml").toString());
    assertThat(init.exit()).as(init.err()).isEqualTo(1);
    assertThat(init.err()).doesNotContain("Exception").contains(pki.resolve("ca.crt") + " is missing");
    java.util.Map<String, String> after = new java.util.TreeMap<>();
    try (var files = Files.list(pki)) {
      for (Path f : files.toList()) {
        after.put(f.getFileName().toString(), Files.readString(f));
      }
    }
    assertThat(after).as("nothing written").isEqualTo(before);

    String admin = before.get("admin.pem");
    Files.writeString(pki.resolve("ca.crt"), admin.substring(admin.lastIndexOf("-----BEGIN CERTIFICATE-----")));
    assertThat(Files.readString(pki.resolve("ca.crt"))).isEqualTo(caPem);
    try (var s = SqliteStore.openKept(data)) {
      var authority = io.dsfleet.coordinator.security.Authority.open(data, List.of(), s, java.time.Clock.systemUTC(),
          java.time.Duration.ofDays(1));
      assertThat(authority.pki().created()).as("the fleet's own CA, with its key").isFalse();
      assertThat(Files.readString(pki.resolve("admin.pem"))).isEqualTo(admin);
    }
  }

  /**
   * The fleet's CA replaced on purpose (a leaked CA or serving key: docs/security.md, "Rotating
   * everything"): with its {@code ca.crt} removed and {@code pki/replace-ca} created, the next
   * start makes a new CA and credentials over a store that records the old CA's certificates,
   * which a start without the file refuses, pointing to it; the file is removed once the new CA is
   * kept, and one beside a {@code ca.crt} replaces nothing and is removed too. From 2026-12-06 to
   * this fix the rotation the docs gave was refused and no way on was told but the old CA.
   */
  @Test
  void aCaReplacedOnPurposeIsMadeAtTheStartAfterReplaceCaIsCreated() throws Exception {
    Path data = dir.resolve("data");
    Path pki = data.resolve("pki");
    try (var s = new SqliteStore(data)) {
      io.dsfleet.coordinator.security.Authority.open(data, List.of(), s, java.time.Clock.systemUTC(), java.time.Duration.ofDays(1))
          .credential("ops", io.dsfleet.common.tls.Pki.ADMINS);
    }
    String oldCa = Files.readString(pki.resolve("ca.crt"));
    String oldAdmin = Files.readString(pki.resolve("admin.pem"));
    Files.createFile(pki.resolve("replace-ca"));
    try (var s = SqliteStore.openKept(data)) {
      var kept = io.dsfleet.coordinator.security.Authority.open(data, List.of(), s, java.time.Clock.systemUTC(), java.time.Duration.ofDays(1));
      assertThat(kept.pki().created()).as("ca.crt there: the CA stays").isFalse();
    }
    assertThat(pki.resolve("replace-ca")).as("removed, so a later loss of ca.crt is refused again").doesNotExist();
    assertThat(Files.readString(pki.resolve("ca.crt"))).isEqualTo(oldCa);

    Files.delete(pki.resolve("ca.crt"));
    var plain = ReplicaCliTest.run(new CoordinatorMain(), "init", "--data-dir", data.toString(), "--config", dir.resolve("none.yaml").toString());
    assertThat(plain.exit()).as(plain.err()).isEqualTo(1);
    assertThat(plain.err()).contains("to replace the fleet's CA on purpose, create " + pki.resolve("replace-ca") + " (an empty file) and"
        + " start again");
    Files.createFile(pki.resolve("replace-ca"));
    var rotated = ReplicaCliTest.run(new CoordinatorMain(), "init", "--data-dir", data.toString(), "--config", dir.resolve("none.yaml").toString());
    assertThat(rotated.exit()).as(rotated.err()).isZero();
    String newCa = Files.readString(pki.resolve("ca.crt"));
    assertThat(newCa).isNotEqualTo(oldCa);
    assertThat(Files.readString(pki.resolve("admin.pem"))).isNotEqualTo(oldAdmin).endsWith(newCa);
    assertThat(pki.resolve("replace-ca")).doesNotExist();
  }

  /**
   * A data directory whose store was deleted or emptied (its Secrets key shows it held one) is
   * refused by serve and init, naming the file, and left as it was: before 2026-12-06 serve made an
   * empty store and served an empty fleet, whose agents, told their node was no member, joined
   * again and removed every pod.
   */
  @Test
  void aStartWhereTheStoreWentIsRefusedNamingIt() throws Exception {
    Path data = dir.resolve("data");
    try (var s = new SqliteStore(data)) {
      s.putObjects(List.of(new Store.ObjectWrite(new Store.StoredObject("ConfigMap", "ns", "a", "{}", 1, 0, 0), 0, null, List.of(), null)));
    }
    Path db = data.resolve("dsfleet.db");
    Files.delete(db);
    var missing = serve(data);
    assertThat(missing.exit()).as(missing.output()).isEqualTo(1);
    assertThat(missing.output()).doesNotContain("Exception").contains("ds-coordinator: " + db + " is missing, but " + data.resolve("pki/secrets.key")
        + " shows this data directory held a store").contains("nothing done");
    assertThat(db).doesNotExist();
    var init = ReplicaCliTest.run(new CoordinatorMain(), "init", "--data-dir", data.toString(), "--config", dir.resolve("none.yaml").toString());
    assertThat(init.exit()).as(init.err()).isEqualTo(1);
    assertThat(init.err()).doesNotContain("Exception").contains(db + " is missing");
    assertThat(db).doesNotExist();
    assertThat(data.resolve("pki/ca.crt")).doesNotExist();

    Files.createFile(db); // a file system's repair left it empty
    var empty = serve(data);
    assertThat(empty.exit()).as(empty.output()).isEqualTo(1);
    assertThat(empty.output()).contains(db + " is empty, but");
    assertThat(Files.size(db)).isZero();
  }

  /**
   * SQLite keeps in the {@code -wal} what it has not copied into {@code dsfleet.db} yet: a small
   * fleet's whole store. The file alone put back (copied by hand, not with backup) or its
   * {@code -wal} deleted is a store with no table: refused as lost, where before 2026-12-06 the
   * start made the tables and served an empty fleet.
   */
  @Test
  void aStoreWhoseWalWasLostIsRefusedNamingIt() throws Exception {
    Path data = dir.resolve("data");
    Path header = dir.resolve("header.db");
    try (var s = new SqliteStore(data)) {
      s.putObjects(List.of(new Store.ObjectWrite(new Store.StoredObject("ConfigMap", "ns", "a", "{}", 1, 0, 0), 0, null, List.of(), null)));
      Files.copy(data.resolve("dsfleet.db"), header); // what a cp of the file alone takes while the coordinator runs
    }
    Files.copy(header, data.resolve("dsfleet.db"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    Files.deleteIfExists(data.resolve("dsfleet.db-wal"));
    var served = serve(data);
    assertThat(served.exit()).as(served.output()).isEqualTo(1);
    assertThat(served.output()).doesNotContain("Exception").contains(data.resolve("dsfleet.db") + " holds no store (no table: what it"
        + " held was in its -wal, which is gone, or another file was put in its place), but " + data.resolve("pki/secrets.key"))
        .contains("nothing done");
    try (var c = java.sql.DriverManager.getConnection("jdbc:sqlite:" + data.resolve("dsfleet.db"));
        var rs = c.createStatement().executeQuery("SELECT count(*) FROM sqlite_master")) {
      assertThat(rs.getInt(1)).as("no table made").isZero();
    }
  }

  /**
   * A {@code -wal} lost after SQLite's automatic checkpoint (every 4 MB of writes) had copied part
   * of the store into {@code dsfleet.db}: the file alone is an older store with every table, and
   * before helper-151 a start served it, a certificate's revocation acknowledged after the
   * checkpoint undone without a word. The files as a SIGKILL leaves them (copied while the store is
   * open): with the {@code -wal} the store opens with every write; without it the start is refused,
   * naming both files, and touches nothing (refused again); the mark removed by the admin accepts
   * the older store. A store closed cleanly leaves neither {@code -wal} nor mark and opens.
   */
  @Test
  void aWalLostPastTheCheckpointIsRefusedAndAKilledStoresWalReplays() throws Exception {
    Path data = dir.resolve("data");
    var cert = new Store.IssuedCertificate("01", "node-a", "node", Long.MAX_VALUE, 0, 1, "token", "");
    try (var s = SqliteStore.openKept(data)) {
      s.putCertificate(cert);
      String big = "{\"data\": {\"k\": \"" + "x".repeat(1 << 20) + "\"}}";
      for (int i = 0; i < 6; i++) { // 6 MB: past the 4 MB at which SQLite copies the -wal into the file
        s.putObjects(List.of(new Store.ObjectWrite(new Store.StoredObject("ConfigMap", "ns", "big-" + i, big, 1, 0, 0), 0, null,
            List.of(), null)));
      }
      assertThat(Files.size(data.resolve("dsfleet.db"))).as("checkpointed into the file").isGreaterThan(1 << 20);
      s.putCertificate(new Store.IssuedCertificate("01", "node-a", "node", Long.MAX_VALUE, 42, 1, "token", "")); // revoked
      for (String copy : List.of("killed", "lost")) {
        Files.createDirectories(dir.resolve(copy).resolve("pki"));
        try (var files = Files.list(data)) {
          for (Path f : files.filter(Files::isRegularFile).toList()) {
            Files.copy(f, dir.resolve(copy).resolve(f.getFileName()));
          }
        }
        Files.copy(data.resolve("pki/secrets.key"), dir.resolve(copy).resolve("pki/secrets.key"));
      }
    }
    assertThat(data.resolve("dsfleet.db-wal")).as("a clean close").doesNotExist();
    assertThat(data.resolve("dsfleet.db.open")).doesNotExist();
    try (var s = SqliteStore.openKept(data)) {
      assertThat(s.certificates()).extracting(Store.IssuedCertificate::revokedMillis).containsExactly(42L);
    }
    try (var s = SqliteStore.openKept(dir.resolve("killed"))) {
      assertThat(s.certificates()).as("the -wal replayed").extracting(Store.IssuedCertificate::revokedMillis).containsExactly(42L);
    }
    assertThat(dir.resolve("killed").resolve("dsfleet.db.open")).as("its close copied the -wal into the file").doesNotExist();

    Path lost = dir.resolve("lost");
    Files.delete(lost.resolve("dsfleet.db-wal"));
    for (int i = 0; i < 2; i++) {
      var refused = catchThrowableOfType(io.dsfleet.coordinator.store.StoreException.class, () -> SqliteStore.openKept(lost));
      assertThat(refused).as("started on the older store").isNotNull();
      assertThat(refused).hasMessageContaining(lost.resolve("dsfleet.db-wal") + " is missing, but " + lost.resolve("dsfleet.db.open")
          + " shows the store was not closed since it was opened").hasMessageContaining("nothing done")
          .hasMessageContaining("remove " + lost.resolve("dsfleet.db.open") + " and start again");
      assertThat(lost.resolve("dsfleet.db-wal")).as("nothing made").doesNotExist();
    }
    Files.delete(lost.resolve("dsfleet.db.open")); // the admin accepts the older store
    try (var s = SqliteStore.openKept(lost)) {
      assertThat(s.certificates()).as("the store as the checkpoint left it").extracting(Store.IssuedCertificate::revokedMillis)
          .containsExactly(0L);
    }
  }

  /**
   * A coordinator SIGKILLed as it is (its {@code -wal} there) starts with every write it
   * acknowledged; killed again and its {@code -wal} deleted, serve is refused with status 1,
   * naming it, and nothing is made in its place.
   */
  @Test
  void aKilledCoordinatorStartsWithItsWalAndIsRefusedWithoutIt() throws Exception {
    try (CoordinatorProcess p = new CoordinatorProcess(dir).start()) {
      p.control().apply(ApplyRequest.newBuilder().setManifests(Fixtures.BASE).build());
      assertThat(p.kill()).isEqualTo(137);
      assertThat(p.dataDir.resolve("dsfleet.db-wal")).exists();
      p.start();
      assertThat(p.control().get(GetRequest.newBuilder().setKind(ObjectKind.DAEMON_SET).setNamespace("ops").build()).getDaemonSetsCount())
          .isEqualTo(1);
      assertThat(p.kill()).isEqualTo(137);
      Files.delete(p.dataDir.resolve("dsfleet.db-wal"));
      var start = serve(p.dataDir);
      assertThat(start.exit()).as(start.output()).isEqualTo(1);
      assertThat(start.output()).doesNotContain("Exception").contains("ds-coordinator: " + p.dataDir.resolve("dsfleet.db-wal")
          + " is missing, but " + p.dataDir.resolve("dsfleet.db.open"));
      assertThat(p.dataDir.resolve("dsfleet.db-wal")).doesNotExist();
    }
  }

  /**
   * The store's file replaced (another file renamed over it, a copy put back by hand) or its WAL
   * deleted under the open store: the next write is refused, nothing written, naming the file;
   * before 2026-12-06 it was committed into the file held open, which no start would read.
   */
  @Test
  void aStoreFileReplacedOrAWalDeletedTakesNoWrite() throws Exception {
    Store.ObjectWrite a = new Store.ObjectWrite(new Store.StoredObject("ConfigMap", "ns", "a", "{}", 1, 0, 0), 0, null, List.of(), null);
    Store.ObjectWrite b = new Store.ObjectWrite(new Store.StoredObject("ConfigMap", "ns", "b", "{}", 1, 0, 0), 0, null, List.of(), null);
    Path data = dir.resolve("replaced");
    try (var s = new SqliteStore(data)) {
      s.putObjects(List.of(a));
      s.copyTo(dir.resolve("older.db"));
      Files.move(dir.resolve("older.db"), data.resolve("dsfleet.db"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      var refused = catchThrowableOfType(io.dsfleet.coordinator.store.StoreException.class, () -> s.putObjects(List.of(b)));
      assertThat(refused.mayHaveApplied()).isFalse();
      assertThat(refused).hasMessageContaining("nothing changed: " + data.resolve("dsfleet.db") + " was deleted or replaced");
      assertThat(s.objects()).extracting(Store.StoredObject::name).containsExactly("a");
    }
    Path wal = dir.resolve("wal");
    try (var s = new SqliteStore(wal)) {
      s.putObjects(List.of(a));
      Files.delete(wal.resolve("dsfleet.db-wal"));
      var refused = catchThrowableOfType(io.dsfleet.coordinator.store.StoreException.class, () -> s.putObjects(List.of(b)));
      assertThat(refused).hasMessageContaining(wal.resolve("dsfleet.db-wal") + " was deleted or replaced");
    }
  }

  /**
   * The store's file deleted between a write's look and its commit: the write is answered as
   * possibly applied, not as done, and the copy saved holds it (what a restore of it brings back),
   * as its refusal says (before helper-151 it said "not kept"). No test reached this look until
   * helper-149: without it the write was acknowledged.
   */
  @Test
  void aStoreDeletedDuringAWriteIsAnsweredPossiblyAppliedAndTheCopyHoldsIt() throws Exception {
    Path data = dir.resolve("data");
    try (var s = SqliteStore.openKept(data)) {
      var during = catchThrowableOfType(io.dsfleet.coordinator.store.StoreException.class, () -> s.applyEntry(1, 1, () -> {
        try {
          Files.delete(data.resolve("dsfleet.db")); // after the look before, inside the write's transaction
        } catch (java.io.IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
        return s.putObjects(List.of(new Store.ObjectWrite(new Store.StoredObject("ConfigMap", "ns", "a", "{}", 1, 0, 0), 0, null,
            List.of(), null)));
      }));
      assertThat(during).as("acknowledged into the deleted file").isNotNull();
      assertThat(during.mayHaveApplied()).isTrue();
      assertThat(during).hasMessageContaining(data.resolve("dsfleet.db") + " was deleted or replaced")
          .hasMessageStartingWith("store write committed into the file this coordinator holds, which no start opens, and in the copy"
              + " saved, which a restore brings back: ").hasMessageNotContaining("not kept"); // before helper-151 "not kept"
    }
    Path saved;
    try (var files = Files.list(data)) {
      saved = files.filter(f -> f.getFileName().toString().startsWith("dsfleet.db.saved-")).findFirst().orElseThrow();
    }
    try (var c = java.sql.DriverManager.getConnection("jdbc:sqlite:" + saved);
        var rs = c.createStatement().executeQuery("SELECT name FROM objects")) {
      assertThat(rs.next()).as("the copy holds the write").isTrue();
      assertThat(rs.getString(1)).isEqualTo("a");
    }
  }

  /**
   * The store's file deleted while no write came (a quiet fleet), then the coordinator stopped: the
   * store, closing, saves what it holds (owner-only: sealed Secrets, certificates' records), and the
   * start after names that copy. Before this fix (helper-149) only a write looked, the deleted
   * file went with the close, and the start was refused with nothing to restore.
   */
  @Test
  void aStoreDeletedWhileNoWriteCameIsSavedWhenItCloses() throws Exception {
    Path data = dir.resolve("data");
    try (var s = SqliteStore.openKept(data)) {
      s.putObjects(List.of(new Store.ObjectWrite(new Store.StoredObject("ConfigMap", "ns", "a", "{}", 1, 0, 0), 0, null, List.of(), null)));
      Files.delete(data.resolve("dsfleet.db"));
    }
    Path saved;
    try (var files = Files.list(data)) {
      saved = files.filter(f -> f.getFileName().toString().startsWith("dsfleet.db.saved-")).findFirst().orElseThrow(
          () -> new AssertionError("no copy saved at close"));
    }
    assertThat(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(saved))).isEqualTo("rw-------");
    try (var c = java.sql.DriverManager.getConnection("jdbc:sqlite:" + saved);
        var rs = c.createStatement().executeQuery("SELECT name FROM objects")) {
      assertThat(rs.next()).isTrue();
      assertThat(rs.getString(1)).isEqualTo("a");
    }
    var refused = catchThrowableOfType(io.dsfleet.coordinator.store.StoreException.class, () -> SqliteStore.openKept(data));
    assertThat(refused).hasMessageContaining("the coordinator saved " + saved);
  }

  /**
   * The store's file deleted under a running coordinator: the writes after are refused (UNAVAILABLE,
   * naming the file, nothing in memory), a copy of what the store held is saved, a start after a
   * SIGKILL is refused pointing to it, and restored from it the coordinator has every write it
   * acknowledged. Before 2026-12-06 those writes were acknowledged into the deleted file and the
   * start after a kill served an empty fleet, the writes from before the deletion lost too.
   */
  @Test
  void aStoreDeletedUnderARunningCoordinatorTakesNoWriteItWouldLose() throws Exception {
    try (CoordinatorProcess p = new CoordinatorProcess(dir).start()) {
      p.control().apply(ApplyRequest.newBuilder().setManifests(Fixtures.BASE).build());
      Files.delete(p.dataDir.resolve("dsfleet.db"));
      var refused = catchThrowableOfType(StatusRuntimeException.class, () -> p.control().apply(ApplyRequest.newBuilder().setManifests("""
          apiVersion: v1
          kind: ConfigMap
          metadata: {name: cfg, namespace: ops}
          data: {a: b}
          """).build()));
      assertThat(refused.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
      assertThat(refused.getStatus().getDescription()).contains(p.dataDir.resolve("dsfleet.db") + " was deleted or replaced while this"
          + " coordinator ran").contains("saved in " + p.dataDir.resolve("dsfleet.db.saved-"));
      var cm = catchThrowableOfType(StatusRuntimeException.class, () -> p.control().get(GetRequest.newBuilder()
          .setKind(ObjectKind.CONFIG_MAP).setNamespace("ops").setName("cfg").build()));
      assertThat(cm.getStatus().getCode()).as("memory holds what the store refused as not applied").isEqualTo(Status.Code.NOT_FOUND);
      assertThat(p.control().get(GetRequest.newBuilder().setKind(ObjectKind.DAEMON_SET).setNamespace("ops").build()).getDaemonSetsCount())
          .as("reads go on").isEqualTo(1);
      Path saved;
      try (var files = Files.list(p.dataDir)) {
        saved = files.filter(f -> f.getFileName().toString().startsWith("dsfleet.db.saved-")).findFirst().orElseThrow();
      }

      assertThat(p.kill()).isEqualTo(137);
      var start = serve(p.dataDir);
      assertThat(start.exit()).as(start.output()).isEqualTo(1);
      assertThat(start.output()).contains(p.dataDir.resolve("dsfleet.db") + " is missing").contains("the coordinator saved " + saved);
      Path kept = Files.move(saved, dir.resolve("saved.db"));
      var restore = ReplicaCliTest.run(new CoordinatorMain(), "restore", "--unverified", "--data-dir", p.dataDir.toString(),
          "--config", dir.resolve("none.yaml").toString(), kept.toString());
      assertThat(restore.exit()).as(restore.err()).isZero();
      p.start();
      var ds = p.control().get(GetRequest.newBuilder().setKind(ObjectKind.DAEMON_SET).setNamespace("ops").setName("agent").build());
      assertThat(ds.getDaemonSetsList()).extracting(d -> d.getName()).containsExactly("agent");
    }
  }
}
