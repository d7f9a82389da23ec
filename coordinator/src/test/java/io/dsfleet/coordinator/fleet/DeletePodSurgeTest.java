package io.dsfleet.coordinator.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.coordinator.fleet.FleetHarness.Agent;
import io.dsfleet.proto.v1.DesiredPod;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * `delete pod` of a DaemonSet that surges starts the replacement at once, next to the pod that is
 * stopping, as Kubernetes' manage loop does for a surging DaemonSet (podsShouldBeOnNode creates a
 * pod where only a terminating one is left); without a surge the replacement waits for the pod to
 * stop, as there. Before, a surging DaemonSet's pod deleted to restart it left its node without
 * one until it had stopped (its grace period).
 */
class DeletePodSurgeTest {
  @TempDir Path dir;

  String deleteAndLook(String strategy) {
    try (FleetHarness h = new FleetHarness(dir.resolve(strategy.isEmpty() ? "plain" : "surge"))) {
      Agent a = h.agent("n0");
      h.apply(strategy.isEmpty() ? RolloutRulesTest.image(1) : RolloutRulesTest.image(1, "spec.updateStrategy", strategy));
      a.runDesired(true);
      String old = a.last().getPods(0).getPodName();
      h.fleet.deletePod("ops", old);
      String sent = String.join(",", a.last().getPodsList().stream().map(DesiredPod::getPodName).toList());
      a.runDesired(true); // the old pod stopped, the new one (if any) runs
      a.runDesired(true);
      assertThat(a.last().getPodsList()).singleElement().satisfies(p -> assertThat(p.getPodName()).isNotEqualTo(old));
      assertThat(h.ds().status().available()).isEqualTo(1);
      assertThat(h.ds().rollout().deleted()).isEmpty();
      return sent;
    }
  }

  @Test
  void withASurgeTheReplacementStartsAtOnce() {
    assertThat(deleteAndLook("{rollingUpdate: {maxUnavailable: 0, maxSurge: 1}}")).as("the new pod, sent with the deletion")
        .isNotEmpty();
  }

  @Test
  void withoutOneItWaitsForThePodToStop() {
    assertThat(deleteAndLook("")).as("nothing, until the pod is gone").isEmpty();
  }
}
