package io.dsfleet.coordinator.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.coordinator.plan.PodNames;
import io.dsfleet.proto.v1.ContainerStatus;
import io.dsfleet.proto.v1.DesiredPod;
import io.dsfleet.proto.v1.DesiredState;
import io.dsfleet.proto.v1.PodStatus;
import io.dsfleet.proto.v1.PodStatusReport;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a node reports is bounded before the coordinator keeps it: a node's certificate does not buy
 * events of DaemonSets that do not exist, megabytes of text per event, terminal escapes in an
 * operator's `describe`, or thousands of invented pods held in memory and walked on every report.
 */
class ReportBoundsTest {
  @TempDir Path dir;

  static PodStatus pod(String namespace, String ds, String name, String reason, String message) {
    return PodStatus.newBuilder().setNamespace(namespace).setDaemonSet(ds).setPodName(name).setTemplateHash("abc")
        .setPhase("Pending").setReason(reason).setMessage(message)
        .addContainers(ContainerStatus.newBuilder().setName("main").setState("waiting").setReason(reason).setMessage(message)).build();
  }

  @Test
  void aReportsTextIsBoundedAndRecordedOnlyAgainstDaemonSetsThatExist() {
    try (FleetHarness h = new FleetHarness(dir)) {
      h.fleet.apply(FleetHarness.manifest(), "test", false);
      h.agent("node-a");
      String huge = "x".repeat(1 << 20) + "\u001b]0;owned\u0007";
      h.fleet.reportPods("node-a", PodStatusReport.newBuilder().setFull(true)
          .addPods(pod("ops", "agent", PodNames.name("agent", "node-a", 0), "CrashLoopBackOff", "\u001b[31mred\u001b[0m " + huge))
          .addPods(pod("invented", "nothing-here", PodNames.name("nothing-here", "node-a", 0), "Evil" + huge, huge)).build());

      assertThat(h.fleet.events(Events.dsKey("invented", "nothing-here"))).as("no DaemonSet, no events of it").isEmpty();
      var mine = h.fleet.events(Events.dsKey("ops", "agent")).stream().filter(e -> e.type().equals("Warning")).toList();
      assertThat(mine).isNotEmpty().allSatisfy(e -> {
        assertThat(e.message().length()).as("bounded").isLessThan(AgentText.MESSAGE + 200);
        assertThat(e.message()).as("no escape reaches a terminal").doesNotContain("\u001b").doesNotContain("\u0007").contains("\uFFFD[31mred");
      });
      assertThat(h.fleet.events(Events.nodeKey("node-a"))).allSatisfy(e -> assertThat(e.reason().length()).isLessThanOrEqualTo(AgentText.REASON));
    }
  }

  @Test
  void aNodeKeepsAtMostItsCapOfReportedPodsAndPodsWhoseNamesAreNotNamesAreDropped() {
    try (FleetHarness h = new FleetHarness(dir)) {
      h.agent("node-a");
      PodStatusReport.Builder r = PodStatusReport.newBuilder().setFull(true);
      for (int i = 0; i < PodIntake.MAX_PODS_PER_NODE + 100; i++) {
        r.addPods(pod("ops", "ds-" + i, PodNames.name("ds-" + i, "node-a", 0), "", ""));
      }
      r.addPods(pod("Not_A_Namespace", "x", "x-zzzzz", "", ""));
      h.fleet.reportPods("node-a", r.build());
      var pods = h.fleet.nodes().stream().filter(n -> n.name().equals("node-a")).findFirst().orElseThrow().pods();
      assertThat(pods).hasSize(PodIntake.MAX_PODS_PER_NODE).noneMatch(p -> p.getNamespace().equals("Not_A_Namespace"));
    }
  }

