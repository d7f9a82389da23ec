package io.dsfleet.coordinator;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.coordinator.grpc.CoordinatorFixture;
import io.dsfleet.coordinator.store.SqliteStore;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * `ds-coordinator restore` as a real process, SIGKILLed in the middle: the data directory it
 * leaves must never serve what restore had not checked (an altered backup's content), and restore
 * must be able to start again. A named pipe in place of a file holds the process where the test
 * wants it: restore blocks reading it until the test writes.
 */
class RestoreKilledTest {
  @TempDir Path dir;

  private Path data;
  private Path backup;
  private Path mac;
  private String none;

  private void aBackup() throws Exception {
    data = dir.resolve("data");
    try (CoordinatorServer server = new CoordinatorServer(CoordinatorFixture.options(data, false), Clock.systemUTC(), false).start()) {
      server.fleet().apply("{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"metadata\": {\"name\": \"settings\"}, \"data\": {\"k\": \"v\"}}",
          "test", false);
    }
    backup = dir.resolve("backup.db");
    none = dir.resolve("none.yaml").toString();
    assertThat(ReplicaCliTest.run(new CoordinatorMain(), "backup", "--data-dir", data.toString(), "--config", none, backup.toString()).exit())
        .isZero();
    mac = dir.resolve("backup.db.mac");
  }

  private Path emptyDataDir() throws Exception {
    Path restored = dir.resolve("restored");
    Files.createDirectories(restored.resolve("pki"));
    Files.copy(SqliteStore.secretsKey(data), SqliteStore.secretsKey(restored));
    return restored;
  }

  private Process restore(Path into, Path from) throws Exception {
    return new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-XX:TieredStopAtLevel=1",
        "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path"), CoordinatorMain.class.getName(), "restore", "--data-dir",
        into.toString(), "--config", none, from.toString())
        .redirectErrorStream(true).redirectOutput(dir.resolve("restore.log").toFile()).start();
  }

  private static void mkfifo(Path p) throws Exception {
    assertThat(new ProcessBuilder("mkfifo", p.toString()).start().waitFor()).isZero();
  }

  private static void kill(Process p) throws Exception {
    p.destroyForcibly();
    assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
  }

  /** What serve would do with the directory: refuse it, or serve a store that holds no altered content. */
  private static void servesNothingUnchecked(Path restored) {
    if (!Files.exists(restored.resolve("dsfleet.db"))) {
      return; // nothing restored: serve would start a new fleet (the test does not, or that would be a store restore refuses)
    }
    try {
      new CoordinatorServer(CoordinatorFixture.options(restored, false), Clock.systemUTC(), false).close();
    } catch (IllegalStateException e) {
      assertThat(e).hasMessageContaining("did not finish");
      return;
    }
    try (SqliteStore store = new SqliteStore(restored)) {
      assertThat(store.objects()).as("an altered backup's content, never checked against its MAC")
          .noneMatch(o -> o.json().contains("\"k\":\"w\""));
    }
  }

  private void restoresAgain(Path restored, String macText) throws Exception {
    Files.deleteIfExists(mac);
    Files.writeString(mac, macText);
    var again = ReplicaCliTest.run(new CoordinatorMain(), "restore", "--data-dir", restored.toString(), "--config", none, backup.toString());
    assertThat(again.exit()).as(again.err()).isZero();
    try (SqliteStore store = new SqliteStore(restored)) {
      assertThat(store.objects()).singleElement().satisfies(o -> assertThat(o.json()).contains("\"k\":\"v\""));
      assertThat(store.appliedEntry()).containsExactly(0, 0);
    }
  }

  @Test
  void aRestoreKilledBeforeItCheckedTheMacLeavesNothingToServe() throws Exception {
    aBackup();
    String macText = Files.readString(mac);
    Path altered = dir.resolve("altered.db");
    Files.copy(backup, altered);
    try (var db = java.sql.DriverManager.getConnection("jdbc:sqlite:" + altered); var st = db.createStatement()) {
      st.executeUpdate("UPDATE objects SET json = replace(json, '\"k\":\"v\"', '\"k\":\"w\"')");
    }
    Path alteredMac = dir.resolve("altered.db.mac");
    mkfifo(alteredMac);
    Path restored = emptyDataDir();
    Process p = restore(restored, altered);
    try (OutputStream w = Files.newOutputStream(alteredMac)) { // returns once restore opened the MAC to read it
      kill(p);
      w.write("00 0\n".getBytes()); // to a reader that is gone: nobody reads it
    } catch (java.io.IOException ignored) {
      // a broken pipe: the reader was killed
    }
    servesNothingUnchecked(restored);
    restoresAgain(restored, macText);
  }

  @Test
  void aRestoreKilledWhileCopyingLeavesADirectoryServeRefusesAndRestoreTakesAgain() throws Exception {
    aBackup();
    String macText = Files.readString(mac);
    Path pipe = dir.resolve("pipe.db");
    mkfifo(pipe);
    Files.writeString(dir.resolve("pipe.db.mac"), macText);
    Path restored = emptyDataDir();
    Process p = restore(restored, pipe);
    byte[] bytes = Files.readAllBytes(backup);
    try (OutputStream w = Files.newOutputStream(pipe)) { // returns once restore opened the copy to read it
      w.write(bytes, 0, bytes.length / 2);
      w.flush();
      kill(p);
    } catch (java.io.IOException ignored) {
      // a broken pipe: the reader was killed
    }
    servesNothingUnchecked(restored);
    assertThat(restored.resolve(BackupCommands.RESTORING)).as("killed while copying: the mark stays").exists();
    var init = ReplicaCliTest.run(new CoordinatorMain(), "init", "--data-dir", restored.toString(), "--config", none);
    assertThat(init.exit()).as("init makes no credentials in an unchecked copy").isEqualTo(2);
    assertThat(init.err()).contains("did not finish");
    assertThat(restored.resolve("pki/admin.pem")).doesNotExist();
    var join = ReplicaCliTest.run(new CoordinatorMain(), "join", "--data-dir", restored.toString(), "--config", none,
        "--replica-id", "c2", "--peer", "c2,127.0.0.1:1,127.0.0.1:2", "--token", "not-looked-at", "--coordinator", "127.0.0.1:1");
    assertThat(join.exit()).as("a replica joined there would never serve: the mark stays").isEqualTo(2);
    assertThat(join.err()).contains("did not finish");
    restoresAgain(restored, macText);
  }

  /**
   * Root's restore into the service's directory (DynamicUser=: the service's user owns it, in a
   * root-only tree), killed there before the service ever made the lock file: before 2026-12-06 the
   * lock file root made stayed root's (the owner was given it only when the work ended, and a kill
   * or Ctrl-C runs no finally), and the service's next start was refused (helper-119).
   */
  @Test
  void rootsRestoreKilledInTheServicesDirectoryLeavesTheLockFileToTheService() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "giving files to another user needs root");
    aBackup();
    int service = 61234;
    Path privateDir = Files.createDirectory(dir.resolve("private"),
        java.nio.file.attribute.PosixFilePermissions.asFileAttribute(java.nio.file.attribute.PosixFilePermissions.fromString("rwx------")));
    Path own = Files.createDirectory(privateDir.resolve("ds-coordinator"));
    Files.createDirectory(own.resolve("pki"));
    Files.copy(SqliteStore.secretsKey(data), SqliteStore.secretsKey(own));
    for (Path p : java.util.List.of(own, own.resolve("pki"), SqliteStore.secretsKey(own))) {
      Files.setAttribute(p, "unix:uid", service);
      Files.setAttribute(p, "unix:gid", service);
    }
    Path pipe = dir.resolve("pipe.db");
    mkfifo(pipe);
    Files.copy(mac, dir.resolve("pipe.db.mac"));
    Process p = restore(own, pipe);
    try (OutputStream w = Files.newOutputStream(pipe)) { // returns once restore opened the copy to read it: the lock is held
      kill(p);
    } catch (java.io.IOException ignored) {
      // a broken pipe: the reader was killed
    }
    assertThat(Files.getAttribute(own.resolve(DataDirLock.FILE), "unix:uid")).as("the lock file").isEqualTo(service);
    assertThat(Files.getAttribute(own.resolve(DataDirLock.FILE), "unix:gid")).isEqualTo(service);
  }
}
