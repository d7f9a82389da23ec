package io.dsfleet.coordinator.kubeapi;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.common.manifest.Fixtures;
import io.dsfleet.coordinator.grpc.CoordinatorFixture;
import io.dsfleet.coordinator.grpc.FakeAgent;
import io.dsfleet.proto.v1.ApplyRequest;
import io.dsfleet.proto.v1.DeleteRequest;
import io.dsfleet.proto.v1.DesiredState;
import io.dsfleet.proto.v1.ObjectKind;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the installed kubectl concludes of a DaemonSet's rollout (`rollout status`, which reads generation,
 * observedGeneration, updatedNumberScheduled, numberAvailable and desiredNumberScheduled) through the fleet's churn,
 * against what its nodes are known to run: never "successfully rolled out" while a node's only word on its pod is a
 * report from before it was told to stop it.
 */
class RolloutStatusChurnTest {
  static final Duration WAIT = Duration.ofSeconds(20);
  @TempDir Path dir;

  @BeforeAll
  static void installed() {
    Kubectl.assumeInstalled();
  }

  /** `kubectl rollout status --watch=false` once the controller has acted on the latest spec (a pass after the change). */
  static String statusOnceObserved(CoordinatorFixture c, Kubectl k) throws Exception {
    Awaitility.await().atMost(WAIT).until(() -> !c.server.fleet().rolloutPassPending());
    String out = k.ok("rollout", "status", "ds/agent", "-n", "ops", "--watch=false");
    assertThat(out).as("the generation is observed").doesNotContain("spec update to be observed");
    return out.strip();
  }

  /** Two nodes running the DaemonSet of {@code manifest}, Ready; returns their last desired sets (node-a's, node-b's). */
  static DesiredState[] rolledOut(CoordinatorFixture c, String manifest, FakeAgent a, FakeAgent b) throws Exception {
    a.nextDesired(WAIT);
    b.nextDesired(WAIT);
    c.control().apply(ApplyRequest.newBuilder().setManifests(manifest).build());
    DesiredState sa = a.nextDesired(WAIT);
    DesiredState sb = b.nextDesired(WAIT);
    a.reportAllReady(sa, c.clock.millis());
    b.reportAllReady(sb, c.clock.millis());
    Awaitility.await().atMost(WAIT).until(() -> c.server.fleet().daemonSet("ops", "agent").rolledOut());
    return new DesiredState[] {sa, sb};
  }

  /**
   * `kubectl delete ds agent` then `kubectl apply -f` of the same file: the nodes' last reports show the deleted
   * DaemonSet's pods, Ready, of the very template, which their agents are told to stop. Until each node reports
   * again, they are not the new DaemonSet's: before, kubectl read it rolled out at once (2 of 2 updated and available)
   * while every node was stopping its pod (Kubernetes counts none of the deleted one's pods: they are owned by its uid).
   */
  @Test
  void aDaemonSetMadeAgainUnderItsNameIsNotRolledOutOnTheDeletedOnesReports() throws Exception {
    try (CoordinatorFixture c = new CoordinatorFixture(dir.resolve("data"));
        KubeApi api = c.server.startKubeApi(new InetSocketAddress("127.0.0.1", 0))) {
      FakeAgent a = c.agent("node-a", Map.of());
      FakeAgent b = c.agent("node-b", Map.of());
      rolledOut(c, Fixtures.BASE, a, b);
      Kubectl k = Kubectl.insecure(c, api, dir);
      c.control().delete(DeleteRequest.newBuilder().setKind(ObjectKind.DAEMON_SET).setNamespace("ops").setName("agent")
          .setCascade(true).build());
      assertThat(a.nextDesired(WAIT).getPodsList()).as("node-a told to stop the deleted one's pod").isEmpty();
      assertThat(b.nextDesired(WAIT).getPodsList()).isEmpty();
      c.control().apply(ApplyRequest.newBuilder().setManifests(Fixtures.BASE).build());
      DesiredState again = a.nextDesired(WAIT);
      b.nextDesired(WAIT);

      assertThat(statusOnceObserved(c, k)).isEqualTo("Waiting for daemon set \"agent\" rollout to finish: 0 out of 2 new pods"
          + " have been updated...");
      assertThat(k.ok("get", "ds", "agent", "-n", "ops", "-o",
          "jsonpath={.status.updatedNumberScheduled}/{.status.numberAvailable}/{.status.desiredNumberScheduled}"))
          .isEqualTo("0/0/2");

      a.reportAllReady(again, c.clock.millis()); // node-a runs it again, Ready
      Awaitility.await().atMost(WAIT).until(() -> c.server.fleet().daemonSet("ops", "agent").status().updated() == 1);
      assertThat(statusOnceObserved(c, k)).isEqualTo("Waiting for daemon set \"agent\" rollout to finish: 1 out of 2 new pods"
          + " have been updated...");

      // node-b says nothing (an agent that never had the delete, its set replaced before it went out, runs what it
      // reported): 10 s on, its report is taken for what runs there, and the rollout is not held for ever
      for (int i = 0; i < 3; i++) {
        c.clock.advance(Duration.ofSeconds(4));
        a.heartbeat();
        b.heartbeat();
        Awaitility.await().atMost(WAIT).until(() -> a.heartbeatAcked() && b.heartbeatAcked());
        c.server.fleet().tick();
      }
      Awaitility.await().atMost(WAIT).until(() -> c.server.fleet().daemonSet("ops", "agent").status().updated() == 2);
      assertThat(statusOnceObserved(c, k)).isEqualTo("daemon set \"agent\" successfully rolled out");
    }
  }

