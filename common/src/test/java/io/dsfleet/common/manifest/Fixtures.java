package io.dsfleet.common.manifest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dsfleet.common.Json;
import io.dsfleet.common.model.DaemonSet;
import java.util.List;

/** A valid base DaemonSet and a way to change one field of it by path, for table tests. */
public final class Fixtures {
  public static final String BASE = """
      apiVersion: apps/v1
      kind: DaemonSet
      metadata:
        name: agent
        namespace: ops
        labels: {app: agent}
      spec:
        selector:
          matchLabels: {app: agent}
        template:
          metadata:
            labels: {app: agent, tier: node}
          spec:
            containers:
            - name: main
              image: local/busybox:1
              command: [sh, -c, "sleep 1000"]
              ports:
              - {name: http, containerPort: 8080}
              env:
              - {name: NODE, valueFrom: {fieldRef: {fieldPath: spec.nodeName}}}
              volumeMounts:
              - {name: logs, mountPath: /var/log/host, readOnly: true}
              readinessProbe:
                httpGet: {port: http}
            volumes:
            - name: logs
              hostPath: {path: /var/log, type: Directory}
      """;

  private Fixtures() {}

  public static ObjectNode baseTree() {
    try {
      return (ObjectNode) Json.yamlMapper().readTree(BASE);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** Sets (or with value null removes) the field at a dotted path such as {@code spec.template.spec.containers[0].name}. */
  public static ObjectNode with(ObjectNode root, String path, String yamlValue) {
    String[] parts = path.split("\\.");
    JsonNode node = root;
    for (int i = 0; i < parts.length - 1; i++) {
      node = step(node, parts[i], true);
    }
    String last = parts[parts.length - 1];
    try {
      JsonNode value = yamlValue == null ? null : Json.yamlMapper().readTree(yamlValue);
      if (last.endsWith("]")) {
        String field = last.substring(0, last.indexOf('['));
        int idx = Integer.parseInt(last.substring(last.indexOf('[') + 1, last.length() - 1));
        ArrayNode array = node.get(field) instanceof ArrayNode a ? a : ((ObjectNode) node).putArray(field);
        while (array.size() <= idx) {
          array.addObject();
        }
        array.set(idx, value);
      } else if (value == null) {
        ((ObjectNode) node).remove(last);
      } else {
        ((ObjectNode) node).set(last, value);
      }
    } catch (Exception e) {
      throw new IllegalArgumentException(e);
    }
    return root;
  }

  private static JsonNode step(JsonNode node, String part, boolean create) {
    if (part.endsWith("]")) {
      String field = part.substring(0, part.indexOf('['));
      int idx = Integer.parseInt(part.substring(part.indexOf('[') + 1, part.length() - 1));
      ArrayNode array = node.get(field) instanceof ArrayNode a ? a : ((ObjectNode) node).putArray(field);
      while (array.size() <= idx) {
        array.addObject();
      }
      return array.get(idx);
    }
    JsonNode child = node.get(part);
    if (child == null || !child.isObject()) {
      child = ((ObjectNode) node).putObject(part);
    }
    return child;
  }

  public static List<ParsedDocument> parse(JsonNode tree) {
    return ManifestParser.parse(Json.canonical(tree), "test");
  }

  public static DaemonSet baseDaemonSet() {
    return (DaemonSet) ManifestParser.parse(BASE, "test").get(0).object();
  }
}
