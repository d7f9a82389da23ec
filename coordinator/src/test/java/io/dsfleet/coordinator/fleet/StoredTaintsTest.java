package io.dsfleet.coordinator.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.coordinator.store.SqliteStore;
import io.dsfleet.coordinator.store.Store.StoredNode;
import io.dsfleet.proto.v1.NodeInfo;
import io.dsfleet.proto.v1.Taint;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A node stored with a taint that is not a taint (joins before 2026-12-05 did not check them): the
 * coordinator's start failed on it, and every list of the fleet. It loads without that taint.
 */
class StoredTaintsTest {
  @TempDir Path dir;

  @Test
  void aStoredTaintThatIsNotOneIsDroppedAtLoadAndTheFleetStarts() {
    try (FleetHarness h = new FleetHarness(dir)) {
      h.agent("n1");
      h.agent("n2");
      h.apply(FleetHarness.manifest());
      SqliteStore raw = new SqliteStore(dir);
      try {
        StoredNode n = raw.nodes().stream().filter(s -> s.name().equals("n1")).findFirst().orElseThrow();
        NodeInfo tainted = NodeInfoRules.parseInfo(n.infoJson()).toBuilder()
            .addTaints(Taint.newBuilder().setKey("k").setValue("v").setEffect("Bogus"))
            .addTaints(Taint.newBuilder().setKey("dedicated").setValue("gpu").setEffect("NoSchedule")).build();
        raw.putNode(new StoredNode(n.name(), NodeInfoRules.printInfo(tainted), n.adminLabelsJson(), n.adminTaintsJson(), n.unschedulable(),
            n.joinedAtMillis(), n.stateJson()));
      } finally {
        raw.close();
      }
      h.crashAndRestart();
      assertThat(h.fleet.nodes()).extracting(FleetView.NodeSnapshot::name).containsExactly("n1", "n2");
      assertThat(h.fleet.node("n1", true).taints()).extracting(t -> t.key() + ":" + t.effect()).containsExactly("dedicated:NoSchedule");
      assertThat(h.ds().status().desired()).as("the DaemonSet tolerates no dedicated taint: n2 only").isEqualTo(1);
    }
  }
}