  /**
   * `kubectl rollout undo` in the moment after an apply told node-a to replace its pod, before node-a reported: its last
   * report shows the very pod the undo restores, Ready, which its agent may be stopping. kubectl must not read the undo
   * rolled out until node-a has said what it runs: before, 2 of 2 were updated and available at once.
   */
  @Test
  void anUndoBeforeTheMovedNodeReportsIsNotRolledOutOnItsLastReport() throws Exception {
    try (CoordinatorFixture c = new CoordinatorFixture(dir.resolve("data"));
        KubeApi api = c.server.startKubeApi(new InetSocketAddress("127.0.0.1", 0))) {
      FakeAgent a = c.agent("node-a", Map.of());
      FakeAgent b = c.agent("node-b", Map.of());
      DesiredState[] v1 = rolledOut(c, Fixtures.BASE, a, b);
      Kubectl k = Kubectl.insecure(c, api, dir);
      c.control().apply(ApplyRequest.newBuilder().setManifests(Fixtures.BASE.replace("local/busybox:1", "local/busybox:2")).build());
      // maxUnavailable 1: one node is told to move
      Awaitility.await().atMost(WAIT).until(() -> c.server.fleet().daemonSet("ops", "agent").rollout().moving().size() == 1);
      String moved = c.server.fleet().daemonSet("ops", "agent").rollout().moving().iterator().next();
      FakeAgent m = moved.equals("node-a") ? a : b;
      DesiredState v1OfMoved = moved.equals("node-a") ? v1[0] : v1[1];
      k.ok("rollout", "undo", "ds/agent", "-n", "ops");

      assertThat(statusOnceObserved(c, k)).isEqualTo("Waiting for daemon set \"agent\" rollout to finish: 1 out of 2 new pods"
          + " have been updated...");

      m.reportAllReady(v1OfMoved, c.clock.millis()); // it runs revision 1's pod (again), Ready
      Awaitility.await().atMost(WAIT).until(() -> c.server.fleet().daemonSet("ops", "agent").status().updated() == 2);
      assertThat(statusOnceObserved(c, k)).isEqualTo("daemon set \"agent\" successfully rolled out");
    }
  }

