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
 * a start in a data directory that held one. Nothing is acknowledged that a restart would not
 * find, and no start serves an empty fleet in its place (helper-139).
 */
class LostStoreTest {
  @TempDir Path dir;

  /** serve on {@code data} as a process of its own: one that serves (the store taken) is killed after the deadline, failing the test. */
  private io.dsfleet.common.testing.Processes.Result serve(Path data) throws Exception {
    return io.dsfleet.common.testing.Processes.run(new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path"), CoordinatorMain.class.getName(),
        "serve", "--data-dir", data.toString(), "--config", dir.resolve("none.yaml").toString(), "--insecure", "--listen", "127.0.0.1:0",
        "--metrics-listen", "off", "--dashboard-listen", "off", "--kube-api-listen", "off"), java.time.Duration.ofSeconds(60));
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
}
