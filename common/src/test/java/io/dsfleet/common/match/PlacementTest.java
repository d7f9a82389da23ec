package io.dsfleet.common.match;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dsfleet.common.manifest.Fixtures;
import io.dsfleet.common.model.DaemonSet;
import io.dsfleet.common.model.Node;
import io.dsfleet.common.model.Taint;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** NodeShouldRunDaemonPod, one named row per rule: (should run, should continue running, reason). */
class PlacementTest {
  private static final Instant NOW = Instant.parse("2026-01-01T00:00:00Z");
  private static final String POD = "spec.template.spec";

  static Stream<Arguments> rows() {
    return Stream.of(
        Arguments.of("plain node runs it", null, null, List.of(), Map.of(), false, true, true, null),
        Arguments.of("nodeSelector match", POD + ".nodeSelector", "{disktype: ssd}", List.of(), Map.of("disktype", "ssd"), false, true, true, null),
        Arguments.of("nodeSelector mismatch stops it everywhere", POD + ".nodeSelector", "{disktype: ssd}", List.of(), Map.of(), false, false, false, "node selector disktype=ssd does not match"),
        Arguments.of("affinity mismatch", POD + ".affinity", "{nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [{matchExpressions: [{key: zone, operator: In, values: [b]}]}]}}}", List.of(), Map.of("zone", "a"), false, false, false, "node affinity does not match: zone In [b] does not hold"),
        Arguments.of("untolerated NoSchedule: misscheduled but stays", null, null, List.of("dedicated=gpu:NoSchedule"), Map.of(), false, false, true, "taint dedicated=gpu:NoSchedule not tolerated"),
        Arguments.of("untolerated NoExecute: removed", null, null, List.of("dedicated=gpu:NoExecute"), Map.of(), false, false, false, "taint dedicated=gpu:NoExecute not tolerated"),
        Arguments.of("PreferNoSchedule ignored", null, null, List.of("soft:PreferNoSchedule"), Map.of(), false, true, true, null),
        Arguments.of("tolerated NoExecute", POD + ".tolerations", "[{key: dedicated, operator: Exists}]", List.of("dedicated=gpu:NoExecute"), Map.of(), false, true, true, null),
        Arguments.of("automatic unreachable toleration", null, null, List.of("node.kubernetes.io/unreachable:NoExecute", "node.kubernetes.io/unreachable:NoSchedule"), Map.of(), false, false, true, "taint node.kubernetes.io/unreachable:NoSchedule not tolerated"),
        Arguments.of("automatic not-ready NoExecute toleration", null, null, List.of("node.kubernetes.io/not-ready:NoExecute"), Map.of(), false, true, true, null),
        Arguments.of("automatic unschedulable toleration (cordon)", null, null, List.of("node.kubernetes.io/unschedulable:NoSchedule"), Map.of(), false, true, true, null),
        Arguments.of("automatic disk-pressure toleration", null, null, List.of("node.kubernetes.io/disk-pressure:NoSchedule"), Map.of(), false, true, true, null),
        Arguments.of("network-unavailable not tolerated without hostNetwork", null, null, List.of("node.kubernetes.io/network-unavailable:NoSchedule"), Map.of(), false, false, true, "taint node.kubernetes.io/network-unavailable:NoSchedule not tolerated"),
        Arguments.of("network-unavailable tolerated with hostNetwork", POD + ".hostNetwork", "true", List.of("node.kubernetes.io/network-unavailable:NoSchedule"), Map.of(), false, true, true, null),
        Arguments.of("tolerationSeconds not yet run out", POD + ".tolerations", "[{key: maint, operator: Exists, effect: NoExecute, tolerationSeconds: 60}]", List.of("maint:NoExecute"), Map.of(), true, true, true, null),
        Arguments.of("tolerationSeconds run out", POD + ".tolerations", "[{key: maint, operator: Exists, effect: NoExecute, tolerationSeconds: 10}]", List.of("maint:NoExecute"), Map.of(), true, false, false, "taint maint:NoExecute tolerated only for 10s"),
        // AddOrUpdateTolerationInPodSpec: the DaemonSet's own tolerations replace the user's for the same key and effect
        Arguments.of("unreachable with a user tolerationSeconds: replaced by the automatic one, never evicted", POD + ".tolerations",
            "[{key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 10}]",
            List.of("node.kubernetes.io/unreachable:NoExecute"), Map.of(), true, true, true, null),
        Arguments.of("not-ready with a user tolerationSeconds: replaced, never evicted", POD + ".tolerations",
            "[{key: node.kubernetes.io/not-ready, operator: Equal, effect: NoExecute, tolerationSeconds: 0}]",
            List.of("node.kubernetes.io/not-ready:NoExecute"), Map.of(), true, true, true, null),
        // the taint manager: for each taint the first toleration that tolerates it, then the shortest time of those
        Arguments.of("the first matching toleration's time counts, not the longest", POD + ".tolerations",
            "[{key: maint, operator: Exists, effect: NoExecute, tolerationSeconds: 10}, {operator: Exists, effect: NoExecute}]",
            List.of("maint:NoExecute"), Map.of(), true, false, false, "taint maint:NoExecute tolerated only for 10s"),
        Arguments.of("several tolerated taints: the shortest time evicts", POD + ".tolerations",
            "[{key: a, operator: Exists, effect: NoExecute}, {key: b, operator: Exists, effect: NoExecute, tolerationSeconds: 20}]",
            List.of("a:NoExecute", "b:NoExecute"), Map.of(), true, false, false, "taint b:NoExecute tolerated only for 20s"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("rows")
  void verdict(String name, String path, String value, List<String> taints, Map<String, String> labels,
      boolean taintAddedThirtySecondsAgo, boolean shouldRun, boolean shouldContinue, String reason) {
    ObjectNode tree = Fixtures.baseTree();
    if (path != null) {
      Fixtures.with(tree, path, value);
    }
    DaemonSet ds = (DaemonSet) Fixtures.parse(tree).get(0).object();
    Instant added = taintAddedThirtySecondsAgo ? NOW.minusSeconds(30) : null;
    List<Taint> nodeTaints = taints.stream().map(Taint::parse).map(t -> new Taint(t.key(), t.value(), t.effect(), added)).toList();
    var v = Placement.evaluate(ds, new Node("n1", labels, nodeTaints, false), NOW);
    assertThat(v.shouldRun()).as("shouldRun").isEqualTo(shouldRun);
    assertThat(v.shouldContinueRunning()).as("shouldContinueRunning").isEqualTo(shouldContinue);
    assertThat(v.reason()).isEqualTo(reason);
    if (name.equals("tolerationSeconds not yet run out")) {
      assertThat(v.evictAt()).isEqualTo(NOW.plusSeconds(30));
    }
  }
}
