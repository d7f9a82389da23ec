package io.dsfleet.coordinator.metrics;

import io.dsfleet.common.Json;
import io.dsfleet.common.manifest.Fixtures;
import io.dsfleet.common.testing.FakeClock;
import io.dsfleet.coordinator.fleet.Fleet;
import io.dsfleet.coordinator.grpc.CoordinatorFixture;
import io.dsfleet.coordinator.grpc.FakeAgent;
import io.dsfleet.coordinator.store.SqliteStore;
import io.dsfleet.coordinator.store.Store.StoredNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * A fleet of many nodes without agents: one node joins, its stored row is copied under other names
 * in one transaction (a join each would be a commit on disk each), and a Fleet loads them all, as a
 * restarted coordinator does; every node heartbeats once, so each is Ready with a heartbeat time.
 */
final class LargeFleet implements AutoCloseable {
  final FakeClock clock = new FakeClock();
  final SqliteStore store;
  final Fleet fleet;

  LargeFleet(Path dir, int nodes, int daemonSets) {
    store = new SqliteStore(dir);
    Fleet seed = new Fleet(store, clock, clock::nanos, CoordinatorFixture.OPTIONS, new Random(1));
    seed.join(FakeAgent.info("node-0", Map.of("zone", "a")), "", true);
    for (int i = 0; i < daemonSets; i++) {
      var tree = Fixtures.baseTree();
      Fixtures.with(tree, "metadata.name", "agent-" + i);
      seed.apply(Json.canonical(tree), "test", false);
    }
    StoredNode first = store.nodes().get(0);
    List<StoredNode> copies = new ArrayList<>(nodes - 1);
    for (int i = 1; i < nodes; i++) {
      String name = "node-" + i;
      copies.add(new StoredNode(name, first.infoJson().replace("\"node-0\"", "\"" + name + "\""), first.adminLabelsJson(),
          first.adminTaintsJson(), i % 100 == 0, first.joinedAtMillis(), first.stateJson()));
    }
    store.putNodes(copies);
    fleet = new Fleet(store, clock, clock::nanos, CoordinatorFixture.OPTIONS, new Random(1));
    for (int i = 0; i < nodes; i++) {
      fleet.heartbeat("node-" + i, false, "");
    }
    fleet.tick();
  }

  @Override
  public void close() {
    store.close();
  }
}
