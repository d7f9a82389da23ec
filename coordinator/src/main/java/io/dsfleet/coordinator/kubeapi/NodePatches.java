package io.dsfleet.coordinator.kubeapi;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dsfleet.common.manifest.Problem;
import io.dsfleet.common.model.Taint;
import io.dsfleet.coordinator.fleet.CoordinatorTaints;
import io.dsfleet.coordinator.fleet.Fleet;
import io.dsfleet.coordinator.fleet.FleetView.NodeSnapshot;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/** PATCH of a node through the Kubernetes API: kubectl label, taint, cordon (docs/kubectl.md). */
final class NodePatches {
  private NodePatches() {}

  /**
   * PATCH of a node: what dsctl label, taint and cordon change, and nothing else of it (a node's
   * other fields are the agent's). Each change is the same call dsctl makes: labels, then
   * taints, then the cordon; the node as it is after them.
   */
  static ObjectNode patch(Fleet fleet, String name, String contentType, JsonNode patch, boolean dryRun) {
    NodeSnapshot n = fleet.node(name, false);
    if (n == null) {
      throw KubeWrites.KubeError.of(404, "NotFound", "nodes \"" + name + "\" not found");
    }
    ObjectNode before = KubeObjects.node(n);
    ObjectNode after = KubeWrites.apply(before, contentType, patch);
    String invalid = "Node \"" + name + "\" is invalid: ";
    JsonNode meta = after.path("metadata");
    JsonNode spec = after.path("spec");
    if (!meta.isObject() || !spec.isObject()) {
      throw KubeWrites.KubeError.of(422, "Invalid", invalid + "metadata and spec must be objects");
    }
    JsonNode labelsNode = meta.path("labels");
    if (!labelsNode.isMissingNode() && !labelsNode.isObject()) {
      throw KubeWrites.KubeError.of(422, "Invalid", invalid + "metadata.labels: must be a map of strings");
    }
    Map<String, String> labels = new HashMap<>();
    labelsNode.fields().forEachRemaining(e -> {
      if (!e.getValue().isTextual()) {
        throw KubeWrites.KubeError.of(422, "Invalid", invalid + "metadata.labels." + e.getKey() + ": must be a string");
      }
      labels.put(e.getKey(), e.getValue().asText());
    });
    JsonNode taintsNode = spec.path("taints");
    if (!taintsNode.isMissingNode() && !taintsNode.isArray()) {
      throw KubeWrites.KubeError.of(422, "Invalid", invalid + "spec.taints: must be a list of taints");
    }
    List<Taint> taints = new ArrayList<>();
    for (JsonNode t : taintsNode) {
      try {
        if (!t.isObject() || !t.path("key").isTextual() || !t.path("effect").isTextual()
            || (t.has("value") && !t.get("value").isTextual())) {
          throw new IllegalArgumentException("each taint has a key, an effect and a value, strings");
        }
        // the time a taint was added is the coordinator's to keep; one sent is still read as Kubernetes reads it (a time of
        // RFC 3339, or null): until 2026-12-08 any text was taken and dropped, where the API server refuses the request
        JsonNode added = t.path("timeAdded");
        if (!added.isMissingNode() && !added.isNull() && !(added.isTextual() && rfc3339(added.asText()))) {
          throw new IllegalArgumentException("timeAdded " + added + ": not a time (RFC 3339, as 2026-12-08T10:00:00Z)");
        }
        String value = t.path("value").asText("");
        // checked as dsctl taint's are (key, value and effect)
        Taint parsed = Taint.checked(t.get("key").asText(), value, t.get("effect").asText());
        if (taints.stream().anyMatch(x -> x.key().equals(parsed.key()) && x.effect().equals(parsed.effect()))) {
          throw new IllegalArgumentException("duplicate taint " + parsed.key() + ":" + parsed.effect());
        }
        taints.add(parsed);
      } catch (IllegalArgumentException e) {
        throw KubeWrites.KubeError.of(422, "Invalid", invalid + "spec.taints: " + e.getMessage());
      }
    }
    JsonNode cordon = spec.path("unschedulable");
    if (!cordon.isMissingNode() && !cordon.isBoolean()) {
      throw KubeWrites.KubeError.of(422, "Invalid", invalid + "spec.unschedulable: must be true or false");
    }
    boolean unschedulable = cordon.asBoolean(false);
    if (meta.has("resourceVersion")) {
      // kubectl label|annotate --resource-version: a precondition on a version nodes do not have here, refused by name
      // (it was told "the coordinator changes a node's labels, taints and cordon only", as if it had asked another change)
      throw KubeWrites.KubeError.of(422, "Invalid", invalid + "metadata.resourceVersion: the dsfleet coordinator keeps no version of"
          + " a node to check a patch against: patch it without --resource-version");
    }
    ObjectNode rest = strip(after.deepCopy());
    if (!rest.equals(strip(before.deepCopy()))) {
      throw KubeWrites.KubeError.of(422, "Invalid", "Node \"" + name + "\" is invalid: the dsfleet coordinator changes a node's metadata.labels,"
          + " spec.taints and spec.unschedulable only (kubectl label, taint, cordon); its other fields are its agent's");
    }
    // checked here too (the registry checks what it sets): a dry run is refused as the write would be
    labels.forEach((k, v) -> {
      String bad = io.dsfleet.common.manifest.Names.label(k, v);
      if (bad != null) {
        throw KubeWrites.KubeError.of(422, "Invalid", invalid + Problem.invalid("metadata.labels", k + "=" + v, bad));
      }
    });
    if (dryRun) {
      return after;
    }
    Map<String, String> set = new HashMap<>();
    labels.forEach((k, v) -> {
      if (!v.equals(n.labels().get(k))) {
        set.put(k, v);
      }
    });
    List<String> remove = n.labels().keySet().stream().filter(k -> !labels.containsKey(k)).toList();
    if (!set.isEmpty() || !remove.isEmpty()) {
      fleet.labelNode(name, set, remove, true);
    }
    // the taints the coordinator sets itself (cordon, unreachable, not-ready) are left out of both sides: kubectl taint
    // sends the node's whole list as it read it, and until 2026-12-08 one that had gone since (an uncordon, the node back)
    // was stored as an admin's taint, which no uncordon or heartbeat took away (helper-199); as in Kubernetes, where the
    // node lifecycle controller takes such a taint away again, adding or removing one here changes nothing
    List<Taint> asked = taints.stream().filter(t -> !CoordinatorTaints.owns(t.key())).toList();
    List<Taint> have = n.taints().stream().filter(t -> !CoordinatorTaints.owns(t.key())).toList();
    List<Taint> add = asked.stream().filter(t -> !have.contains(t)).toList();
    List<Fleet.TaintRemoval> gone = have.stream().filter(t -> !asked.contains(t))
        .filter(t -> add.stream().noneMatch(a -> a.key().equals(t.key()) && a.effect().equals(t.effect())))
        .map(t -> new Fleet.TaintRemoval(t.key(), t.effect())).toList();
    if (!add.isEmpty() || !gone.isEmpty()) {
      fleet.taintNode(name, add, gone, true);
    }
    if (unschedulable != n.unschedulable()) {
      fleet.cordon(name, unschedulable);
    }
    return KubeObjects.node(Objects.requireNonNull(fleet.node(name, true)));
  }

  private static boolean rfc3339(String text) {
    try {
      java.time.OffsetDateTime.parse(text);
      return true;
    } catch (java.time.format.DateTimeParseException e) {
      return false;
    }
  }

  /** A node's JSON without what a patch may change. */
  private static ObjectNode strip(ObjectNode node) {
    node.with("metadata").remove("labels");
    node.with("spec").remove(List.of("taints", "unschedulable"));
    return node;
  }
}
