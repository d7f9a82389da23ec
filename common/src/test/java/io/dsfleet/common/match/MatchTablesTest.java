package io.dsfleet.common.match;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.common.Json;
import io.dsfleet.common.model.LabelSelector;
import io.dsfleet.common.model.NodeSelector;
import io.dsfleet.common.model.Taint;
import io.dsfleet.common.model.Toleration;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Named-row tables for label selectors, node affinity and taints/tolerations. */
class MatchTablesTest {
  private static final Map<String, String> NODE_LABELS =
      Map.of("disktype", "ssd", "zone", "a", "cores", "16", "kubernetes.io/os", "linux");

  static <T> T yaml(String text, Class<T> type) {
    try {
      return Json.yamlMapper().readValue(text, type);
    } catch (Exception e) {
      throw new IllegalArgumentException(e);
    }
  }

  static Stream<Arguments> selectors() {
    return Stream.of(
        Arguments.of("matchLabels equal", "{matchLabels: {disktype: ssd}}", true),
        Arguments.of("matchLabels different value", "{matchLabels: {disktype: hdd}}", false),
        Arguments.of("matchLabels missing key", "{matchLabels: {gpu: 'yes'}}", false),
        Arguments.of("matchLabels all must hold", "{matchLabels: {disktype: ssd, zone: b}}", false),
        Arguments.of("In holds", "{matchExpressions: [{key: zone, operator: In, values: [a, b]}]}", true),
        Arguments.of("In fails", "{matchExpressions: [{key: zone, operator: In, values: [c]}]}", false),
        Arguments.of("In on missing key fails", "{matchExpressions: [{key: gpu, operator: In, values: [x]}]}", false),
        Arguments.of("NotIn holds", "{matchExpressions: [{key: zone, operator: NotIn, values: [c]}]}", true),
        Arguments.of("NotIn fails", "{matchExpressions: [{key: zone, operator: NotIn, values: [a]}]}", false),
        Arguments.of("NotIn on missing key holds", "{matchExpressions: [{key: gpu, operator: NotIn, values: [x]}]}", true),
        Arguments.of("Exists holds", "{matchExpressions: [{key: zone, operator: Exists}]}", true),
        Arguments.of("Exists fails", "{matchExpressions: [{key: gpu, operator: Exists}]}", false),
        Arguments.of("DoesNotExist holds", "{matchExpressions: [{key: gpu, operator: DoesNotExist}]}", true),
        Arguments.of("DoesNotExist fails", "{matchExpressions: [{key: zone, operator: DoesNotExist}]}", false),
        Arguments.of("labels and expressions ANDed", "{matchLabels: {disktype: ssd}, matchExpressions: [{key: zone, operator: In, values: [b]}]}", false),
        Arguments.of("empty selector matches all", "{}", true));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("selectors")
  void labelSelector(String name, String selector, boolean matches) {
    LabelSelector s = yaml(selector, LabelSelector.class);
    assertThat(LabelSelectors.matches(s, NODE_LABELS)).isEqualTo(matches);
    assertThat(LabelSelectors.mismatch(s, NODE_LABELS).isPresent()).as("a no comes with a reason").isEqualTo(!matches);
  }

  static Stream<Arguments> affinities() {
    return Stream.of(
        Arguments.of("single term matches", "{nodeSelectorTerms: [{matchExpressions: [{key: disktype, operator: In, values: [ssd]}]}]}", "n1", true),
        Arguments.of("terms are ORed", "{nodeSelectorTerms: [{matchExpressions: [{key: zone, operator: In, values: [z]}]}, {matchExpressions: [{key: zone, operator: In, values: [a]}]}]}", "n1", true),
        Arguments.of("expressions in a term are ANDed", "{nodeSelectorTerms: [{matchExpressions: [{key: zone, operator: In, values: [a]}, {key: disktype, operator: In, values: [hdd]}]}]}", "n1", false),
        Arguments.of("Gt holds", "{nodeSelectorTerms: [{matchExpressions: [{key: cores, operator: Gt, values: ['8']}]}]}", "n1", true),
        Arguments.of("Gt fails", "{nodeSelectorTerms: [{matchExpressions: [{key: cores, operator: Gt, values: ['16']}]}]}", "n1", false),
        Arguments.of("Lt holds", "{nodeSelectorTerms: [{matchExpressions: [{key: cores, operator: Lt, values: ['32']}]}]}", "n1", true),
        Arguments.of("Lt on non-integer label fails", "{nodeSelectorTerms: [{matchExpressions: [{key: zone, operator: Lt, values: ['3']}]}]}", "n1", false),
        Arguments.of("matchFields name In", "{nodeSelectorTerms: [{matchFields: [{key: metadata.name, operator: In, values: [n1]}]}]}", "n1", true),
        Arguments.of("matchFields name In other node", "{nodeSelectorTerms: [{matchFields: [{key: metadata.name, operator: In, values: [n2]}]}]}", "n1", false),
        Arguments.of("matchFields name NotIn", "{nodeSelectorTerms: [{matchFields: [{key: metadata.name, operator: NotIn, values: [n2]}]}]}", "n1", true),
        Arguments.of("fields and expressions ANDed", "{nodeSelectorTerms: [{matchExpressions: [{key: zone, operator: In, values: [a]}], matchFields: [{key: metadata.name, operator: In, values: [n2]}]}]}", "n1", false),
        Arguments.of("empty term matches nothing", "{nodeSelectorTerms: [{}]}", "n1", false));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("affinities")
  void requiredNodeAffinity(String name, String selector, String nodeName, boolean matches) {
    NodeSelector s = yaml(selector, NodeSelector.class);
    var why = NodeMatch.requiredAffinity(s, nodeName, NODE_LABELS);
    assertThat(why.isEmpty()).isEqualTo(matches);
    why.ifPresent(w -> assertThat(w).startsWith("node affinity does not match"));
  }

  static Stream<Arguments> taints() {
    return Stream.of(
        Arguments.of("Equal same key value effect", "{key: k, operator: Equal, value: v, effect: NoSchedule}", "k=v:NoSchedule", true),
        Arguments.of("Equal is the default operator", "{key: k, value: v}", "k=v:NoExecute", true),
        Arguments.of("Equal different value", "{key: k, operator: Equal, value: w}", "k=v:NoSchedule", false),
        Arguments.of("Equal empty value vs taint without value", "{key: k}", "k:NoSchedule", true),
        Arguments.of("Exists ignores value", "{key: k, operator: Exists}", "k=v:NoSchedule", true),
        Arguments.of("different key", "{key: other, operator: Exists}", "k=v:NoSchedule", false),
        Arguments.of("empty key with Exists tolerates everything", "{operator: Exists}", "k=v:NoExecute", true),
        Arguments.of("empty effect matches every effect", "{key: k, operator: Exists}", "k:PreferNoSchedule", true),
        Arguments.of("effect must match when set", "{key: k, operator: Exists, effect: NoSchedule}", "k:NoExecute", false),
        Arguments.of("NoExecute toleration for NoExecute taint", "{key: k, operator: Exists, effect: NoExecute, tolerationSeconds: 30}", "k:NoExecute", true));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("taints")
  void tolerates(String name, String toleration, String taint, boolean tolerated) {
    assertThat(Taints.tolerates(yaml(toleration, Toleration.class), Taint.parse(taint))).isEqualTo(tolerated);
  }
}
