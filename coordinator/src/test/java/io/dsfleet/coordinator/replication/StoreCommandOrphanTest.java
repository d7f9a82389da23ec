package io.dsfleet.coordinator.replication;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.coordinator.store.SqliteStore;
import io.dsfleet.coordinator.store.Store;
import io.dsfleet.coordinator.store.Store.ObjectWrite;
import io.dsfleet.coordinator.store.Store.StoredObject;
import io.dsfleet.coordinator.store.Store.StoredRevision;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An orphan delete as a replica applies it from the log: the entry a leader writes since orphaned
 * revisions ({@code orphanDaemonSet}) keeps the revisions it names on every replica; one written by
 * a leader before them ({@code deleteDaemonSetOrphaning}) drops them all, as that leader's own store did.
 */
class StoreCommandOrphanTest {
  @TempDir Path dir;

  private static void twoRevisions(SqliteStore s) {
    long rv = s.putObjects(List.of(write(0, "h1"))).objects().get(0).resourceVersion();
    s.putObjects(List.of(write(rv, "h2")));
  }

  private static ObjectWrite write(long expected, String hash) {
    return new ObjectWrite(new StoredObject("DaemonSet", "ns", "ds", "{\"h\":\"" + hash + "\"}", 1, 0, 0), expected,
        new StoredRevision("ns", "ds", 0, hash, "{}", null, 0), List.of(), "{}");
  }

  private static StoreCommand replayed(String op, Object... args) {
    return StoreCommand.decode(StoreCommand.of(1, op, args).encode());
  }

  @Test
  void anOrphanDeleteEntryKeepsTheRevisionsItNamesOnEveryReplica() {
    try (SqliteStore s = new SqliteStore(dir.resolve("new"))) {
      twoRevisions(s);
      replayed("orphanDaemonSet", "ns", "ds", List.of(new Store.Orphan("n1", "ns/ds-abcde")), List.of(1L)).applyTo(s);
      assertThat(s.objects()).isEmpty();
      assertThat(s.orphans()).containsExactly(new Store.Orphan("n1", "ns/ds-abcde"));
      assertThat(s.revisions()).extracting(StoredRevision::hash).containsExactly("h1");
    }
    try (SqliteStore s = new SqliteStore(dir.resolve("old"))) {
      twoRevisions(s);
      replayed("deleteDaemonSetOrphaning", "ns", "ds", List.of(new Store.Orphan("n1", "ns/ds-abcde"))).applyTo(s);
      assertThat(s.orphans()).hasSize(1);
      assertThat(s.revisions()).as("an older leader's entry: its revisions went with it").isEmpty();
    }
  }
}