  /**
   * A review's compromised node reported another node's pod by name: `kubectl logs`, `describe`
   * and `delete pod` of that name went to it (the first node listed), and its failures filled the
   * events of DaemonSets never placed on it. A node's report keeps only pods whose names the
   * coordinator gives pods on that node, with a template hash that is one; a DaemonSet's events
   * come only from nodes it is placed on.
   */
  @Test
  void aNodeReportsOnlyItsOwnPodsAndFailsOnlyTheDaemonSetsPlacedOnIt() {
    try (FleetHarness h = new FleetHarness(dir)) {
      h.fleet.apply(FleetHarness.manifest(), "test", false);
      h.fleet.apply(FleetHarness.manifest("metadata.name", "gpu", "spec.selector.matchLabels", "{app: gpu}",
          "spec.template.metadata.labels", "{app: gpu}", "spec.template.spec.nodeSelector", "{role: gpu}"), "test", false);
      FleetHarness.Agent attacker = h.agent("node-a");
      FleetHarness.Agent victim = h.agent("node-b", java.util.Map.of("role", "gpu"));
      victim.runDesired(true);
      attacker.runDesired(true);
      String victims = victim.last().getPodsList().stream().filter(p -> p.getDaemonSet().equals("gpu")).findFirst().orElseThrow().getPodName();
      String gpuHash = h.fleet.daemonSet("ops", "gpu").hash();

      PodStatusReport.Builder r = PodStatusReport.newBuilder().setFull(true).addAllPods(attacker.running.values())
          .addPods(pod("ops", "gpu", victims, "", "").toBuilder().setTemplateHash(gpuHash).build())
          .addPods(pod("ops", "agent", PodNames.name("agent", "node-a", 1), "", "").toBuilder().setTemplateHash("\u001b]0;x\u0007").build())
          .addPods(pod("ops", "gpu", PodNames.name("gpu", "node-a", 0), "SecretRotated", "forged"));
      h.fleet.reportPods("node-a", r.build());
      var byNode = new java.util.TreeMap<String, List<String>>();
      h.fleet.nodes().forEach(n -> byNode.put(n.name(), n.pods().stream().map(PodStatus::getPodName).toList()));
      assertThat(byNode.get("node-b")).contains(victims);
      assertThat(byNode.get("node-a")).as("another node's pod and a hash with escapes dropped; its own gpu pod kept")
          .doesNotContain(victims, PodNames.name("agent", "node-a", 1)).contains(PodNames.name("gpu", "node-a", 0));
      assertThat(h.fleet.events(Events.dsKey("ops", "gpu"))).as("gpu is not placed on node-a").noneMatch(e -> e.reason().equals("SecretRotated"));
      assertThat(h.fleet.events(Events.nodeKey("node-a"))).as("the node's own events say it").anyMatch(e -> e.reason().equals("SecretRotated"));

      // a pod named as coordinators before 2026-11-30 named it (kept through rollouts without surge) is the node's own
      String legacy = PodNames.legacyName("agent", "node-a");
      h.fleet.reportPods("node-a", PodStatusReport.newBuilder().setFull(true).addPods(pod("ops", "agent", legacy, "", "")).build());
      assertThat(h.fleet.node("node-a", true).pods()).extracting(PodStatus::getPodName).containsExactly(legacy);
      // pod names keep 52 characters of a DaemonSet's name: an invented DaemonSet sharing them (whose
      // names the node could hash until one equals another node's pod's) counts only if it exists
      String longName = "a-helm-release-with-a-long-name-prometheus-node-exporter"; // 56 characters
      h.fleet.apply(FleetHarness.manifest("metadata.name", longName, "spec.selector.matchLabels", "{app: long}",
          "spec.template.metadata.labels", "{app: long}"), "test", false);
      String invented = longName.substring(0, 52) + "-x";
      h.fleet.reportPods("node-a", PodStatusReport.newBuilder().setFull(true)
          .addPods(pod("ops", invented, PodNames.name(invented, "node-a", 0), "", ""))
          .addPods(pod("ops", longName, PodNames.name(longName, "node-a", 0), "", "")).build());
      assertThat(h.fleet.node("node-a", true).pods()).extracting(PodStatus::getDaemonSet).containsExactly(longName);

      // names that are not the node's, past the few checked, cost no more hashing: the rest of the report is dropped
      PodStatusReport.Builder many = PodStatusReport.newBuilder().setFull(true);
      for (int i = 0; i < PodIntake.MAX_MISNAMED; i++) {
        many.addPods(pod("ops", "agent", PodNames.name("agent", "node-b", i), "", ""));
      }
      many.addAllPods(attacker.running.values());
      h.fleet.reportPods("node-a", many.build());
      assertThat(h.fleet.nodes().stream().filter(n -> n.name().equals("node-a")).findFirst().orElseThrow().pods()).isEmpty();
    }
  }

  /**
   * Names coordinators gave before 2026-11-30 carry 20 bits of the node name's CRC-32, so two nodes
   * can share one: the node that holds the name keeps it, the other's report of it is dropped
   * (a node admitted under a name chosen for that could otherwise report another's pod).
   */
  @Test
  void aNameAnotherNodeHoldsIsNotTaken() {
    String[] pair = sharingALegacyName();
    try (FleetHarness h = new FleetHarness(dir)) {
      h.fleet.apply(FleetHarness.manifest(), "test", false);
      h.agent(pair[0]);
      h.agent(pair[1]);
      String shared = PodNames.legacyName("agent", pair[0]);
      h.fleet.reportPods(pair[0], PodStatusReport.newBuilder().setFull(true).addPods(pod("ops", "agent", shared, "", "")).build());
      h.fleet.reportPods(pair[1], PodStatusReport.newBuilder().setFull(true).addPods(pod("ops", "agent", shared, "", "")).build());
      assertThat(h.fleet.node(pair[0], true).pods()).extracting(PodStatus::getPodName).containsExactly(shared);
      assertThat(h.fleet.node(pair[1], true).pods()).as("held by " + pair[0]).isEmpty();
    }
  }

  /** Two node names whose pods of "agent" coordinators before 2026-11-30 named alike (the first found, the second). */
  private static String[] sharingALegacyName() {
    java.util.Map<String, String> byName = new java.util.HashMap<>();
    for (int i = 0; ; i++) {
      String node = "node-" + i;
      String other = byName.putIfAbsent(PodNames.legacyName("agent", node), node);
      if (other != null) {
        return new String[] {other, node};
      }
    }
  }

  /**
   * A node admitted later under a name chosen to share an older member's name of before 2026-11-30
   * (20 bits of CRC-32: a million names to try), its report first after a coordinator restart:
   * the older member's pod stays its own, its logs, deletion and describe with it (helper-198).
   * Since 2026-12-08 the rule looks at join order alone, not at the name's form: a pair of node
   * names sharing a name of today's form takes about 2^41 hashes to find, so the test is built on
   * the older form's.
   */
  @Test
  void aLaterMemberReportingFirstAfterARestartDoesNotTakeAnOlderMembersLegacyName() {
    String[] pair = sharingALegacyName();
    String victim = pair[0];
    String attacker = pair[1];
    String shared = PodNames.legacyName("agent", victim);
    try (FleetHarness h = new FleetHarness(dir)) {
      h.fleet.apply(FleetHarness.manifest(), "test", false);
      FleetHarness.Agent v = h.agent(victim);
      v.running.put(shared, pod("ops", "agent", shared, "", ""));
      v.report();
      h.clock.advance(java.time.Duration.ofDays(30));
      FleetHarness.Agent a = h.agent(attacker);
      h.crashAndRestartWithout(victim);
      a.running.put(shared, pod("ops", "agent", shared, "", ""));
      a.report();
      v.open();
      assertThat(h.fleet.node(victim, true).pods()).extracting(PodStatus::getPodName).as("the older member's pod").containsExactly(shared);
      assertThat(h.fleet.node(attacker, true).pods()).extracting(PodStatus::getPodName).doesNotContain(shared);
      a.report();
      assertThat(h.fleet.node(victim, true).pods()).extracting(PodStatus::getPodName).as("the later member reporting it again").containsExactly(shared);
      assertThat(h.fleet.node(attacker, true).pods()).extracting(PodStatus::getPodName).doesNotContain(shared);
      assertThat(v.last().getPodsList()).extracting(DesiredPod::getPodName).as("the older member keeps running it").containsExactly(shared);
    }
  }

