package io.dsfleet.agent.reconcile;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.proto.v1.PodStatus;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * A pod held in the pass in which a desired set adopts it (its release ended, its image's labels
 * not known) is reported as a held pod of the node, Unknown: the last report held its status as a
 * released pod (same namespace, name and hash), which the hold copied, so it went up as released,
 * apart from the node's pods (the coordinator showed it Released and counted it in no DaemonSet)
 * for as long as the hold lasted.
 */
class HeldPodsReportTest {
  @Test
  void aHeldPodJustAdoptedIsNotReportedAsReleased() {
    PodStatus.Builder pod = PodStatus.newBuilder().setNamespace("ops").setDaemonSet("agent").setPodName("agent-abcde").setTemplateHash("0123456789");
    PodStatus released = pod.clone().setPhase("Released").setReleased(true).build();
    HeldPods.Hold hold = new HeldPods.Hold(Map.of("ops/agent-abcde", "image labels not known"), Map.of(), Set.of());
    List<PodStatus> out = HeldPods.report(List.of(pod.clone().setPhase("Pending").build()), hold, List.of(released));
    assertThat(out).singleElement().satisfies(p -> {
      assertThat(p.getReleased()).as("one of the node's pods, not a released one").isFalse();
      assertThat(p.getPhase()).isEqualTo("Unknown");
      assertThat(p.getReason()).isEqualTo(HeldPods.REASON);
    });
  }
}
