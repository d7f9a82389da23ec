package io.dsfleet.coordinator.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.proto.v1.ContainerStatus;
import io.dsfleet.proto.v1.PodStatus;
import io.dsfleet.proto.v1.PodView;
import org.junit.jupiter.api.Test;

/** The STATUS of `dsctl get pods` (and of `kubectl get pods` through the Kubernetes API), as kubectl's printPod makes it. */
class PodStatusColumnTest {
  static PodView pod(String phase, String reason, ContainerStatus... containers) {
    PodStatus.Builder s = PodStatus.newBuilder().setPodName("agent-abcde").setPhase(phase).setReason(reason);
    for (ContainerStatus c : containers) {
      s.addContainers(c);
    }
    return PodView.newBuilder().setStatus(s).build();
  }

  @Test
  void aContainersReasonWinsOverThePodsWhichWinsOverThePhase() {
    ContainerStatus running = ContainerStatus.newBuilder().setName("main").setState("running").build();
    ContainerStatus waiting = ContainerStatus.newBuilder().setName("main").setState("waiting").setReason("CrashLoopBackOff").build();
    assertThat(GetCommand.podStatus(pod("Running", "", running))).isEqualTo("Running");
    assertThat(GetCommand.podStatus(pod("Running", "ImageLabelsUnknown", running))).as("a held pod").isEqualTo("ImageLabelsUnknown");
    assertThat(GetCommand.podStatus(pod("Running", "ImageLabelsUnknown", waiting))).isEqualTo("CrashLoopBackOff");
    assertThat(GetCommand.podStatus(PodView.newBuilder().setPending(true).setStatus(PodStatus.newBuilder().setReason("x")).build()))
        .isEqualTo("Pending");
  }
}