  /**
   * A node running a DaemonSet's pod that fails in ever new ways: its failures fill at most a share
   * of the DaemonSet's kept events, and the other nodes' stay (a review: one node pushed out the
   * DaemonSet's last 50 in minutes).
   */
  @Test
  void oneNodesFailuresFillOnlyItsShareOfADaemonSetsEvents() {
    try (FleetHarness h = new FleetHarness(dir)) {
      h.fleet.apply(FleetHarness.manifest(), "test", false);
      FleetHarness.Agent other = h.agent("node-b");
      FleetHarness.Agent noisy = h.agent("node-a");
      other.runDesired(true);
      noisy.runDesired(true);
      String otherPod = other.last().getPods(0).getPodName();
      h.fleet.reportPods("node-b", PodStatusReport.newBuilder().setFull(true).addPods(pod("ops", "agent", otherPod, "OOMKilled", "once")).build());
      String noisyPod = noisy.last().getPods(0).getPodName();
      for (int i = 0; i < 400; i++) {
        h.clock.advance(java.time.Duration.ofMillis(Events.AGENT_REFILL_MILLIS));
        h.fleet.reportPods("node-a", PodStatusReport.newBuilder().setFull(true).addPods(pod("ops", "agent", noisyPod, "Reason" + i, "")).build());
      }
      var kept = h.fleet.events(Events.dsKey("ops", "agent"));
      // (its pod at an unknown hash is not the current revision: the controller's PodUpdated is no report of the node's)
      assertThat(kept).filteredOn(e -> e.type().equals("Warning") && e.message().contains("on node-a"))
          .hasSizeLessThanOrEqualTo(Events.AGENT_SHARE);
      assertThat(kept).as("the other node's failure stays").anyMatch(e -> e.reason().equals("OOMKilled") && e.message().contains("on node-b"));
    }
  }

  /**
   * A node that reports a pod of a DaemonSet not placed on it (a taint it does not tolerate) gets
   * that pod by name, without its template or its Secret; a node that ran the pod before the taint
   * came keeps getting both.
   */
  @Test
  void aReportedPodOfADaemonSetNotPlacedOnTheNodeBringsItNeitherTemplateNorSecret() {
    try (FleetHarness h = new FleetHarness(dir)) {
      h.fleet.apply("{\"apiVersion\": \"v1\", \"kind\": \"Secret\", \"metadata\": {\"name\": \"gpu-key\", \"namespace\": \"ops\"},"
          + " \"stringData\": {\"key\": \"s3cret\"}}", "test", false);
      FleetHarness.Agent legit = h.agent("node-b");
      FleetHarness.Agent attacker = h.agent("node-a");
      var noSchedule = List.of(new io.dsfleet.common.model.Taint("dedicated", "web", "NoSchedule", null));
      h.clock.advance(java.time.Duration.ofSeconds(1));
      h.fleet.taintNode("node-a", noSchedule, List.of(), false);
      h.clock.advance(java.time.Duration.ofSeconds(1));
      h.fleet.apply(FleetHarness.manifest("metadata.name", "gpu", "spec.selector.matchLabels", "{app: gpu}",
          "spec.template.metadata.labels", "{app: gpu}", "spec.template.spec.volumes", "[{name: k, secret: {secretName: gpu-key}}]",
          "spec.template.spec.containers[0].volumeMounts", "[{name: k, mountPath: /k}]"), "test", false);
      legit.runDesired(true);
      attacker.runDesired(true);
      assertThat(attacker.running).as("not placed on the tainted node").isEmpty();
      h.clock.advance(java.time.Duration.ofSeconds(1));
      h.fleet.taintNode("node-b", noSchedule, List.of(), false); // the legit node's pod keeps running
      String hash = h.fleet.daemonSet("ops", "gpu").hash();
      attacker.running.put(PodNames.name("gpu", "node-a", 0), attacker.status(io.dsfleet.proto.v1.DesiredPod.newBuilder().setNamespace("ops").setDaemonSet("gpu")
          .setPodName(PodNames.name("gpu", "node-a", 0)).setTemplateHash(hash).build(), true));
      attacker.report();
      h.fleet.apply("{\"apiVersion\": \"v1\", \"kind\": \"Secret\", \"metadata\": {\"name\": \"gpu-key\", \"namespace\": \"ops\"},"
          + " \"stringData\": {\"key\": \"n3w\"}}", "test", false); // a new Secret: every entitled node gets it

      var toAttacker = attacker.last();
      assertThat(toAttacker.getPodsList()).filteredOn(p -> p.getDaemonSet().equals("gpu")).allMatch(p -> p.getTemplateJson().isEmpty());
      assertThat(toAttacker.getConfigsList()).as("no Secret of a DaemonSet not placed on the node").noneMatch(c -> c.getName().equals("gpu-key"));
      var toLegit = legit.last();
      assertThat(toLegit.getPodsList()).filteredOn(p -> p.getDaemonSet().equals("gpu")).isNotEmpty()
          .allMatch(p -> !p.getTemplateJson().isEmpty());
      assertThat(toLegit.getConfigsList()).as("the node that ran the pod before its taint keeps its Secret")
          .anyMatch(c -> c.getName().equals("gpu-key") && c.getDataMap().get("key").toStringUtf8().equals("n3w"));

      h.crashAndRestart(); // what the coordinator sent is forgotten; the taints' times, the revision's and the joins' are not
      assertThat(attacker.last().getPodsList()).filteredOn(p -> p.getDaemonSet().equals("gpu")).allMatch(p -> p.getTemplateJson().isEmpty());
      assertThat(attacker.last().getConfigsList()).noneMatch(c -> c.getName().equals("gpu-key"));
      assertThat(legit.last().getPodsList()).as("after a restart too").filteredOn(p -> p.getDaemonSet().equals("gpu")).isNotEmpty()
          .allMatch(p -> !p.getTemplateJson().isEmpty());
      assertThat(legit.last().getConfigsList()).anyMatch(c -> c.getName().equals("gpu-key"));
    }
  }

