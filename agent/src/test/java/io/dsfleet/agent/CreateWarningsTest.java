package io.dsfleet.agent;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.agent.runtime.ContainerSpec;
import io.dsfleet.agent.runtime.DockerRuntime;
import io.dsfleet.agent.runtime.Labels;
import io.dsfleet.agent.session.LoggedLines;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Docker makes a container even where it discards a setting the host cannot apply, and says so
 * only in the create's answer ("Warnings"): a node's podPidsLimit on a host without the pids
 * cgroup would be believed in force. The agent logs each warning, once. The daemon here applies
 * every setting the agent sends, so a proxy in front of it answers the create as such a host's
 * daemon does (the text is Docker 20.10's, made unique to this run).
 */
class CreateWarningsTest {
  @TempDir Path tmp;

  @Test
  void aSettingDockerDiscardedIsLoggedOnceWhateverTheCreatesThatBringIt() throws Exception {
    String run = UUID.randomUUID().toString();
    String warning = "Your kernel does not support pids limit capabilities or the cgroup is not mounted. PIDs limit discarded. (" + run + ")";
    // a text with a line break in it (an image's field may stand in one) stays one line of the log
    String broken = "platform one\\nINFO forged line (" + run + ")";
    try (DockerFaults faults = new DockerFaults(tmp.resolve("docker.sock"), DockerHarness.DOCKER_HOST);
        DockerRuntime docker = new DockerRuntime(faults.dockerHost()).pidsLimit(64);
        LoggedLines logged = new LoggedLines(run)) {
      faults.answer(line -> line.startsWith("POST ") && line.contains("/containers/create"),
          "{\"Id\":\"" + "ab".repeat(32) + "\",\"Warnings\":[\"" + warning + "\",\"" + broken + "\"]}");
      for (int i = 0; i < 3; i++) {
        assertThat(docker.create(spec("dsf-warned-" + i))).as("the container Docker said it made").isEqualTo("ab".repeat(32));
      }
      assertThat(faults.faulted("/containers/create")).as("three creates answered with the warning").isEqualTo(3);
      assertThat(logged.lines()).as("each warning, logged once").hasSize(2);
      assertThat(logged.lines().get(0)).contains("WARN").contains("dsf-warned-0").contains("PIDs limit discarded");
      assertThat(logged.lines().get(1)).as("one line").contains("WARN").contains("platform one?INFO forged line");
    }
  }

  private static ContainerSpec spec(String name) {
    return new ContainerSpec(name, "local/busybox:1", List.of("sh", "-c"), List.of("sleep 3600"), null, Map.of(),
        Map.of(Labels.MANAGED, "true", Labels.NODE, "warned", Labels.NAMESPACE, "ops", Labels.POD, "warned-pod"), List.of(), List.of(),
        "none", "private", null, false, List.of(), List.of(), null, List.of(), false, List.of(), 0, 0, 0, false, false, null, null);
  }
}
