package io.dsfleet.coordinator.kubeapi;

import io.dsfleet.coordinator.fleet.ControlException;
import java.util.ArrayList;
import java.util.List;

/**
 * A list's {@code fieldSelector} ({@code kubectl get --field-selector}): terms joined by commas,
 * each {@code metadata.name} or {@code metadata.namespace} with {@code =}, {@code ==} or
 * {@code !=}, and the fields of events and pods Kubernetes selects them by. Other fields are
 * refused (400) rather than ignored: a list that ignored them would answer as if everything
 * matched.
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
      if (!field.equals("metadata.name") && !field.equals("metadata.namespace") && !EVENT_FIELDS.contains(field)
          && !POD_FIELDS.contains(field)) {
        throw new ControlException(io.grpc.Status.Code.INVALID_ARGUMENT, "field label not supported: " + field
            + " (metadata.name and metadata.namespace are; for events also " + String.join(", ", EVENT_FIELDS) + "; for pods also "
            + String.join(", ", POD_FIELDS) + ")");
      }
      terms.add(new String[] {field, not ? "!=" : "=", value});
    }
    return new FieldQuery(terms);
  }

  /** The fields of an event a selector may name (kubectl describe asks for an object's events by them). */
  static final List<String> EVENT_FIELDS = List.of("involvedObject.kind", "involvedObject.name", "involvedObject.namespace",
      "involvedObject.uid", "involvedObject.apiVersion", "reason", "type");

  /**
   * The fields of a pod a selector may name besides its metadata: {@code kubectl drain} lists a
   * node's pods by {@code spec.nodeName}, and operators do (before 2026-12-06 both were refused).
   */
  static final List<String> POD_FIELDS = List.of("spec.nodeName", "status.phase");

  /** @throws ControlException INVALID_ARGUMENT when the selector names a field only events or pods have */
  boolean matches(String name, String namespace) {
    return matches(java.util.Map.of("metadata.name", name, "metadata.namespace", namespace));
  }

  /**
   * Whether an object with these field values matches.
   *
   * @throws ControlException INVALID_ARGUMENT when the selector names a field this kind has not
   */
  boolean matches(java.util.Map<String, String> values) {
    for (String[] t : terms) {
      String actual = values.get(t[0]);
      if (actual == null) {
        throw new ControlException(io.grpc.Status.Code.INVALID_ARGUMENT, "field label not supported: " + t[0] + " (here: "
            + String.join(", ", new java.util.TreeSet<>(values.keySet())) + ")");
      }
      if (actual.equals(t[2]) != t[1].equals("=")) {
        return false;
      }
    }
    return true;
  }
}
