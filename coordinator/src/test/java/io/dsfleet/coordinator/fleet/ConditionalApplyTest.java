package io.dsfleet.coordinator.fleet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.Status;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Kubernetes API's create and update: an apply that must not find, or must find, the object (checked under the fleet's lock). */
class ConditionalApplyTest {
  @TempDir Path dir;

  @Test
  void createRefusesAnObjectThatExistsAndUpdateOneThatDoesNot() {
    try (FleetHarness h = new FleetHarness(dir)) {
      String ds = FleetHarness.manifest();
      assertThatThrownBy(() -> h.fleet.update(ds, "test", false)).isInstanceOfSatisfying(ControlException.class,
          e -> assertThat(e.code()).isEqualTo(Status.Code.NOT_FOUND));
      assertThat(h.fleet.daemonSets()).as("an update of nothing creates nothing").isEmpty();
      assertThat(h.fleet.create(ds, "test", false).results().get(0).action()).isEqualTo("created");
      assertThatThrownBy(() -> h.fleet.create(ds, "test", false)).isInstanceOfSatisfying(ControlException.class,
          e -> assertThat(e.code()).isEqualTo(Status.Code.ALREADY_EXISTS));
      String changed = FleetHarness.manifest("spec.minReadySeconds", "5");
      assertThat(h.fleet.update(changed, "test", false).results().get(0).action()).isEqualTo("configured");
      h.fleet.deleteDaemonSet("ops", "agent", true);
      assertThatThrownBy(() -> h.fleet.update(changed, "test", false)).as("a delete in between is not undone")
          .isInstanceOf(ControlException.class);
      assertThat(h.fleet.daemonSets()).isEmpty();
    }
  }
}
