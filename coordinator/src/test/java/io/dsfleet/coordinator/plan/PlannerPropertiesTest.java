package io.dsfleet.coordinator.plan;

import static org.assertj.core.api.Assertions.assertThat;
import static org.quicktheories.QuickTheory.qt;

import io.dsfleet.common.TemplateHash;
import io.dsfleet.common.manifest.Fixtures;
import io.dsfleet.common.match.DaemonTolerations;
import io.dsfleet.common.match.Taints;
import io.dsfleet.common.model.DaemonSet;
import io.dsfleet.common.model.Node;
import io.dsfleet.common.model.Taint;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Safety properties of the planner over random fleets: random DaemonSets (selectors, affinity,
 * tolerations), random nodes (labels, taints) and random observed pods. Each case is a list of
 * choices the property draws from ({@link Choices}): QuickTheories shrinks a failing one and names
 * its seed, so it can be replayed (-DQT_SEED=N).
 */
class PlannerPropertiesTest {
  static final Instant NOW = Instant.parse("2026-01-01T00:00:00Z");
  static final String[] KEYS = {"disktype", "zone", "gpu"};
  static final String[] VALUES = {"a", "b", "ssd"};
  static final String[] TAINT_KEYS = {"dedicated", "maint", DaemonTolerations.UNREACHABLE, DaemonTolerations.DISK_PRESSURE};
  static final String[] EFFECTS = {Taint.NO_SCHEDULE, Taint.PREFER_NO_SCHEDULE, Taint.NO_EXECUTE};

  static String pick(Random r, String[] from) {
    return from[r.nextInt(from.length)];
  }

  /** The node affinity a generated DaemonSet requires: a label key that must exist on the node, or must not. */
  record Affinity(String key, boolean exists) {
    boolean matches(Node n) {
      return n.labels().containsKey(key) == exists;
    }
  }

  static DsInfo randomDs(Random r, int i, Map<String, Affinity> affinities) {
    var tree = Fixtures.with(Fixtures.baseTree(), "metadata.name", "ds" + i);
    if (r.nextBoolean()) {
      Fixtures.with(tree, "spec.template.spec.nodeSelector", "{" + pick(r, KEYS) + ": " + pick(r, VALUES) + "}");
    }
    if (r.nextInt(3) == 0) {
      Affinity a = new Affinity(pick(r, KEYS), r.nextBoolean());
      affinities.put("ops/ds" + i, a);
      Fixtures.with(tree, "spec.template.spec.affinity", "{nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: "
          + "{nodeSelectorTerms: [{matchExpressions: [{key: " + a.key() + ", operator: " + (a.exists() ? "Exists" : "DoesNotExist")
          + "}]}]}}}");
    }
    List<String> tolerations = new ArrayList<>();
    for (int t = r.nextInt(3); t > 0; t--) {
      tolerations.add(r.nextBoolean() ? "{key: " + pick(r, TAINT_KEYS) + ", operator: Exists}"
          : "{key: " + pick(r, TAINT_KEYS) + ", operator: Exists, effect: " + pick(r, EFFECTS) + "}");
    }
    if (!tolerations.isEmpty()) {
      Fixtures.with(tree, "spec.template.spec.tolerations", tolerations.toString());
    }
    DaemonSet d = (DaemonSet) Fixtures.parse(tree).get(0).object();
    return new DsInfo("ops/ds" + i, d, 1, TemplateHash.of(d.spec().template()));
  }

  static Node randomNode(Random r, int i) {
    Map<String, String> labels = new HashMap<>();
    for (String k : KEYS) {
      if (r.nextBoolean()) {
        labels.put(k, pick(r, VALUES));
      }
    }
    Set<Taint> taints = new HashSet<>();
    for (int t = r.nextInt(3); t > 0; t--) {
      taints.add(Taint.of(pick(r, TAINT_KEYS), "", pick(r, EFFECTS)));
    }
    return new Node("n" + i, labels, List.copyOf(taints), false);
  }

