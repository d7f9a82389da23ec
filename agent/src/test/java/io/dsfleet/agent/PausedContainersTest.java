package io.dsfleet.agent;

import static io.dsfleet.agent.DockerHarness.ds;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.dsfleet.agent.runtime.ContainerInfo;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A pod's container paused behind the agent's back: {@code docker pause}, or {@code docker commit},
 * which pauses the container while it copies its file system (its default). A paused container
 * still runs (its processes frozen), as the kubelet's Docker shim took it ("Up 2 minutes
 * (Paused)"); on the real daemon.
 */
class PausedContainersTest extends OnDocker {
  String paused;

  @AfterEach
  void stop() throws Exception {
    if (paused != null) {
      docker("unpause", paused); // before the harness closes (a subclass's tear-down runs first)
    }
  }

  private static void docker(String... args) throws Exception {
    List<String> cmd = new java.util.ArrayList<>(List.of("docker", "-H", DockerHarness.DOCKER_HOST));
    cmd.addAll(List.of(args));
    io.dsfleet.common.testing.Processes.run(new ProcessBuilder(cmd), Duration.ofSeconds(60));
  }

  private List<String> containers() {
    return h.docker.listOwned(h.node).stream().map(ContainerInfo::id).sorted().toList();
  }

  /**
   * The agent has looked at the node's containers again (a list, or an inspect of those that changed)
   * since it had looked {@code lists} times (read before the docker command: the command's event can
   * wake a pass that looks before the command's answer; a rehearsal then waited for the relist's
   * 30 s), then passed twice more with no work in flight: it looked, and acted.
   */
  private void looked(long lists) {
    await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(50)).until(() -> h.reconciler.looks() > lists);
    long passes = h.reconciler.passes();
    await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(50))
        .until(() -> h.reconciler.passes() >= passes + 2 && h.reconciler.idle());
  }

  /** Before, it was taken for a container that exited: a second one was started beside it at once, and ran on beside it once unpaused. */
  @Test
  void aPausedContainerIsNotReplaced() throws Exception {
    h.run(ds());
    List<String> before = containers();
    paused = h.container("main").id();
    long lists = h.reconciler.looks();
    docker("pause", paused);
    looked(lists);
    assertThat(containers()).as("no container started beside the paused one").isEqualTo(before);
    lists = h.reconciler.looks();
    docker("unpause", paused);
    paused = null;
    looked(lists);
    assertThat(containers()).isEqualTo(before);
    assertThat(h.container("main").id()).as("the same container runs").isEqualTo(before.get(0));
  }

  /** Before, a pod whose sandbox was paused was killed: its containers stopped and a new sandbox made. */
  @Test
  void aPodWhoseSandboxIsPausedIsNotKilled() throws Exception {
    h.run(ds("spec.template.spec.containers[0].env", "[" + DockerHarness.ASKS_FOR_POD_IP + "]"));
    List<String> before = containers();
    String app = h.container("main").id();
    paused = before.stream().filter(id -> !id.equals(app)).findFirst().orElseThrow();
    long lists = h.reconciler.looks();
    docker("pause", paused);
    looked(lists);
    assertThat(containers()).as("nothing made or removed").isEqualTo(before);
    assertThat(h.container("main").id()).as("the pod's container runs on").isEqualTo(app);
  }
}
