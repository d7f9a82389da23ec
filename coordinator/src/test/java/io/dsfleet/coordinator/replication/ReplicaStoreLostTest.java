package io.dsfleet.coordinator.replication;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.coordinator.store.Store.ObjectWrite;
import io.dsfleet.coordinator.store.Store.StoredObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A replica's {@code dsfleet.db} deleted while it runs: it takes the next entry into no file no
 * start would open (the store refuses it, LostStoreTest), so it stops, and started again it
 * rebuilds its store from its snapshot and the log after it, every acknowledged write there
 * (helper-139). It saves no copy of the store, as a single coordinator does: until a fix of
 * 2026-12-06 it did, a disk's worth of what its log holds, and said to restore it, which restore
 * refuses in a replica's directory (helper-149).
 */
class ReplicaStoreLostTest {
  @TempDir
  Path root;

  private static List<String> write(ReplicaGroup group, String prefix, int count) {
    List<String> acknowledged = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      String name = prefix + "-" + i;
      group.leader().store().putObjects(List.of(new ObjectWrite(new StoredObject("ConfigMap", "default", name, "{}", 1, 0, 1), 0, null,
          List.of(), null)));
      acknowledged.add(name);
    }
    return acknowledged;
  }

  private static void holds(Replica r, List<String> expected) {
    Awaitility.await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(r.store().objects().stream()
        .map(StoredObject::name).sorted().toList()).as("replica " + r.id()).isEqualTo(expected.stream().sorted().toList()));
  }

  @Test
  void aFollowerWhoseStoreWasDeletedStopsAndRebuildsItFromItsSnapshotAndLog() throws Exception {
    try (ReplicaGroup group = new ReplicaGroup(root, 3, 15)) { // a snapshot every 15 entries
      group.form();
      List<String> acknowledged = new ArrayList<>(write(group, "before", 20));
      Replica leader = group.leader();
      Replica follower = group.running.values().stream().filter(r -> r != leader).findFirst().orElseThrow();
      holds(follower, acknowledged);
      Files.delete(group.dir(follower.id()).resolve("dsfleet.db"));
      acknowledged.addAll(write(group, "after", 5)); // the leader and the other follower are a majority
      Awaitility.await("the follower stops rather than apply into the deleted file").atMost(Duration.ofSeconds(20))
          .until(follower::failed);
      try (var files = Files.list(group.dir(follower.id()))) {
        assertThat(files.map(f -> f.getFileName().toString()).filter(n -> n.startsWith("dsfleet.db.saved-")))
            .as("no copy a replica's log rebuilds, nor restore's advice, which restore refuses to a replica").isEmpty();
      }
      group.stop(follower.id());
      Replica back = group.start(follower.id());
      holds(back, acknowledged);
      assertThat(back.failed()).isFalse();
    }
  }
}
