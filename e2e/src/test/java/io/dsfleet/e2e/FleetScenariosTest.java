package io.dsfleet.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.dsfleet.proto.v1.PodView;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A fleet's membership and placement on real hosts: every host, a host that joins and leaves, labels, taints, deletes;
 * and kubectl, unmodified, driving a DaemonSet through the coordinator's Kubernetes API.
 */
class FleetScenariosTest extends ThreeHostScenarios {
  @Test
  void aDaemonSetRunsOnEveryHostAndDsctlAgreesWithDockerPs() throws Exception {
    fleet.dsctlOk("apply", "-f", fleet.manifest("web.yaml", ds("web", "")).toString());
    for (TestHost h : hosts123()) {
      TestFleet.await("web Ready on " + h.name, 90, () -> readyOn("web", h));
    }
    String table = fleet.dsctlOk("get", "pods");
    for (TestHost h : hosts123()) {
      PodView p = podOn("web", h).orElseThrow();
      assertThat(table).as("dsctl get pods lists %s on %s", p.getStatus().getPodName(), h.name)
          .containsPattern(p.getStatus().getPodName() + "\\s+1/1\\s+Running\\s+0\\s+\\S+\\s+" + h.name);
      assertThat(containers("web", h).keySet()).as("docker ps on %s", h.name)
          .hasSize(2).anyMatch(n -> n.matches("dsf_" + p.getStatus().getPodName() + "_default_POD_0_[0-9a-f]{6}"))
          .anyMatch(n -> n.matches("dsf_" + p.getStatus().getPodName() + "_default_main_0_[0-9a-f]{6}"));
    }
  }

  @Test
  void aFourthHostGetsItsPodWithoutAnyUserActionAndTakesItWithItWhenItLeaves() throws Exception {
    applyEverywhere("joiner");
    long start = System.nanoTime();
    TestHost h4 = fleet.addHost(4);
    try {
      TestFleet.await("joiner Ready on host4", 90, () -> readyOn("joiner", h4));
      System.out.printf("host4: from agent start to pod Running and Ready: %.1f s%n", (System.nanoTime() - start) / 1e9);
      assertThat(containers("joiner", h4)).hasSize(2);

      h4.killAgent();
      Sh.Result r = Sh.run(h4.agentCommand("leave"));
      assertThat(r.exit()).as(r.out()).isZero();
      assertThat(containers("joiner", h4)).isEmpty();
      assertThat(nodes()).doesNotContainKey("host4");
      assertThat(podOn("joiner", h4)).isEmpty();
      assertThat(fleet.dsctlOk("get", "pods")).doesNotContain("host4");
    } finally {
      fleet.removeHost(4);
    }
  }

  @Test
  void labellingAHostAddsThePodAndUnlabellingRemovesIt() throws Exception {
    TestHost h1 = fleet.host(1);
    apply(ds("ssd", "      nodeSelector: {disktype: ssd}\n"));
    TestFleet.await("ssd placed nowhere", 30, () -> daemonSet("ssd").getStatus().getDesired() == 0);
    try {
      fleet.dsctlOk("label", "node", "host1", "disktype=ssd");
      TestFleet.await("ssd Ready on host1", 60, () -> readyOn("ssd", h1));
      assertThat(pods("ssd")).extracting(PodView::getNodeName).containsExactly("host1");
    } finally {
      fleet.dsctlOk("label", "node", "host1", "disktype-");
    }
    TestFleet.await("ssd gone from host1", 60, () -> containers("ssd", h1).isEmpty() && pods("ssd").isEmpty());
  }

  @Test
  void taintsNoScheduleKeepsNoExecuteRemovesTolerationKeeps() throws Exception {
    TestHost h2 = fleet.host(2);
    applyEverywhere("plain");
    apply(ds("tolerant", "      tolerations: [{key: maint, operator: Exists}]\n"));
    TestFleet.await("tolerant Ready on host2", 60, () -> readyOn("tolerant", h2));
    Map<String, String> plainBefore = containers("plain", h2);
    try {
      fleet.dsctlOk("taint", "node", "host2", "maint=yes:NoSchedule");
      TestFleet.await("plain misscheduled on host2", 30, () -> daemonSet("plain").getStatus().getMisscheduled() == 1);
      assertThat(containers("plain", h2)).as("NoSchedule keeps the existing pod").isEqualTo(plainBefore);
      apply(ds("late", ""));
      TestFleet.await("late on hosts 1 and 3", 60, () -> readyOn("late", fleet.host(1)) && readyOn("late", fleet.host(3)));
      assertThat(podOn("late", h2)).as("NoSchedule blocks new pods").isEmpty();
      assertThat(fleet.dsctlOk("describe", "ds", "late")).contains("taint maint=yes:NoSchedule not tolerated");

      fleet.dsctlOk("taint", "node", "host2", "maint=yes:NoExecute");
      TestFleet.await("plain removed from host2", 60, () -> containers("plain", h2).isEmpty());
      assertThat(containers("tolerant", h2)).as("a toleration lets it stay").hasSize(2);
    } finally {
      fleet.dsctlOk("taint", "node", "host2", "maint-");
    }
    TestFleet.await("plain back on host2", 60, () -> readyOn("plain", h2) && readyOn("late", h2));
  }

