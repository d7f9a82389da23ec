package io.dsfleet.coordinator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.dsfleet.coordinator.grpc.CoordinatorFixture;
import io.dsfleet.coordinator.store.SqliteStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One ds-coordinator process at a time in a data directory ({@link DataDirLock}): a second serve,
 * an init, a join or a restore beside one that holds it is refused with who holds it and touches
 * nothing; a holder SIGKILLed leaves no stale lock.
 */
class DataDirLockTest {
  private static final String CONFIG_MAP = "{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"metadata\": {\"name\": \"settings\"},"
      + " \"data\": {\"k\": \"v\"}}";

  @TempDir Path dir;

  private CoordinatorServer serve(Path data) {
    return new CoordinatorServer(CoordinatorFixture.options(data, false), Clock.systemUTC(), false);
  }

  @Test
  void aSecondServeOfTheSameDirectoryIsRefusedAndTheFirstServesOn() throws Exception {
    Path data = dir.resolve("data");
    try (CoordinatorServer first = serve(data).start()) {
      assertThatThrownBy(() -> serve(data))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining(data + " is in use by another ds-coordinator (serve, pid " + ProcessHandle.current().pid());
      var restore = ReplicaCliTest.run(new CoordinatorMain(), "restore", "--data-dir", data.toString(), "--config",
          dir.resolve("none.yaml").toString(), "--unverified", dir.resolve("any.db").toString());
      assertThat(restore.exit()).isEqualTo(2);
      assertThat(restore.err()).contains("is in use by another ds-coordinator (serve, pid");
      first.fleet().apply(CONFIG_MAP, "test", false); // the first one still serves and writes
    }
    try (CoordinatorServer next = serve(data).start()) { // closed, it left the directory to the next
      assertThat(next.fleet().configs("ConfigMap")).extracting(o -> o.name()).containsExactly("settings");
    }
  }

