package io.dsfleet.coordinator.kubeapi;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dsfleet.common.manifest.Problem;
import java.util.ArrayList;
import java.util.List;

/** 422 Invalid as the API server words it: a cause for each problem, with the field it names, which kubectl prints. */
final class Invalids {
  private Invalids() {}

  /** A problem the fleet's apply names: a field path, then one of Kubernetes' reasons ("spec.selector: Invalid value: ..."). */
  private static final String NAMED = "([A-Za-z][\\w.\\[\\]/-]*): ((?:Forbidden|Invalid value|Required value|Unsupported value"
      + "|Duplicate value|Too many|Not found):";
  private static final java.util.regex.Pattern FIELD = java.util.regex.Pattern.compile(NAMED + ".*)", java.util.regex.Pattern.DOTALL);

  /**
   * The problems of an apply the fleet refused (several joined by "; "), each with the field it
   * names as its cause's field: kubectl prints a cause as its field, ": " and its message. Until
   * 2026-12-08 one cause without a field, printed `The DaemonSet "x" is invalid: : spec.selector: ...`.
   */
  static List<Problem> problems(String message) {
    List<Problem> out = new ArrayList<>();
    for (String one : message.split("; (?=" + NAMED + "))")) {
      java.util.regex.Matcher m = FIELD.matcher(one);
      out.add(m.matches() ? new Problem(m.group(1), m.group(2)) : new Problem("", one));
    }
    return out;
  }

  /** 422 Invalid with each problem a cause, as `The DaemonSet "x" is invalid: spec...: Required value`. */
  static KubeWrites.KubeError of(KubeWrites.Kind kind, String name, List<Problem> problems) {
    String joined = problems.size() == 1 ? problems.get(0).toString().replaceFirst("^: ", "")
        : "[" + String.join(", ", problems.stream().map(Problem::toString).toList()) + "]";
    ObjectNode s = KubeObjects.status(422, "Invalid", kind.kind + (kind.group.isEmpty() ? "" : "." + kind.group) + " \"" + name
        + "\" is invalid: " + joined);
    ObjectNode details = s.putObject("details").put("name", name).put("group", kind.group).put("kind", kind.kind);
    ArrayNode causes = details.putArray("causes");
    for (Problem p : problems) {
      ObjectNode c = causes.addObject().put("reason", reason(p.message())).put("message", p.message());
      if (!p.path().isEmpty()) {
        c.put("field", p.path());
      }
    }
    return new KubeWrites.KubeError(s);
  }

  private static String reason(String message) {
    return message.startsWith("Required value") ? "FieldValueRequired" : message.startsWith("Unsupported value") ? "FieldValueNotSupported"
        : message.startsWith("Duplicate value") ? "FieldValueDuplicate" : message.startsWith("Forbidden") ? "FieldValueForbidden"
            : message.startsWith("Too many") ? "FieldValueTooMany" : message.startsWith("Not found") ? "FieldValueNotFound"
                : "FieldValueInvalid";
  }
}
