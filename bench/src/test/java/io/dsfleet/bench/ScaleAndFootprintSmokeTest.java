package io.dsfleet.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The fleet-scale and agent-footprint benchmarks, run small as {@link BenchSmokeTest} runs the
 * others: they make no Swarm, so they run beside that class, in the other test JVM.
 */
class ScaleAndFootprintSmokeTest extends SmokeRun {
  @Test
  void fleetScaleWithSimulatedAgents() throws Exception {
    ScaleBench.Result r = ScaleBench.run(10, 1, 10, 1000, 1000, 1000, work, work.resolve("profile"), out);
    assertThat(r.apply().latency().count()).isEqualTo(10);
    assertThat(r.warmApply().latency().count()).as("the second DaemonSet, on every node").isEqualTo(10);
    assertThat(work.resolve("profile/coordinator-10-1.jfr")).as("the coordinator's flight recording (--profile)").isNotEmptyFile();
    assertThat(r.joinMs()).isPositive();
    assertThat(r.joinsAlone().joins()).as("the separate check of a join's cost: a join per node").isEqualTo(10);
    assertThat(r.joinsAlone().cpuMsPerJoin()).isPositive();
    assertThat(r.joinsAlone().firstCpuMsPerJoin()).isPositive();
    assertThat(r.joinsAlone().warmCpuMsPerJoin()).isPositive();
    assertThat(printed()).containsPattern("joins alone: 10 joins in [0-9.]+ s, coordinator CPU [0-9.]+ ms per join, [0-9.]+ ms each of the first 10,"
        + " [0-9.]+ ms each of the second half");
    assertThat(r.heapMib()).isPositive();
    assertThat(r.rollingMs()).isPositive();
    assertThat(r.reconnectMs()).isPositive();
    assertThat(printed()).contains("10 nodes: in the 1 s after every agent was back, nodes NotReady (or gone) at any poll: ");
    assertThat(printed()).as("the restart's CPU, the coordinator's and the simulators'").containsPattern("10 nodes: restart CPU: until the admin"
        + " call was answered \\([0-9.]+ s\\), coordinator [0-9.]+ s, simulators [0-9.]+ s; then until every agent was back \\([0-9.]+ s"
        + " more\\), coordinator [0-9.]+ s, simulators [0-9.]+ s\n")
        .containsPattern("10 nodes: restart CPU every 5 s from the SIGKILL, % of a core \\(coordinator / simulators\\):( [0-9]+-[0-9]+s: [0-9]+/[0-9]+)*\n")
        .containsPattern("10 nodes: restart connections closed unserved: [0-9]+ refused at the cap, [0-9]+ with their agent gone before the first read\n")
        // every returning agent (the real session code, over gRPC and TLS) named the set it held: none was sent again
        .containsPattern("10 nodes: restart, desired sets: 0 sent, [1-9][0-9]* sessions opened holding the set they would have been sent\n")
        .containsPattern("10 nodes: restart, the coordinator's port's connections by TCP state \\(seconds after the SIGKILL\\):( [0-9]+s: "
            + "[A-Z_0-9]+ [0-9]+(, [A-Z_0-9]+ [0-9]+)*;)+\n");
    assertThat(printed()).as("the JIT's part of each apply").containsPattern(
        "apply -> every node Running: .*JIT compiler threads' CPU: coordinator [0-9.]+ s, simulators [0-9.]+ s\\)\n")
        .contains("10 nodes: a second DaemonSet, applied after the first and its rolling update: every node Running: p50 ");
    assertThat(printed()).as("where the rolling update's time went, wave by wave").containsPattern("waves of 1 \\(.*\\): ([0-9.]+->[0-9.]+ ){9}[0-9.]+->[0-9.]+; [1-9][0-9]* rollout passes, [0-9]+ ms each on average\n");
    assertThat(printed()).as("the heartbeats' cost with the DaemonSet rolled out, and the passes meanwhile").containsPattern(
        "10 nodes: steady heartbeat with the DaemonSet on every node: coordinator CPU [0-9.]+ % of a core, [0-9]+ rollout passes in the 1 s\n");
    ScaleBench.print(List.of(r), out);
    assertThat(printed()).contains("| 10 | ");
  }

  @Test
  void agentFootprint() throws Exception {
    assumeDocker();
    AgentBench.Result r = AgentBench.run(List.of(LocalFleet.builtAgentJar()), 1000, 2, work, out).get(0);
    assertThat(r.idleRssMib()).isPositive();
    assertThat(r.podsRssMib()).isPositive();
    assertThat(r.startToReadyMs()).isPositive();
    assertThat(r.archiveMs()).as("the launcher made the class-data archive from the built jar's class list").isPositive();
    // the agent reached Docker through the counter: its calls were counted, two pods' containers (one each, no sandbox) created among them
    assertThat(r.calls()).as("the agent's Docker calls").containsKey("GET containers/json");
    assertThat(r.calls().get("POST containers/create")).as("containers created").isGreaterThanOrEqualTo(2);
    AgentBench.print(List.of(r), 1000, out);
    assertThat(printed()).contains("RSS idle").contains("Docker API calls/min");
  }
}
