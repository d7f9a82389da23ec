package io.dsfleet.agent;

import static io.dsfleet.agent.DockerHarness.ds;
import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.agent.runtime.Labels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * What an admin's {@code docker container prune} (or {@code docker system prune}, often a nightly job on a Docker host)
 * does to a running pod: it removes every stopped container, a pod's completed init containers with them.
 */
class PrunedContainersTest extends OnDocker {
  static final String POD = "spec.template.spec";

  /**
   * A pod whose completed init container was pruned runs on: the init container is not run again beside the running
   * app, as the kubelet's findNextInitContainerToRun takes a running app container for proof that its init containers
   * ran. Until 2026-12-08 it was run again (here: two lines in its log), and until it ended the pod's app containers
   * were neither restarted nor stopped for their probes.
   */
  @Test
  void aPrunedInitContainerIsNotRunAgainBesideTheRunningApp() throws Exception {
    Path out = Files.createDirectories(tmp.resolve("out"));
    h.run(ds(POD + ".initContainers", "[{name: setup, image: local/busybox:1, command: [sh, -c, 'echo setup >> /out/log'],"
        + " volumeMounts: [{name: out, mountPath: /out}]}]",
        POD + ".volumes", "[{name: out, hostPath: {path: " + out + "}}]"));
    String app = h.container("main").id();
    assertThat(Files.readAllLines(out.resolve("log"))).containsExactly("setup");
    var pruned = Docker.cli(Map.of(), "container", "prune", "--force", "--filter", "label=" + Labels.NODE + "=" + h.node);
    assertThat(pruned.exit()).as(pruned.out()).isZero();
    assertThat(h.docker.listOwned(h.node)).as("the init container is gone").noneMatch(c -> Labels.INIT.equals(c.label(Labels.ROLE)));
    h.settle(5);
    assertThat(Files.readAllLines(out.resolve("log"))).as("the init container ran once").containsExactly("setup");
    assertThat(h.docker.listOwned(h.node)).as("and was not made again").noneMatch(c -> Labels.INIT.equals(c.label(Labels.ROLE)));
    assertThat(h.container("main").id()).as("the app runs on").isEqualTo(app);
    var status = h.awaitStatus(p -> p.getPhase().equals("Running") && p.getReady(), Duration.ofSeconds(30));
    // as the kubelet keeps its terminated status: until 2026-12-08 waiting, PodInitializing, while the pod ran
    assertThat(status.getContainers(0)).as("the init container reported as it ended").returns(true, c -> c.getInit())
        .returns("terminated", c -> c.getState()).returns("Completed", c -> c.getReason());
  }
}
