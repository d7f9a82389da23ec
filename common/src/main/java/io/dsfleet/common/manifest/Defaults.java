package io.dsfleet.common.manifest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Kubernetes defaulting, applied to a schema-checked tree before it is bound to records, so the
 * stored object, the template hash and validation all see the defaulted form (as the API server
 * does). Values: maxUnavailable 1, maxSurge 0, revisionHistoryLimit 10, minReadySeconds 0,
 * restartPolicy Always, terminationGracePeriodSeconds 30, imagePullPolicy Always for :latest or
 * untagged images and IfNotPresent otherwise, port protocol TCP, probe period 10 s, timeout 1 s,
 * success 1, failure 3, httpGet path "/" and scheme HTTP, volume defaultMode 0644. A string field Kubernetes
 * defaults when "" and a probe's number it defaults when 0 are defaulted then too ({@link #unset}); a fieldRef's
 * apiVersion "" is taken as absent ({@link #fieldRefs}). An httpGet's path "" is kept: always accepted, made "/" it
 * would give a DaemonSet stored with it a new template hash, a new pod on every node, at its next apply.
 */
final class Defaults {
  static final int DEFAULT_MODE = 0644;

  private Defaults() {}

  static void daemonSet(ObjectNode ds) {
    ObjectNode meta = obj(ds, "metadata");
    unset(meta, "namespace", meta.textNode("default"));
    ObjectNode spec = obj(ds, "spec");
    spec.putIfAbsent("revisionHistoryLimit", spec.numberNode(10));
    spec.putIfAbsent("minReadySeconds", spec.numberNode(0));
    ObjectNode strategy = obj(spec, "updateStrategy");
    unset(strategy, "type", strategy.textNode("RollingUpdate"));
    if ("RollingUpdate".equals(strategy.path("type").asText())) {
      ObjectNode ru = obj(strategy, "rollingUpdate");
      ru.putIfAbsent("maxUnavailable", ru.numberNode(1));
      ru.putIfAbsent("maxSurge", ru.numberNode(0));
    }
    ObjectNode template = obj(spec, "template");
    obj(template, "metadata");
    podSpec(obj(template, "spec"));
  }

  static void configObject(ObjectNode o) {
    unset(obj(o, "metadata"), "namespace", o.textNode("default"));
  }

  private static void podSpec(ObjectNode pod) {
    unset(pod, "restartPolicy", pod.textNode("Always"));
    pod.putIfAbsent("terminationGracePeriodSeconds", pod.numberNode(30L));
    for (String list : new String[] {"initContainers", "containers"}) {
      for (JsonNode c : pod.path(list)) {
        if (c instanceof ObjectNode container) {
          container(container);
        }
      }
    }
    for (JsonNode v : pod.path("volumes")) {
      for (String source : new String[] {"configMap", "secret", "downwardAPI", "projected"}) {
        if (v.get(source) instanceof ObjectNode s) {
          s.putIfAbsent("defaultMode", s.numberNode(DEFAULT_MODE));
        }
      }
    }
    fieldRefs(pod);
  }

  /**
   * A fieldRef's apiVersion "" (Kubernetes' SetDefaults_ObjectFieldSelector takes it for unset: "v1") is taken as
   * absent, as an absent one is kept here (so the template, and its hash, are those of the same fieldRef without it):
   * env's valueFrom and a downwardAPI volume's items, alone or projected.
   */
  private static void fieldRefs(JsonNode node) {
    if (node instanceof ObjectNode o && o.get("fieldRef") instanceof ObjectNode ref && ref.path("apiVersion").isTextual()
        && ref.path("apiVersion").asText().isEmpty()) {
      ref.remove("apiVersion");
    }
    node.forEach(Defaults::fieldRefs);
  }

  private static void container(ObjectNode c) {
    if (c.path("image").isTextual()) {
      unset(c, "imagePullPolicy", c.textNode(defaultPullPolicy(c.path("image").asText())));
    }
    for (JsonNode p : c.path("ports")) {
      if (p instanceof ObjectNode port) {
        unset(port, "protocol", port.textNode("TCP"));
      }
    }
    for (String probe : new String[] {"livenessProbe", "readinessProbe", "startupProbe"}) {
      if (c.get(probe) instanceof ObjectNode p) {
        p.putIfAbsent("initialDelaySeconds", p.numberNode(0));
        unset(p, "timeoutSeconds", p.numberNode(1));
        unset(p, "periodSeconds", p.numberNode(10));
        unset(p, "successThreshold", p.numberNode(1));
        unset(p, "failureThreshold", p.numberNode(3));
        if (p.get("httpGet") instanceof ObjectNode h) {
          h.putIfAbsent("path", h.textNode("/"));
          unset(h, "scheme", h.textNode("HTTP"));
        }
      }
    }
  }

  /** Kubernetes: Always when the tag is latest or missing (and no digest), else IfNotPresent. */
  static String defaultPullPolicy(String image) {
    if (image.contains("@")) {
      return "IfNotPresent";
    }
    int slash = image.lastIndexOf('/');
    int colon = image.lastIndexOf(':');
    if (colon <= slash) {
      return "Always";
    }
    return image.substring(colon + 1).equals("latest") ? "Always" : "IfNotPresent";
  }

  /**
   * Sets {@code field} to {@code value} when it is absent or holds its type's zero value ("" or 0), as Kubernetes'
   * defaulting does for these fields (a Go string or int field that is "" or 0 is unset: `type: ""`, or `periodSeconds:
   * 0`, as a chart renders an empty value, is defaulted there, and was refused here).
   */
  static void unset(ObjectNode o, String field, JsonNode value) {
    JsonNode v = o.get(field);
    if (v == null || v.isTextual() && v.asText().isEmpty() || v.isNumber() && value.isNumber() && v.asLong() == 0) {
      o.set(field, value);
    }
  }

  private static ObjectNode obj(ObjectNode parent, String field) {
    JsonNode existing = parent.get(field);
    if (existing instanceof ObjectNode o) {
      return o;
    }
    return parent.putObject(field);
  }
}
