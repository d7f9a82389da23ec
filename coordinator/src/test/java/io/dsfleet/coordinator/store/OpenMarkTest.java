package io.dsfleet.coordinator.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code dsfleet.db.open} and another program's connection to the store (sqlite3 at its prompt,
 * opened before the coordinator stopped): SQLite removes the {@code -wal} at the close of the last
 * connection, here that program's, which knows no mark. Before helper-155 the mark stayed, and the
 * next start was refused as a coordinator killed whose {@code -wal} went, its file whole.
 */
class OpenMarkTest {
  @TempDir Path dir;

  @Test
  void aStoreClosedWhileSqlite3HadItOpenStartsAfterSqlite3ClosesIt() throws Exception {
    Path data = dir.resolve("data");
    try (var s = SqliteStore.openKept(data)) {
      s.putObjects(List.of(SqliteStoreTest.config("before", -1)));
    }
    try (Connection sqlite3 = DriverManager.getConnection("jdbc:sqlite:" + data.resolve(StoreFiles.DB))) {
      assertThat(count(sqlite3)).isEqualTo(1); // a look, then idle at its prompt
      try (var s = SqliteStore.openKept(data)) {
        s.putObjects(List.of(SqliteStoreTest.config("while-it-looked", -1)));
      }
      assertThat(data.resolve("dsfleet.db-wal")).as("not the last connection: SQLite keeps the -wal").exists();
      assertThat(data.resolve(OpenMark.NAME)).as("every frame checkpointed into the file at the close").doesNotExist();
    }
    assertThat(data.resolve("dsfleet.db-wal")).as("removed by sqlite3's close").doesNotExist();
    try (var s = SqliteStore.openKept(data)) { // refused as not closed before helper-155
      assertThat(s.objects()).extracting(Store.StoredObject::name).containsExactlyInAnyOrder("before", "while-it-looked");
    }
  }

  /**
   * The close of a store whose {@code -wal} is all in the file removes the mark before the
   * connection closes, where SQLite removes the {@code -wal}: a kill or a power cut between the two
   * finds no mark, and the start after opens the whole file. Before helper-155 the mark went after,
   * and such a kill was refused as a {@code -wal} lost.
   */
  @Test
  void theMarkGoesBeforeSqliteRemovesTheWal() throws Exception {
    Path data = dir.resolve("data");
    java.util.concurrent.atomic.AtomicReference<String> atClose = new java.util.concurrent.atomic.AtomicReference<>();
    try (var s = SqliteStore.openKept(data)) {
      s.putObjects(List.of(SqliteStoreTest.config("a", -1)));
      s.closing(() -> atClose.set("mark " + Files.exists(data.resolve(OpenMark.NAME)) + ", -wal "
          + Files.exists(data.resolve("dsfleet.db-wal"))));
    }
    assertThat(atClose.get()).isEqualTo("mark false, -wal true");
    assertThat(data.resolve("dsfleet.db-wal")).doesNotExist();
  }

  /**
   * What the close cannot checkpoint (a reader's transaction holds frames in the {@code -wal})
   * keeps the mark, and a backup's close never removes it while the coordinator may write beside
   * it: a kill, then the {@code -wal} lost, is still refused.
   */
  @Test
  void theMarkStaysWhileTheWalHoldsWhatTheFileLacks() throws Exception {
    Path data = dir.resolve("data");
    SqliteStore s = SqliteStore.openKept(data);
    try (Connection reader = DriverManager.getConnection("jdbc:sqlite:" + data.resolve(StoreFiles.DB))) {
      s.putObjects(List.of(SqliteStoreTest.config("first", -1)));
      reader.setAutoCommit(false);
      assertThat(count(reader)).isEqualTo(1); // its read transaction stays open: frames after it cannot be copied
      try (var backup = new SqliteStore(data)) {
        backup.objects();
      }
      assertThat(data.resolve(OpenMark.NAME)).as("a backup's close while the coordinator runs").exists();
      s.putObjects(List.of(SqliteStoreTest.config("second", -1)));
      s.close();
      s = null;
      assertThat(data.resolve("dsfleet.db-wal")).exists();
      assertThat(data.resolve(OpenMark.NAME)).as("the second write is in the -wal alone").exists();
      reader.rollback();
    } finally {
      if (s != null) {
        s.close();
      }
    }
  }

  private static int count(Connection c) throws Exception {
    try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT count(*) FROM objects")) {
      rs.next();
      return rs.getInt(1);
    }
  }
}
