package io.dsfleet.coordinator;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.coordinator.grpc.CoordinatorFixture;
import io.dsfleet.coordinator.store.SqliteStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The store's identity each desired set carries ({@code DesiredState.store_id}): the same across
 * restarts of one store, another for a store restored from its backup and for a new store, so an
 * agent can tell a set from a store that never sent it its pods, and release rather than remove the
 * pods such a set drops (docs/agent.md, "Never harm a node").
 */
class StoreIdentityTest {
  @TempDir Path dir;

  /** The store identity of the desired set a node is sent when its session opens. */
  static String sentIdentity(CoordinatorFixture c) throws Exception {
    return c.agent("n1", Map.of()).nextDesired(Duration.ofSeconds(10)).getStoreId();
  }

  @Test
  void aStoreKeepsItsIdentityAcrossRestartsAndARestoreOrANewStoreNamesAnother() throws Exception {
    Path data = dir.resolve("data");
    String original;
    try (CoordinatorFixture c = new CoordinatorFixture(data)) {
      original = sentIdentity(c);
      assertThat(original).matches("[0-9a-f]{32}");
      c.restart();
      assertThat(sentIdentity(c)).as("the same store, restarted").isEqualTo(original);
    }
    String none = dir.resolve("none.yaml").toString();
    Path backup = dir.resolve("backup.db");
    assertThat(ReplicaCliTest.run(new CoordinatorMain(), "backup", "--data-dir", data.toString(), "--config", none, backup.toString()).exit())
        .isZero();
    Path restored = dir.resolve("restored");
    Files.createDirectories(restored.resolve("pki"));
    Files.copy(SqliteStore.secretsKey(data), SqliteStore.secretsKey(restored)); // pki/ restored first
    assertThat(ReplicaCliTest.run(new CoordinatorMain(), "restore", "--data-dir", restored.toString(), "--config", none, backup.toString())
        .exit()).isZero();
    String afterRestore;
    try (CoordinatorFixture c = new CoordinatorFixture(restored)) {
      afterRestore = sentIdentity(c);
      assertThat(afterRestore).as("a restored store is not the store its backup was taken of").isNotEqualTo(original);
      c.restart();
      assertThat(sentIdentity(c)).as("and keeps its own identity").isEqualTo(afterRestore);
    }
    try (CoordinatorFixture c = new CoordinatorFixture(dir.resolve("another"))) {
      assertThat(sentIdentity(c)).as("a new store").isNotIn(original, afterRestore);
    }
  }
}
