package io.dsfleet.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Each benchmark, run small (seconds, not minutes), so the harness cannot rot: it ran and printed
 * its figures. Nothing here says anything about speed; docs/benchmarks.md has the real runs.
 */
class BenchSmokeTest {
  @TempDir Path work;
  final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
  final PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);

  @BeforeEach
  void needsDocker() {
    assumeTrue(Procs.run(List.of("docker", "info")).exit() == 0, "skipped: no Docker daemon (scripts/test starts one)");
  }

  String printed() {
    return bytes.toString(StandardCharsets.UTF_8);
  }

  @Test
  void applyToRunning() throws Exception {
    ApplyBench.Result r = ApplyBench.run(1, work, out);
    // the peer is measured unless the daemon is in a swarm the benchmark did not make (then it says so)
    List<Stats> measured = new java.util.ArrayList<>(List.of(r.floor(), r.dsfleet(), r.hostFloor(), r.hostDsfleet(), r.group()));
    if (r.peerNote().isEmpty()) {
      measured.addAll(List.of(r.peer(), r.hostPeer()));
    }
    for (Stats s : measured) {
      assertThat(s.count()).isEqualTo(1);
      assertThat(s.median()).isPositive();
    }
    assertThat(printed()).contains("| (c)/(a), bridge |").contains("| (c')/(a'), host network |").contains("| (c)/(b), bridge |")
        .contains("| (c')/(b'), host network |").contains("| (d)/(c): the cost of replication |");
    assertThat(new Swarm("unix:///var/run/docker.sock").active()).as("the benchmark left the swarm it made, and only that one")
        .isEqualTo(!r.peerNote().isEmpty());
  }

  /** A daemon in a swarm (here one this test makes, standing for someone's real one) is neither changed nor left. */
  @Test
  void aSwarmTheBenchmarkDidNotMakeIsNeitherChangedNorLeft() {
    Swarm daemon = new Swarm("unix:///var/run/docker.sock");
    boolean made = !daemon.active();
    if (made) {
      daemon.cli("swarm", "init", "--advertise-addr", "127.0.0.1");
    }
    try {
      String id = daemon.cli("info", "--format", "{{.Swarm.Cluster.ID}}");
      Swarm bench = new Swarm("unix:///var/run/docker.sock");
      assertThat(org.assertj.core.api.Assertions.catchThrowable(() -> bench.init("127.0.0.1"))).isInstanceOf(Swarm.Busy.class)
          .hasMessageContaining("Swarm peer is skipped");
      bench.leave();
      assertThat(daemon.cli("info", "--format", "{{.Swarm.Cluster.ID}}")).as("the same swarm, still there").isEqualTo(id);
    } finally {
      if (made) {
        daemon.cli("swarm", "leave", "--force");
      }
    }
  }

  @Test
  void rollingUpdateOnOneHost() {
    RollingBench.Result r = RollingBench.oneHost(1, work, out);
    assertThat(r.dsfleet().count()).isEqualTo(1);
    assertThat(r.swarm().count()).isEqualTo(r.swarmNote().isEmpty() ? 1 : 0);
    RollingBench.print(List.of(r), 1, out);
    assertThat(printed()).contains("| 1 | ");
  }

  @Test
  void fleetScaleWithSimulatedAgents() throws Exception {
    ScaleBench.Result r = ScaleBench.run(30, 1, 30, 1000, 2000, work, work.resolve("profile"), out);
    assertThat(r.apply().latency().count()).isEqualTo(30);
    assertThat(r.warmApply().latency().count()).as("the second DaemonSet, on every node").isEqualTo(30);
    assertThat(work.resolve("profile/coordinator-30-1.jfr")).as("the coordinator's flight recording (--profile)").isNotEmptyFile();
    assertThat(r.joinMs()).isPositive();
    assertThat(r.heapMib()).isPositive();
    assertThat(r.rollingMs()).isPositive();
    assertThat(r.reconnectMs()).isPositive();
    assertThat(printed()).as("the JIT's part of each apply").containsPattern(
        "apply -> every node Running: .*JIT compiler threads' CPU: coordinator [0-9.]+ s, simulators [0-9.]+ s\\)\n")
        .contains("30 nodes: a second DaemonSet, applied after the first and its rolling update: every node Running: p50 ");
    assertThat(printed()).as("where the rolling update's time went, wave by wave").containsPattern("waves of 3 \\(.*\\): ([0-9.]+->[0-9.]+ ){9}[0-9.]+->[0-9.]+; [1-9][0-9]* rollout passes, [0-9]+ ms each on average\n");
    ScaleBench.print(List.of(r), out);
    assertThat(printed()).contains("| 30 | ");
  }

  @Test
  void agentFootprint() throws Exception {
    AgentBench.Result r = AgentBench.run(List.of(LocalFleet.builtAgentJar()), 2000, 2, work, out).get(0);
    assertThat(r.idleRssMib()).isPositive();
    assertThat(r.podsRssMib()).isPositive();
    assertThat(r.startToReadyMs()).isPositive();
    assertThat(r.archiveMs()).as("the launcher made the class-data archive from the built jar's class list").isPositive();
    // the agent reached Docker through the counter: its calls were counted, two pods' containers created among them
    assertThat(r.calls()).as("the agent's Docker calls").containsKey("GET containers/json");
    assertThat(r.calls().get("POST containers/create")).as("containers created").isGreaterThanOrEqualTo(4);
    AgentBench.print(List.of(r), 2000, out);
    assertThat(printed()).contains("RSS idle").contains("Docker API calls/min");
  }
}
