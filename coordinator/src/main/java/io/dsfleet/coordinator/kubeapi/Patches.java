package io.dsfleet.coordinator.kubeapi;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dsfleet.common.Json;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The three patch formats of the Kubernetes API, applied to an object's JSON: JSON merge patch
 * (RFC 7386), JSON patch (RFC 6902) and strategic merge patch (what kubectl apply, taint, cordon
 * and rollout send): maps merge, lists of the fields below merge by their key, every other list
 * is replaced, and the directives $patch (replace, delete), $retainKeys, $setElementOrder/ and
 * $deleteFromPrimitiveList/ do what they do in Kubernetes. Pure: the original is not changed.
 */
final class Patches {
  private Patches() {}

  /** A patch that cannot be applied: the request's fault (422 or 400). */
  static final class PatchException extends RuntimeException {
    PatchException(String message) {
      super(message);
    }
  }

  /**
   * The merge keys of the list fields of the served types (DaemonSet with its pod template,
   * Node, ConfigMap, Secret) whose strategy is "merge" in Kubernetes' types; a field name names
   * one list in all of them. Other lists are replaced whole (tolerations, taints, args, ...).
   */
  static final Map<String, String> MERGE_KEYS = Map.ofEntries(Map.entry("containers", "name"), Map.entry("initContainers", "name"),
      Map.entry("ephemeralContainers", "name"), Map.entry("volumes", "name"), Map.entry("imagePullSecrets", "name"),
      Map.entry("hostAliases", "ip"), Map.entry("env", "name"), Map.entry("ports", "containerPort"),
      Map.entry("volumeMounts", "mountPath"), Map.entry("volumeDevices", "devicePath"), Map.entry("conditions", "type"),
      Map.entry("ownerReferences", "uid"), Map.entry("resourceClaims", "name"), Map.entry("schedulingGates", "name"));

  /** RFC 7386: objects merge, null removes, anything else replaces. */
  static JsonNode mergePatch(JsonNode target, JsonNode patch) {
    if (patch == null) {
      throw new PatchException("no patch");
    }
    if (!patch.isObject()) {
      return patch.deepCopy();
    }
    ObjectNode out = target != null && target.isObject() ? ((ObjectNode) target).deepCopy() : Json.mapper().createObjectNode();
    for (Iterator<Map.Entry<String, JsonNode>> it = patch.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (e.getValue().isNull()) {
        out.remove(e.getKey());
      } else {
        out.set(e.getKey(), mergePatch(out.get(e.getKey()), e.getValue()));
      }
    }
    return out;
  }

  /** The most operations of one JSON patch (Kubernetes' limit). */
  static final int MAX_OPERATIONS = 10_000;
  /** The most bytes copy operations of one JSON patch may put into the object. */
  static final long MAX_ADDED_BYTES = 4 << 20;

  /** RFC 6902: add, remove, replace, move, copy, test, in order; one that fails fails the patch. */
  static JsonNode jsonPatch(JsonNode target, JsonNode patch) {
    if (!patch.isArray()) {
      throw new PatchException("a JSON patch is a list of operations");
    }
    if (patch.size() > MAX_OPERATIONS) {
      throw new PatchException("a JSON patch of more than " + MAX_OPERATIONS + " operations");
    }
    JsonNode doc = target.deepCopy();
    long added = 0;
    int i = 0;
    for (JsonNode op : patch) {
      // copies can double a document with each operation: what add, copy and move put in is counted, and capped
      if (op.path("op").asText().equals("copy")) {
        added += get(doc, op.path("from").asText(""), i).toString().length();
        if (added > MAX_ADDED_BYTES) {
          throw new PatchException("the patch copies more than " + (MAX_ADDED_BYTES >> 20) + " MiB");
        }
      }
      String what = op.path("op").asText();
      String path = op.path("path").asText(null);
      if (path == null) {
        throw new PatchException("operation " + i + ": missing path");
      }
      switch (what) {
        case "add" -> doc = put(doc, path, value(op, i), true);
        case "replace" -> {
          get(doc, path, i);
          doc = put(doc, path, value(op, i), false);
        }
        case "remove" -> doc = remove(doc, path, i);
        case "move", "copy" -> {
          String from = op.path("from").asText(null);
          if (from == null) {
            throw new PatchException("operation " + i + ": " + what + " without from");
          }
          JsonNode moved = get(doc, from, i).deepCopy();
          if (what.equals("move")) {
            doc = remove(doc, from, i);
          }
          doc = put(doc, path, moved, true);
        }
        case "test" -> {
          if (!get(doc, path, i).equals(value(op, i))) {
            throw new PatchException("operation " + i + ": test failed at " + path);
          }
        }
        default -> throw new PatchException("operation " + i + ": unknown op \"" + what + "\"");
      }
      i++;
    }
    return doc;
  }