  @Test
  void safety() {
    qt().withExamples(Integer.getInteger("QT_EXAMPLES", 300)).forAll(Choices.upTo(600)).checkAssert(this::safetyCase);
  }

  private void safetyCase(Random r) {
    List<DsInfo> dss = new ArrayList<>();
    Map<String, Affinity> affinities = new HashMap<>();
    for (int i = 0, n = 1 + r.nextInt(4); i < n; i++) {
      dss.add(randomDs(r, i, affinities));
    }
    for (int i = 0; i < 20; i++) {
      Node node = randomNode(r, i);
      Map<String, List<ObservedPod>> observed = new HashMap<>();
      for (DsInfo d : dss) {
        if (r.nextBoolean()) {
          observed.put(d.key(), List.of(new ObservedPod(d.key(), Planner.podName(d.name(), node.name()),
              r.nextBoolean() ? d.hash() : "old0000000", true, NOW)));
        }
      }
      NodePlan plan = Planner.planNode(dss, node, observed, NOW);

      // never two pods of one DaemonSet on a node
      assertThat(plan.desired().stream().map(PodAssignment::dsKey).distinct().count())
          .as("one pod per DaemonSet per node").isEqualTo(plan.desired().size());

      for (PodAssignment p : plan.desired()) {
        DsInfo d = dss.stream().filter(x -> x.key().equals(p.dsKey())).findFirst().orElseThrow();
        var tolerations = DaemonTolerations.effective(d.ds().spec().template().spec());
        boolean isNew = !observed.containsKey(d.key());
        // never a new pod on a node with an untolerated NoSchedule or NoExecute taint
        if (isNew) {
          assertThat(Taints.firstUntolerated(node.taints(), tolerations, t -> !t.effect().equals(Taint.PREFER_NO_SCHEDULE)))
              .as("new pod of %s on %s despite %s", d.key(), node.name(), node.taints()).isEmpty();
        }
        // never any pod on a node with an untolerated NoExecute taint
        assertThat(Taints.firstUntolerated(node.taints(), tolerations, t -> t.effect().equals(Taint.NO_EXECUTE)))
            .as("NoExecute").isEmpty();
        // a pod only where the node selector matches
        var selector = d.ds().spec().template().spec().nodeSelector();
        if (selector != null) {
          selector.forEach((k, v) -> assertThat(node.labels()).as("the node selector %s", selector).containsEntry(k, v));
        }
        // and only where the required node affinity matches
        Affinity a = affinities.get(d.key());
        assertThat(a == null || a.matches(node)).as("%s on %s despite its affinity %s", d.key(), node.name(), a)
            .isTrue();
      }
      // and a new pod wherever everything matches: selector, affinity, taints tolerated
      for (DsInfo d : dss) {
        var spec = d.ds().spec().template().spec();
        boolean fits = (spec.nodeSelector() == null || node.labels().entrySet().containsAll(spec.nodeSelector().entrySet()))
            && (affinities.get(d.key()) == null || affinities.get(d.key()).matches(node))
            && Taints.firstUntolerated(node.taints(), DaemonTolerations.effective(spec), t -> !t.effect().equals(Taint.PREFER_NO_SCHEDULE))
                .isEmpty();
        if (fits && !observed.containsKey(d.key())) {
          assertThat(plan.desired()).as("%s fits %s", d.key(), node.name()).anyMatch(p -> p.dsKey().equals(d.key()));
        }
      }
    }
    // a node matching nothing gets nothing
    Node stranger = new Node("stranger", Map.of(), List.of(Taint.of("nobody-tolerates-this", "", Taint.NO_EXECUTE)), false);
    boolean anyToleratesAll = dss.stream().anyMatch(d -> DaemonTolerations.effective(d.ds().spec().template().spec()).stream()
        .anyMatch(t -> t.key() == null || t.key().isEmpty()));
    if (!anyToleratesAll) {
      assertThat(Planner.planNode(dss, stranger, Map.of(), NOW).desired()).as("a node no DaemonSet tolerates").isEmpty();
    }
  }
}
