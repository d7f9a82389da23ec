package io.dsfleet.coordinator.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SqliteStoreTest {
  @TempDir Path dir;

  @Test
  void aNewStoreIsAtTheLatestSchemaVersionAndAReopenKeepsData() {
    try (SqliteStore s = new SqliteStore(dir)) {
      assertThat(s.schemaVersion()).isEqualTo(SqliteStore.latestSchemaVersion());
      s.putObjects(List.of(new Store.ObjectWrite(new Store.StoredObject("ConfigMap", "ns", "a", "{}", 1, 7, 0), null, List.of())));
    }
    try (SqliteStore s = new SqliteStore(dir)) {
      assertThat(s.objects()).extracting(Store.StoredObject::resourceVersion).containsExactly(7L);
    }
  }

  @Test
  void aBatchIsAllOrNothing() {
    try (SqliteStore s = new SqliteStore(dir)) {
      var good = new Store.ObjectWrite(new Store.StoredObject("ConfigMap", "ns", "a", "{}", 1, 1, 0), null, List.of());
      var bad = new Store.ObjectWrite(new Store.StoredObject("ConfigMap", "ns", null, "{}", 1, 2, 0), null, List.of());
      assertThatThrownBy(() -> s.putObjects(List.of(good, bad))).isInstanceOf(StoreException.class);
      assertThat(s.objects()).isEmpty();
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
    try (SqliteStore s = new SqliteStore(dir)) {
      s.putObjects(List.of(new Store.ObjectWrite(new Store.StoredObject("ConfigMap", "ns", "a", "{}", 1, 3, 0), null, List.of())));
    }
    // what a coordinator of schema version 1 left: no orphans, join tokens or certificates tables
    try (var c = DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("dsfleet.db")); Statement st = c.createStatement()) {
      st.execute("DROP TABLE orphans");
      st.execute("DROP TABLE join_tokens");
      st.execute("DROP TABLE certificates");
      st.execute("PRAGMA user_version=1");
    }
    try (SqliteStore s = new SqliteStore(dir)) {
      assertThat(s.schemaVersion()).isEqualTo(3);
      assertThat(s.objects()).extracting(Store.StoredObject::name).containsExactly("a");
      s.deleteDaemonSetOrphaning("ns", "gone", List.of(new Store.Orphan("n1", "gone-abcde")));
      assertThat(s.orphans()).containsExactly(new Store.Orphan("n1", "gone-abcde"));
      s.putToken(new Store.StoredToken("abc123", "hash", "d", 1, 2, 0, 0));
      assertThat(s.tokens()).extracting(Store.StoredToken::id).containsExactly("abc123");
      s.putCertificate(new Store.IssuedCertificate("ff", "n1", "dsfleet:nodes", 5, 0));
      s.deleteCertificatesExpiredBefore(6);
      assertThat(s.certificates()).isEmpty();
    }
  }
}
