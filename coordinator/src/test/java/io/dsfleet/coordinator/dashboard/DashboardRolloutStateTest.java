package io.dsfleet.coordinator.dashboard;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.common.Json;
import io.dsfleet.common.model.DaemonSet;
import io.dsfleet.coordinator.fleet.FleetView.DsSnapshot;
import io.dsfleet.coordinator.fleet.RolloutState;
import io.dsfleet.coordinator.plan.DsStatus;
import io.dsfleet.coordinator.store.Store.StoredRevision;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The dashboard's word for a rollout is `dsctl rollout status`'s ({@link DsSnapshot#rolledOut}). */
class DashboardRolloutStateTest {
  static final String TEMPLATE = "{\"metadata\":{\"labels\":{\"app\":\"agent\"}},\"spec\":{\"containers\":[{\"name\":\"main\","
      + "\"image\":\"local/busybox:2\"}]}}";

  static DsSnapshot snapshot(DsStatus status, boolean complete, List<String> waitingNotReady) {
    DaemonSet ds = Json.read("{\"apiVersion\":\"apps/v1\",\"kind\":\"DaemonSet\",\"metadata\":{\"name\":\"agent\",\"namespace\":\"ops\"},"
        + "\"spec\":{\"selector\":{\"matchLabels\":{\"app\":\"agent\"}},\"template\":" + TEMPLATE + "}}", DaemonSet.class);
    RolloutState r = new RolloutState(RolloutState.Pause.NONE, "", 0, "r2", Set.of("node-b"), 2, 1_000, Map.of(), Set.of(), complete);
    return new DsSnapshot("ops", "agent", ds, 2, 2, 5, 1_000, 2, "r2", status,
        List.of(new StoredRevision("ops", "agent", 2, "r2", TEMPLATE, "", 1_000)), r, 1, waitingNotReady);
  }

  /**
   * A node the rollout moved that went down (tainted, so no longer desired) holds the rollout: `dsctl rollout status`
   * waits for it ("waiting for NotReady nodes: node-b") and dsfleet_daemonset_rollout_progressing is 1. The dashboard
   * said "complete" from the counters alone (1 of 1 updated and available), and its count of DaemonSets rolling out
   * left it out.
   */
  @Test
  void aRolloutWaitingForAMovedNodeThatWentDownIsProgressingAsDsctlSays() {
    DsSnapshot d = snapshot(new DsStatus(1, 1, 1, 1, 1, 0, 0), false, List.of("node-b"));
    assertThat(d.rolledOut()).as("dsctl rollout status").isFalse();
    assertThat(Pages.rollout(d)).isEqualTo("progressing");
  }

  /** Once done, a moved node that dies later holds it no more (docs/rollouts.md): complete on both. */
  @Test
  void aFinishedRolloutStaysCompleteWhenAMovedNodeDiesLater() {
    DsSnapshot d = snapshot(new DsStatus(1, 1, 1, 1, 1, 0, 0), true, List.of("node-b"));
    assertThat(d.rolledOut()).isTrue();
    assertThat(Pages.rollout(d)).isEqualTo("complete");
  }
}