  private static JsonNode value(JsonNode op, int i) {
    if (!op.has("value")) {
      throw new PatchException("operation " + i + ": missing value");
    }
    return op.get("value").deepCopy();
  }

  private static List<String> pointer(String path) {
    if (path.isEmpty()) {
      return List.of();
    }
    if (!path.startsWith("/")) {
      throw new PatchException("not a JSON pointer: " + path);
    }
    List<String> out = new ArrayList<>();
    for (String s : path.substring(1).split("/", -1)) {
      out.add(s.replace("~1", "/").replace("~0", "~"));
    }
    return out;
  }

  private static JsonNode get(JsonNode doc, String path, int i) {
    return walk(doc, pointer(path), path, i);
  }

  private static JsonNode walk(JsonNode doc, List<String> segments, String path, int i) {
    JsonNode at = doc;
    for (String s : segments) {
      at = at.isArray() ? at.path(index(s, at.size() - 1, path)) : at.path(s);
      if (at.isMissingNode()) {
        throw new PatchException((i < 0 ? "" : "operation " + i + ": ") + "nothing at " + path);
      }
    }
    return at;
  }

  private static int index(String s, int max, String path) {
    try {
      int n = Integer.parseInt(s);
      if (n < 0 || n > max) {
        throw new PatchException("index out of range in " + path);
      }
      return n;
    } catch (NumberFormatException e) {
      throw new PatchException("not an array index in " + path + ": " + s);
    }
  }

  private static JsonNode put(JsonNode doc, String path, JsonNode value, boolean insert) {
    List<String> p = pointer(path);
    if (p.isEmpty()) {
      return value;
    }
    JsonNode parent = walk(doc, p.subList(0, p.size() - 1), path, -1);
    String last = p.get(p.size() - 1);
    if (parent instanceof ObjectNode o) {
      o.set(last, value);
    } else if (parent instanceof ArrayNode a) {
      if (last.equals("-") && insert) {
        a.add(value);
      } else if (insert) {
        a.insert(index(last, a.size(), path), value);
      } else {
        a.set(index(last, a.size() - 1, path), value);
      }
    } else {
      throw new PatchException("cannot add below a value at " + path);
    }
    return doc;
  }

  private static JsonNode remove(JsonNode doc, String path, int i) {
    List<String> p = pointer(path);
    if (p.isEmpty()) {
      throw new PatchException("operation " + i + ": cannot remove the whole object");
    }
    get(doc, path, i);
    JsonNode parent = walk(doc, p.subList(0, p.size() - 1), path, i);
    String last = p.get(p.size() - 1);
    if (parent instanceof ObjectNode o) {
      o.remove(last);
    } else {
      ((ArrayNode) parent).remove(index(last, parent.size() - 1, path));
    }
    return doc;
  }

  /** Strategic merge patch of an object. */
  static ObjectNode strategicMerge(ObjectNode original, JsonNode patch) {
    if (!patch.isObject()) {
      throw new PatchException("a strategic merge patch is an object");
    }
    JsonNode out = mergeMap(original.deepCopy(), (ObjectNode) patch);
    if (out == null || !out.isObject()) {
      throw new PatchException("the patch deletes the whole object");
    }
    return (ObjectNode) out;
  }

