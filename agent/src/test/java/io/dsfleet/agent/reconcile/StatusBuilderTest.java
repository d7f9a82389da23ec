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

  /**
   * A run the kernel's OOM killer ended is reported OOMKilled, as the kubelet reports it, and its crash back-off names it;
   * until 2026-12-08 it was an Error, exit code 137 the only hint (a signal's, whoever sent it).
   */
  @Test
  void aRunTheOomKillerEndedIsOomKilled() {
    DesiredPod pod = Pods.pod("spec.template.spec.hostNetwork", "true");
    assertThat(main(C.app("c1", pod.hash(), "main", 1, 0).exited(137, T0).oomKilled()).getReason()).isEqualTo("OOMKilled");
    assertThat(main(C.app("c1", pod.hash(), "main", 1, 0).exited(137, T0)).getReason()).as("killed otherwise").isEqualTo("Error");
    var run = C.app("c1", pod.hash(), "main", 1, 0).exited(137, T0).oomKilled().build();
    var plan = PodPlanner.decide(pod, List.of(run), new PodPlanner.Facts(Map.of(), new Failures(Backoff.KUBERNETES), true, T0.plusSeconds(1)));
    ContainerStatus s = StatusBuilder.status(pod, List.of(run), plan, Map.of(), new Failures(Backoff.KUBERNETES), T0, T0.plusSeconds(1), c -> false)
        .getContainersList().get(0);
    assertThat(s.getReason()).isEqualTo("CrashLoopBackOff");
    assertThat(s.getMessage()).endsWith("(last exit code 137, OOMKilled)");
  }

  /**
   * An init container whose runs are gone (an admin's {@code docker container prune}) while an app container of the sandbox
   * runs is reported as it ended, Completed, as the kubelet keeps an init container's terminated status the runtime no
   * longer has; the planner does not run it again (PodPlannerTest). Until 2026-12-08 it was reported waiting,
   * PodInitializing, for the rest of the pod's life, as if the running pod were still being initialized.
   */
  @Test
  void anInitContainerWhoseRunsArePrunedIsReportedCompletedWhileTheAppRuns() {
    DesiredPod pod = Pods.pod("spec.template.spec.initContainers", "[{name: setup, image: local/busybox:1}]");
    var observed = List.of(C.sandbox("s0", pod.hash(), 0).build(), C.app("a0", pod.hash(), "main", 0, 0).build());
    var status = StatusBuilder.status(pod, observed, List.of(), Map.of(), new Failures(Backoff.KUBERNETES), T0, T0.plusSeconds(1), c -> false);
    ContainerStatus init = status.getContainersList().get(0);
    assertThat(init.getInit()).isTrue();
    assertThat(init).returns("terminated", ContainerStatus::getState).returns("Completed", ContainerStatus::getReason)
        .returns(0, ContainerStatus::getExitCode);
    assertThat(status.getPhase()).isEqualTo("Running");
    var starting = StatusBuilder.status(pod, List.of(C.sandbox("s0", pod.hash(), 0).build()), List.of(), Map.of(),
        new Failures(Backoff.KUBERNETES), T0, T0.plusSeconds(1), c -> false).getContainersList().get(0);
    assertThat(starting).as("before any app container runs: still to run").returns("waiting", ContainerStatus::getState)
        .returns("PodInitializing", ContainerStatus::getReason);
  }

  /**
   * Docker's error text is the image's to make long (a 70,000-byte USER gave a 70 KB start error):
   * unbounded, some twenty such containers took a node's report over gRPC's 4 MiB and ended its
   * session at every send. A message is cut where the coordinator cuts it, never inside a character.
   */
  @Test
  void aContainersErrorTextIsCutWhereTheCoordinatorCutsIt() {
    DesiredPod pod = Pods.pod("spec.template.spec.hostNetwork", "true");
    String huge = "unable to find user " + "u".repeat(70_000);
    ContainerStatus s = main(C.app("c1", pod.hash(), "main", 0, 0).neverStarted(huge, T0));
    assertThat(s.getMessage()).hasSize(io.dsfleet.common.text.Cut.AGENT_MESSAGE).startsWith("unable to find user uuu");
    String astral = "x".repeat(io.dsfleet.common.text.Cut.AGENT_MESSAGE - 1) + "\uD83D\uDE00" + "y";
    assertThat(StatusBuilder.clip(astral)).as("the pair the cut falls inside left out whole").isEqualTo("x".repeat(io.dsfleet.common.text.Cut.AGENT_MESSAGE - 1));
  }
}