  @Test
  void deletingADaemonSetRemovesItsContainersFromEveryHostAndAnOrphanDeleteKeepsThem() throws Exception {
    applyEverywhere("gone");
    assertThat(fleet.dsctlOk("delete", "ds", "gone")).contains("\"gone\" deleted");
    fleet.awaitGone("gone");
    for (TestHost h : hosts123()) {
      assertThat(containers("gone", h)).as(h.name).isEmpty();
    }
    assertThat(fleet.dsctl("get", "ds").out()).contains("No resources found");

    applyEverywhere("kept");
    Map<Integer, Map<String, String>> before = new java.util.TreeMap<>();
    hosts123().forEach(h -> before.put(h.index, containers("kept", h)));
    assertThat(fleet.dsctlOk("delete", "ds", "kept", "--cascade=orphan")).contains("deleted (pods orphaned)");
    // shown released by every host's agent (no longer the DaemonSet's: its pods, pending ones too, are gone)
    TestFleet.await("kept shown released in dsctl", 30, () -> {
      List<PodView> kept = pods("kept");
      return kept.stream().allMatch(PodView::getReleased)
          && kept.stream().map(PodView::getNodeName).toList().containsAll(hosts123().stream().map(h -> h.name).toList());
    });
    for (TestHost h : hosts123()) {
      // each agent has the desired set that released kept's pod, and has acted on it
      TestFleet.await(h.name + " released kept's pod", 30, () -> h.agentLog().contains("released pods [default/kept-")); // by key
    }
    TestHost.settle(hosts123(), 3);
    for (var e : before.entrySet()) {
      assertThat(containers("kept", fleet.host(e.getKey()))).as("orphaned containers keep running on host%d", e.getKey()).isEqualTo(e.getValue());
    }
  }

  static final Path KUBECTL = Path.of("/usr/bin/kubectl");

  static Sh.Result kubectl(Path kubeconfig, String... args) {
    List<String> cmd = new ArrayList<>(List.of(KUBECTL.toString(), "--kubeconfig", kubeconfig.toString(), "--cache-dir",
        kubeconfig.resolveSibling("kube-cache").toString()));
    cmd.addAll(List.of(args));
    return Sh.run(cmd);
  }

  static String kubectlOk(Path kubeconfig, String... args) {
    Sh.Result r = kubectl(kubeconfig, args);
    assertThat(r.exit()).as("kubectl " + String.join(" ", args) + ": " + r.out()).isZero();
    return r.out();
  }

  /** Every host runs the DaemonSet's pod of this revision, Ready. */
  static boolean everyHostReadyAt(String ds, long revision) {
    List<PodView> pods = pods(ds);
    return pods.size() == 3 && pods.stream().allMatch(p -> p.getRevision() == revision && p.getStatus().getReady());
  }

