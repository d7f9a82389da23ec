package io.dsfleet.agent.session;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.proto.v1.ContainerStatus;
import io.dsfleet.proto.v1.PodStatus;
import org.junit.jupiter.api.Test;

/** Which pod states a report waits on (coalesced with the next) and which go at once. */
class ReportSettlingTest {
  static PodStatus pod(String phase, boolean ready, String podReason, String state, String containerReason) {
    return PodStatus.newBuilder().setPodName("p").setPhase(phase).setReady(ready).setReason(podReason)
        .addContainers(ContainerStatus.newBuilder().setName("c").setState(state).setReason(containerReason)).build();
  }

  @Test
  void podsOnTheirWayToRunningAndReadyOrToGoneAreChanging() {
    assertThat(StatusReports.changing(pod("Pending", false, "", "waiting", "ContainerCreating"))).isTrue();
    assertThat(StatusReports.changing(pod("Pending", false, "", "waiting", "PodInitializing"))).isTrue();
    assertThat(StatusReports.changing(pod("Running", false, "", "running", ""))).as("started, readiness not yet passed").isTrue();
    assertThat(StatusReports.changing(pod("Terminating", false, "", "running", ""))).isTrue();
  }

  @Test
  void settledPodsAndFailuresGoAtOnce() {
    assertThat(StatusReports.changing(pod("Running", true, "", "running", ""))).isFalse();
    assertThat(StatusReports.changing(pod("Pending", false, "", "waiting", "ImagePullBackOff"))).isFalse();
    assertThat(StatusReports.changing(pod("Pending", false, "", "waiting", "CreateContainerConfigError"))).isFalse();
    assertThat(StatusReports.changing(pod("Pending", false, "FailedMount", "waiting", "ContainerCreating")))
        .as("a pod-level failure").isFalse();
    assertThat(StatusReports.changing(pod("Running", false, "", "waiting", "CrashLoopBackOff"))).as("a container crashed").isFalse();
    assertThat(StatusReports.changing(pod("Failed", false, "UnsupportedPodSpec", "waiting", ""))).isFalse();
    assertThat(StatusReports.changing(pod("Succeeded", false, "", "terminated", "Completed"))).isFalse();
  }
}