  static final String SECRET = "{\"apiVersion\": \"v1\", \"kind\": \"Secret\", \"metadata\": {\"name\": \"%s\", \"namespace\": \"ops\"},"
      + " \"stringData\": {\"key\": \"s3cret\"}}";

  /** A DaemonSet named {@code name} mounting Secret {@code secret}, with more fields set by dotted path. */
  static String withSecret(String name, String secret, String... more) {
    List<String> fields = new java.util.ArrayList<>(List.of("metadata.name", name, "spec.selector.matchLabels", "{app: " + name + "}",
        "spec.template.metadata.labels", "{app: " + name + "}", "spec.template.spec.volumes", "[{name: k, secret: {secretName: " + secret + "}}]",
        "spec.template.spec.containers[0].volumeMounts", "[{name: k, mountPath: /k}]"));
    fields.addAll(List.of(more));
    return FleetHarness.manifest(fields.toArray(String[]::new));
  }

  /** The node reports a pod of the DaemonSet with that hash, as if it ran it, and gets its next set. */
  static DesiredState claim(FleetHarness.Agent node, String ds, String pod, String hash) {
    node.running.put(pod, node.status(io.dsfleet.proto.v1.DesiredPod.newBuilder().setNamespace("ops").setDaemonSet(ds)
        .setPodName(pod).setTemplateHash(hash).build(), true));
    node.report();
    return node.last();
  }

  static void assertNothingOf(DesiredState sent, String ds, String secret) {
    assertThat(sent.getPodsList()).filteredOn(p -> p.getDaemonSet().equals(ds)).as("pods of " + ds + " by name only")
        .allMatch(p -> p.getTemplateJson().isEmpty());
    assertThat(sent.getConfigsList()).as("no " + secret).noneMatch(c -> c.getName().equals(secret));
  }

  /**
   * A review's ways past the first rule (a pod kept for taints added after the revision): the same
   * taint applied again, one taint swapped for another, a label added after the taint, and a
   * revision older than the one placed on the node whose own selector never matched it. None
   * gives the node the template or the Secret; the node that really ran an older revision keeps
   * its configs across a restart.
   */
  @Test
  void noTaintLabelOrOlderRevisionLetsANodeReportItsWayToASecret() {
    try (FleetHarness h = new FleetHarness(dir)) {
      var web = new io.dsfleet.common.model.Taint("dedicated", "web", "NoSchedule", null);
      var maintenance = new io.dsfleet.common.model.Taint("maintenance", "", "NoSchedule", null);
      h.fleet.apply(SECRET.formatted("gpu-key") + "\n---\n" + SECRET.formatted("b-key"), "test", false);
      FleetHarness.Agent attacker = h.agent("node-a", java.util.Map.of("pool", "a"));
      FleetHarness.Agent other = h.agent("node-c", java.util.Map.of("pool", "a"));
      h.fleet.taintNode("node-a", List.of(web), List.of(), false);
      h.clock.advance(java.time.Duration.ofSeconds(1));
      h.fleet.apply(withSecret("gpu", "gpu-key", "spec.template.spec.nodeSelector", "{role: gpu}"), "test", false);
      h.clock.advance(java.time.Duration.ofSeconds(1));
      h.fleet.taintNode("node-a", List.of(web), List.of(), false); // a script applying its taints again
      String gpu = h.fleet.daemonSet("ops", "gpu").hash();
      assertNothingOf(claim(attacker, "gpu", PodNames.name("gpu", "node-a", 1), gpu), "gpu", "gpu-key");
      h.clock.advance(java.time.Duration.ofSeconds(1));
      h.fleet.taintNode("node-a", List.of(maintenance), List.of(new Fleet.TaintRemoval("dedicated", "")), false);
      assertNothingOf(claim(attacker, "gpu", PodNames.name("gpu", "node-a", 1), gpu), "gpu", "gpu-key");
      h.clock.advance(java.time.Duration.ofSeconds(1));
      h.fleet.labelNode("node-a", java.util.Map.of("role", "gpu"), List.of(), false); // matches, but the taint is not tolerated
      assertNothingOf(claim(attacker, "gpu", PodNames.name("gpu", "node-a", 1), gpu), "gpu", "gpu-key");

      // pool-b's first revision never matched node-c; its second places a pod there: an old-revision pod reported there gets nothing of the first
      h.fleet.apply(withSecret("pool", "b-key", "spec.template.spec.nodeSelector", "{pool: b}"), "test", false);
      String first = h.fleet.daemonSet("ops", "pool").hash();
      h.fleet.apply(FleetHarness.manifest("metadata.name", "pool", "spec.selector.matchLabels", "{app: pool}",
          "spec.template.metadata.labels", "{app: pool}", "spec.template.spec.nodeSelector", "{pool: a}"), "test", false);
      other.runDesired(true);
      assertThat(other.running).as("the second revision runs on node-c").containsKey(other.last().getPods(0).getPodName());
      DesiredState sent = claim(other, "pool", PodNames.name("pool", "node-c", 1), first);
      assertThat(sent.getPodsList()).filteredOn(p -> p.getTemplateHash().equals(first)).allMatch(p -> p.getTemplateJson().isEmpty());
      assertThat(sent.getConfigsList()).noneMatch(c -> c.getName().equals("b-key"));

      h.crashAndRestart();
      assertNothingOf(attacker.last(), "gpu", "gpu-key");
      assertThat(other.last().getConfigsList()).as("after a restart").noneMatch(c -> c.getName().equals("b-key"));
    }
  }

