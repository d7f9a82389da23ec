package io.dsfleet.coordinator.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.dsfleet.common.manifest.Fixtures;
import io.dsfleet.coordinator.plan.PodNames;
import io.dsfleet.proto.v1.*;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A DaemonSet applied again adopts the pod it released on a node whatever the pod's name: a surge
 * rollout alternates a node's pod between its first name and its surge name ("-s"), and a name
 * taken elsewhere moves a pod to another salt. Adoption went by the name the planner gives a node
 * it has never heard of, the first one: a pod released under another name stayed released, running
 * for good, and a second copy started beside it.
 */
class ReleasedPodAdoptionTest {
  private static final Duration WAIT = Duration.ofSeconds(10);
  @TempDir Path dir;
  CoordinatorFixture c;

  @BeforeEach
  void start() throws Exception {
    c = new CoordinatorFixture(dir);
  }

  @AfterEach
  void stop() {
    c.close();
  }

  private void apply(String yaml) {
    c.control().apply(ApplyRequest.newBuilder().setManifests(yaml).setSource("test.yaml").build());
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"surge name", "second salt"})
  void aReleasedPodIsAdoptedUnderItsOwnName(String which) throws Exception {
    FakeAgent a = c.agent("node-a", Map.of());
    a.nextDesired(WAIT);
    apply(Fixtures.BASE);
    DesiredPod first = a.nextDesired(WAIT).getPods(0);
    String name = which.equals("surge name") ? first.getPodName() + PodNames.SURGE : PodNames.name("agent", "node-a", 1);
    // the node runs the DaemonSet's pod under that name (a surge rollout ended on it, or its first name was taken)
    a.report(PodStatus.newBuilder().setNamespace("ops").setDaemonSet("agent").setPodName(name).setTemplateHash(first.getTemplateHash())
        .setPhase("Running").setReady(true).setReadySinceMillis(1).build());
    assertThat(a.nextDesired(WAIT).getPodsList()).extracting(DesiredPod::getPodName).containsExactly(name);
    c.control().delete(DeleteRequest.newBuilder().setKind(ObjectKind.DAEMON_SET).setNamespace("ops").setName("agent").setCascade(false).build());
    assertThat(a.nextDesired(WAIT).getOrphanedPodKeysList()).containsExactly("ops/" + name);
    a.report(); // a released pod is no longer reported among the node's pods
    apply(Fixtures.BASE);
    DesiredState again = a.nextDesired(WAIT);
    assertThat(again.getPodsList()).as("adopted as it runs, no second copy beside it").extracting(DesiredPod::getPodName).containsExactly(name);
    assertThat(again.getOrphanedPodKeysList()).isEmpty();
  }

  /**
   * A pod the agent released itself (a set from another coordinator store dropped it: a restore, a
   * store started on the wrong data directory), which this store knows nothing of, is shown as its
   * agent reports it (dsctl get pods, describe node), counted by no DaemonSet, and adopted under its
   * name by the DaemonSet applied again. Before 2026-12-06 agents reported no released pod: nothing
   * showed it, and the DaemonSet applied again started a second copy under its first name beside it.
   */
  @Test
  void aPodItsAgentReportsReleasedIsShownCountedByNoDaemonSetAndAdoptedUnderItsName() throws Exception {
    FakeAgent a = c.agent("node-a", Map.of());
    a.nextDesired(WAIT);
    String name = PodNames.name("agent", "node-a", 0) + PodNames.SURGE;
    a.send(AgentMessage.newBuilder().setPodStatus(PodStatusReport.newBuilder().setFull(true).addReleasedPods(PodStatus.newBuilder()
        .setNamespace("ops").setDaemonSet("agent").setPodName(name).setTemplateHash("0123456789").setPhase("Released").setReleased(true)
        .addContainers(ContainerStatus.newBuilder().setName("main").setState("running")))).build());
    await().atMost(WAIT).until(() -> !pods().isEmpty());
    assertThat(pods()).singleElement().satisfies(v -> {
      assertThat(v.getReleased()).isTrue();
      assertThat(v.getNodeName()).isEqualTo("node-a");
      assertThat(v.getStatus().getPodName()).isEqualTo(name);
      assertThat(v.getStatus().getPhase()).isEqualTo("Released");
    });
    DescribeResponse node = c.control().describe(DescribeRequest.newBuilder().setKind(ObjectKind.NODE).setName("node-a").build());
    assertThat(node.getPodsList()).extracting(v -> v.getStatus().getPodName() + " " + v.getReleased()).containsExactly(name + " true");
    // a release no operator asked for (this store never released it): a Warning on the node, naming the pod
    assertThat(node.getEventsList()).filteredOn(e -> e.getReason().equals("PodsReleased")).singleElement()
        .satisfies(e -> assertThat(e.getType() + " " + e.getMessage()).startsWith("Warning ").contains("ops/" + name)
            // an upgrade from a coordinator that forgot its releases once acknowledged is no restore: both causes named
            .contains("another coordinator store", "an orphan delete by a coordinator before 2026-12-05"));
    apply(Fixtures.BASE);
    assertThat(a.nextDesired(WAIT).getPodsList()).as("adopted under its name").extracting(DesiredPod::getPodName).containsExactly(name);
    DaemonSetStatus status = c.control().get(GetRequest.newBuilder().setKind(ObjectKind.DAEMON_SET).setNamespace("ops").setName("agent")
        .build()).getDaemonSets(0).getStatus();
    assertThat(status.getCurrent()).as("a released pod is no DaemonSet's until its node reports it adopted").isZero();
  }

  /** A release the operator asked for (delete --cascade=orphan), once its agent reports the pod released, is shown and warns of nothing. */
  @Test
  void anOrphanDeletesReleaseIsShownWithoutAWarning() throws Exception {
    FakeAgent a = c.agent("node-a", Map.of());
    a.nextDesired(WAIT);
    apply(Fixtures.BASE);
    DesiredState s = a.nextDesired(WAIT);
    a.reportAllReady(s, 1);
    c.control().delete(DeleteRequest.newBuilder().setKind(ObjectKind.DAEMON_SET).setNamespace("ops").setName("agent").setCascade(false).build());
    a.nextDesired(WAIT);
    DesiredPod p = s.getPods(0);
    a.send(AgentMessage.newBuilder().setPodStatus(PodStatusReport.newBuilder().setFull(true).addReleasedPods(PodStatus.newBuilder()
        .setNamespace("ops").setDaemonSet("agent").setPodName(p.getPodName()).setTemplateHash(p.getTemplateHash()).setPhase("Released")
        .setReleased(true))).build());
    await().atMost(WAIT).until(() -> pods().stream().anyMatch(PodView::getReleased));
    assertThat(c.control().describe(DescribeRequest.newBuilder().setKind(ObjectKind.NODE).setName("node-a").build()).getEventsList())
        .extracting(Event::getReason).doesNotContain("PodsReleased");
  }

  /**
   * A node's 256 released pods, none of which this store released, are one PodsReleased Warning whose
   * message is bounded as an agent's other texts ({@link io.dsfleet.coordinator.fleet.AgentText#MESSAGE}):
   * it named every key, about 17 KB here and 80 KB at the longest names, and a node alternating two such
   * sets bought one at each report, kept in its node's events and the coordinator's last 10,000.
   */
  @Test
  void aPodsReleasedWarningNamesAFewAndCountsTheRest() throws Exception {
    FakeAgent a = c.agent("node-a", Map.of());
    a.nextDesired(WAIT);
    PodStatusReport.Builder r = PodStatusReport.newBuilder().setFull(true);
    for (int i = 0; i < 256; i++) {
      String ds = String.format("released-%043d", i); // 52 characters: the longest pod names do not cut
      r.addReleasedPods(PodStatus.newBuilder().setNamespace("ops").setDaemonSet(ds).setPodName(PodNames.name(ds, "node-a", 0))
          .setTemplateHash("0123456789").setPhase("Released").setReleased(true));
    }
    a.send(AgentMessage.newBuilder().setPodStatus(r).build());
    await().atMost(WAIT).until(() -> pods().size() == 256);
    assertThat(nodeEvents("PodsReleased")).singleElement().satisfies(e -> {
      assertThat(e.getMessage()).hasSizeLessThanOrEqualTo(io.dsfleet.coordinator.fleet.AgentText.MESSAGE)
          .contains("ops/" + PodNames.name(String.format("released-%043d", 0), "node-a", 0)).contains(" and 246 more");
    });
  }

  /**
   * The same released pods reported again warn no more; one newly released is a Warning naming it
   * alone. (Full reports queued in a session are coalesced, the newest kept: each waits for the one
   * before it to be taken.)
   */
  @Test
  void releasedPodsReportedAgainWarnOnce() throws Exception {
    FakeAgent a = c.agent("node-a", Map.of());
    a.nextDesired(WAIT);
    PodStatus.Builder p = PodStatus.newBuilder().setNamespace("ops").setDaemonSet("agent").setTemplateHash("0123456789").setPhase("Released")
        .setReleased(true);
    String first = PodNames.name("agent", "node-a", 0);
    String second = PodNames.name("agent", "node-a", 1);
    a.send(AgentMessage.newBuilder().setPodStatus(PodStatusReport.newBuilder().setFull(true).addReleasedPods(p.clone().setPodName(first)))
        .build());
    await().atMost(WAIT).until(() -> nodeEvents("PodsReleased").size() == 1);
    a.send(AgentMessage.newBuilder().setPodStatus(PodStatusReport.newBuilder().setFull(true).addReleasedPods(p.clone().setPodName(first))
        .addReleasedPods(p.clone().setPodName(second))).build());
    await().atMost(WAIT).until(() -> pods().size() == 2); // the second report taken
    assertThat(nodeEvents("PodsReleased")).extracting(Event::getMessage)
        .satisfiesExactly(m -> assertThat(m).contains("[ops/" + first + "]"), m -> assertThat(m).contains("[ops/" + second + "]"));
  }

  /**
   * A PodsReleased Warning the node's event budget drops (25 at once, then one every 30 s: Events)
   * is recorded at a later report once the budget allows, as a pod's failure is: it was lost for
   * good, the pod taken for one warned of.
   */
  @Test
  void aPodsReleasedWarningOverTheNodesBudgetComesAtALaterReport() throws Exception {
    FakeAgent a = c.agent("node-a", Map.of());
    a.nextDesired(WAIT);
    PodStatus.Builder p = PodStatus.newBuilder().setNamespace("ops").setDaemonSet("agent").setTemplateHash("0123456789").setPhase("Released")
        .setReleased(true);
    int burst = 25; // Events.AGENT_BURST
    for (int i = 0; i < burst; i++) {
      a.send(AgentMessage.newBuilder().setPodStatus(PodStatusReport.newBuilder().setFull(true)
          .addReleasedPods(p.clone().setPodName(PodNames.name("agent", "node-a", i)))).build());
      int n = i + 1;
      await().atMost(WAIT).until(() -> nodeEvents("PodsReleased").size() == n);
    }
    String dropped = PodNames.name("agent", "node-a", burst);
    PodStatusReport over = PodStatusReport.newBuilder().setFull(true).addReleasedPods(p.clone().setPodName(dropped)).build();
    a.send(AgentMessage.newBuilder().setPodStatus(over).build());
    await().atMost(WAIT).until(() -> pods().stream().anyMatch(v -> v.getStatus().getPodName().equals(dropped)));
    assertThat(nodeEvents("PodsReleased")).as("over the budget").hasSize(burst);
    c.clock.advance(Duration.ofSeconds(30)); // Events.AGENT_REFILL_MILLIS: one more
    a.send(AgentMessage.newBuilder().setPodStatus(over).build()); // the same pods: a later report
    await().atMost(WAIT).until(() -> nodeEvents("PodsReleased").size() == burst + 1);
    assertThat(nodeEvents("PodsReleased").get(burst).getMessage()).contains("[ops/" + dropped + "]");
  }

  private java.util.List<Event> nodeEvents(String reason) {
    return c.control().describe(DescribeRequest.newBuilder().setKind(ObjectKind.NODE).setName("node-a").build()).getEventsList().stream()
        .filter(e -> e.getReason().equals(reason)).toList();
  }

  /**
   * A pod of a DaemonSet whose name pod names cut at 52 characters, released by its orphan delete,
   * is shown once its agent reports it: such a name is checked only against a DaemonSet that exists
   * (a name cut could be searched for until it equals another's), and the delete took it, so the
   * report was dropped and the pod never shown; the store's release of it on this node names it.
   */
  @Test
  void anOrphanDeletesReleasedPodOfALongNamedDaemonSetIsShown() throws Exception {
    String ds = "agent-" + "x".repeat(54);
    FakeAgent a = c.agent("node-a", Map.of());
    a.nextDesired(WAIT);
    apply(Fixtures.BASE.replaceFirst("  name: agent\n", "  name: " + ds + "\n"));
    DesiredState s = a.nextDesired(WAIT);
    DesiredPod pod = s.getPods(0);
    assertThat(PodNames.truncates(ds)).isTrue();
    a.reportAllReady(s, 1);
    c.control().delete(DeleteRequest.newBuilder().setKind(ObjectKind.DAEMON_SET).setNamespace("ops").setName(ds).setCascade(false).build());
    assertThat(a.nextDesired(WAIT).getOrphanedPodKeysList()).containsExactly("ops/" + pod.getPodName());
    a.send(AgentMessage.newBuilder().setPodStatus(PodStatusReport.newBuilder().setFull(true).addReleasedPods(PodStatus.newBuilder()
        .setNamespace("ops").setDaemonSet(ds).setPodName(pod.getPodName()).setTemplateHash(pod.getTemplateHash()).setPhase("Released")
        .setReleased(true))).build());
    await().atMost(WAIT).until(() -> !pods().isEmpty());
    assertThat(pods()).extracting(v -> v.getStatus().getPodName() + " " + v.getReleased()).containsExactly(pod.getPodName() + " true");
  }

  /** A node reports its own pods only, released ones too: one under a name given on another node is dropped, as a pod would be. */
  @Test
  void aReleasedPodNamedForAnotherNodeIsNotKept() throws Exception {
    FakeAgent a = c.agent("node-a", Map.of());
    a.nextDesired(WAIT);
    PodStatus.Builder p = PodStatus.newBuilder().setNamespace("ops").setDaemonSet("agent").setTemplateHash("0123456789").setPhase("Released")
        .setReleased(true);
    a.send(AgentMessage.newBuilder().setPodStatus(PodStatusReport.newBuilder().setFull(true)
        .addReleasedPods(p.clone().setPodName(PodNames.name("agent", "node-b", 0)))
        .addReleasedPods(p.clone().setPodName(PodNames.name("agent", "node-a", 0)))).build());
    await().atMost(WAIT).until(() -> !pods().isEmpty());
    assertThat(pods()).extracting(v -> v.getStatus().getPodName()).containsExactly(PodNames.name("agent", "node-a", 0));
  }

  /**
   * helper-160's measure over real gRPC: three nodes running revision 1, the DaemonSet deleted with
   * orphan, its pods reported released, then applied again with another image and maxUnavailable 1.
   * Its first pass (its generation observed) tells one node the new template and the two others
   * revision 1's, the bytes their pods were made from, under their pods' names (adopted as they run).
   * Before, all three were sent the new template at once.
   */
  @Test
  void appliedAgainWithAnotherTemplateItsAdoptedPodsMoveOneNodeAtATime() throws Exception {
    java.util.List<FakeAgent> agents = new java.util.ArrayList<>();
    for (int i = 0; i < 3; i++) {
      FakeAgent a = c.agent("node-" + i, Map.of());
      a.nextDesired(WAIT);
      agents.add(a);
    }
    apply(Fixtures.BASE);
    Map<String, DesiredPod> ran = new java.util.TreeMap<>();
    for (FakeAgent a : agents) {
      DesiredState s = a.nextDesired(WAIT);
      a.reportAllReady(s, 1);
      ran.put(a.name, s.getPods(0));
    }
    c.control().delete(DeleteRequest.newBuilder().setKind(ObjectKind.DAEMON_SET).setNamespace("ops").setName("agent").setCascade(false).build());
    for (FakeAgent a : agents) {
      assertThat(a.nextDesired(WAIT).getPodsList()).isEmpty();
      DesiredPod p = ran.get(a.name);
      a.send(AgentMessage.newBuilder().setPodStatus(PodStatusReport.newBuilder().setFull(true).addReleasedPods(PodStatus.newBuilder()
          .setNamespace("ops").setDaemonSet("agent").setPodName(p.getPodName()).setTemplateHash(p.getTemplateHash()).setPhase("Released")
          .setReleased(true).setCreatedAtMillis(1).setTemplateDigest(io.dsfleet.common.Sha256.hex(p.getTemplateJson().asReadOnlyByteBuffer()))
          .addContainers(ContainerStatus.newBuilder().setName("main").setState("running")))).build());
    }
    await().atMost(WAIT).until(() -> pods().stream().filter(PodView::getReleased).count() == 3);
    apply(Fixtures.BASE.replace("local/busybox:1", "local/busybox:2"));
    await().atMost(WAIT).until(() -> {
      DaemonSetView ds = c.control().get(GetRequest.newBuilder().setKind(ObjectKind.DAEMON_SET).setNamespace("ops").setName("agent").build())
          .getDaemonSets(0);
      return ds.getStatus().getObservedGeneration() == ds.getGeneration(); // its first pass ran: the nodes it moves were told
    });
    String v1 = ran.values().iterator().next().getTemplateHash();
    Map<String, DesiredPod> told = new java.util.TreeMap<>();
    // what that pass sent may still be on its way: taken until a node has the new template (no later pass moves one: no report came)
    await().atMost(WAIT).until(() -> {
      for (FakeAgent a : agents) {
        a.drainDesired().forEach(s -> told.put(a.name, s.getPods(0)));
      }
      return told.size() == 3 && told.values().stream().anyMatch(p -> !p.getTemplateHash().equals(v1));
    });
    assertThat(told.values().stream().filter(p -> !p.getTemplateHash().equals(v1)).count()).as("maxUnavailable 1: one node moves")
        .isEqualTo(1);
    for (FakeAgent a : agents) {
      DesiredPod p = told.get(a.name);
      assertThat(p.getPodName()).as("adopted under its name").isEqualTo(ran.get(a.name).getPodName());
      if (p.getTemplateHash().equals(v1)) {
        assertThat(p.getTemplateJson()).as("the bytes its pod was made from: adopted without a restart").isEqualTo(ran.get(a.name).getTemplateJson());
      }
    }
  }

  private java.util.List<PodView> pods() {
    return c.control().get(GetRequest.newBuilder().setKind(ObjectKind.POD).setNamespace("ops").build()).getPodsList();
  }
}
