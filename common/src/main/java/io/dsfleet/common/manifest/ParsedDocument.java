package io.dsfleet.common.manifest;

import io.dsfleet.common.model.KubeObject;
import java.util.List;

/**
 * One document of a manifest stream, after parsing.
 *
 * @param index 1-based position in the stream
 * @param kind the document's kind, or "" when it has none
 * @param name metadata.name, or "" when it has none
 * @param object the parsed, defaulted and valid object; null when skipped or invalid
 * @param skipNote why a document of another kind was skipped; null otherwise
 */
public record ParsedDocument(
    String source,
    int index,
    String kind,
    String name,
    KubeObject object,
    List<String> warnings,
    List<Problem> errors,
    String skipNote) {

  public ParsedDocument {
    warnings = List.copyOf(warnings);
    errors = List.copyOf(errors);
  }

  public boolean valid() {
    return errors.isEmpty();
  }

  public boolean skipped() {
    return skipNote != null;
  }

  /** "source#index Kind/name", for messages. */
  public String label() {
    String what = kind.isEmpty() ? "(no kind)" : kind + "/" + (name.isEmpty() ? "(no name)" : name);
    return source + "#" + index + " " + what;
  }
}
