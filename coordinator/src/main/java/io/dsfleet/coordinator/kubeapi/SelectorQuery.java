package io.dsfleet.coordinator.kubeapi;

import io.dsfleet.common.manifest.Names;
import io.dsfleet.common.model.LabelSelector;
import io.dsfleet.common.model.LabelSelectorRequirement;
import io.dsfleet.coordinator.fleet.ControlException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A list's {@code labelSelector} query as kubectl sends it ({@code -l}): terms joined by commas,
 * each {@code k=v}, {@code k==v}, {@code k!=v}, {@code k in (a,b)}, {@code k notin (a,b)}, {@code k}
 * or {@code !k}, read into a LabelSelector of match expressions (Kubernetes' semantics: {@code !=}
 * and {@code notin} also match objects without the key). Keys and values are checked as labels'
 * (so {@code a=b=c} is refused); the numeric {@code k>1} and {@code k<1} are not served.
 */
final class SelectorQuery {
  private SelectorQuery() {}

  /** @throws ControlException INVALID_ARGUMENT naming the term it cannot read */
  static LabelSelector parse(String text) {
    List<LabelSelectorRequirement> terms = new ArrayList<>();
    for (String term : split(text)) {
      String t = term.strip();
      if (t.isEmpty()) {
        continue;
      }
      java.util.regex.Matcher set = SET.matcher(t);
      String[] words = t.split("\\s+", 3);
      if (set.matches()) {
        terms.add(new LabelSelectorRequirement(set.group(1), set.group(2).equals("in") ? "In" : "NotIn", Arrays.stream(set.group(3).split(","))
            .map(String::strip).filter(v -> !v.isEmpty()).toList()));
      } else if (t.contains("!=")) {
        terms.add(new LabelSelectorRequirement(t.substring(0, t.indexOf("!=")).strip(), "NotIn", List.of(t.substring(t.indexOf("!=") + 2).strip())));
      } else if (t.contains("=")) {
        int eq = t.indexOf('=');
        String value = t.substring(t.startsWith("==", eq) ? eq + 2 : eq + 1).strip(); // a=b=c: the value b=c, refused below
        terms.add(new LabelSelectorRequirement(t.substring(0, eq).strip(), "In", List.of(value)));
      } else if (t.startsWith("!")) {
        terms.add(new LabelSelectorRequirement(t.substring(1).strip(), "DoesNotExist", List.of()));
      } else if (words.length == 1) {
        terms.add(new LabelSelectorRequirement(t, "Exists", List.of()));
      } else {
        throw bad(t);
      }
    }
    for (LabelSelectorRequirement r : terms) {
      String keyProblem = Names.qualifiedName(r.key());
      if (keyProblem != null) {
        throw new ControlException(io.grpc.Status.Code.INVALID_ARGUMENT, "unable to parse requirement: invalid label key \"" + r.key()
            + "\": " + keyProblem);
      }
      if ((r.operator().equals("In") || r.operator().equals("NotIn")) && r.values().isEmpty()) {
        throw new ControlException(io.grpc.Status.Code.INVALID_ARGUMENT, "unable to parse requirement: " + r.key() + " "
            + r.operator().toLowerCase(java.util.Locale.ROOT) + " needs at least one value");
      }
      for (String v : r.values()) {
        String valueProblem = Names.labelValue(v);
        if (valueProblem != null) {
          throw new ControlException(io.grpc.Status.Code.INVALID_ARGUMENT, "unable to parse requirement: invalid label value \"" + v
              + "\": " + valueProblem);
        }
      }
    }
    return new LabelSelector(null, terms);
  }

  /** {@code key in (a,b)} or {@code key notin (a,b)}, a space before the parenthesis or not. */
  private static final java.util.regex.Pattern SET = java.util.regex.Pattern.compile("(\\S+)\\s+(in|notin)\\s*\\((.*)\\)");

  /** The terms: commas outside parentheses separate them. */
  private static List<String> split(String text) {
    List<String> out = new ArrayList<>();
    int depth = 0;
    int start = 0;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      depth += c == '(' ? 1 : c == ')' ? -1 : 0;
      if (c == ',' && depth == 0) {
        out.add(text.substring(start, i));
        start = i + 1;
      }
    }
    out.add(text.substring(start));
    return out;
  }

  private static ControlException bad(String term) {
    return new ControlException(io.grpc.Status.Code.INVALID_ARGUMENT, "unable to parse requirement: " + term);
  }
}
