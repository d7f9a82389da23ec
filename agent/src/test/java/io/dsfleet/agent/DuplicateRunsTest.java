package io.dsfleet.agent;

import static io.dsfleet.agent.DockerHarness.ds;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.dsfleet.agent.runtime.ContainerInfo;
import io.dsfleet.agent.runtime.Labels;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two running copies of one container of a pod, on the real daemon: an older run of it, kept by the
 * garbage collector as the previous one ({@code dsctl logs --previous}), started again by hand
 * ({@code docker start}), beside the run the agent made after it. The agent keeps the run its list
 * says is current (the latest) and stops the other, through its stops (their back-off on a refusal).
 */
class DuplicateRunsTest extends OnDocker {

  private static void docker(String... args) throws Exception {
    List<String> cmd = new java.util.ArrayList<>(List.of("docker", "-H", DockerHarness.DOCKER_HOST));
    cmd.addAll(List.of(args));
    assertThat(io.dsfleet.common.testing.Processes.run(new ProcessBuilder(cmd), Duration.ofSeconds(60)).exit()).as("%s", cmd).isZero();
  }

  private ContainerInfo byId(String id) {
    return h.docker.listOwned(h.node).stream().filter(c -> c.id().equals(id)).findFirst().orElse(null);
  }

  /** The app container's runs that run now. */
  private List<ContainerInfo> runningApps() {
    return h.docker.listOwned(h.node).stream().filter(c -> !Labels.SANDBOX.equals(c.label(Labels.ROLE)) && c.running()).toList();
  }

  /**
   * Before, the agent tracked the latest run alone and left the older one running beside it for
   * good: two log shippers, a port taken twice, twice the memory.
   */
  @Test
  void anOlderRunStartedByHandIsStoppedAndTheCurrentOneRunsOnUntouched() throws Exception {
    h.run(ds());
    String first = h.container("main").id();
    docker("kill", first); // a crash: the agent makes run 1 at once, and keeps run 0, exited, as the previous one
    await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
        .until(() -> runningApps().size() == 1 && !runningApps().get(0).id().equals(first));
    h.settle(2);
    ContainerInfo current = runningApps().get(0);
    assertThat(current.label(Labels.RESTARTS)).isEqualTo("1");
    assertThat(byId(first)).as("the previous run is kept").isNotNull();

    docker("start", first); // by hand: the same labels, its old run number
    await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100)).until(() -> !byId(first).running());
    h.settle(3);
    assertThat(runningApps()).as("one copy runs: the current one").extracting(ContainerInfo::id).containsExactly(current.id());
    assertThat(byId(current.id()).startedAt()).as("the current run was not restarted").isEqualTo(current.startedAt());
    assertThat(h.last.get(0).getContainers(0).getContainerId()).as("and is the one reported").isEqualTo(current.id());
    assertThat(h.last.get(0).getContainers(0).getRestartCount()).isEqualTo(1);
  }
}