  /**
   * An automatic rollback (`dsfleet.io/on-failure: rollback`) holds the API's observedGeneration one below the
   * generation, so kubectl does not read the undone change rolled out (KubectlWritesTest). `dsctl get ds -o json` and
   * the metrics' observed generation say the same: before, both showed the generation, so a script judging as kubectl
   * judges from `dsctl get -o json` (observedGeneration, updated, available, desired) read the undone change rolled
   * out, and `dsfleet_daemonset_status_observed_generation` disagreed with kubectl's.
   */
  @Test
  void dsctlAndTheMetricsShowTheObservedGenerationKubectlShowsAfterAnAutomaticRollback() throws Exception {
    try (CoordinatorFixture c = new CoordinatorFixture(dir.resolve("data"));
        KubeApi api = c.server.startKubeApi(new InetSocketAddress("127.0.0.1", 0))) {
      FakeAgent a = c.agent("node-a", Map.of());
      a.nextDesired(WAIT);
      String v1 = Fixtures.BASE.replace("  labels: {app: agent}\n", "  labels: {app: agent}\n"
          + "  annotations: {dsfleet.io/progress-deadline-seconds: \"30\", dsfleet.io/on-failure: rollback}\n");
      c.control().apply(ApplyRequest.newBuilder().setManifests(v1).build());
      a.reportAllReady(a.nextDesired(WAIT), c.clock.millis());
      Awaitility.await().atMost(WAIT).until(() -> c.server.fleet().daemonSet("ops", "agent").rolledOut());
      c.control().apply(ApplyRequest.newBuilder().setManifests(v1.replace("local/busybox:1", "local/busybox:broken")).build());
      DesiredState broken = a.nextDesired(WAIT);
      a.report(io.dsfleet.proto.v1.PodStatus.newBuilder().setNamespace("ops").setDaemonSet("agent")
          .setPodName(broken.getPods(0).getPodName()).setTemplateHash(broken.getPods(0).getTemplateHash()).setPhase("Running").build());
      Awaitility.await().atMost(WAIT).until(() -> c.server.fleet().daemonSet("ops", "agent").status().updated() == 1);
      Awaitility.await().atMost(WAIT).until(() -> !c.server.fleet().rolloutPassPending());
      c.clock.advance(Duration.ofSeconds(31));
      a.heartbeat();
      Awaitility.await().atMost(WAIT).until(a::heartbeatAcked);
      c.server.fleet().tick();
      DesiredState back = a.nextDesired(WAIT); // the rollback: revision 3, revision 1's template
      a.reportAllReady(back, c.clock.millis());
      Awaitility.await().atMost(WAIT).until(() -> c.server.fleet().daemonSet("ops", "agent").status().available() == 1);
      Awaitility.await().atMost(WAIT).until(() -> !c.server.fleet().rolloutPassPending());
      Kubectl k = Kubectl.insecure(c, api, dir);
      assertThat(k.ok("get", "ds", "agent", "-n", "ops", "-o", "jsonpath={.metadata.generation}/{.status.observedGeneration}"))
          .as("kubectl's").isEqualTo("3/2");

      io.dsfleet.coordinator.cli.DsctlRun.Result got = io.dsfleet.coordinator.cli.DsctlRun.run(java.util.List.of("--coordinator",
          "127.0.0.1:" + c.server.port(), "--insecure", "get", "ds", "agent", "-n", "ops", "-o", "json"));
      assertThat(got.exit()).as(got.err()).isZero();
      var json = io.dsfleet.common.Json.mapper().readTree(got.out());
      var item = json.has("items") ? json.get("items").get(0) : json;
      assertThat(item.at("/metadata/generation").asLong() + "/" + item.at("/status/observedGeneration").asLong())
          .as("dsctl get -o json").isEqualTo("3/2");
      var scraped = io.dsfleet.coordinator.metrics.CoordinatorMetrics.registry(c.server, c.clock).scrape();
      double observed = scraped.stream().filter(m -> m.getMetadata().getPrometheusName().equals("dsfleet_daemonset_status_observed_generation"))
          .findFirst().orElseThrow().getDataPoints().stream()
          .mapToDouble(p -> ((io.prometheus.metrics.model.snapshots.GaugeSnapshot.GaugeDataPointSnapshot) p).getValue()).findFirst().orElseThrow();
      assertThat(observed).as("dsfleet_daemonset_status_observed_generation").isEqualTo(2.0);
    }
  }

  /** `dsctl rollout status --no-watch`: its exit and line. */
  static String dsctlStatus(CoordinatorFixture c) {
    io.dsfleet.coordinator.cli.DsctlRun.Result r = io.dsfleet.coordinator.cli.DsctlRun.run(java.util.List.of("--coordinator",
        "127.0.0.1:" + c.server.port(), "--insecure", "rollout", "status", "ds/agent", "-n", "ops", "--no-watch"));
    return r.exit() + " " + r.out().strip();
  }

