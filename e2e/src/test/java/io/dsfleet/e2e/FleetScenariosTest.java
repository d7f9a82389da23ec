package io.dsfleet.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.proto.v1.DaemonSetView;
import io.dsfleet.proto.v1.GetRequest;
import io.dsfleet.proto.v1.NodeView;
import io.dsfleet.proto.v1.ObjectKind;
import io.dsfleet.proto.v1.PodView;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.extension.TestWatcher;

/**
 * The faults a fleet lives through, on real hosts: network namespaces each with its own dockerd
 * and ds-agent process, a coordinator process, dsctl as a process. The scenarios share one fleet
 * and run in order; each leaves it as it found it (its DaemonSets deleted).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class FleetScenariosTest {
  static TestFleet fleet;

  @RegisterExtension
  static final TestWatcher LOGS_ON_FAILURE = TestFleet.logsOnFailure(() -> fleet);

  @BeforeAll
  static void up() throws Exception {
    fleet = new TestFleet();
    fleet.startCoordinator();
    for (int i = 1; i <= 3; i++) {
      fleet.addHost(i);
    }
    TestFleet.await("3 nodes Ready", 90, () -> nodes().values().stream().filter(NodeView::getReady).count() == 3);
  }

  @AfterAll
  static void down() {
    if (fleet != null) {
      fleet.close();
    }
  }

  static String ds(String name, String extraSpec) {
    return """
        apiVersion: apps/v1
        kind: DaemonSet
        metadata: {name: %s}
        spec:
          selector: {matchLabels: {app: %s}}
          template:
            metadata: {labels: {app: %s}}
            spec:
              terminationGracePeriodSeconds: 2
        %s      containers:
              - name: main
                image: local/busybox:1
                command: [sh, -c, "trap 'exit 0' TERM; while true; do sleep 1; done"]
        """.formatted(name, name, name, extraSpec);
  }

  static void apply(String name, String yaml) throws Exception {
    fleet.dsctlOk("apply", "-f", fleet.manifest(name + ".yaml", yaml).toString());
  }

  static Map<String, NodeView> nodes() {
    return fleet.nodes();
  }

  static List<PodView> pods(String ds) {
    return fleet.pods(ds);
  }

  static Optional<PodView> podOn(String ds, TestHost h) {
    return fleet.podOn(ds, h);
  }

  static boolean readyOn(String ds, TestHost h) {
    return fleet.readyOn(ds, h);
  }

  static Map<String, String> containers(String ds, TestHost h) {
    return fleet.containers(ds, h);
  }

  static DaemonSetView daemonSet(String name) {
    return fleet.daemonSet(name);
  }

  static void delete(String ds) {
    fleet.dsctlOk("delete", "ds", ds);
    for (TestHost h : fleet.hosts.values()) {
      if (h.agent != null && h.agent.isAlive()) {
        TestFleet.await(ds + " gone from " + h.name, 60, () -> containers(ds, h).isEmpty());
      }
    }
  }

  @Test
  @Order(1)
  void aDaemonSetRunsOnEveryHostAndDsctlAgreesWithDockerPs() throws Exception {
    apply("web", ds("web", ""));
    for (TestHost h : fleet.hosts.values()) {
      TestFleet.await("web Ready on " + h.name, 90, () -> readyOn("web", h));
    }
    String table = fleet.dsctlOk("get", "pods");
    for (TestHost h : fleet.hosts.values()) {
      PodView p = podOn("web", h).orElseThrow();
      assertThat(table).as("dsctl get pods lists %s on %s", p.getStatus().getPodName(), h.name)
          .containsPattern(p.getStatus().getPodName() + "\\s+1/1\\s+Running\\s+0\\s+\\S+\\s+" + h.name);
      assertThat(containers("web", h).keySet()).as("docker ps on %s", h.name)
          .hasSize(2).anyMatch(n -> n.matches("dsf_" + p.getStatus().getPodName() + "_default_POD_0_[0-9a-f]{6}"))
          .anyMatch(n -> n.matches("dsf_" + p.getStatus().getPodName() + "_default_main_0_[0-9a-f]{6}"));
    }
  }

  @Test
  @Order(2)
  void aFourthHostGetsItsPodWithoutAnyUserAction() throws Exception {
    long start = System.nanoTime();
    TestHost h4 = fleet.addHost(4);
    TestFleet.await("web Ready on host4", 90, () -> readyOn("web", h4));
    System.out.printf("host4: from agent start to pod Running and Ready: %.1f s%n", (System.nanoTime() - start) / 1e9);
    assertThat(containers("web", h4)).hasSize(2);
  }

  @Test
  @Order(3)
  void aHostThatLeavesTakesItsPodsWithIt() throws Exception {
    TestHost h4 = fleet.host(4);
    h4.killAgent();
    Sh.Result r = Sh.run(h4.agentCommand("leave"));
    assertThat(r.exit()).as(r.out()).isZero();
    assertThat(containers("web", h4)).isEmpty();
    assertThat(nodes()).doesNotContainKey("host4");
    assertThat(podOn("web", h4)).isEmpty();
    assertThat(fleet.dsctlOk("get", "pods")).doesNotContain("host4");
  }

  @Test
  @Order(4)
  void labellingAHostAddsThePodAndUnlabellingRemovesIt() throws Exception {
    TestHost h1 = fleet.host(1);
    apply("ssd", ds("ssd", "      nodeSelector: {disktype: ssd}\n"));
    TestFleet.await("ssd placed nowhere", 30, () -> daemonSet("ssd").getStatus().getDesired() == 0);
    fleet.dsctlOk("label", "node", "host1", "disktype=ssd");
    TestFleet.await("ssd Ready on host1", 60, () -> readyOn("ssd", h1));
    assertThat(pods("ssd")).extracting(PodView::getNodeName).containsExactly("host1");
    fleet.dsctlOk("label", "node", "host1", "disktype-");
    TestFleet.await("ssd gone from host1", 60, () -> containers("ssd", h1).isEmpty() && pods("ssd").isEmpty());
    delete("ssd");
  }

  @Test
  @Order(5)
  void taintsNoScheduleKeepsNoExecuteRemovesTolerationKeeps() throws Exception {
    TestHost h2 = fleet.host(2);
    apply("tolerant", ds("tolerant", "      tolerations: [{key: maint, operator: Exists}]\n"));
    TestFleet.await("tolerant Ready on host2", 60, () -> readyOn("tolerant", h2));
    Map<String, String> webBefore = containers("web", h2);

    fleet.dsctlOk("taint", "node", "host2", "maint=yes:NoSchedule");
    TestFleet.await("web misscheduled on host2", 30, () -> daemonSet("web").getStatus().getMisscheduled() == 1);
    assertThat(containers("web", h2)).as("NoSchedule keeps the existing pod").isEqualTo(webBefore);
    apply("late", ds("late", ""));
    TestFleet.await("late on hosts 1 and 3", 60, () -> readyOn("late", fleet.host(1)) && readyOn("late", fleet.host(3)));
    assertThat(podOn("late", h2)).as("NoSchedule blocks new pods").isEmpty();
    assertThat(fleet.dsctlOk("describe", "ds", "late")).contains("taint maint=yes:NoSchedule not tolerated");

    fleet.dsctlOk("taint", "node", "host2", "maint=yes:NoExecute");
    TestFleet.await("web removed from host2", 60, () -> containers("web", h2).isEmpty());
    assertThat(containers("tolerant", h2)).as("a toleration lets it stay").hasSize(2);

    fleet.dsctlOk("taint", "node", "host2", "maint-");
    TestFleet.await("web back on host2", 60, () -> readyOn("web", h2) && readyOn("late", h2));
    delete("late");
    delete("tolerant");
  }

  @Test
  @Order(6)
  void aPartitionedHostTurnsNotReadyKeepsItsPodsAndComesBackWithoutRestarts() throws Exception {
    TestHost h3 = fleet.host(3);
    Map<String, String> h3Before = containers("web", h3);
    Map<String, String> h1Before = containers("web", fleet.host(1));
    h3.cut();
    try {
      TestFleet.await("host3 NotReady", 30, () -> !nodes().get("host3").getReady());
      assertThat(nodes().get("host3").getTaintsList()).extracting(t -> t.getKey() + ":" + t.getEffect())
          .contains("node.kubernetes.io/unreachable:NoExecute", "node.kubernetes.io/unreachable:NoSchedule");
      assertThat(containers("web", h3)).as("pods keep running on the cut-off host").isEqualTo(h3Before);
      assertThat(containers("web", fleet.host(1))).as("nothing else in the fleet changes").isEqualTo(h1Before);
      assertThat(nodes().get("host1").getReady()).isTrue();
    } finally {
      h3.heal();
    }
    TestFleet.await("host3 Ready again", 60, () -> nodes().get("host3").getReady() && readyOn("web", h3));
    assertThat(nodes().get("host3").getTaintsList()).isEmpty();
    assertThat(containers("web", h3)).as("no container restarted").isEqualTo(h3Before);
  }

  @Test
  @Order(7)
  void aCoordinatorKilledDuringAnUpdateComesBackAndTheUpdateCompletes() throws Exception {
    apply("web", ds("web", "").replace("local/busybox:1", "local/busybox:2"));
    fleet.killCoordinator();
    fleet.startCoordinator();
    DaemonSetView web = daemonSet("web");
    assertThat(web.getRevision()).as("the acknowledged revision survived").isEqualTo(2);
    assertThat(web.getImages()).isEqualTo("local/busybox:2");
    for (TestHost h : List.of(fleet.host(1), fleet.host(2), fleet.host(3))) {
      TestFleet.await("web on revision 2 on " + h.name, 120, () -> podOn("web", h)
          .map(p -> p.getRevision() == 2 && p.getStatus().getReady()).orElse(false));
      assertThat(containers("web", h).keySet()).as("one new run, no extra restart on %s", h.name)
          .anyMatch(n -> n.contains("_main_0_")).noneMatch(n -> n.contains("_main_1_"));
    }
    assertThat(fleet.dsctlOk("rollout", "history", "ds/web")).contains("1 ").contains("2 ");
  }

  @Test
  @Order(8)
  void aKilledAgentAdoptsItsContainersWhenItComesBack() throws Exception {
    TestHost h1 = fleet.host(1);
    Map<String, String> before = containers("web", h1);
    h1.killAgent();
    h1.startAgent();
    TestFleet.await("host1 agent back", 60, () -> nodes().get("host1").getReady() && readyOn("web", h1));
    org.awaitility.Awaitility.await().pollDelay(java.time.Duration.ofSeconds(3)).atMost(java.time.Duration.ofSeconds(4)).until(() -> true);
    assertThat(containers("web", h1)).as("same containers, same start times").isEqualTo(before);
  }

  /**
   * dockerd restarts under the agent (it stops every container on its way down). The node is
   * NotReady while Docker does not answer; then the pod runs again in a new sandbox (a dead
   * container Docker refuses to remove does not stand in its way), and the dead containers are
   * collected: nothing is left behind. Self-contained (its own DaemonSet), so it can run alone:
   * {@code mvn -pl e2e verify -Dtest='FleetScenariosTest#afterADockerdRestart*'}.
   */
  @Test
  @Order(9)
  void afterADockerdRestartTheAgentReconcilesAndThePodsRunAgain() throws Exception {
    TestHost h2 = fleet.host(2);
    apply("restart", ds("restart", ""));
    TestFleet.await("restart Ready on host2", 90, () -> readyOn("restart", h2));
    Map<String, String> before = containers("restart", h2);
    h2.restartDockerd();
    TestFleet.await("restart running again on host2", 120, () -> readyOn("restart", h2) && containers("restart", h2).size() == 2
        && !containers("restart", h2).keySet().equals(before.keySet()));
    TestFleet.await("the dead containers collected on host2", 120, () -> h2.dockerPsAll().keySet().stream()
        .filter(n -> n.startsWith("dsf_restart-")).count() == 2);
    assertThat(h2.dockerPsAll().entrySet().stream().filter(e -> e.getKey().startsWith("dsf_restart-")).map(Map.Entry::getValue))
        .as("only the running pod is left").containsOnly("running");
    String described = fleet.dsctlOk("describe", "node", h2.name);
    assertThat(described).as("the coordinator saw the node NotReady while Docker was down").contains("NodeNotReady")
        .contains("container runtime unavailable").contains("NodeReady");
    assertThat(nodes().get(h2.name).getReady()).isTrue();
    delete("restart");
  }

  @Test
  @Order(10)
  void deletingADaemonSetRemovesItsContainersFromEveryHost() throws Exception {
    delete("web");
    for (TestHost h : List.of(fleet.host(1), fleet.host(2), fleet.host(3))) {
      assertThat(containers("web", h)).as(h.name).isEmpty();
    }
    assertThat(fleet.dsctl("get", "ds").out()).contains("No resources found");

    apply("kept", ds("kept", ""));
    for (TestHost h : List.of(fleet.host(1), fleet.host(2), fleet.host(3))) {
      TestFleet.await("kept Ready on " + h.name, 90, () -> readyOn("kept", h));
    }
    Map<Integer, Map<String, String>> before = new java.util.TreeMap<>();
    fleet.hosts.values().stream().filter(h -> h.agent.isAlive()).forEach(h -> before.put(h.index, containers("kept", h)));
    assertThat(fleet.dsctlOk("delete", "ds", "kept", "--cascade=orphan")).contains("deleted (pods orphaned)");
    TestFleet.await("kept gone from dsctl", 30, () -> pods("kept").isEmpty());
    org.awaitility.Awaitility.await().pollDelay(java.time.Duration.ofSeconds(3)).atMost(java.time.Duration.ofSeconds(4)).until(() -> true);
    for (var e : before.entrySet()) {
      assertThat(containers("kept", fleet.host(e.getKey()))).as("orphaned containers keep running on host%d", e.getKey()).isEqualTo(e.getValue());
    }
  }
}