  /**
   * What a node was granted ends with its pod, and is not a DaemonSet's of the same name made
   * again: a deleted kept pod reported after a restart, and a DaemonSet deleted and re-created
   * while the node's session was down, bring the node nothing (a review found both came back
   * through grants stored as a snapshot).
   */
  @Test
  void aGrantEndsWithItsPodAndItsDaemonSet() {
    try (FleetHarness h = new FleetHarness(dir)) {
      var web = new io.dsfleet.common.model.Taint("dedicated", "web", "NoSchedule", null);
      h.fleet.apply(SECRET.formatted("gpu-key"), "test", false);
      FleetHarness.Agent node = h.agent("node-b");
      h.fleet.apply(withSecret("gpu", "gpu-key"), "test", false);
      node.runDesired(true);
      DesiredPod pod = node.last().getPods(0);
      h.fleet.taintNode("node-b", List.of(web), List.of(), false); // kept: its grant stored with the taint
      node.runDesired(true);
      h.fleet.deletePod("ops", pod.getPodName());
      node.runDesired(true);
      assertThat(node.running).as("the deleted pod stopped").isEmpty();
      h.advance(java.time.Duration.ofSeconds(1)); // the sweep writes the rows holding grants no longer needed
      h.crashAndRestartWithout("node-b");
      h.fleet.openSession("node-b", node, null, 0); // its first report names the deleted pod again
      assertNothingOf(claim(node, "gpu", pod.getPodName(), pod.getTemplateHash()), "gpu", "gpu-key");

      FleetHarness.Agent other = h.agent("node-c");
      h.fleet.apply(withSecret("web", "gpu-key", "spec.template.spec.tolerations", "[{key: dedicated, operator: Exists}]"), "test", false);
      h.fleet.taintNode("node-c", List.of(web), List.of(), false);
      other.runDesired(true);
      DesiredPod webPod = other.last().getPods(0);
      h.fleet.taintNode("node-c", List.of(new io.dsfleet.common.model.Taint("other", "", "NoSchedule", null)), List.of(), false);
      other.runDesired(true);
      assertThat(other.last().getConfigsList()).as("kept after the second taint").anyMatch(c -> c.getName().equals("gpu-key"));
      other.alive = false;
      h.fleet.sessionClosed("node-c", other);
      h.fleet.deleteDaemonSet("ops", "web", false);
      h.fleet.apply(withSecret("web", "gpu-key", "spec.template.spec.tolerations", "[{key: dedicated, operator: Exists}]"), "test", false);
      other.alive = true;
      other.open();
      assertNothingOf(claim(other, "web", webPod.getPodName(), webPod.getTemplateHash()), "web", "gpu-key");
    }
  }

  /**
   * A pod first sent after the node's row was last written, a restart, and an admin's taint before
   * the node reports: the pod is kept with its configs (the taint's write stores what the node
   * may have at that moment).
   */
  @Test
  void aTaintRightAfterARestartKeepsThePodItsConfigs() {
    try (FleetHarness h = new FleetHarness(dir)) {
      h.fleet.apply(SECRET.formatted("gpu-key"), "test", false);
      FleetHarness.Agent node = h.agent("node-b");
      h.fleet.apply(withSecret("gpu", "gpu-key"), "test", false);
      node.runDesired(true);
      h.crashAndRestartWithout("node-b");
      h.fleet.taintNode("node-b", List.of(new io.dsfleet.common.model.Taint("dedicated", "web", "NoSchedule", null)), List.of(), false);
      node.open();
      h.crashAndRestart(); // and once more: what was granted is stored
      assertThat(node.last().getPodsList()).hasSize(1).allMatch(p -> !p.getTemplateJson().isEmpty());
      assertThat(node.last().getConfigsList()).anyMatch(c -> c.getName().equals("gpu-key"));
    }
  }

  /**
   * A node whose container runtime is down (not-ready, NoSchedule: daemon pods do not tolerate it)
   * keeps what it may have, also across a coordinator restart: a NotReady node loses no access, as
   * with the node authorizer.
   */
  @Test
  void aNodeWhoseRuntimeIsDownKeepsItsPodsConfigsAcrossARestart() {
    try (FleetHarness h = new FleetHarness(dir)) {
      h.fleet.apply(SECRET.formatted("gpu-key"), "test", false);
      FleetHarness.Agent node = h.agent("node-b");
      h.fleet.apply(withSecret("gpu", "gpu-key"), "test", false);
      node.runDesired(true);
      h.fleet.heartbeat("node-b", true, "docker does not answer");
      h.advance(java.time.Duration.ofSeconds(1));
      h.fleet.heartbeat("node-b", true, "docker does not answer");
      h.crashAndRestart();
      h.fleet.heartbeat("node-b", true, "docker does not answer");
      node.runDesired(true); // it reports again (its pods run on; Docker is what does not answer)
      assertThat(node.last().getPodsList()).hasSize(1).allMatch(p -> !p.getTemplateJson().isEmpty());
      assertThat(node.last().getConfigsList()).anyMatch(c -> c.getName().equals("gpu-key"));
    }
  }

