package io.dsfleet.coordinator.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.dsfleet.coordinator.store.Store.ObjectWrite;
import io.dsfleet.coordinator.store.Store.StoredObject;
import io.dsfleet.coordinator.store.Store.StoredRevision;
import java.nio.file.Path;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SqliteStoreTest {
  @TempDir Path dir;

  static ObjectWrite config(String name, long expected) {
    return new ObjectWrite(new StoredObject("ConfigMap", "ns", name, "{}", 1, 0, 0), expected, null, List.of(), null);
  }

  static ObjectWrite daemonSet(long expected, String hash, List<Long> prune, String rollout) {
    return new ObjectWrite(new StoredObject("DaemonSet", "ns", "ds", "{\"h\":\"" + hash + "\"}", 1, 0, 0), expected,
        hash == null ? null : new StoredRevision("ns", "ds", 0, hash, "{}", null, 0), prune, rollout);
  }

  static ObjectWrite secret(String name, String json) {
    return new ObjectWrite(new StoredObject("Secret", "ns", name, json, 1, 0, 0), -1, null, List.of(), null);
  }

  /** Every byte of the store's files (the database, its WAL): what a backup of them would hold. */
  String rawFiles() throws Exception {
    StringBuilder all = new StringBuilder();
    try (var files = java.nio.file.Files.list(dir)) {
      for (Path f : files.filter(f -> f.getFileName().toString().startsWith("dsfleet.db")).toList()) {
        all.append(new String(java.nio.file.Files.readAllBytes(f), java.nio.charset.StandardCharsets.ISO_8859_1));
      }
    }
    return all.toString();
  }

  /**
   * Every read runs under the store's lock: its reads are SqliteReads', static on the connection
   * and locking nothing themselves, so a read asked while a write holds the lock waits for it (a
   * thread blocked on a monitor: the store's is the only one held).
   */
  @Test
  void everyReadWaitsForTheStoresLock() throws Exception {
    try (SqliteStore s = new SqliteStore(dir)) {
      java.util.Map<String, Runnable> reads = new java.util.LinkedHashMap<>();
      reads.put("objects", s::objects);
      reads.put("orphans of a node", () -> s.orphans("n1"));
      reads.put("orphans", s::orphans);
      reads.put("revisions", s::revisions);
      reads.put("nodes", s::nodes);
      reads.put("events", s::events);
      reads.put("rollouts", s::rollouts);
      reads.put("tokens", s::tokens);
      reads.put("certificates", s::certificates);
      reads.put("appliedEntry", s::appliedEntry);
      for (var read : reads.entrySet()) {
        Thread reader = new Thread(read.getValue(), "reading " + read.getKey());
        synchronized (s) {
          reader.start();
          org.awaitility.Awaitility.await(read.getKey() + " waits for the store's lock").atMost(java.time.Duration.ofSeconds(10))
              .until(() -> reader.getState() == Thread.State.BLOCKED || !reader.isAlive());
          assertThat(reader.getState()).as(read.getKey() + " read without the store's lock").isEqualTo(Thread.State.BLOCKED);
        }
        reader.join(10_000);
        assertThat(reader.isAlive()).as(read.getKey() + " done once the lock is free").isFalse();
      }
    }
  }

  /** A full disk is named as such (it read "cannot commit - no transaction is active": the rollback's error hid the commit's; helper-75). */
  @Test
  void aFullDiskIsTheErrorAWriteReports() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "a small tmpfs needs root: not run");
    Path small = java.nio.file.Files.createDirectory(dir.resolve("small"));
    io.dsfleet.common.testing.Processes.succeed("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", small.toString());
    java.io.PrintStream stderr = System.err;
    var printed = new java.io.ByteArrayOutputStream();
    try (SqliteStore s = new SqliteStore(small)) {
      String big = "x".repeat(200_000);
      System.setErr(new java.io.PrintStream(printed, true, java.nio.charset.StandardCharsets.UTF_8));
      try {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> {
          for (int i = 0; i < 100; i++) {
            s.putEvents(List.of(new Store.StoredEvent("ds/ns/a" + i, i, "Normal", "Big", big)), 50);
          }
        }).isInstanceOf(StoreException.class).hasMessageContaining("SQLITE_FULL");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> s.putEvents(List.of(new Store.StoredEvent("ds/ns/b", 1, "Normal", "Big",
            big)), 50)).isInstanceOf(StoreException.class).hasMessageContaining("SQLITE_FULL");
      } finally {
        System.setErr(stderr);
      }
      // before 2026-12-06 each refused write also logged "the store's connection did not go back to autocommit:
      // SQL error or missing database (cannot commit - no transaction is active)" (helper-139)
      assertThat(printed.toString(java.nio.charset.StandardCharsets.UTF_8)).doesNotContain("autocommit");
      io.dsfleet.common.testing.Processes.succeed("mount", "-o", "remount,size=8m", small.toString());
      s.putEvents(List.of(new Store.StoredEvent("ds/ns/c", 1, "Normal", "Small", "once there is room")), 50);
      assertThat(s.events()).extracting(Store.StoredEvent::message).contains("once there is room");
    } finally {
      io.dsfleet.common.testing.Processes.succeed("umount", small.toString());
    }
  }

  /**
   * A copy (a backup) the disk has no room for leaves no file: before 2026-12-05 the empty or
   * partial copy stayed under the name asked for, a backup tried again once the disk had room was
   * refused ("exists; a backup never overwrites"), and a partial file looked like a backup
   * (helper-94).
   */
  @Test
  void aCopyTheDiskHasNoRoomForLeavesNoFileAndTheSameNameIsCopiedToOnceThereIsRoom() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "a small tmpfs needs root: not run");
    Path small = java.nio.file.Files.createDirectory(dir.resolve("small"));
    io.dsfleet.common.testing.Processes.succeed("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", small.toString());
    try (SqliteStore s = new SqliteStore(dir)) {
      s.putObjects(List.of(new ObjectWrite(new StoredObject("ConfigMap", "ns", "big", "{\"data\":{\"a\":\"" + "x".repeat(100_000) + "\"}}",
          1, 0, 0), 0, null, List.of(), null)));
      Path copy = small.resolve("backup.db");
      assertThatThrownBy(() -> s.copyTo(copy)).isInstanceOf(StoreException.class).hasMessageContaining("SQLITE_FULL");
      assertThat(copy).as("the copy that did not fit").doesNotExist();
      io.dsfleet.common.testing.Processes.succeed("mount", "-o", "remount,size=1m", small.toString());
      s.copyTo(copy);
      try (var c = DriverManager.getConnection("jdbc:sqlite:" + copy); Statement st = c.createStatement();
          var rs = st.executeQuery("SELECT name FROM objects")) {
        assertThat(rs.next() ? rs.getString(1) : null).as("the copy made once there was room").isEqualTo("big");
      }
    } finally {
      io.dsfleet.common.testing.Processes.succeed("umount", "-l", small.toString());
    }
  }

  /**
   * A commit whose fsync failed (a disk returning I/O errors: here ext4 on a loop device whose
   * backing file's tmpfs is full) may have been applied, and says so: SQLite wrote the
   * transaction's frames, its commit frame last, to the WAL before the fsync, and the start after a
   * SIGKILL recovers the WAL from what the file then holds (the kernel keeps the pages it could not
   * write). Before 2026-12-05 it was "nothing applied", and a killed coordinator started again with
   * the refused apply in place (helper-94). The files copied as they are stand in for the kill.
   */
  @Test
  void aCommitWhoseFsyncFailedMayHaveBeenAppliedAndAStartAfterAKillMayFindIt() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "a loop device needs root: not run");
    org.junit.jupiter.api.Assumptions.assumeTrue(java.nio.file.Files.exists(Path.of("/dev/loop-control")), "no loop devices: not run");
    Path back = java.nio.file.Files.createDirectory(dir.resolve("back"));
    Path disk = java.nio.file.Files.createDirectory(dir.resolve("disk"));
    io.dsfleet.common.testing.Processes.succeed("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", back.toString());
    String loop = null;
    try {
      Path image = back.resolve("disk.img");
      try (var f = new java.io.RandomAccessFile(image.toFile(), "rw")) {
        f.setLength(32L << 20); // sparse: what the file system writes beyond the tmpfs's 4 MiB fails under it
      }
      io.dsfleet.common.testing.Processes.succeed("mkfs.ext4", "-q", "-O", "^has_journal", image.toString());
      var attached = io.dsfleet.common.testing.Processes.run(new ProcessBuilder("losetup", "-f", "--show", image.toString()),
          java.time.Duration.ofSeconds(30));
      org.junit.jupiter.api.Assumptions.assumeTrue(attached.exit() == 0, "no loop device to attach: not run");
      loop = attached.output().strip();
      io.dsfleet.common.testing.Processes.succeed("mount", "-o", "errors=continue", loop, disk.toString());
      try (SqliteStore s = new SqliteStore(disk)) {
        s.putObjects(List.of(config("before", 0)));
        try (var out = java.nio.file.Files.newOutputStream(back.resolve("filler"))) { // the tmpfs full to its last byte
          byte[] block = new byte[4096];
          while (true) {
            out.write(block);
          }
        } catch (java.io.IOException full) {
          // no space left
        }
        var refused = org.assertj.core.api.Assertions.catchThrowableOfType(StoreException.class,
            () -> s.putObjects(List.of(new ObjectWrite(new StoredObject("ConfigMap", "ns", "refused",
                "{\"data\":{\"a\":\"" + "x".repeat(1 << 20) + "\"}}", 1, 0, 0), 0, null, List.of(), null))));
        assertThat(refused).as("the write whose fsync failed").isNotNull().hasMessageContaining("SQLITE_IOERR_FSYNC");
        assertThat(refused.mayHaveApplied()).as("an fsync that failed after the commit frame was written").isTrue();
        assertThat(s.objects()).extracting(StoredObject::name).as("this process's view").containsExactly("before");
        Path afterKill = java.nio.file.Files.createDirectory(dir.resolve("after-kill"));
        for (String f : List.of("dsfleet.db", "dsfleet.db-wal")) {
          java.nio.file.Files.copy(disk.resolve(f), afterKill.resolve(f));
        }
        try (SqliteStore restarted = new SqliteStore(afterKill)) {
          assertThat(restarted.objects()).extracting(StoredObject::name).as("what a start after a SIGKILL loads")
              .containsExactlyInAnyOrder("before", "refused");
        }
      }
    } finally {
      if (loop != null) {
        io.dsfleet.common.testing.Processes.run(new ProcessBuilder("umount", "-l", disk.toString()), java.time.Duration.ofSeconds(30));
        io.dsfleet.common.testing.Processes.run(new ProcessBuilder("losetup", "-d", loop), java.time.Duration.ofSeconds(30));
      }
      io.dsfleet.common.testing.Processes.succeed("umount", "-l", back.toString());
    }
  }

  /**
   * A file system the kernel made read-only after an error on it (ext4, errors=remount-ro: its
   * options still say rw, with emergency_ro) is named so in the refused write, nothing applied;
   * before 2026-12-06 the write said "disk I/O error" alone (helper-139).
   */
  @Test
  void aFileSystemTheKernelMadeReadOnlyAfterAnErrorIsNamedInTheRefusal() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "a loop device needs root: not run");
    org.junit.jupiter.api.Assumptions.assumeTrue(java.nio.file.Files.exists(Path.of("/dev/loop-control")), "no loop devices: not run");
    Path disk = java.nio.file.Files.createDirectory(dir.resolve("disk"));
    Path image = dir.resolve("disk.img");
    try (var f = new java.io.RandomAccessFile(image.toFile(), "rw")) {
      f.setLength(32L << 20);
    }
    io.dsfleet.common.testing.Processes.succeed("mkfs.ext4", "-q", image.toString());
    var attached = io.dsfleet.common.testing.Processes.run(new ProcessBuilder("losetup", "-f", "--show", image.toString()),
        java.time.Duration.ofSeconds(30));
    org.junit.jupiter.api.Assumptions.assumeTrue(attached.exit() == 0, "no loop device to attach: not run");
    String loop = attached.output().strip();
    try {
      io.dsfleet.common.testing.Processes.succeed("mount", "-o", "errors=remount-ro", loop, disk.toString());
      Path trigger = Path.of("/sys/fs/ext4", Path.of(loop).getFileName().toString(), "trigger_fs_error");
      org.junit.jupiter.api.Assumptions.assumeTrue(java.nio.file.Files.exists(trigger), "no " + trigger + " (ext4's test hook): not run");
      try (SqliteStore s = new SqliteStore(disk.resolve("data"))) {
        s.putObjects(List.of(config("before", 0)));
        java.nio.file.Files.writeString(trigger, "1"); // as an error the file system found on its disk
        var refused = org.assertj.core.api.Assertions.catchThrowableOfType(StoreException.class,
            () -> s.putObjects(List.of(config("refused", 0))));
        assertThat(refused).isNotNull().hasMessageContaining("(the file system of " + disk.resolve("data") + " is read-only: the kernel"
            + " made it so after an error on it, emergency_ro; check its disk and repair it)");
        assertThat(refused.mayHaveApplied()).isFalse();
        assertThat(s.objects()).extracting(StoredObject::name).containsExactly("before");
      }
    } finally {
      io.dsfleet.common.testing.Processes.run(new ProcessBuilder("umount", "-l", disk.toString()), java.time.Duration.ofSeconds(30));
      io.dsfleet.common.testing.Processes.run(new ProcessBuilder("losetup", "-d", loop), java.time.Duration.ofSeconds(30));
    }
  }

  /**
   * Root opens the service's store (`sudo ds-coordinator backup` beside the running service,
   * `restore`) in a directory the service's user writes: before 2026-12-06 a link that user planted
   * among the store's files made root chmod what it led to 0600 (dsfleet.db-wal to /etc/passwd),
   * and dsfleet.db one was opened as the store, an empty file written into (helper-113). Refused,
   * naming the link; what it leads to is left as it was.
   */
  @Test
  void aLinkAmongTheStoresFilesIsRefusedAndNeverFollowed(@TempDir Path elsewhere) throws Exception {
    new SqliteStore(dir).close();
    Path victim = java.nio.file.Files.createFile(elsewhere.resolve("victim"),
        java.nio.file.attribute.PosixFilePermissions.asFileAttribute(java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--")));
    Path store = java.nio.file.Files.move(dir.resolve("dsfleet.db"), elsewhere.resolve("store"));
    for (String f : List.of("dsfleet.db-wal", "dsfleet.db-shm", "dsfleet.db")) {
      if (!f.equals("dsfleet.db")) {
        java.nio.file.Files.copy(store, dir.resolve("dsfleet.db"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      } else {
        java.nio.file.Files.delete(dir.resolve("dsfleet.db"));
      }
      Path link = java.nio.file.Files.createSymbolicLink(dir.resolve(f), victim);
      Throwable refused = org.assertj.core.api.Assertions.catchThrowable(() -> new SqliteStore(dir).close());
      assertThat(java.nio.file.attribute.PosixFilePermissions.toString(java.nio.file.Files.getPosixFilePermissions(victim)))
          .as("chmod through " + f).isEqualTo("rw-r--r--");
      assertThat(java.nio.file.Files.size(victim)).as("written through " + f).isZero();
      assertThat(refused).as(f).hasMessageContaining(link + " is a link");
      java.nio.file.Files.delete(link);
    }
  }

  /**
   * ... and a FIFO that user renames over one of them (the WAL, which root's open makes 0600) at
   * the moment root opens it to set its mode: before 2026-12-06 root looked at the file, then
   * opened it read-only without O_NONBLOCK to fchmod it, and waited on the FIFO for good. The file
   * is held (O_PATH) before it is looked at: the FIFO is refused at once, naming it.
   */
  @Test
  void aFifoSwappedInAsRootSetsAStoreFilesModeIsRefusedAtOnce() throws Exception {
    new SqliteStore(dir).close();
    Path wal = java.nio.file.Files.writeString(dir.resolve("dsfleet.db-wal"), "");
    java.nio.file.Files.setPosixFilePermissions(wal, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
    java.util.concurrent.atomic.AtomicBoolean swapped = new java.util.concurrent.atomic.AtomicBoolean();
    Throwable refused = io.dsfleet.common.testing.Fifos.endsWithin(java.time.Duration.ofSeconds(20), wal,
        () -> org.assertj.core.api.Assertions.catchThrowable(() -> SqliteDatabase.ownerOnlyDatabaseFile(dir.resolve("dsfleet.db"), name -> {
          if (name.equals("dsfleet.db-wal")) { // the service's user, as root opens it
            io.dsfleet.common.testing.Fifos.over(wal);
            swapped.set(true);
          }
        })));
    assertThat(swapped).isTrue();
    assertThat(refused).hasMessageContaining(wal + " is not a file");
  }

  /**
   * The service's user renames a hard link of a file of root's (/etc/passwd, where
   * fs.protected_hardlinks is 0) over dsfleet.db-wal as root opens the store's files to make them
   * owner-only: before 2026-12-06 root made that file 0600. Refused naming it, its mode kept.
   */
  @Test
  void aHardLinkSwappedInAsRootSetsAStoreFilesModeIsRefused(@TempDir Path etc) throws Exception {
    new SqliteStore(dir).close();
    Path passwd = java.nio.file.Files.writeString(etc.resolve("passwd"), "root:x:0:0");
    java.nio.file.Files.setPosixFilePermissions(passwd, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
    Path wal = dir.resolve("dsfleet.db-wal");
    java.util.concurrent.atomic.AtomicBoolean swapped = new java.util.concurrent.atomic.AtomicBoolean();
    Throwable refused = org.assertj.core.api.Assertions.catchThrowable(() -> SqliteDatabase.ownerOnlyDatabaseFile(dir.resolve("dsfleet.db"),
        name -> {
          if (name.equals("dsfleet.db-wal")) { // the service's user, as root opens it
            try {
              java.nio.file.Files.deleteIfExists(wal);
              java.nio.file.Files.createLink(wal, passwd);
            } catch (java.io.IOException e) {
              throw new java.io.UncheckedIOException(e);
            }
            swapped.set(true);
          }
        }));
    assertThat(swapped).isTrue();
    assertThat(refused).hasMessageContaining(wal + " is a hard link, a file with 2 names");
    assertThat(java.nio.file.attribute.PosixFilePermissions.toString(java.nio.file.Files.getPosixFilePermissions(passwd)))
        .isEqualTo("rw-r--r--");
  }

  @Test
  void secretsAreSealedAtRestWithAKeyOutsideTheDatabaseAndOlderPlainOnesAreSealedAtOpen() throws Exception {
    String value = "{\"data\":{\"password\":\"hunter2-in-the-clear\"}}";
    try (SqliteStore s = new SqliteStore(dir)) {
      s.putObjects(List.of(secret("db", value), config("plain", 0)));
      assertThat(s.objects()).filteredOn(o -> o.name().equals("db")).extracting(StoredObject::json).containsExactly(value);
      assertThat(rawFiles()).doesNotContain("hunter2-in-the-clear").contains("ConfigMap");
      for (Path f : List.of(dir.resolve("dsfleet.db"), dir.resolve("dsfleet.db-wal"), SqliteStore.secretsKey(dir))) {
        assertThat(java.nio.file.attribute.PosixFilePermissions.toString(java.nio.file.Files.getPosixFilePermissions(f)))
            .as(f.toString()).isEqualTo("rw-------");
      }
    }
    // an older coordinator wrote a Secret in the clear: it is sealed when the store opens
    try (var c = DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("dsfleet.db")); Statement st = c.createStatement()) {
      st.execute("INSERT INTO objects VALUES ('Secret', 'ns', 'old', '{\"data\":{\"k\":\"old-plain-value\"}}', 1, 99, 0)");
    }
    try (SqliteStore s = new SqliteStore(dir)) {
      assertThat(s.objects()).filteredOn(o -> o.name().equals("old")).extracting(StoredObject::json)
          .containsExactly("{\"data\":{\"k\":\"old-plain-value\"}}");
      assertThat(rawFiles()).as("while it runs, the old plain value is left neither in the database file nor in the WAL")
          .doesNotContain("old-plain-value");
    }
    try (var c = DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("dsfleet.db")); Statement st = c.createStatement();
        var rs = st.executeQuery("SELECT json FROM objects WHERE kind='Secret'")) {
      while (rs.next()) {
        assertThat(rs.getString(1)).startsWith("dsb1:").doesNotContain("old-plain-value");
      }
    }
    // with another key, the store says so instead of serving garbage (with none, LostStoreTest)
    byte[] another = new byte[32];
    new java.security.SecureRandom().nextBytes(another);
    io.dsfleet.common.OwnerOnlyFiles.write(SqliteStore.secretsKey(dir), java.util.Base64.getEncoder().encodeToString(another) + "\n");
    assertThatThrownBy(() -> new SqliteStore(dir).objects()).isInstanceOf(StoreException.class)
        .hasMessageContaining("cannot decrypt with the key in " + SqliteStore.secretsKey(dir));
  }

  @Test
  void theStoreAllocatesResourceVersionsThatOnlyGrowAcrossReopens() {
    long first;
    try (SqliteStore s = new SqliteStore(dir)) {
      assertThat(s.schemaVersion()).isEqualTo(SqliteStore.latestSchemaVersion());
      first = s.putObjects(List.of(config("a", 0), config("b", 0))).objects().get(1).resourceVersion();
      assertThat(s.objects()).extracting(StoredObject::resourceVersion).containsExactlyInAnyOrder(first - 1, first);
      s.deleteObject("ConfigMap", "ns", "b");
    }
    try (SqliteStore s = new SqliteStore(dir)) {
      // b was the newest and is gone: a counter, not MAX(), so its version is never handed out again
      long next = s.putObjects(List.of(config("c", 0))).objects().get(0).resourceVersion();
      assertThat(next).isGreaterThan(first);
    }
  }

  @Test
  void aWriteAppliesOnlyOverTheVersionItExpects() {
    try (SqliteStore s = new SqliteStore(dir)) {
      long v1 = s.putObjects(List.of(config("a", 0))).objects().get(0).resourceVersion();
      assertThatThrownBy(() -> s.putObjects(List.of(config("a", 0))))
          .isInstanceOf(Store.ConflictException.class).hasMessageContaining("resourceVersion is " + v1 + ", not 0");
      assertThatThrownBy(() -> s.putObjects(List.of(config("b", 0), config("a", v1 + 5))))
          .as("one stale write refuses the whole batch").isInstanceOf(Store.ConflictException.class);
      assertThat(s.objects()).extracting(StoredObject::name).containsExactly("a");
      assertThatThrownBy(() -> s.putObjects(List.of(config("missing", 3))))
          .isInstanceOf(Store.ConflictException.class).hasMessageContaining("it does not exist");
      long v2 = s.putObjects(List.of(config("a", v1))).objects().get(0).resourceVersion();
      assertThat(v2).isGreaterThan(v1);
      assertThat(s.putObjects(List.of(config("a", -1))).objects().get(0).resourceVersion()).as("-1: unconditional").isGreaterThan(v2);
    }
  }

  @Test
  void revisionsAreNumberedByTheStoreAndTheRolloutIsWrittenInTheSameTransaction() {
    try (SqliteStore s = new SqliteStore(dir)) {
      var w1 = s.putObjects(List.of(daemonSet(0, "h1", List.of(), "{\"r\":1}")));
      assertThat(w1.revisions().get(0).revision()).isEqualTo(1);
      long rv = w1.objects().get(0).resourceVersion();
      var w2 = s.putObjects(List.of(daemonSet(rv, "h2", List.of(), "{\"r\":2}")));
      assertThat(w2.revisions().get(0).revision()).isEqualTo(2);
      assertThat(s.rollouts()).containsEntry("ns/ds", "{\"r\":2}");
      // h1 again: the old number goes, the template comes back as revision 3
      var w3 = s.putObjects(List.of(daemonSet(w2.objects().get(0).resourceVersion(), "h1", List.of(1L), "{\"r\":3}")));
      assertThat(w3.revisions().get(0).revision()).isEqualTo(3);
      assertThat(s.revisions()).extracting(StoredRevision::revision).containsExactlyInAnyOrder(2L, 3L);
      assertThatThrownBy(() -> s.putObjects(List.of(daemonSet(rv, "h4", List.of(2L), "{\"r\":4}"))))
          .isInstanceOf(Store.ConflictException.class);
      assertThat(s.rollouts()).as("a refused write leaves the rollout").containsEntry("ns/ds", "{\"r\":3}");
      assertThat(s.revisions()).extracting(StoredRevision::revision).containsExactlyInAnyOrder(2L, 3L);
      s.pruneRevisions("ns", "ds", List.of(2L));
      assertThat(s.revisions()).extracting(StoredRevision::revision).containsExactly(3L);
    }
  }

  /**
   * An orphan delete keeps, in its transaction, the revisions its released pods run (orphaned: no
   * DaemonSet's), across a restart; the DaemonSet made again under the name numbers its first
   * revision above them, and a cascade delete then takes every one.
   */
  @Test
  void anOrphanDeleteKeepsTheRevisionsItIsToldToAndTheNextDaemonSetNumbersAboveThem() {
    try (SqliteStore s = new SqliteStore(dir)) {
      long rv = s.putObjects(List.of(daemonSet(0, "h1", List.of(), "{\"r\":1}"))).objects().get(0).resourceVersion();
      rv = s.putObjects(List.of(daemonSet(rv, "h2", List.of(), "{\"r\":2}"))).objects().get(0).resourceVersion();
      s.putObjects(List.of(daemonSet(rv, "h3", List.of(), "{\"r\":3}")));
      s.deleteDaemonSetOrphaning("ns", "ds", List.of(new Store.Orphan("n1", "ns/ds-abcde")), List.of(1L, 3L));
      assertThat(s.objects()).isEmpty();
      assertThat(s.rollouts()).isEmpty();
    }
    try (SqliteStore s = new SqliteStore(dir)) {
      assertThat(s.revisions()).extracting(StoredRevision::hash).containsExactlyInAnyOrder("h1", "h3");
      assertThat(s.putObjects(List.of(daemonSet(0, "h4", List.of(1L), "{\"r\":4}"))).revisions().get(0).revision())
          .as("above the orphaned revisions it adopts").isEqualTo(4);
      assertThat(s.revisions()).extracting(StoredRevision::revision).containsExactlyInAnyOrder(3L, 4L);
      s.deleteObject("DaemonSet", "ns", "ds");
      assertThat(s.revisions()).isEmpty();
    }
  }

  @Test
  void aBatchIsAllOrNothing() {
    try (SqliteStore s = new SqliteStore(dir)) {
      var bad = new ObjectWrite(new StoredObject("ConfigMap", "ns", null, "{}", 1, 0, 0), 0, null, List.of(), null);
      assertThatThrownBy(() -> s.putObjects(List.of(config("a", 0), bad))).isInstanceOf(StoreException.class);
      assertThat(s.objects()).isEmpty();
    }
  }

  @Test
  void eventsAreKeptBoundedPerObject() {
    try (SqliteStore s = new SqliteStore(dir)) {
      for (int i = 0; i < 5; i++) {
        s.putEvents(List.of(new Store.StoredEvent("ds/a", i, "Normal", "R" + i, ""), new Store.StoredEvent("node/n", i, "Normal", "N", "")), 3);
      }
      assertThat(s.events()).filteredOn(e -> e.object().equals("ds/a")).extracting(Store.StoredEvent::reason)
          .containsExactly("R2", "R3", "R4");
      s.deleteEvents("ds/a");
      assertThat(s.events()).extracting(Store.StoredEvent::object).containsOnly("node/n").hasSize(3);
    }
  }

  @Test
  void aStoreFromANewerCoordinatorIsRefused() throws Exception {
    new SqliteStore(dir).close();
    try (var c = DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("dsfleet.db")); Statement st = c.createStatement()) {
      st.execute("PRAGMA user_version=" + (SqliteStore.latestSchemaVersion() + 1));
    }
    assertThatThrownBy(() -> new SqliteStore(dir)).isInstanceOf(StoreException.class)
        .hasMessageContaining("newer than this coordinator knows");
  }

  @Test
  void aVersionOneFileMigratesForwardKeepingItsData() throws Exception {
    try (var c = DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("dsfleet.db")); Statement st = c.createStatement()) {
      // what a coordinator of schema version 1 left
      st.execute("CREATE TABLE objects (kind TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL, json TEXT NOT NULL,"
          + " generation INTEGER NOT NULL, resource_version INTEGER NOT NULL, created_at INTEGER NOT NULL, PRIMARY KEY (kind, namespace, name))");
      st.execute("CREATE TABLE revisions (namespace TEXT NOT NULL, name TEXT NOT NULL, revision INTEGER NOT NULL,"
          + " hash TEXT NOT NULL, template_json TEXT NOT NULL, change_cause TEXT, created_at INTEGER NOT NULL, PRIMARY KEY (namespace, name, revision))");
      st.execute("CREATE TABLE nodes (name TEXT PRIMARY KEY, info_json TEXT NOT NULL, admin_labels_json TEXT NOT NULL,"
          + " admin_taints_json TEXT NOT NULL, unschedulable INTEGER NOT NULL, joined_at INTEGER NOT NULL)");
      st.execute("CREATE TABLE rollouts (namespace TEXT NOT NULL, name TEXT NOT NULL, json TEXT NOT NULL, PRIMARY KEY (namespace, name))");
      st.execute("INSERT INTO objects VALUES ('ConfigMap', 'ns', 'a', '{}', 1, 41, 0)");
      st.execute("INSERT INTO nodes VALUES ('n1', '{}', '{}', '{}', 0, 5)");
      st.execute("PRAGMA user_version=1");
    }
    try (SqliteStore s = new SqliteStore(dir)) {
      assertThat(s.schemaVersion()).isEqualTo(SqliteStore.latestSchemaVersion());
      assertThat(s.objects()).extracting(StoredObject::name).containsExactly("a");
      assertThat(s.nodes()).extracting(Store.StoredNode::stateJson).containsExactly("{}");
      assertThat(s.putObjects(List.of(config("b", 0))).objects().get(0).resourceVersion())
          .as("versions continue above the highest the file held").isEqualTo(42);
      s.deleteDaemonSetOrphaning("ns", "gone", List.of(new Store.Orphan("n1", "gone-abcde")), List.of());
      assertThat(s.orphans()).containsExactly(new Store.Orphan("n1", "gone-abcde"));
      s.putToken(new Store.StoredToken("abc123", "hash", "d", 1, 2, 0, 0, "n1", 1));
      assertThat(s.tokens()).extracting(Store.StoredToken::id).containsExactly("abc123");
      assertThat(s.tokens().get(0).node()).as("schema 5: a token scoped to a name").isEqualTo("n1");
      s.putCertificate(new Store.IssuedCertificate("ff", "n1", "dsfleet:nodes", 5, 0, 1, "join token abc123", ""));
      s.deleteCertificatesExpiredBefore(6);
      assertThat(s.certificates()).isEmpty();
    }
  }
}