  /** {@code original} (a copy, changed in place) with {@code patch} merged; null when the patch deletes it. */
  private static JsonNode mergeMap(ObjectNode original, ObjectNode patch) {
    String directive = patch.path("$patch").asText("");
    if (directive.equals("replace")) {
      return clean(patch);
    }
    if (directive.equals("delete")) {
      return null;
    }
    if (!directive.isEmpty()) {
      throw new PatchException("unknown $patch directive \"" + directive + "\"");
    }
    Map<String, JsonNode> orders = new HashMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = patch.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      String field = e.getKey();
      JsonNode value = e.getValue();
      if (field.equals("$retainKeys")) {
        continue;
      }
      if (field.startsWith("$setElementOrder/")) {
        orders.put(field.substring("$setElementOrder/".length()), value);
        continue;
      }
      if (field.startsWith("$deleteFromPrimitiveList/")) {
        JsonNode list = original.get(field.substring("$deleteFromPrimitiveList/".length()));
        if (list instanceof ArrayNode a && value.isArray()) {
          for (int i = a.size() - 1; i >= 0; i--) {
            for (JsonNode v : value) {
              if (v.equals(a.get(i))) {
                a.remove(i);
                break;
              }
            }
          }
        }
        continue;
      }
      if (field.startsWith("$")) {
        throw new PatchException("unknown directive \"" + field + "\"");
      }
      JsonNode current = original.get(field);
      if (value.isNull()) {
        original.remove(field);
      } else if (value.isObject() && current != null && current.isObject()) {
        JsonNode merged = mergeMap((ObjectNode) current, (ObjectNode) value);
        if (merged == null) {
          original.remove(field);
        } else {
          original.set(field, merged);
        }
      } else if (value.isArray() && MERGE_KEYS.containsKey(field) && current instanceof ArrayNode list) {
        original.set(field, mergeList(list, (ArrayNode) value, MERGE_KEYS.get(field)));
      } else {
        JsonNode set = value.isObject() ? mergeMap(Json.mapper().createObjectNode(), (ObjectNode) value) : clean(value);
        if (set == null) {
          original.remove(field);
        } else {
          original.set(field, set);
        }
      }
    }
    orders.forEach((field, order) -> {
      if (original.get(field) instanceof ArrayNode list && MERGE_KEYS.containsKey(field)) {
        original.set(field, ordered(list, order, MERGE_KEYS.get(field)));
      }
    });
    JsonNode retain = patch.get("$retainKeys");
    if (retain != null && retain.isArray()) {
      List<String> keep = new ArrayList<>();
      retain.forEach(k -> keep.add(k.asText()));
      original.retain(keep);
    }
    return original;
  }

  private static ArrayNode mergeList(ArrayNode original, ArrayNode patch, String key) {
    for (JsonNode p : patch) {
      if (p.isObject() && p.path("$patch").asText("").equals("replace") && p.size() == 1) {
        ArrayNode replaced = Json.mapper().createArrayNode();
        patch.forEach(q -> {
          if (q != p) {
            replaced.add(clean(q));
          }
        });
        return replaced;
      }
    }
    java.util.Set<JsonNode> keys = new java.util.HashSet<>();
    for (JsonNode p : patch) {
      if (p.isObject() && p.has(key) && !p.path("$patch").asText("").equals("delete") && !keys.add(p.get(key))) {
        // two elements of one key (ports 7946 TCP and UDP): merged by key they would fold into one; the list is replaced
        return (ArrayNode) clean(patch);
      }
    }
    ArrayNode out = original.deepCopy();
    for (JsonNode p : patch) {
      if (!p.isObject() || !p.has(key)) {
        throw new PatchException("an element of a list merged by " + key + " has no " + key + ": " + p);
      }
      int at = -1;
      for (int i = 0; i < out.size(); i++) {
        if (out.get(i).path(key).equals(p.get(key))) {
          at = i;
          break;
        }
      }
      if (p.path("$patch").asText("").equals("delete")) {
        if (at >= 0) {
          out.remove(at);
        }
      } else if (at >= 0) {
        JsonNode merged = mergeMap((ObjectNode) out.get(at), (ObjectNode) p);
        if (merged == null) {
          out.remove(at);
        } else {
          out.set(at, merged);
        }
      } else {
        out.add(clean(p));
      }
    }
    return out;
  }

  /** The list in the order $setElementOrder gives; elements it does not name keep their place after those it does. */
  private static ArrayNode ordered(ArrayNode list, JsonNode order, String key) {
    Map<JsonNode, JsonNode> byKey = new LinkedHashMap<>();
    list.forEach(e -> byKey.put(e.path(key), e));
    ArrayNode out = Json.mapper().createArrayNode();
    for (JsonNode o : order) {
      JsonNode e = byKey.remove(o.path(key));
      if (e != null) {
        out.add(e);
      }
    }
    byKey.values().forEach(out::add);
    return out;
  }

  /** A patch value with its directives removed, as it becomes part of the object. */
  private static JsonNode clean(JsonNode value) {
    if (value.isObject()) {
      ObjectNode o = Json.mapper().createObjectNode();
      value.fields().forEachRemaining(e -> {
        if (!e.getKey().startsWith("$") && !e.getValue().isNull()) {
          o.set(e.getKey(), clean(e.getValue()));
        }
      });
      return o;
    }
    if (value.isArray()) {
      ArrayNode a = Json.mapper().createArrayNode();
      value.forEach(v -> a.add(clean(v)));
      return a;
    }
    return value;
  }
}