  /**
   * A taint right after a restart, before the node reports, on a node running an older revision
   * (OnDelete) under whatever name: the pod is kept with its configs (the change grants every
   * revision placeable then, narrowed to the pod the node reports).
   */
  @Test
  void aTaintBeforeTheNodeReportsKeepsAnOlderRevisionItsConfigs() {
    try (FleetHarness h = new FleetHarness(dir)) {
      h.fleet.apply(SECRET.formatted("gpu-key"), "test", false);
      FleetHarness.Agent node = h.agent("node-b");
      h.fleet.apply(withSecret("gpu", "gpu-key", "spec.updateStrategy", "{type: OnDelete}"), "test", false);
      node.runDesired(true);
      String first = node.last().getPods(0).getTemplateHash();
      h.fleet.apply(withSecret("gpu", "gpu-key", "spec.updateStrategy", "{type: OnDelete}", "spec.template.spec.containers[0].image",
          "local/busybox:2"), "test", false);
      node.runDesired(true);
      assertThat(node.desiredHashes()).as("OnDelete: still the first revision").containsExactly(first);
      h.crashAndRestartWithout("node-b");
      h.fleet.taintNode("node-b", List.of(new io.dsfleet.common.model.Taint("dedicated", "web", "NoSchedule", null)), List.of(), false);
      node.open();
      h.crashAndRestart();
      assertThat(node.last().getPodsList()).singleElement().satisfies(p -> {
        assertThat(p.getTemplateHash()).isEqualTo(first);
        assertThat(p.getTemplateJson()).as("its template").isNotEmpty();
      });
      assertThat(node.last().getConfigsList()).anyMatch(c -> c.getName().equals("gpu-key"));
    }
  }

  /** Grants cost a write only when a node's change makes one needed or ends one: not a write a node at every apply. */
  @Test
  void grantsAreWrittenWhenTheyChangeNotAtEveryApply() {
    try (FleetHarness h = new FleetHarness(dir)) {
      h.fleet.apply(SECRET.formatted("gpu-key"), "test", false);
      List<FleetHarness.Agent> nodes = java.util.stream.IntStream.range(0, 5).mapToObj(i -> h.agent("node-" + i)).toList();
      h.fleet.apply(withSecret("gpu", "gpu-key") + "\n---\n" + withSecret("web", "gpu-key", "spec.template.spec.tolerations",
          "[{key: dedicated, operator: Exists}]"), "test", false);
      nodes.forEach(n -> n.runDesired(true));
      for (var n : nodes) {
        h.fleet.taintNode(n.name, List.of(new io.dsfleet.common.model.Taint("dedicated", "web", "NoSchedule", null)), List.of(), false);
        n.runDesired(true);
      }
      h.advance(java.time.Duration.ofSeconds(1)); // the taints' grants the nodes do not need go with one sweep
      java.util.concurrent.atomic.AtomicInteger writes = new java.util.concurrent.atomic.AtomicInteger();
      h.failing = (method, args) -> {
        if (method.startsWith("putNode")) {
          writes.incrementAndGet();
        }
        return false;
      };
      h.fleet.apply(SECRET.formatted("gpu-key").replace("s3cret", "n3w"), "test", false);
      nodes.forEach(n -> n.runDesired(true));
      h.advance(java.time.Duration.ofSeconds(1));
      assertThat(writes.get()).as("node rows written for a Secret's change").isZero();
      assertThat(nodes).allSatisfy(n -> assertThat(n.last().getConfigsList()).anyMatch(c -> c.getDataMap().get("key").toStringUtf8().equals("n3w")));
    }
  }

  /** The grant an admin's taint makes needed goes in the taint's own write: a crash right after loses it no configs. */
  @Test
  void aTaintsGrantIsInTheTaintsOwnWrite() {
    try (FleetHarness h = new FleetHarness(dir)) {
      h.fleet.apply(SECRET.formatted("gpu-key"), "test", false);
      FleetHarness.Agent node = h.agent("node-b");
      h.fleet.apply(withSecret("gpu", "gpu-key"), "test", false);
      node.runDesired(true);
      java.util.concurrent.atomic.AtomicInteger writes = new java.util.concurrent.atomic.AtomicInteger();
      h.failing = (method, args) -> method.startsWith("putNode") && writes.incrementAndGet() > 1; // only the taint's write lands
      h.fleet.taintNode("node-b", List.of(new io.dsfleet.common.model.Taint("dedicated", "web", "NoSchedule", null)), List.of(), false);
      h.failing = (method, args) -> false;
      h.crashAndRestart();
      assertThat(node.last().getPodsList()).singleElement().satisfies(p -> assertThat(p.getTemplateJson()).isNotEmpty());
      assertThat(node.last().getConfigsList()).anyMatch(c -> c.getName().equals("gpu-key"));
    }
  }

