package io.dsfleet.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.proto.v1.DaemonSetView;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The faults a fleet lives through, on real hosts: a host cut off the network, the coordinator
 * killed during an update, an agent killed, dockerd restarted under the agent.
 */
class FaultScenariosTest extends ThreeHostScenarios {
  @Test
  void aPartitionedHostTurnsNotReadyKeepsItsPodsAndComesBackWithoutRestarts() throws Exception {
    applyEverywhere("part");
    TestHost h3 = fleet.host(3);
    Map<String, String> h3Before = containers("part", h3);
    Map<String, String> h1Before = containers("part", fleet.host(1));
    h3.cut();
    try {
      TestFleet.await("host3 NotReady", 30, () -> !nodes().get("host3").getReady());
      assertThat(nodes().get("host3").getTaintsList()).extracting(t -> t.getKey() + ":" + t.getEffect())
          .contains("node.kubernetes.io/unreachable:NoExecute", "node.kubernetes.io/unreachable:NoSchedule");
      assertThat(containers("part", h3)).as("pods keep running on the cut-off host").isEqualTo(h3Before);
      assertThat(containers("part", fleet.host(1))).as("nothing else in the fleet changes").isEqualTo(h1Before);
      assertThat(nodes().get("host1").getReady()).isTrue();
    } finally {
      h3.heal();
    }
    TestFleet.await("host3 Ready again", 60, () -> nodes().get("host3").getReady() && readyOn("part", h3));
    assertThat(nodes().get("host3").getTaintsList()).isEmpty();
    assertThat(containers("part", h3)).as("no container restarted").isEqualTo(h3Before);
  }

  @Test
  void aCoordinatorKilledDuringAnUpdateComesBackAndTheUpdateCompletes() throws Exception {
    applyEverywhere("upd");
    apply(ds("upd", "").replace("local/busybox:1", "local/busybox:2"));
    fleet.killCoordinator();
    fleet.startCoordinator();
    DaemonSetView upd = daemonSet("upd");
    assertThat(upd.getRevision()).as("the acknowledged revision survived").isEqualTo(2);
    assertThat(upd.getImages()).isEqualTo("local/busybox:2");
    for (TestHost h : hosts123()) {
      TestFleet.await("upd on revision 2 on " + h.name, 120, () -> podOn("upd", h)
          .map(p -> p.getRevision() == 2 && p.getStatus().getReady()).orElse(false));
      assertThat(containers("upd", h).keySet()).as("one new run, no extra restart on %s", h.name)
          .anyMatch(n -> n.contains("_main_0_")).noneMatch(n -> n.contains("_main_1_"));
    }
    assertThat(fleet.dsctlOk("rollout", "history", "ds/upd")).contains("1 ").contains("2 ");
  }

  @Test
  void aKilledAgentAdoptsItsContainersWhenItComesBack() throws Exception {
    applyEverywhere("adopt");
    TestHost h1 = fleet.host(1);
    Map<String, String> before = containers("adopt", h1);
    h1.killAgent();
    h1.startAgent();
    TestFleet.await("host1 agent back", 60, () -> nodes().get("host1").getReady() && readyOn("adopt", h1));
    h1.settle(3); // the new agent has its desired set and has done what it would do about the containers it found
    assertThat(containers("adopt", h1)).as("same containers, same start times").isEqualTo(before);
  }

  /**
   * dockerd restarts under the agent (it stops every container on its way down). The node is
   * NotReady while Docker does not answer; then the pod runs again in a new sandbox (a dead
   * container Docker refuses to remove does not stand in its way), and the dead containers are
   * collected but the app's run before its latest (`dsctl logs --previous`, as the kubelet keeps one).
   */
  @Test
  void afterADockerdRestartTheAgentReconcilesAndThePodsRunAgain() throws Exception {
    TestHost h2 = fleet.host(2);
    apply(ds("restart", ""));
    TestFleet.await("restart Ready on host2", 90, () -> readyOn("restart", h2));
    Map<String, String> before = containers("restart", h2);
    h2.restartDockerd();
    TestFleet.await("restart running again on host2", 120, () -> readyOn("restart", h2) && containers("restart", h2).size() == 2
        && !containers("restart", h2).keySet().equals(before.keySet()));
    TestFleet.await("the dead containers collected on host2", 120, () -> h2.dockerPsAll().keySet().stream()
        .filter(n -> n.startsWith("dsf_restart-")).count() == 3);
    Map<String, String> left = h2.dockerPsAll().entrySet().stream().filter(e -> e.getKey().startsWith("dsf_restart-"))
        .collect(java.util.stream.Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue));
    assertThat(left.values().stream().filter("running"::equals).count()).as("the pod runs: %s", left).isEqualTo(2);
    assertThat(left.entrySet().stream().filter(e -> !e.getValue().equals("running")).map(Map.Entry::getKey))
        .as("of the dead, only the app's run before its latest is kept, never a sandbox: %s", left).singleElement()
        .satisfies(n -> assertThat(n).doesNotContain("_POD_"));
    String described = fleet.dsctlOk("describe", "node", h2.name);
    assertThat(described).as("the coordinator saw the node NotReady while Docker was down").contains("NodeNotReady")
        .contains("container runtime unavailable").contains("NodeReady");
    assertThat(nodes().get(h2.name).getReady()).isTrue();
  }
}
