package io.dsfleet.coordinator.kubeapi;

import io.dsfleet.coordinator.fleet.ControlException;
import java.util.ArrayList;
import java.util.List;

/**
 * A list's {@code fieldSelector} ({@code kubectl get --field-selector}): terms joined by commas,
 * each {@code metadata.name} or {@code metadata.namespace} with {@code =}, {@code ==} or
 * {@code !=}. Other fields are refused (400) rather than ignored: a list that ignored them would
 * answer as if everything matched.
 */
record FieldQuery(List<String[]> terms) {
  static final FieldQuery ALL = new FieldQuery(List.of());

  /** @throws ControlException INVALID_ARGUMENT naming the term or field it cannot apply */
  static FieldQuery parse(String text) {
    if (text == null || text.isBlank()) {
      return ALL;
    }
    List<String[]> terms = new ArrayList<>();
    for (String term : text.split(",")) {
      String t = term.strip();
      boolean not = t.contains("!=");
      int at = not ? t.indexOf("!=") : t.indexOf('=');
      if (at <= 0) {
        throw new ControlException(io.grpc.Status.Code.INVALID_ARGUMENT, "invalid field selector: " + t);
      }
      String field = t.substring(0, at).strip();
      String value = t.substring(at + (not ? 2 : t.startsWith("==", at) ? 2 : 1)).strip();
      if (!field.equals("metadata.name") && !field.equals("metadata.namespace")) {
        throw new ControlException(io.grpc.Status.Code.INVALID_ARGUMENT, "field label not supported: " + field
            + " (metadata.name and metadata.namespace are)");
      }
      terms.add(new String[] {field, not ? "!=" : "=", value});
    }
    return new FieldQuery(terms);
  }

  boolean matches(String name, String namespace) {
    for (String[] t : terms) {
      String actual = t[0].equals("metadata.name") ? name : namespace;
      if (actual.equals(t[2]) != t[1].equals("=")) {
        return false;
      }
    }
    return true;
  }
}
