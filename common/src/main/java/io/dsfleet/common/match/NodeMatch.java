package io.dsfleet.common.match;

import io.dsfleet.common.model.NodeSelector;
import io.dsfleet.common.model.NodeSelectorRequirement;
import io.dsfleet.common.model.NodeSelectorTerm;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** nodeSelector and required node affinity against a node's name and labels. */
public final class NodeMatch {
  private NodeMatch() {}

  /** Every pair of the nodeSelector must be a label of the node. */
  public static Optional<String> nodeSelector(Map<String, String> nodeSelector, Map<String, String> labels) {
    if (nodeSelector == null) {
      return Optional.empty();
    }
    for (var e : new java.util.TreeMap<>(nodeSelector).entrySet()) {
      if (!e.getValue().equals(labels.get(e.getKey()))) {
        return Optional.of("node selector " + e.getKey() + "=" + e.getValue() + " does not match");
      }
    }
    return Optional.empty();
  }

  /**
   * Required node affinity: terms are ORed; within a term every matchExpression and matchField must
   * hold. A term with no requirements matches nothing (Kubernetes semantics).
   */
  public static Optional<String> requiredAffinity(NodeSelector required, String nodeName, Map<String, String> labels) {
    if (required == null || required.nodeSelectorTerms() == null) {
      return Optional.empty();
    }
    List<String> failures = new ArrayList<>();
    for (NodeSelectorTerm term : required.nodeSelectorTerms()) {
      Optional<String> why = term(term, nodeName, labels);
      if (why.isEmpty()) {
        return Optional.empty();
      }
      failures.add(why.get());
    }
    return Optional.of("node affinity does not match: " + String.join("; or ", failures));
  }

  private static Optional<String> term(NodeSelectorTerm term, String nodeName, Map<String, String> labels) {
    List<NodeSelectorRequirement> exprs = term.matchExpressions() == null ? List.of() : term.matchExpressions();
    List<NodeSelectorRequirement> fields = term.matchFields() == null ? List.of() : term.matchFields();
    if (exprs.isEmpty() && fields.isEmpty()) {
      return Optional.of("empty term matches no node");
    }
    for (NodeSelectorRequirement r : exprs) {
      if (!LabelSelectors.holds(r.key(), r.operator(), r.values(), labels)) {
        return Optional.of(LabelSelectors.describe(r.key(), r.operator(), r.values()) + " does not hold");
      }
    }
    for (NodeSelectorRequirement r : fields) {
      // validation allows only metadata.name with In/NotIn
      if (!LabelSelectors.holds("metadata.name", r.operator(), r.values(), Map.of("metadata.name", nodeName))) {
        return Optional.of(LabelSelectors.describe("metadata.name", r.operator(), r.values()) + " does not hold");
      }
    }
    return Optional.empty();
  }
}