  /** A member replaced by an admin's token for its name is another host: what the old one was sent is not its own. */
  @Test
  void aNodeReplacedUnderItsNameInheritsNothingItsPredecessorWasSent() {
    try (FleetHarness h = new FleetHarness(dir)) {
      h.fleet.apply(SECRET.formatted("gpu-key"), "test", false);
      FleetHarness.Agent node = h.agent("node-b");
      h.fleet.apply(withSecret("gpu", "gpu-key"), "test", false);
      node.runDesired(true);
      DesiredPod pod = node.last().getPods(0);
      h.fleet.taintNode("node-b", List.of(new io.dsfleet.common.model.Taint("dedicated", "web", "NoSchedule", null)), List.of(), false);
      node.runDesired(true);
      assertThat(node.last().getConfigsList()).as("kept after the taint, with its Secret").anyMatch(c -> c.getName().equals("gpu-key"));

      h.fleet.admit(io.dsfleet.coordinator.grpc.FakeAgent.info("node-b", java.util.Map.of()), "", "", (member, retryOf, ownSecret) -> "issued", issued -> new io.dsfleet.coordinator.store.Store.TokenUse("token-b", 0), issued -> { });
      node.open();
      assertNothingOf(claim(node, "gpu", pod.getPodName(), pod.getTemplateHash()), "gpu", "gpu-key");
    }
  }

  /**
   * A member's own agent admitted again by join token (its leave secret shown: its certificates
   * lapsed, or its answer was lost) is the same host, not a replacement: it keeps the labels it was
   * admitted with (the pool it reports now is ignored, with its Secret) and what it was granted (a
   * pod kept after an admin's taint, with its Secret). Until 2026-12-06 it was admitted as it
   * reported itself: root on a node whose certificates had lapsed moved it into the gpu pool with
   * any join token, and the kept pod was sent by name alone, its Secret no longer.
   */
  @Test
  void aMembersOwnAgentAdmittedAgainKeepsItsLabelsAndGrants() {
    try (FleetHarness h = new FleetHarness(dir)) {
      h.fleet.apply(SECRET.formatted("gpu-key"), "test", false);
      h.fleet.apply(SECRET.formatted("web-key"), "test", false);
      h.fleet.apply(withSecret("gpu", "gpu-key", "spec.template.spec.nodeSelector", "{pool: gpu}"), "test", false);
      FleetHarness.Agent node = h.agent("node-b", java.util.Map.of("pool", "web"));
      String secret = "leave-secret-of-node-b";
      h.fleet.join(io.dsfleet.coordinator.grpc.FakeAgent.info("node-b", java.util.Map.of("pool", "web")),
          io.dsfleet.common.Sha256.hex(secret), false); // its leave secret, as an agent admitted before there were any gives it
      h.fleet.apply(withSecret("web", "web-key", "spec.template.spec.nodeSelector", "{pool: web}"), "test", false);
      node.runDesired(true);
      DesiredPod pod = node.last().getPods(0);
      h.fleet.taintNode("node-b", List.of(new io.dsfleet.common.model.Taint("dedicated", "db", "NoSchedule", null)), List.of(), false);
      node.runDesired(true);
      assertThat(node.last().getConfigsList()).as("kept after the taint, with its Secret").anyMatch(c -> c.getName().equals("web-key"));

      h.fleet.admit(io.dsfleet.coordinator.grpc.FakeAgent.info("node-b", java.util.Map.of("pool", "gpu")), io.dsfleet.common.Sha256.hex(secret),
          secret, (member, retryOf, ownSecret) -> "issued", issued -> new io.dsfleet.coordinator.store.Store.TokenUse("token-b", 1), issued -> { });
      node.open();
      node.runDesired(true);
      assertThat(h.fleet.node("node-b", true).labels()).as("the labels it was admitted with").containsEntry("pool", "web");
      assertNothingOf(node.last(), "gpu", "gpu-key");
      assertThat(node.last().getPodsList()).singleElement().satisfies(p -> {
        assertThat(p.getPodName()).isEqualTo(pod.getPodName());
        assertThat(p.getTemplateJson()).as("its template, as granted").isNotEmpty();
      });
      assertThat(node.last().getConfigsList()).as("and its Secret").anyMatch(c -> c.getName().equals("web-key"));
    }
  }

  /**
   * A pod of an older revision that tolerated a taint the new revision does not is kept (an
   * OnDelete controller leaves a misscheduled pod of NoSchedule alone) and keeps its template and Secret,
   * also after a restart, when nothing sent before is remembered but the revision's own placement.
   */
  @Test
  void aPodKeptOnItsOlderRevisionKeepsItsConfigsAcrossARestart() {
    try (FleetHarness h = new FleetHarness(dir)) {
      h.fleet.apply(SECRET.formatted("gpu-key"), "test", false);
      FleetHarness.Agent node = h.agent("node-b");
      h.fleet.taintNode("node-b", List.of(new io.dsfleet.common.model.Taint("dedicated", "web", "NoSchedule", null)), List.of(), false);
      // OnDelete: a rolling update removes a misscheduled pod of an old revision, as Kubernetes' does (RollingUpdate rule 6)
      String onDelete = "spec.updateStrategy";
      h.fleet.apply(withSecret("gpu", "gpu-key", "spec.template.spec.tolerations", "[{key: dedicated, operator: Exists}]", onDelete,
          "{type: OnDelete}"), "test", false);
      node.runDesired(true);
      String first = h.fleet.daemonSet("ops", "gpu").hash();
      assertThat(node.desiredHashes()).containsExactly(first);
      h.fleet.apply(withSecret("gpu", "gpu-key", "spec.template.spec.tolerations", "[]", onDelete, "{type: OnDelete}"), "test", false);
      node.runDesired(true);
      assertThat(node.desiredHashes()).as("kept on its revision").containsExactly(first);
      h.crashAndRestart();
      assertThat(node.last().getPodsList()).hasSize(1).allMatch(p -> !p.getTemplateJson().isEmpty());
      assertThat(node.last().getConfigsList()).anyMatch(c -> c.getName().equals("gpu-key"));
    }
  }

