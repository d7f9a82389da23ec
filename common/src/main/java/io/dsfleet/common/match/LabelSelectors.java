package io.dsfleet.common.match;

import io.dsfleet.common.model.LabelSelector;
import io.dsfleet.common.model.LabelSelectorRequirement;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Label selector matching: matchLabels and matchExpressions, all ANDed. */
public final class LabelSelectors {
  private LabelSelectors() {}

  public static boolean matches(LabelSelector selector, Map<String, String> labels) {
    return mismatch(selector, labels).isEmpty();
  }

  /** Why the labels do not match, or empty when they do. An empty selector matches everything. */
  public static Optional<String> mismatch(LabelSelector selector, Map<String, String> labels) {
    if (selector == null) {
      return Optional.empty();
    }
    if (selector.matchLabels() != null) {
      for (var e : selector.matchLabels().entrySet()) {
        if (!e.getValue().equals(labels.get(e.getKey()))) {
          return Optional.of("label " + e.getKey() + "=" + e.getValue() + " does not match");
        }
      }
    }
    if (selector.matchExpressions() != null) {
      for (LabelSelectorRequirement r : selector.matchExpressions()) {
        if (!holds(r.key(), r.operator(), r.values(), labels)) {
          return Optional.of("expression " + describe(r.key(), r.operator(), r.values()) + " does not hold");
        }
      }
    }
    return Optional.empty();
  }

  /** One requirement against labels; Gt/Lt compare integers as node affinity does. */
  static boolean holds(String key, String op, List<String> values, Map<String, String> labels) {
    String v = labels.get(key);
    List<String> vals = values == null ? List.of() : values;
    return switch (op) {
      case "In" -> v != null && vals.contains(v);
      case "NotIn" -> v == null || !vals.contains(v);
      case "Exists" -> v != null;
      case "DoesNotExist" -> v == null;
      case "Gt", "Lt" -> {
        if (v == null || vals.size() != 1) {
          yield false;
        }
        try {
          long have = Long.parseLong(v);
          long want = Long.parseLong(vals.get(0));
          yield op.equals("Gt") ? have > want : have < want;
        } catch (NumberFormatException e) {
          yield false;
        }
      }
      default -> throw new IllegalArgumentException("unknown operator " + op);
    };
  }

  static String describe(String key, String op, List<String> values) {
    return switch (op) {
      case "Exists" -> key + " exists";
      case "DoesNotExist" -> key + " does not exist";
      default -> key + " " + op + " " + (values == null ? "[]" : values);
    };
  }
}
