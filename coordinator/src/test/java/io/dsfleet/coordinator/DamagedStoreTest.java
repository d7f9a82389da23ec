package io.dsfleet.coordinator;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.coordinator.store.SqliteStore;
import io.dsfleet.coordinator.store.Store;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A store file damaged in pages a start does not read (an index's: the start reads every table
 * whole, never through an index): refused by serve and by restore, naming the file, not served
 * with every write that index takes refused for as long as the coordinator runs (helper-200).
 */
class DamagedStoreTest {
  @TempDir Path dir;

  /** A store of a ConfigMap and some events, closed (its -wal checkpointed into the file). */
  private Path aStore() {
    Path data = dir.resolve("data");
    try (SqliteStore s = new SqliteStore(data)) {
      s.putObjects(List.of(new Store.ObjectWrite(new Store.StoredObject("ConfigMap", "ns", "settings",
          "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"settings\",\"namespace\":\"ns\"},\"data\":{\"k\":\"v\"}}",
          1, 0, 0), 0, null, List.of(), null)));
      List<Store.StoredEvent> events = new ArrayList<>();
      for (int i = 0; i < 400; i++) {
        events.add(new Store.StoredEvent("ds/ns/object-" + i, i, "Normal", "Made", "event " + i));
      }
      s.putEvents(events, 50);
    }
    return data;
  }

  /** serve on {@code data} as a process of its own: one that serves is killed after the deadline, failing the test. */
  private io.dsfleet.common.testing.Processes.Result serve(Path data) throws Exception {
    return io.dsfleet.common.testing.Processes.run(new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path"), CoordinatorMain.class.getName(),
        "serve", "--insecure", "--data-dir", data.toString(), "--config", dir.resolve("none.yaml").toString(), "--listen", "127.0.0.1:0",
        "--metrics-listen", "off", "--dashboard-listen", "off", "--kube-api-listen", "off"), java.time.Duration.ofSeconds(60));
  }

  /** The page an index of the store's file starts at (its root: the whole index, in a store this small). */
  private static long rootPage(Path file, String index) throws Exception {
    try (var c = java.sql.DriverManager.getConnection("jdbc:sqlite:file:" + file + "?mode=ro");
        var ps = c.prepareStatement("SELECT rootpage FROM sqlite_schema WHERE name = ?")) {
      ps.setString(1, index);
      try (var rs = ps.executeQuery()) {
        assertThat(rs.next()).as(index).isTrue();
        return rs.getLong(1);
      }
    }
  }

  /** Zeroes the first page of {@code index} in the store's file; its bytes after. */
  private static byte[] damage(Path file, String index) throws Exception {
    long page = rootPage(file, index);
    try (var f = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.WRITE)) {
      f.write(java.nio.ByteBuffer.allocate(4096), (page - 1) * 4096);
    }
    return Files.readAllBytes(file);
  }

  /**
   * A replica's store damaged so: refused too, pointing at what rebuilds it (its snapshot and log,
   * once the file is moved out: ReplicaStoreLostTest), where a single store's remedy is a backup.
   */
  @Test
  void aReplicasDamagedStoreIsRefusedNamingItsSnapshotAndLog() throws Exception {
    Path data = aStore();
    Path file = data.resolve("dsfleet.db");
    byte[] damaged = damage(file, "sqlite_autoindex_revisions_1");
    var refused = org.assertj.core.api.Assertions.catchThrowableOfType(io.dsfleet.coordinator.store.StoreException.class,
        () -> SqliteStore.openReplicas(data).close());
    assertThat(refused).as("opened").isNotNull();
    assertThat(refused.getMessage()).contains(file + " is damaged (SQLite's quick_check: ")
        .contains("This replica's snapshot and log rebuild it: move " + file);
    assertThat(Files.readAllBytes(file)).as("the damaged file, as it was").isEqualTo(damaged);
  }

  /**
   * An index page zeroed (a disk, a file system's repair): until 2026-12-08 serve loaded the fleet
   * (its tables read whole) and served it, and every apply of a DaemonSet was then refused with
   * SQLITE_CORRUPT (the revisions' index), for as long as it ran. Refused now, naming the file, which
   * is left as it was.
   */
  @Test
  void aStoreWithAnIndexPageDamagedIsRefusedNamingItAndLeftAsItWas() throws Exception {
    Path data = aStore();
    Path file = data.resolve("dsfleet.db");
    byte[] damaged = damage(file, "sqlite_autoindex_revisions_1");
    var refused = serve(data);
    assertThat(refused.exit()).as(refused.output()).isEqualTo(1);
    assertThat(refused.output()).doesNotContain("\tat ").contains("ds-coordinator: cannot open the store in " + data + ": " + file
        + " is damaged (SQLite's quick_check: ").contains("nothing done. Put it back: ds-coordinator restore a backup");
    assertThat(Files.readAllBytes(file)).as("the damaged file, as it was").isEqualTo(damaged);
  }

  /**
   * A backup whose events' index page was zeroed where it was kept (a disk), restored with
   * --unverified (a backup made before MACs, a copy the coordinator saved): until 2026-12-08
   * restore said it restored it, and serve then served it, every event it wrote refused. Refused
   * now, nothing restored.
   */
  @Test
  void aDamagedBackupIsNotRestored() throws Exception {
    Path data = aStore();
    Path none = dir.resolve("none.yaml");
    Path backup = dir.resolve("backup.db");
    assertThat(ReplicaCliTest.run(new CoordinatorMain(), "backup", "--data-dir", data.toString(), "--config", none.toString(),
        backup.toString()).exit()).isZero();
    damage(backup, "events_by_object");
    Path restored = dir.resolve("restored");
    Files.createDirectories(restored.resolve("pki"));
    Files.copy(SqliteStore.secretsKey(data), SqliteStore.secretsKey(restored));
    var result = ReplicaCliTest.run(new CoordinatorMain(), "restore", "--unverified", "--data-dir", restored.toString(), "--config",
        none.toString(), backup.toString());
    assertThat(result.exit()).as(result.out() + result.err()).isEqualTo(1);
    assertThat(result.err()).contains("ds-coordinator: restore failed: " + restored.resolve("dsfleet.db") + " is damaged (SQLite's quick_check: ");
    assertThat(restored.resolve("dsfleet.db")).doesNotExist();
  }
}