  /**
   * node-a ran the new revision Ready, then went down (its host rebooted, say) while node-b's pod started: dsctl waits
   * for node-a, which the rollout moved (docs/rollouts.md). When node-a's agent opens a session again, the node is
   * Ready at once, but its plan is still the one made while it was down (tainted, not desired) until it reports what
   * it runs, and its last report is from before it went down. Until that report the rollout waits for it as it did:
   * before, the session's open alone made dsctl rollout status exit 0, "successfully rolled out" (node-a neither
   * NotReady nor desired), and a rollout pass in that moment stored the rollout as done, after which its progress
   * deadline no longer applied (a revision that took hosts down was not failed, nor rolled back).
   */
  @Test
  void aMovedNodeBackFromDownIsNotRolledOutOnItsReportFromBefore() throws Exception {
    try (CoordinatorFixture c = new CoordinatorFixture(dir.resolve("data"));
        KubeApi api = c.server.startKubeApi(new InetSocketAddress("127.0.0.1", 0))) {
      FakeAgent a = c.agent("node-a", Map.of());
      FakeAgent b = c.agent("node-b", Map.of());
      String v1 = Fixtures.BASE.replace("  selector:\n", "  updateStrategy: {rollingUpdate: {maxUnavailable: 2}}\n  selector:\n");
      rolledOut(c, v1, a, b);
      Kubectl k = Kubectl.insecure(c, api, dir);
      c.control().apply(ApplyRequest.newBuilder().setManifests(v1.replace("local/busybox:1", "local/busybox:2")).build());
      DesiredState a2 = a.nextDesired(WAIT);
      DesiredState b2 = b.nextDesired(WAIT);
      a.reportAllReady(a2, c.clock.millis());
      b.report(io.dsfleet.proto.v1.PodStatus.newBuilder().setNamespace("ops").setDaemonSet("agent")
          .setPodName(b2.getPods(0).getPodName()).setTemplateHash(b2.getPods(0).getTemplateHash()).setPhase("Running").build());
      Awaitility.await().atMost(WAIT).until(() -> c.server.fleet().daemonSet("ops", "agent").status().available() == 1);
      a.close(); // node-a goes down: its lease runs out while node-b heartbeats
      for (int i = 0; i < 6; i++) {
        c.clock.advance(Duration.ofSeconds(5));
        b.heartbeat();
        Awaitility.await().atMost(WAIT).until(b::heartbeatAcked);
        c.server.fleet().tick();
      }
      Awaitility.await().atMost(WAIT).until(() -> c.server.fleet().daemonSet("ops", "agent").waitingNotReady().contains("node-a"));
      b.reportAllReady(b2, c.clock.millis());
      Awaitility.await().atMost(WAIT).until(() -> c.server.fleet().daemonSet("ops", "agent").status().available() == 1
          && c.server.fleet().daemonSet("ops", "agent").status().updated() == 1);
      assertThat(dsctlStatus(c)).isEqualTo("1 Waiting for daemon set \"agent\" rollout to finish: 1 of 1 updated pods are"
          + " available... (waiting for NotReady nodes: node-a)");

      FakeAgent back = new FakeAgent(c.server.port(), "node-a").openWithoutReport();
      try {
        back.heartbeat();
        Awaitility.await().atMost(WAIT).until(back::heartbeatAcked);
        c.server.fleet().tick();
        Awaitility.await().atMost(WAIT).until(() -> c.server.fleet().connected("node-a")
            && c.server.fleet().nodes().stream().allMatch(n -> n.ready() && n.taints().isEmpty()));
        Awaitility.await().atMost(WAIT).until(() -> !c.server.fleet().rolloutPassPending());
        assertThat(dsctlStatus(c)).isEqualTo("1 Waiting for daemon set \"agent\" rollout to finish: 1 of 1 updated pods are"
            + " available... (waiting for NotReady nodes: node-a)");
        assertThat(c.server.fleet().daemonSet("ops", "agent").rollout().complete()).as("the rollout is not stored as done").isFalse();
        assertThat(statusOnceObserved(c, k)).as("kubectl reads the counters alone, node-a not desired yet (docs/kubectl.md)")
            .isEqualTo("daemon set \"agent\" successfully rolled out");

        // it says: the pod starts again after the reboot, not Ready yet
        back.report(io.dsfleet.proto.v1.PodStatus.newBuilder().setNamespace("ops").setDaemonSet("agent")
            .setPodName(a2.getPods(0).getPodName()).setTemplateHash(a2.getPods(0).getTemplateHash()).setPhase("Running").build());
        Awaitility.await().atMost(WAIT).until(() -> c.server.fleet().daemonSet("ops", "agent").status().desired() == 2);
        Awaitility.await().atMost(WAIT).until(() -> !c.server.fleet().rolloutPassPending());
        assertThat(dsctlStatus(c)).isEqualTo("1 Waiting for daemon set \"agent\" rollout to finish: 1 of 2 updated pods are"
            + " available...");
        back.reportAllReady(a2, c.clock.millis()); // then Ready
        Awaitility.await().atMost(WAIT).until(() -> c.server.fleet().daemonSet("ops", "agent").status().ready() == 2);
        assertThat(dsctlStatus(c)).isEqualTo("0 daemon set \"agent\" successfully rolled out");
      } finally {
        back.close();
      }
    }
  }
}
