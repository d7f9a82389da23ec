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
      if (!field.equals("metadata.name") && !field.equals("metadata.namespace") && !EVENT_FIELDS.contains(field)) {
        throw new ControlException(io.grpc.Status.Code.INVALID_ARGUMENT, "field label not supported: " + field
            + " (metadata.name and metadata.namespace are; for events also " + String.join(", ", EVENT_FIELDS) + ")");
      }
      terms.add(new String[] {field, not ? "!=" : "=", value});
    }
    return new FieldQuery(terms);
  }

  /** The fields of an event a selector may name (kubectl describe asks for an object's events by them). */
  static final List<String> EVENT_FIELDS = List.of("involvedObject.kind", "involvedObject.name", "involvedObject.namespace",
      "involvedObject.uid", "involvedObject.apiVersion", "reason", "type");

  /** @throws ControlException INVALID_ARGUMENT when the selector names a field only events have */
  boolean matches(String name, String namespace) {
    for (String[] t : terms) {
      if (EVENT_FIELDS.contains(t[0])) {
        throw new ControlException(io.grpc.Status.Code.INVALID_ARGUMENT, "field label not supported: " + t[0]
            + " (metadata.name and metadata.namespace are)");
      }
    }
    return matches(java.util.Map.of("metadata.name", name, "metadata.namespace", namespace));
  }

  /** Whether an object with these field values matches (a field it has not is ""). */
  boolean matches(java.util.Map<String, String> values) {
    for (String[] t : terms) {
      String actual = values.getOrDefault(t[0], "");
      if (actual.equals(t[2]) != t[1].equals("=")) {
        return false;
      }
    }
    return true;
  }
}
