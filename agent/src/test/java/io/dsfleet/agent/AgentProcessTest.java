package io.dsfleet.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.dsfleet.agent.runtime.ContainerInfo;
import io.dsfleet.agent.runtime.Labels;
import io.dsfleet.proto.v1.DesiredState;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The agent as a real process (the built classes, as `ds-agent run`) against a fake coordinator and the real Docker daemon. */
class AgentProcessTest {
  @TempDir Path tmp;
  DockerHarness docker;
  Process agent;
  FakeCoordinator coordinator;
  Path log;
  int port;

  @BeforeEach
  void setUp() throws Exception {
    docker = new DockerHarness(tmp.resolve("harness"), false);
    log = tmp.resolve("agent.log");
    DesiredState desired = DockerHarness.state(DockerHarness.ds("spec.template.spec.terminationGracePeriodSeconds", "1",
        "spec.template.spec.containers[0].command", "[sh, -c, 'trap \"exit 0\" TERM; while true; do sleep 1; done']"));
    coordinator = new FakeCoordinator(desired).start(0);
    port = coordinator.port();
  }

  @AfterEach
  void tearDown() throws Exception {
    if (agent != null) {
      agent.destroyForcibly().waitFor();
    }
    coordinator.close();
    docker.close();
    if (Files.exists(log)) {
      System.out.println("--- agent log ---\n" + Files.readString(log));
    }
  }

  Process startAgent() throws Exception {
    ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), AgentMain.class.getName(), "run",
        "--coordinator", "127.0.0.1:" + port, "--node-name", docker.node, "--state-dir", tmp.resolve("state").toString(),
        "--config", tmp.resolve("none.yaml").toString(), "--address", "127.0.0.1", "--docker-host", DockerHarness.DOCKER_HOST,
        "--insecure");
    pb.redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    return pb.start();
  }

  Map<String, ContainerInfo> running() {
    return docker.docker.listOwned(docker.node).stream().filter(ContainerInfo::running)
        .collect(Collectors.toMap(c -> c.label(Labels.CONTAINER), Function.identity()));
  }

  @Test
  void aRestartedAgentAdoptsItsContainersWithoutRestartingThem() throws Exception {
    agent = startAgent();
    await().atMost(Duration.ofSeconds(60)).until(coordinator::podReady);
    Map<String, ContainerInfo> before = running();
    assertThat(before).containsKeys("POD", "main");

    agent.destroyForcibly().waitFor(); // SIGKILL
    int sessions = coordinator.sessionsOpened.get();
    agent = startAgent();
    await().atMost(Duration.ofSeconds(60)).until(() -> coordinator.sessionsOpened.get() > sessions && coordinator.podReady());
    // give the new agent several reconcile passes to do anything it would do
    await().pollDelay(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(4)).until(() -> true);

    Map<String, ContainerInfo> after = running();
    assertThat(after.keySet()).isEqualTo(before.keySet());
    for (String name : before.keySet()) {
      assertThat(after.get(name).id()).as(name + " same container").isEqualTo(before.get(name).id());
      assertThat(after.get(name).startedAt()).as(name + " not restarted").isEqualTo(before.get(name).startedAt());
    }
    assertThat(docker.docker.listOwned(docker.node)).as("nothing duplicated").hasSize(before.size());
  }

  @Test
  void withTheCoordinatorGoneCrashedContainersStillComeBackAndTheReconnectRestartsNothing() throws Exception {
    agent = startAgent();
    await().atMost(Duration.ofSeconds(60)).until(coordinator::podReady);
    coordinator.close();

    ContainerInfo main = running().get("main");
    new ProcessBuilder("docker", "kill", main.id()).start().waitFor();
    // restarted by the agent after Kubernetes' first back-off (10 s), coordinator or not
    await().atMost(Duration.ofSeconds(40)).until(() -> running().containsKey("main") && !running().get("main").id().equals(main.id()));
    assertThat(running().get("main").label(Labels.RESTARTS)).isEqualTo("1");

    // the agent itself restarts during the outage: it resumes its last desired set from its state directory
    agent.destroyForcibly().waitFor();
    Map<String, ContainerInfo> beforeReturn = running();
    agent = startAgent();
    await().pollDelay(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(4)).until(() -> true);
    assertThat(running().keySet()).isEqualTo(beforeReturn.keySet());

    coordinator = new FakeCoordinator(DockerHarness.state(DockerHarness.ds("spec.template.spec.terminationGracePeriodSeconds", "1",
        "spec.template.spec.containers[0].command", "[sh, -c, 'trap \"exit 0\" TERM; while true; do sleep 1; done']"))).start(port);
    await().atMost(Duration.ofSeconds(60)).until(() -> coordinator.sessionsOpened.get() > 0 && coordinator.podReady());
    await().pollDelay(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(4)).until(() -> true);
    Map<String, ContainerInfo> after = running();
    for (String name : beforeReturn.keySet()) {
      assertThat(after.get(name).id()).as(name + ": the reconnect restarted nothing").isEqualTo(beforeReturn.get(name).id());
    }
    assertThat(Files.readString(log)).contains("resuming the last desired set");
  }

}