  @Test
  void aHolderKilledLeavesNoStaleLock() throws Exception {
    Path served = dir.resolve("served");
    serve(served).close(); // a data directory's Secrets key, for a restore to find
    Path data = dir.resolve("data");
    Files.createDirectories(data.resolve("pki"));
    Files.copy(SqliteStore.secretsKey(served), SqliteStore.secretsKey(data));
    Path backup = dir.resolve("backup.db");
    Files.writeString(backup, "not read");
    Path mac = dir.resolve("backup.db.mac");
    assertThat(new ProcessBuilder("mkfifo", mac.toString()).start().waitFor()).isZero();
    // a restore that holds the lock, blocked reading its MAC (a named pipe nobody writes)
    Process restore = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-XX:TieredStopAtLevel=1",
        "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path"), CoordinatorMain.class.getName(), "restore", "--data-dir",
        data.toString(), "--config", dir.resolve("none.yaml").toString(), backup.toString())
        .redirectErrorStream(true).redirectOutput(dir.resolve("restore.log").toFile()).start();
    try {
      org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(30))
          .until(() -> Files.exists(data.resolve(DataDirLock.FILE)) && Files.readString(data.resolve(DataDirLock.FILE)).contains("restore"));
      assertThatThrownBy(() -> serve(data)).isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("is in use by another ds-coordinator (restore, pid " + restore.pid());
      var init = ReplicaCliTest.run(new CoordinatorMain(), "init", "--data-dir", data.toString(), "--config", dir.resolve("none.yaml").toString());
      assertThat(init.exit()).isEqualTo(2);
      assertThat(init.err()).contains("is in use by another ds-coordinator (restore, pid " + restore.pid());
      assertThat(data.resolve("pki/ca.crt")).as("the refused init made nothing").doesNotExist();
    } finally {
      restore.destroyForcibly();
      assertThat(restore.waitFor(10, TimeUnit.SECONDS)).isTrue();
    }
    // the kernel dropped the killed holder's lock: serve takes it, then refuses a store that pki/ says is gone (LostStoreTest)
    assertThatThrownBy(() -> serve(data)).hasMessageContaining(data.resolve("dsfleet.db") + " is missing");
    Files.delete(SqliteStore.secretsKey(data)); // a new data directory, as the restore never got to put the backup there
    try (CoordinatorServer server = serve(data).start()) {
      assertThat(server.fleet().apply(CONFIG_MAP, "test", false).results()).extracting(r -> r.action()).containsExactly("created");
    }
  }
  /** A ds-coordinator command in a process of its own, its output in {@code log}. */
  private Process child(Path log, String... args) throws Exception {
    java.util.List<String> cmd = new java.util.ArrayList<>(java.util.List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path"), CoordinatorMain.class.getName()));
    cmd.addAll(java.util.List.of(args));
    return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
  }

  /**
   * fcntl locks are the process's, and closing any descriptor of the file drops them all: a take
   * refused inside the holder's own process (a second CoordinatorServer on the directory, as the
   * test above makes) closed its descriptor of the lock file and so dropped the holder's lock for
   * every other process, which then initialised (or restored, or served) beside the holder.
   */
  @Test
  void aTakeRefusedInTheHoldersOwnProcessLeavesTheLockHeldForOthers() throws Exception {
    Path data = dir.resolve("data");
    long pid = ProcessHandle.current().pid();
    try (DataDirLock held = DataDirLock.take(data, "serve")) {
      assertThatThrownBy(() -> DataDirLock.take(data, "restore")).isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("is in use by another ds-coordinator (serve, pid " + pid);
      Path log = dir.resolve("init.log");
      Process init = child(log, "init", "--data-dir", data.toString(), "--config", dir.resolve("none.yaml").toString());
      assertThat(init.waitFor(60, TimeUnit.SECONDS)).isTrue();
      assertThat(Files.readString(log)).contains("is in use by another ds-coordinator (serve, pid " + pid);
      assertThat(init.exitValue()).isEqualTo(2);
      assertThat(data.resolve("pki/ca.crt")).as("the refused init made nothing").doesNotExist();
    }
  }

  /** A lock closed twice (a CoordinatorServer closed twice) leaves the next holder's alone. */
  @Test
  void aSecondCloseLeavesTheNextHolderAlone() {
    Path data = dir.resolve("data");
    DataDirLock first = DataDirLock.take(data, "serve");
    first.close();
    try (DataDirLock next = DataDirLock.take(data, "init")) {
      first.close();
      assertThatThrownBy(() -> DataDirLock.take(data, "restore")).isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("(init, pid " + ProcessHandle.current().pid());
    }
    DataDirLock.take(data, "serve").close();
  }
  /** The files of {@code dir} this process has open (its descriptors, as /proc/self/fd shows them). */
  private static java.util.List<String> openUnder(Path dir) throws Exception {
    Path real = dir.toRealPath();
    java.util.List<String> open = new java.util.ArrayList<>();
    try (var fds = Files.list(Path.of("/proc/self/fd"))) {
      for (Path fd : fds.toList()) {
        try {
          Path target = Files.readSymbolicLink(fd);
          if (target.startsWith(real)) {
            open.add(target.toString());
          }
        } catch (java.io.IOException gone) {
          // closed meanwhile (the listing's own descriptor among them)
        }
      }
    }
    return open;
  }

  /**
   * A start that fails after it opened the store (here the server's builder refuses a negative
   * message size, after the CA was made) closes what it opened before it leaves the directory to
   * the next: before this test it released the lock and left the store open, and its threads running.
   */
  @Test
  void aStartThatFailsClosesTheStoreItOpenedBeforeItLeavesTheDirectory() throws Exception {
    Path data = dir.resolve("data");
    CoordinatorOptions o = CoordinatorFixture.options(data, false);
    CoordinatorOptions bad = new CoordinatorOptions(o.host(), o.port(), data, o.fleet(), o.tickInterval(), -1, o.insecure(), o.tlsNames(),
        o.nodeCertTtl(), o.connections());
    assertThatThrownBy(() -> new CoordinatorServer(bad, Clock.systemUTC(), false)).isInstanceOf(IllegalArgumentException.class);
    assertThat(data.resolve("pki/ca.crt")).as("it failed after the store was open and the CA made").exists();
    assertThat(openUnder(data)).as("nothing of the directory open once the lock is released").isEmpty();
    serve(data).close();
  }
  /** join writes the directory (the CA, the Secrets key, the group's store): refused beside a holder, as init and restore. */
  @Test
  void aJoinBesideAHolderIsRefused() {
    Path data = dir.resolve("data");
    try (DataDirLock held = DataDirLock.take(data, "serve")) {
      var join = ReplicaCliTest.run(new CoordinatorMain(), "join", "--data-dir", data.toString(), "--config", dir.resolve("none.yaml").toString(),
          "--replica-id", "c2", "--peer", "c1,127.0.0.1:1,127.0.0.1:2", "--peer", "c2,127.0.0.1:3,127.0.0.1:4", "--token", "not.a.token",
          "--coordinator", "127.0.0.1:2");
      assertThat(join.exit()).isEqualTo(2);
      assertThat(join.err()).contains("is in use by another ds-coordinator (serve, pid " + ProcessHandle.current().pid());
    }
  }
  /** init beside a serving coordinator: its directory is initialised, and init says so (asked first, without the lock). */
  @Test
  void initBesideAServingCoordinatorSaysAlreadyInitialised() throws Exception {
    Path data = dir.resolve("data");
    try (CoordinatorServer server = serve(data).start()) {
      var init = ReplicaCliTest.run(new CoordinatorMain(), "init", "--data-dir", data.toString(), "--config", dir.resolve("none.yaml").toString());
      assertThat(init.exit()).as(init.err()).isZero();
      assertThat(init.out()).contains("already initialised: " + data.resolve("pki"));
    }
  }

  /** serve refused says so as the other commands do (status 2, the message, no stack trace): before this test it threw. */
  @Test
  void aServeRefusedSaysWhoHoldsTheDirectory() {
    Path data = dir.resolve("data");
    try (DataDirLock held = DataDirLock.take(data, "restore")) {
      var serve = ReplicaCliTest.run(new CoordinatorMain(), "serve", "--data-dir", data.toString(), "--config", dir.resolve("none.yaml").toString(),
          "--listen", "127.0.0.1:0", "--metrics-listen", "off", "--dashboard-listen", "off", "--kube-api-listen", "off");
      assertThat(serve.exit()).isEqualTo(2);
      assertThat(serve.err()).startsWith("ds-coordinator: " + data + " is in use by another ds-coordinator (restore, pid "
          + ProcessHandle.current().pid());
    }
  }

  /**
   * serve on a full or read-only disk says what is wrong with the disk, in one line (status 1):
   * before 2026-12-05 a full disk stopped the start with a stack trace naming an I/O error
   * ("SQLITE_IOERR_SHMSIZE ... disk I/O error": SQLite could not make the WAL's index file), which
   * sent the operator looking for a failing disk, and a read-only one with a stack trace (helper-94).
   */
  @Test
  void aServeOnAFullOrReadOnlyDiskSaysSoInOneLine() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "a small tmpfs needs root: not run");
    Path small = java.nio.file.Files.createDirectory(dir.resolve("small"));
    io.dsfleet.common.testing.Processes.succeed("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", small.toString());
    try {
      Path data = small.resolve("data");
      new io.dsfleet.coordinator.store.SqliteStore(data).close(); // a store the last coordinator left, closed cleanly
      try (var out = java.nio.file.Files.newOutputStream(small.resolve("filler"))) {
        byte[] block = new byte[4096];
        while (true) {
          out.write(block);
        }
      } catch (java.io.IOException full) {
        // no byte left
      }
      String[] serve = {"serve", "--data-dir", data.toString(), "--config", dir.resolve("none.yaml").toString(), "--insecure",
          "--listen", "127.0.0.1:0", "--metrics-listen", "off", "--dashboard-listen", "off", "--kube-api-listen", "off"};
      var full = ReplicaCliTest.run(new CoordinatorMain(), serve);
      assertThat(full.exit()).as(full.err()).isEqualTo(1);
      assertThat(full.err()).doesNotContain("Exception").doesNotContain("\tat ").contains("\nds-coordinator: cannot open the store in " + data)
          .contains("(the file system of " + data + " has no space left: 0 bytes free)");
      java.nio.file.Files.delete(small.resolve("filler"));
      io.dsfleet.common.testing.Processes.succeed("mount", "-o", "remount,ro", small.toString());
      var readOnly = ReplicaCliTest.run(new CoordinatorMain(), serve);
      assertThat(readOnly.exit()).as(readOnly.err()).isEqualTo(1);
      assertThat(readOnly.err()).doesNotContain("Exception").doesNotContain("\tat ").contains("\nds-coordinator: ")
          .contains("Read-only file system");
    } finally {
      io.dsfleet.common.testing.Processes.succeed("umount", "-l", small.toString());
    }
  }

  /**
   * serve on a store a failing disk damaged says so in one line with SQLite's own words, not
   * only the store's step ("reading objects") and not a stack trace (helper-94).
   */
  @Test
  void aServeOnADamagedStoreSaysWhatSqliteFoundInOneLine() throws Exception {
    Path data = dir.resolve("data");
    try (var s = new io.dsfleet.coordinator.store.SqliteStore(data)) {
      s.putObjects(List.of(new io.dsfleet.coordinator.store.Store.ObjectWrite(new io.dsfleet.coordinator.store.Store.StoredObject(
          "ConfigMap", "ns", "a", "{}", 1, 0, 0), 0, null, List.of(), null)));
    }
    try (var f = new java.io.RandomAccessFile(data.resolve("dsfleet.db").toFile(), "rw")) {
      f.seek(4096); // page 2: the objects table's first page
      f.write(new byte[4096]);
      f.seek(4096);
      f.write(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff});
    }
    var serve = ReplicaCliTest.run(new CoordinatorMain(), "serve", "--data-dir", data.toString(), "--config",
        dir.resolve("none.yaml").toString(), "--insecure", "--listen", "127.0.0.1:0", "--metrics-listen", "off", "--dashboard-listen",
        "off", "--kube-api-listen", "off");
    assertThat(serve.exit()).as(serve.err()).isEqualTo(1);
    assertThat(serve.err()).doesNotContain("Exception").doesNotContain("\tat ").contains("\nds-coordinator: ").contains("SQLITE_CORRUPT");
  }
}
