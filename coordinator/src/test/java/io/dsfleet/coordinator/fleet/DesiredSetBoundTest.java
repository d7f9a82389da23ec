package io.dsfleet.coordinator.fleet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.dsfleet.proto.v1.DesiredState;
import io.grpc.Status;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A node's desired set stays within what an agent takes ({@link DesiredSetBound#MAX_BYTES}): before
 * this bound, a valid apply of ConfigMaps within their 1 MiB each and a DaemonSet mounting seven
 * made a 7 MiB set, and every agent it was placed on ran out of its 48 MiB heap at each receipt
 * (helper-178: the fleet's agents restarting every few seconds until the DaemonSet was deleted).
 */
class DesiredSetBoundTest {
  @TempDir Path dir;

  /** A ConfigMap of ops with one key of {@code bytes} characters. */
  private static String configMap(String name, int bytes) {
    return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + name + ", namespace: ops}\ndata:\n  blob: " + "x".repeat(bytes) + "\n";
  }

  /** The base DaemonSet mounting the ConfigMaps named, placed where {@code selector} (YAML, or null: everywhere) says. */
  private static String mounting(String name, String selector, String... configMaps) {
    String volumes = IntStream.range(0, configMaps.length).mapToObj(i -> "{name: v" + i + ", configMap: {name: " + configMaps[i] + "}}")
        .collect(Collectors.joining(", ", "[", "]"));
    String mounts = IntStream.range(0, configMaps.length).mapToObj(i -> "{name: v" + i + ", mountPath: /cm/" + i + "}")
        .collect(Collectors.joining(", ", "[", "]"));
    return FleetHarness.manifest("metadata.name", name, "spec.template.spec.volumes", volumes,
        "spec.template.spec.containers[0].volumeMounts", mounts, "spec.template.spec.nodeSelector", selector);
  }

  private static long pods(FleetHarness.Agent a) {
    return a.sent.isEmpty() ? 0 : a.sent.get(a.sent.size() - 1).getPodsCount();
  }

  @Test
  void anApplyGrowingANodesSetPastTheBoundIsRefusedNamingTheNodeAndNothingIsApplied() {
    try (FleetHarness h = new FleetHarness(dir)) {
      h.agents(3);
      for (int i = 0; i < 5; i++) {
        h.apply(configMap("c" + i, 1000 * 1000));
      }
      int before = h.agents.get("n0").sent.size();
      assertThatThrownBy(() -> h.apply(mounting("big", null, "c0", "c1", "c2", "c3", "c4")))
          .isInstanceOfSatisfying(ControlException.class, e -> {
            assertThat(e.code()).isEqualTo(Status.Code.INVALID_ARGUMENT);
            assertThat(e.getMessage()).contains("node n0's desired set would be 500").contains("(and 2 other nodes' over the bound too)")
                .contains("over the 4194304 bytes an agent takes").endsWith("nothing applied");
          });
      assertThat(h.fleet.daemonSets()).as("nothing applied").isEmpty();
      assertThat(h.agents.get("n0").sent).as("nothing sent").hasSize(before);

      h.apply(mounting("big", null, "c0", "c1", "c2")); // 3 MB: within
      assertThat(pods(h.agents.get("n0"))).isEqualTo(1);
      DesiredState sent = h.agents.get("n0").sent.get(h.agents.get("n0").sent.size() - 1);
      assertThat(sent.getSerializedSize()).isBetween(3_000_000, DesiredSetBound.MAX_BYTES);

      // a second DaemonSet beside it, alone or with a ConfigMap the first uses grown: past the bound, refused
      assertThatThrownBy(() -> h.apply(configMap("c2", 1024 * 1024 - 10) + "---\n" + mounting("more", null, "c3", "c4")))
          .isInstanceOfSatisfying(ControlException.class, e -> assertThat(e.getMessage()).contains("node n0's desired set would be 50"));
      assertThatThrownBy(() -> h.apply(mounting("more", null, "c3", "c4")))
          .isInstanceOfSatisfying(ControlException.class, e -> assertThat(e.getMessage()).contains("node n0's desired set would be 50"));
      assertThat(h.fleet.daemonSets()).hasSize(1);
      h.apply(mounting("more", null, "c3")); // 4 MB: within
      assertThat(pods(h.agents.get("n0"))).isEqualTo(2);
      // the ConfigMaps they use grown, each within its own 1 MiB: past the bound, refused
      String grown = IntStream.range(0, 4).mapToObj(i -> configMap("c" + i, 1024 * 1024 - 6)).collect(Collectors.joining("---\n"));
      assertThatThrownBy(() -> h.apply(grown))
          .isInstanceOfSatisfying(ControlException.class, e -> assertThat(e.getMessage()).contains("node n0's desired set would be 419"));
      assertThat(h.fleet.configs("ConfigMap").stream().filter(o -> o.name().equals("c0")).findFirst().orElseThrow().json()).hasSizeLessThan(1_010_000);
      // placed on none of the nodes: nothing grows
      h.apply(mounting("elsewhere", "{disktype: ssd}", "c3", "c4"));
      assertThat(h.fleet.daemonSets()).hasSize(3);
    }
  }

  /** Node n0, five ConfigMaps of 1 MB, "here" mounting two of them everywhere and "ssd" three where disktype is ssd. */
  private static FleetHarness.Agent hereAndOnSsd(FleetHarness h) {
    FleetHarness.Agent n0 = h.agent("n0");
    for (int i = 0; i < 5; i++) {
      h.apply(configMap("c" + i, 1000 * 1000));
    }
    h.apply(mounting("here", null, "c0", "c1"));
    h.apply(mounting("ssd", "{disktype: ssd}", "c2", "c3", "c4"));
    return n0;
  }

  @Test
  void aSetGrownPastTheBoundByANodesLabelsIsNotSentAndTheNodeSaysWhy() {
    try (FleetHarness h = new FleetHarness(dir)) {
      FleetHarness.Agent n0 = hereAndOnSsd(h);
      assertThat(pods(n0)).isEqualTo(1);
      int sent = n0.sent.size();

      h.fleet.labelNode("n0", Map.of("disktype", "ssd"), List.of(), false); // both: 5 MB
      h.advance(java.time.Duration.ofSeconds(1));
      assertThat(n0.sent).as("the node keeps the set it has").hasSize(sent);
      assertThat(h.fleet.events(Events.nodeKey("n0"))).filteredOn(e -> e.reason().equals("DesiredSetTooLarge")).singleElement()
          .satisfies(e -> assertThat(e.message()).contains("over the 4194304 bytes an agent takes"));

      h.fleet.labelNode("n0", Map.of(), List.of("disktype"), false);
      h.fleet.deleteDaemonSet("ops", "here", true);
      h.fleet.labelNode("n0", Map.of("disktype", "ssd"), List.of(), false); // the other alone: 3 MB
      h.advance(java.time.Duration.ofSeconds(1));
      assertThat(n0.sent.get(n0.sent.size() - 1).getPodsList()).singleElement().satisfies(p -> assertThat(p.getDaemonSet()).isEqualTo("ssd"));
    }
  }

  /**
   * A node whose state alternates between two sets over the bound (here its labels; a node's own
   * reports can do it, a pod under two of its names: helper-184) has each built, logged and
   * recorded as a Warning once, not at each change back.
   */
  @Test
  void aNodeAlternatingBetweenTwoSetsOverTheBoundIsWarnedOfEachOnce() {
    try (FleetHarness h = new FleetHarness(dir)) {
      FleetHarness.Agent n0 = hereAndOnSsd(h);
      h.apply(mounting("hdd", "{disktype: hdd}", "c2", "c3", "c4"));
      int sent = n0.sent.size();
      for (int i = 0; i < 10; i++) {
        h.fleet.labelNode("n0", Map.of("disktype", i % 2 == 0 ? "ssd" : "hdd"), List.of(), true); // either: 5 MB
        h.advance(java.time.Duration.ofSeconds(1));
      }
      assertThat(n0.sent).as("the node keeps the set it has").hasSize(sent);
      assertThat(h.fleet.events(Events.nodeKey("n0"))).filteredOn(e -> e.reason().equals("DesiredSetTooLarge")).hasSize(2);
    }
  }

  /**
   * Counting each node's set cost 32 ms of the fleet's lock per apply at 10,000 nodes (helper-180):
   * where the fleet's templates and configs together are within the bound no node's set can be
   * over, and no node is counted; where they are not, each node is.
   */
  @Test
  void aFleetOfSmallTemplatesAndConfigsIsCheckedWithoutCountingEachNode() {
    try (FleetHarness h = new FleetHarness(dir)) {
      h.agents(50);
      h.apply(configMap("small", 1000));
      h.apply(mounting("a", null, "small"));
      h.apply(mounting("b", "{disktype: ssd}", "small"));
      DesiredSetBound bound = new DesiredSetBound();
      bound.check(h.fleet.state, List.of(daemonSet(mounting("a", null, "small", "small"))), List.of(), java.time.Instant.now());
      assertThat(bound.nodesLooked).as("no node counted").isZero();

      for (int i = 0; i < 5; i++) {
        h.apply(configMap("c" + i, 1000 * 1000));
      }
      h.apply(mounting("c", "{disktype: hdd}", "c0", "c1", "c2", "c3", "c4")); // placed on none: allowed, and now the fleet's configs are 5 MB
      Map<String, Integer> kept = new java.util.TreeMap<>();
      h.fleet.state.nodes.values().forEach(n -> kept.put(n.name, n.verdictsKept()));
      bound.check(h.fleet.state, List.of(daemonSet(mounting("a", null, "small", "c0"))), List.of(), java.time.Instant.now());
      assertThat(bound.nodesLooked).as("each node counted").isEqualTo(50);
      Map<String, Integer> after = new java.util.TreeMap<>();
      h.fleet.state.nodes.values().forEach(n -> after.put(n.name, n.verdictsKept()));
      assertThat(after).as("the checked DaemonSet (a dry run's, a refused one's) judged on each node, kept by none").isEqualTo(kept);
    }
  }

  /**
   * A node whose set is over the bound already (held at its last set) refuses no apply: one joined
   * with a join token and the labels of two pools, whose DaemonSets together are over, had every
   * apply growing either refused, naming it (helper-180); it stays held, and says so.
   */
  @Test
  void aNodeAlreadyOverTheBoundRefusesNoApply() {
    try (FleetHarness h = new FleetHarness(dir)) {
      FleetHarness.Agent gpu = h.agent("gpu-0", Map.of("gpu", "true"));
      h.agent("storage-0", Map.of("storage", "true"));
      for (int i = 0; i < 6; i++) {
        h.apply(configMap("c" + i, 1000 * 1000));
      }
      h.apply(mounting("gpus", "{gpu: 'true'}", "c0", "c1", "c2"));
      h.apply(mounting("disks", "{storage: 'true'}", "c3", "c4", "c5"));
      FleetHarness.Agent both = h.agent("both", Map.of("gpu", "true", "storage", "true")); // 6 MB: held
      assertThat(both.sent).as("nothing sent to the node over the bound").isEmpty();

      h.apply(mounting("gpus", "{gpu: 'true'}", "c0", "c1", "c2").replace("local/busybox:1", "local/busybox-grown:1"));
      assertThat(gpu.sent.get(gpu.sent.size() - 1).getPods(0).getTemplateJson().toStringUtf8()).contains("busybox-grown");
      assertThat(both.sent).isEmpty();
      assertThat(h.fleet.events(Events.nodeKey("both"))).filteredOn(e -> e.reason().equals("DesiredSetTooLarge")).isNotEmpty();
    }
  }

  /**
   * Each key of a ConfigMap counts {@link DesiredSetBound#KEY_BYTES} besides its bytes: four
   * ConfigMaps of 84,000 empty keys each (a 4.0 MB set in bytes) ran every agent of the DaemonSet
   * out of its 48 MiB heap at each receipt (helper-180, on loopback with the unit's flags); one of
   * 20,000 keys, 0.2 MB, is refused, naming the node, and its DaemonSet's apply with it.
   */
  @Test
  void eachKeyOfAConfigMapCountsWhatTheAgentHoldsForIt() {
    try (FleetHarness h = new FleetHarness(dir)) {
      h.agents(2);
      String keys = IntStream.range(0, 20_000).mapToObj(i -> "\"k" + i + "\": \"\"").collect(Collectors.joining(", ", "{", "}"));
      h.apply("{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"metadata\": {\"name\": \"keys\", \"namespace\": \"ops\"}, \"data\": "
          + keys + "}");
      assertThatThrownBy(() -> h.apply(mounting("many", null, "keys")))
          .isInstanceOfSatisfying(ControlException.class, e -> assertThat(e.getMessage()).contains("node n0's desired set would be 5")
              .contains("each of their keys counted 256 bytes more"));
      assertThat(h.fleet.daemonSets()).isEmpty();
    }
  }

  private static io.dsfleet.common.model.DaemonSet daemonSet(String manifest) {
    return (io.dsfleet.common.model.DaemonSet) io.dsfleet.common.manifest.ManifestParser.parseOne(manifest);
  }
}