  /**
   * A taint's time feeds NoExecute tolerationSeconds: the coordinator's clock sets it, never the
   * agent's report, and applying the same taint again keeps it.
   */
  @Test
  void taintsAreTimedByTheCoordinatorAndTheSameTaintAgainKeepsItsTime() {
    try (FleetHarness h = new FleetHarness(dir)) {
      h.clock.advance(java.time.Duration.ofDays(400));
      h.fleet.join(io.dsfleet.coordinator.grpc.FakeAgent.info("node-a", java.util.Map.of()).toBuilder()
          .addTaints(io.dsfleet.proto.v1.Taint.newBuilder().setKey("gpu").setEffect("NoExecute").setTimeAddedMillis(1)).build(), "", true);
      java.time.Instant joined = h.clock.instant();
      assertThat(h.fleet.node("node-a", true).taints()).singleElement()
          .satisfies(t -> assertThat(t.timeAdded()).as("the agent's own date ignored").isEqualTo(joined));
      h.clock.advance(java.time.Duration.ofMinutes(5));
      h.fleet.admit(io.dsfleet.coordinator.grpc.FakeAgent.info("node-a", java.util.Map.of()).toBuilder()
          .addTaints(io.dsfleet.proto.v1.Taint.newBuilder().setKey("gpu").setEffect("NoExecute")).build(), "", "", (m, r, s) -> "c", c -> new io.dsfleet.coordinator.store.Store.TokenUse("t", 0), c -> { });
      assertThat(h.fleet.node("node-a", true).taints()).singleElement()
          .satisfies(t -> assertThat(t.timeAdded()).as("admitted again with the same taint: its time kept").isEqualTo(joined));
      var web = new io.dsfleet.common.model.Taint("dedicated", "web", "NoExecute", null);
      h.fleet.taintNode("node-a", List.of(web), List.of(), false);
      java.time.Instant first = h.clock.instant();
      h.clock.advance(java.time.Duration.ofMinutes(5));
      h.fleet.taintNode("node-a", List.of(web), List.of(), false);
      assertThat(h.fleet.node("node-a", true).taints()).filteredOn(t -> t.key().equals("dedicated")).singleElement()
          .satisfies(t -> assertThat(t.timeAdded()).as("applied again: still its first time").isEqualTo(first));
    }
  }

  /**
   * A node's released pods weigh within the same bound as its reported ones: a full report's
   * released pods (of DaemonSets named at will) were kept outside {@link PodIntake#MAX_REPORTED_BYTES},
   * and as kept, not as sent: a control character (1 byte) is kept as U+FFFD (3 bytes), so a
   * report within the 4 MiB message bound kept about 11 MiB of released pods, and partial reports
   * then added the 4 MiB of reported ones: shown by every {@code get pods -A}, held in the heap.
   */
  @Test
  void aNodesReleasedPodsWeighWithinTheBoundOfItsReportedOnes() {
    try (FleetHarness h = new FleetHarness(dir)) {
      h.agent("node-a");
      String controls = "\u0001".repeat(AgentText.MESSAGE); // 4 KiB as sent, 12 KiB as kept
      PodStatusReport.Builder full = PodStatusReport.newBuilder().setFull(true);
      for (int i = 0; i < 14; i++) {
        PodStatus.Builder p = pod("ops", "gone-" + i, PodNames.name("gone-" + i, "node-a", 0), "", "").toBuilder().clearContainers();
        for (int c = 0; c < PodIntake.MAX_CONTAINERS; c++) {
          p.addContainers(ContainerStatus.newBuilder().setName("c" + c).setState("running").setMessage(controls));
        }
        full.addReleasedPods(p);
      }
      assertThat(full.build().getSerializedSize()).as("within the message bound, as sent").isLessThan(4 << 20);
      h.fleet.reportPods("node-a", full.build());
      String text = "\u4e00".repeat(AgentText.MESSAGE);
      for (int i = 0; i < 40; i++) { // partial reports, each adding a pod of 12 texts at their bounds (~150 KB)
        PodStatus.Builder p = pod("ops", "ds-" + i, PodNames.name("ds-" + i, "node-a", 0), "", text).toBuilder();
        for (int c = 0; c < 11; c++) {
          p.addContainers(ContainerStatus.newBuilder().setName("c" + c).setState("running").setMessage(text));
        }
        h.fleet.reportPods("node-a", PodStatusReport.newBuilder().setFull(false).addPods(p).build());
      }
      FleetView.NodeSnapshot n = h.fleet.node("node-a", true);
      long released = n.released().stream().mapToLong(PodStatus::getSerializedSize).sum();
      long reported = n.pods().stream().mapToLong(PodStatus::getSerializedSize).sum();
      assertThat(released + reported).as("released (%d bytes) and reported (%d bytes) pods kept", released, reported)
          .isLessThanOrEqualTo(PodIntake.MAX_REPORTED_BYTES);
    }
  }

  @Test
  void textWithinItsBoundsIsKeptAsSentButBidiOverridesAreNot() {
    assertThat(AgentText.bounded("back-off 10s restarting failed container\nline two\ttab", AgentText.MESSAGE))
        .isEqualTo("back-off 10s restarting failed container\nline two\ttab");
    assertThat(AgentText.bounded("a".repeat(10), 8)).isEqualTo("aaaaa...");
    assertThat(AgentText.bounded("ok\u202Egnp.exe\u2066x\u2069\u2028y\u200F", AgentText.MESSAGE)).as("text that reads otherwise than it is")
        .isEqualTo("ok\uFFFDgnp.exe\uFFFDx\uFFFD\uFFFDy\uFFFD");
    String pair = new String(Character.toChars(0x1F600));
    assertThat(AgentText.bounded("aaaa" + pair + "bbbb", 8)).as("never half a surrogate pair").isEqualTo("aaaa...");
  }
}
