package io.dsfleet.common;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * A flat YAML config file of scalar keys, checked against the keys a component knows: an unknown
 * key or a non-scalar value is refused at start with a message naming it.
 */
public final class ConfigFile {
  private ConfigFile() {}

  /**
   * @throws IllegalArgumentException naming the file and the bad key
   */
  public static Map<String, JsonNode> read(Path path, Set<String> known) {
    JsonNode root;
    try {
      root = Json.yamlMapper().readTree(Files.readString(path));
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalArgumentException("cannot read config file " + path + ": " + problem(e));
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read config file " + path + ": " + e.getMessage());
    }
    Map<String, JsonNode> out = new TreeMap<>();
    if (root == null || root.isNull() || root.isMissingNode()) {
      return out;
    }
    if (!root.isObject()) {
      throw new IllegalArgumentException("config file " + path + ": expected a map of keys");
    }
    Iterator<Map.Entry<String, JsonNode>> it = root.fields();
    while (it.hasNext()) {
      var e = it.next();
      if (!known.contains(e.getKey())) {
        throw new IllegalArgumentException("config file " + path + ": unknown key \"" + e.getKey()
            + "\" (known: " + String.join(", ", new java.util.TreeSet<>(known)) + ")");
      }
      if (!e.getValue().isNull()) {
        out.put(e.getKey(), e.getValue());
      }
    }
    return out;
  }

  /**
   * The value of the one-value key {@code key} as text (null when not given): a list or a map is
   * refused naming the key, never its value (it may be the join token). Their text is empty, which
   * read as not given: {@code podPidsLimit: [512]} ran the node's pods unbounded (helper-195).
   */
  public static String text(Map<String, JsonNode> file, String key) {
    JsonNode n = file.get(key);
    if (n != null && n.isContainerNode()) {
      throw new IllegalArgumentException("config key " + key + ": must be one value, not a list or a map");
    }
    return n == null ? null : n.asText();
  }

  /**
   * What is wrong with a file that is no YAML and where, never the text of its line: the agent's
   * config holds the join token, and a typo on its line put the token in the journal (SnakeYAML's
   * message quotes the line; helper-107).
   */
  static String problem(com.fasterxml.jackson.core.JsonProcessingException e) {
    if (e.getCause() instanceof org.yaml.snakeyaml.error.MarkedYAMLException m) { // its own message quotes the line at each mark
      var at = m.getProblemMark() != null ? m.getProblemMark() : m.getContextMark();
      String where = at == null ? "" : "line " + (at.getLine() + 1) + ", column " + (at.getColumn() + 1) + "; ";
      return (m.getContext() == null ? "" : m.getContext() + ": ") + java.util.Objects.requireNonNullElse(m.getProblem(), "not YAML")
          + " (" + where + "the line is not shown: it may hold a secret)";
    }
    var at = e.getLocation();
    return e.getOriginalMessage() + (at == null ? "" : " (line " + at.getLineNr() + ", column " + at.getColumnNr() + ")");
  }
}
