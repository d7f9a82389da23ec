package io.dsfleet.coordinator.plan;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.common.TemplateHash;
import io.dsfleet.common.manifest.Fixtures;
import io.dsfleet.common.model.DaemonSet;
import io.dsfleet.common.model.Node;
import io.dsfleet.common.model.Taint;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** One named row per planner rule. */
class PlannerTest {
  static final Instant NOW = Instant.parse("2026-01-01T00:00:00Z");
  static final String POD = "spec.template.spec";

  static DsInfo ds(String name, String path, String value) {
    var tree = Fixtures.with(Fixtures.baseTree(), "metadata.name", name);
    if (path != null) {
      Fixtures.with(tree, path, value);
    }
    DaemonSet d = (DaemonSet) Fixtures.parse(tree).get(0).object();
    return new DsInfo("ops/" + name, d, 1, TemplateHash.of(d.spec().template()));
  }

  static Node node(Map<String, String> labels, String... taints) {
    return new Node("n1", labels, Stream.of(taints).map(Taint::parse).toList(), false);
  }

  static ObservedPod running(DsInfo ds, String hash) {
    return new ObservedPod(ds.key(), Planner.podName(ds.name(), "n1"), hash, true, NOW.minusSeconds(60));
  }

  static Stream<Arguments> rows() {
    DsInfo plain = ds("plain", null, null);
    DsInfo ssd = ds("ssd", POD + ".nodeSelector", "{disktype: ssd}");
    return Stream.of(
        Arguments.of("matching node gets the pod", plain, node(Map.of()), null, true, plain.hash()),
        Arguments.of("nodeSelector mismatch: nothing", ssd, node(Map.of()), null, false, null),
        Arguments.of("nodeSelector mismatch removes an existing pod", ssd, node(Map.of()), running(ssd, ssd.hash()), false, null),
        Arguments.of("untolerated NoSchedule: no new pod", plain, node(Map.of(), "gpu:NoSchedule"), null, false, null),
        Arguments.of("untolerated NoSchedule: existing pod kept (misscheduled)", plain, node(Map.of(), "gpu:NoSchedule"),
            running(plain, plain.hash()), true, plain.hash()),
        Arguments.of("untolerated NoExecute: existing pod removed", plain, node(Map.of(), "gpu:NoExecute"), running(plain, plain.hash()), false, null),
        Arguments.of("unreachable node keeps its pod (automatic toleration)", plain,
            node(Map.of(), "node.kubernetes.io/unreachable:NoExecute", "node.kubernetes.io/unreachable:NoSchedule"),
            running(plain, plain.hash()), true, plain.hash()),
        Arguments.of("template change moves the node to the new hash", plain, node(Map.of()), running(plain, "oldhash000"), true, plain.hash()));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("rows")
  void rule(String name, DsInfo ds, Node node, ObservedPod observed, boolean hasPod, String hash) {
    NodePlan plan = Planner.planNode(List.of(ds), node, observed == null ? Map.of() : Map.of(ds.key(), List.of(observed)), NOW);
    assertThat(plan.desired()).hasSize(hasPod ? 1 : 0);
    if (hasPod) {
      assertThat(plan.desired().get(0).hash()).isEqualTo(hash);
      assertThat(plan.desired().get(0).podName()).isEqualTo(Planner.podName(ds.name(), "n1"));
    }
    assertThat(plan.verdicts()).containsKey(ds.key());
  }

  @Test
  void statusCountersFollowKubernetes() {
    DsInfo d = ds("agent", "spec.minReadySeconds", "30");
    var should = new io.dsfleet.common.match.Placement.Verdict(true, true, null, null);
    var misplaced = new io.dsfleet.common.match.Placement.Verdict(false, true, "taint", null);
    List<Planner.NodeFacts> facts = List.of(
        new Planner.NodeFacts(should, new ObservedPod(d.key(), "p1", d.hash(), true, NOW.minusSeconds(60))),
        new Planner.NodeFacts(should, new ObservedPod(d.key(), "p2", d.hash(), true, NOW.minusSeconds(5))),
        new Planner.NodeFacts(should, new ObservedPod(d.key(), "p3", "old", false, null)),
        new Planner.NodeFacts(should, List.of()),
        new Planner.NodeFacts(misplaced, new ObservedPod(d.key(), "p5", "old", true, NOW.minusSeconds(99))));
    DsStatus s = Planner.status(d, facts, NOW);
    assertThat(s).isEqualTo(new DsStatus(4, 3, 2, 2, 1, 1, 3));
  }

  /**
   * updateDaemonSetStatus judges each node by its oldest pod: while a surge is in flight the old
   * pod speaks for the node, so the node is not "updated" until the old pod is gone, and rollout
   * status cannot report success behind available old pods.
   */
  @Test
  void aSurgingNodeIsJudgedByItsOldestPod() {
    DsInfo d = ds("agent", "spec.updateStrategy", "{rollingUpdate: {maxUnavailable: 0, maxSurge: 1}}");
    var should = new io.dsfleet.common.match.Placement.Verdict(true, true, null, null);
    var oldAvailable = new ObservedPod(d.key(), "p", "old", true, NOW.minusSeconds(60));
    var newStarting = new ObservedPod(d.key(), "p-s", d.hash(), false, null);
    DsStatus s = Planner.status(d, List.of(new Planner.NodeFacts(should, List.of(oldAvailable, newStarting))), NOW);
    assertThat(s).isEqualTo(new DsStatus(1, 1, 1, 0, 1, 0, 0));
  }

  @Test
  void podNamesAreStablePerNodeAndDistinctAcrossNodes() {
    assertThat(Planner.podName("agent", "host-1")).isEqualTo(Planner.podName("agent", "host-1"));
    assertThat(Planner.podName("agent", "host-1")).isNotEqualTo(Planner.podName("agent", "host-2")).matches("agent-[bcdfghjklmnpqrstvwxz2456789]{10}");
  }

  @Test
  void podNamesOfTenThousandEc2StyleNodesAreDistinct() {
    java.util.Set<String> names = new java.util.HashSet<>();
    for (int i = 0; i < 10_000; i++) {
      names.add(Planner.podName("fluentd", "ip-10-0-" + (i / 256) + "-" + (i % 256) + ".ec2.internal"));
    }
    assertThat(names).hasSize(10_000);
  }

  @Test
  void aLongDaemonSetNameIsCutSoThePodNameFitsAHostname() {
    String name = Planner.podName("d".repeat(70), "n1");
    assertThat(name).hasSize(63).startsWith("d".repeat(52) + "-");
    assertThat(Planner.podName("d".repeat(52) + "x".repeat(18), "n1")).as("the whole DaemonSet name is hashed").isNotEqualTo(name);
  }

  static final String SURGE = "{rollingUpdate: {maxUnavailable: 0, maxSurge: 1}}";

  static ObservedPod pod(DsInfo ds, String name, String hash, boolean ready) {
    return new ObservedPod(ds.key(), name, hash, ready, ready ? NOW.minusSeconds(60) : null);
  }

  static List<String> plan(DsInfo ds, boolean moving, ObservedPod... pods) {
    return Planner.planNode(List.of(ds), node(Map.of()), Map.of(ds.key(), List.of(pods)), NOW, k -> moving, (k, pod) -> false, PodNames.FIRST).desired()
        .stream().map(p -> p.podName() + "@" + (p.hash().equals(ds.hash()) ? "new" : p.hash())).toList();
  }

  @Test
  void aSurgingNodeRunsTheNewPodNextToTheOldOneUntilItIsAvailable() {
    DsInfo ds = ds("surge", "spec.updateStrategy", SURGE);
    String base = Planner.podName("surge", "n1");
    String second = Planner.surgeName(base);
    assertThat(plan(ds, false, pod(ds, base, "old", true))).as("not moving: kept").containsExactly(base + "@old");
    assertThat(plan(ds, true, pod(ds, base, "old", true))).as("moving: new pod under the other name")
        .containsExactly(base + "@old", second + "@new");
    assertThat(plan(ds, true, pod(ds, base, "old", true), pod(ds, second, ds.hash(), false)))
        .as("new pod not available yet: the old one stays").containsExactly(base + "@old", second + "@new");
    assertThat(plan(ds, true, pod(ds, base, "old", true), pod(ds, second, ds.hash(), true)))
        .as("new pod available: the old one goes").containsExactly(second + "@new");
    assertThat(plan(ds, true, pod(ds, second, "old", true))).as("the next surge takes the first name again")
        .containsExactly(base + "@new", second + "@old");
  }

  /** Kubernetes' podsShouldBeOnNode deletes the old pod of a surging node once it is not Ready, new pod available or not. */
  @Test
  void aSurgingNodesOldPodThatIsNotReadyGoesAtOnce() {
    DsInfo ds = ds("surge", "spec.updateStrategy", SURGE);
    String base = Planner.podName("surge", "n1");
    String second = Planner.surgeName(base);
    assertThat(plan(ds, true, pod(ds, base, "old", false), pod(ds, second, ds.hash(), false))).containsExactly(second + "@new");
    assertThat(plan(ds, false, pod(ds, base, "old", false), pod(ds, second, ds.hash(), false))).as("moving or not")
        .containsExactly(second + "@new");
  }

  @Test
  void aTemplateChangeDuringASurgeKeepsTheAvailableOldPodAndDropsTheUnfinishedOne() {
    DsInfo ds = ds("surge", "spec.updateStrategy", SURGE);
    String base = Planner.podName("surge", "n1");
    String second = Planner.surgeName(base);
    assertThat(plan(ds, true, pod(ds, base, "rev1", true), pod(ds, second, "rev2", false)))
        .containsExactly(base + "@rev1", second + "@new");
  }

  @Test
  void withoutSurgeAMovingNodeReplacesItsPodInPlaceAndALeftoverFromASurgeKeepsTheOldPodUntilTheNewIsAvailable() {
    DsInfo ds = ds("plain", null, null);
    String second = Planner.surgeName(Planner.podName("plain", "n1"));
    assertThat(plan(ds, true, pod(ds, second, "old", true))).containsExactly(second + "@new");
    assertThat(plan(ds, false, pod(ds, "x", "old", true), pod(ds, second, ds.hash(), false)))
        .as("the unfinished new pod goes, the available old one stays (Kubernetes keeps the oldest)").containsExactly("x@old");
    assertThat(plan(ds, true, pod(ds, "x", "old", true), pod(ds, second, ds.hash(), true))).as("the new one available: the old goes")
        .containsExactly(second + "@new");
  }

  static List<String> planTainted(DsInfo ds, boolean moving, ObservedPod pod) {
    return Planner.planNode(List.of(ds), node(Map.of(), "gpu:NoSchedule"), Map.of(ds.key(), List.of(pod)), NOW, k -> moving,
        (k, p) -> false, PodNames.FIRST).desired().stream().map(p -> p.hash().equals(ds.hash()) ? "new" : p.hash()).toList();
  }

  /**
   * A misscheduled pod of an old revision stays until a rolling update reaches its node (RollingUpdate rule 6), which
   * removes it, as Kubernetes' rollingUpdate deletes it and puts no pod back; OnDelete keeps it.
   */
  @Test
  void aMisscheduledPodOfAnOldRevisionGoesWhenARollingUpdateReachesItsNode() {
    DsInfo plain = ds("plain", null, null);
    assertThat(planTainted(plain, false, running(plain, "old"))).as("not reached yet").containsExactly("old");
    assertThat(planTainted(plain, true, running(plain, "old"))).as("reached: removed, nothing new").isEmpty();
    assertThat(planTainted(plain, true, running(plain, plain.hash()))).as("of the current revision: kept").containsExactly("new");
    DsInfo onDelete = ds("od", "spec.updateStrategy", "{type: OnDelete}");
    assertThat(planTainted(onDelete, true, running(onDelete, "old"))).as("OnDelete keeps it").containsExactly("old");
  }

  static List<String> planDeleting(DsInfo ds, ObservedPod... pods) {
    return Planner.planNode(List.of(ds), node(Map.of()), Map.of(ds.key(), List.of(pods)), NOW, k -> false,
        (k, p) -> p.equals("gone"), PodNames.FIRST).desired().stream().map(p -> p.podName() + "@" + (p.hash().equals(ds.hash()) ? "new" : p.hash()))
        .toList();
  }

  /**
   * A deleted pod's replacement waits for it to stop, as Kubernetes' controller waits; with maxSurge it starts at once
   * next to it, as Kubernetes' podsShouldBeOnNode makes one for a surging DaemonSet whose node runs only a terminating pod.
   */
  @Test
  void aDeletedPodsReplacementStartsAtOnceWithASurge() {
    DsInfo plain = ds("plain", null, null);
    assertThat(planDeleting(plain, pod(plain, "gone", "old", true))).as("stop first").isEmpty();
    DsInfo surge = ds("surge", "spec.updateStrategy", SURGE);
    assertThat(planDeleting(surge, pod(surge, "gone", "old", true))).containsExactly(Planner.podName("surge", "n1") + "@new");
    assertThat(planDeleting(surge, pod(surge, "gone", "old", true), pod(surge, "x", surge.hash(), false)))
        .as("another pod still runs: nothing more").containsExactly("x@new");
  }

  /** A surging DaemonSet with these (pod spec path, value) pairs set. */
  static DsInfo surgeWith(String name, String... podPathsAndValues) {
    var tree = Fixtures.with(Fixtures.baseTree(), "metadata.name", name);
    Fixtures.with(tree, "spec.updateStrategy", SURGE);
    for (int i = 0; i < podPathsAndValues.length; i += 2) {
      Fixtures.with(tree, POD + "." + podPathsAndValues[i], podPathsAndValues[i + 1]);
    }
    DaemonSet d = (DaemonSet) Fixtures.parse(tree).get(0).object();
    return new DsInfo("ops/" + name, d, 1, TemplateHash.of(d.spec().template()));
  }

  /**
   * A surging DaemonSet's pod that holds host ports is replaced once it has stopped, as without a surge: Kubernetes'
   * scheduler leaves the new pod Pending until the terminating one lets the port go (NodePorts). Started at once, the
   * new pod failed on the taken port and the agent tried again only after its back-off (10 s, 20 s, ...), the node
   * longer without a pod than when it waited for the stop.
   */
  @Test
  void aDeletedPodsReplacementWaitsForItToStopWhenItHoldsHostPorts() {
    DsInfo hostPort = surgeWith("hp", "containers[0].ports[0].hostPort", "8080");
    assertThat(planDeleting(hostPort, pod(hostPort, "gone", "old", true))).as("the port is held: stop first").isEmpty();
    assertThat(planDeleting(hostPort)).as("stopped: the replacement").containsExactly(Planner.podName("hp", "n1") + "@new");
    DsInfo hostNetwork = surgeWith("hn", "hostNetwork", "true");
    assertThat(planDeleting(hostNetwork, pod(hostNetwork, "gone", "old", true)))
        .as("host network with a containerPort: a host port, as Kubernetes defaults it").isEmpty();
    DsInfo hostNetworkNoPort = surgeWith("hnn", "hostNetwork", "true", "containers[0].ports", null, "containers[0].readinessProbe", null);
    assertThat(planDeleting(hostNetworkNoPort, pod(hostNetworkNoPort, "gone", "old", true))).as("host network, no port declared: at once")
        .containsExactly(Planner.podName("hnn", "n1") + "@new");
    DsInfo containerPort = surgeWith("cp");
    assertThat(planDeleting(containerPort, pod(containerPort, "gone", "old", true))).as("a containerPort alone: at once")
        .containsExactly(Planner.podName("cp", "n1") + "@new");
  }
}