  @Test
  void kubectlAppliesRollsOutUndoesAndDeletesOnRealAgents() throws Exception {
    assumeTrue(Files.isExecutable(KUBECTL), "skipped: no kubectl at /usr/bin/kubectl (these machines have v1.32 installed)");
    Path kubeconfig = fleet.manifest("kubeconfig", fleet.dsctlOk("kubeconfig", "--server", "https://127.0.0.1:" + KUBE_API_PORT));
    String v1 = ds("kube", "").replace("spec:\n  selector", "spec:\n  updateStrategy: {rollingUpdate: {maxUnavailable: 1}}\n  selector");
    Path file = fleet.manifest("kube.yaml", v1);

    assertThat(kubectlOk(kubeconfig, "apply", "-f", file.toString())).isEqualTo("daemonset.apps/kube created\n");
    String status = kubectlOk(kubeconfig, "rollout", "status", "ds/kube", "--timeout=120s");
    assertThat(status).endsWith("daemon set \"kube\" successfully rolled out\n");
    assertThat(everyHostReadyAt("kube", 1)).as("rollout status said done: every host runs it, Ready").isTrue();
    for (TestHost h : hosts123()) {
      assertThat(containers("kube", h)).as("docker ps on " + h.name).hasSize(2);
    }
    assertThat(kubectlOk(kubeconfig, "get", "ds", "kube").lines().map(l -> l.replaceAll("\\s+\\S+\\s*$", "")).toList())
        .as("kubectl get ds as dsctl get ds").isEqualTo(fleet.dsctlOk("get", "ds", "kube").lines()
            .map(l -> l.replaceAll("\\s+\\S+\\s*$", "")).toList());
    String wide = kubectlOk(kubeconfig, "get", "pods", "-o", "wide");
    for (TestHost h : hosts123()) {
      assertThat(wide).containsPattern("kube-\\S+\\s+1/1\\s+Running\\s+0\\s+\\S+\\s+<none>\\s+" + h.name);
    }

    // a rolling update through kubectl apply, then undone through kubectl rollout undo
    Files.writeString(file, v1.replace("env:\n", "env:\n        - {name: MODE, value: two}\n"));
    assertThat(kubectlOk(kubeconfig, "apply", "-f", file.toString())).isEqualTo("daemonset.apps/kube configured\n");
    assertThat(kubectlOk(kubeconfig, "rollout", "status", "ds/kube", "--timeout=120s")).contains("successfully rolled out");
    assertThat(everyHostReadyAt("kube", 2)).as("every host on revision 2 when rollout status returned").isTrue();
    assertThat(fleet.dsctlOk("get", "ds", "kube", "-o", "yaml")).contains("name: MODE");
    assertThat(kubectlOk(kubeconfig, "rollout", "undo", "ds/kube")).isEqualTo("daemonset.apps/kube rolled back\n");
    assertThat(kubectlOk(kubeconfig, "rollout", "status", "ds/kube", "--timeout=120s")).contains("successfully rolled out");
    assertThat(everyHostReadyAt("kube", 3)).as("revision 1's template, renumbered 3").isTrue();
    assertThat(fleet.dsctlOk("get", "ds", "kube", "-o", "yaml")).doesNotContain("name: MODE");
    assertThat(kubectlOk(kubeconfig, "rollout", "history", "ds/kube")).containsPattern("(?m)^2\\s").containsPattern("(?m)^3\\s");

    assertThat(kubectlOk(kubeconfig, "delete", "ds", "kube")).isEqualTo("daemonset.apps \"kube\" deleted\n");
    fleet.awaitGone("kube");
    assertThat(fleet.dsctlOk("get", "ds")).doesNotContain("kube");
  }

  @Test
  void kubectlLabelsTaintsAndCordonsRealHostsAndThePodsFollow() throws Exception {
    assumeTrue(Files.isExecutable(KUBECTL), "skipped: no kubectl at /usr/bin/kubectl (these machines have v1.32 installed)");
    Path kubeconfig = fleet.manifest("kubeconfig", fleet.dsctlOk("kubeconfig", "--server", "https://127.0.0.1:" + KUBE_API_PORT));
    TestHost h1 = fleet.host(1);
    TestHost h2 = fleet.host(2);
    try {
      assertThat(kubectlOk(kubeconfig, "label", "node", h1.name, "pool=edge")).isEqualTo("node/" + h1.name + " labeled\n");
      assertThat(nodes().get(h1.name).getLabelsMap()).containsEntry("pool", "edge");
      Path edge = fleet.manifest("edge.yaml", ds("edge", "      nodeSelector: {pool: edge}\n"));
      kubectlOk(kubeconfig, "apply", "-f", edge.toString());
      TestFleet.await("edge Ready on " + h1.name, 60, () -> readyOn("edge", h1));
      assertThat(pods("edge")).as("only the labelled host").hasSize(1);
      assertThat(containers("edge", h2)).isEmpty();

      assertThat(kubectlOk(kubeconfig, "cordon", h2.name)).isEqualTo("node/" + h2.name + " cordoned\n");
      assertThat(nodes().get(h2.name).getUnschedulable()).isTrue();
      assertThat(columns(kubectlOk(kubeconfig, "get", "nodes"), 2)).as("kubectl get nodes STATUS as dsctl's")
          .isEqualTo(columns(fleet.dsctlOk("get", "nodes"), 2)).contains(h2.name + " Ready,SchedulingDisabled");

      Map<String, String> before = containers("edge", h1);
      assertThat(kubectlOk(kubeconfig, "taint", "node", h1.name, "maint=yes:NoExecute")).isEqualTo("node/" + h1.name + " tainted\n");
      TestFleet.await("edge removed from " + h1.name + " by the NoExecute taint", 60, () -> containers("edge", h1).isEmpty());
      assertThat(fleet.dsctlOk("describe", "node", h1.name)).contains("maint=yes:NoExecute");
      assertThat(kubectlOk(kubeconfig, "taint", "node", h1.name, "maint:NoExecute-")).isEqualTo("node/" + h1.name + " untainted\n");
      TestFleet.await("edge back on " + h1.name, 60, () -> readyOn("edge", h1));
      assertThat(containers("edge", h1)).as("a new pod").isNotEqualTo(before);
    } finally {
      fleet.dsctl("taint", "node", h1.name, "maint-"); // gone already when the scenario got that far
      fleet.dsctlOk("label", "node", h1.name, "pool-");
      fleet.dsctlOk("uncordon", h2.name);
    }
  }

  /** Each line's first n columns, joined by one space. */
  static List<String> columns(String table, int n) {
    return table.lines().map(l -> String.join(" ", java.util.Arrays.asList(l.trim().split("\\s+")).subList(0, n))).toList();
  }
}
