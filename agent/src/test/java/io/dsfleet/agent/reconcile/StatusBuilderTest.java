package io.dsfleet.agent.reconcile;

import static io.dsfleet.agent.reconcile.Pods.T0;
import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.agent.reconcile.Pods.C;
import io.dsfleet.proto.v1.ContainerStatus;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What a pod's container is reported as, between its creation and its start, and when its start failed. */
class StatusBuilderTest {
  static ContainerStatus main(C container) {
    DesiredPod pod = Pods.pod("spec.template.spec.hostNetwork", "true"); // one container, no sandbox: the container is the pod
    return StatusBuilder.status(pod, List.of(container.build()), List.of(), Map.of(), new Failures(Backoff.KUBERNETES), T0, T0.plusSeconds(1),
        c -> false)
        .getContainersList().get(0);
  }

  @Test
  void aContainerCreatedAndNotYetStartedIsBeingCreatedNotAFailure() {
    DesiredPod pod = Pods.pod("spec.template.spec.hostNetwork", "true");
    ContainerStatus s = main(C.app("c1", pod.hash(), "main", 0, 0).createdOnly(T0));
    assertThat(s.getState()).isEqualTo("waiting");
    assertThat(s.getReason()).as("a report made between create and start (seen as a Warning event with no message)")
        .isEqualTo("ContainerCreating");
  }

  @Test
  void aContainerTheRuntimeCouldNotStartIsRunContainerErrorWithWhy() {
    DesiredPod pod = Pods.pod("spec.template.spec.hostNetwork", "true");
    ContainerStatus s = main(C.app("c1", pod.hash(), "main", 0, 0).neverStarted("exec: \"nope\": executable file not found", T0));
    assertThat(s.getReason()).isEqualTo("RunContainerError");
    assertThat(s.getMessage()).contains("executable file not found");
  }
}
