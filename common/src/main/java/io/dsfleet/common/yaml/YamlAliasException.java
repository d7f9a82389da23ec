package io.dsfleet.common.yaml;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;

/**
 * A YAML alias ({@code *name}) where a value or key was expected. Jackson reads an alias as the
 * text of the anchor's name, which silently changes what a manifest means; it is refused instead.
 */
public final class YamlAliasException extends JsonParseException {
  private static final long serialVersionUID = 1L;

  private final String alias;
  private final String path;

  YamlAliasException(JsonParser parser, String alias, String path, JsonLocation location) {
    super(parser, "YAML aliases (*" + alias + ") are not supported: write the value out", location);
    this.alias = alias;
    this.path = path;
  }

  /** The anchor's name, without the '*'. */
  public String alias() {
    return alias;
  }

  /** Where the alias stands, as a field path ("spec.template.spec.containers[0].env[2].value"); "" at the top of a document. */
  public String path() {
    return path;
  }
}
