package io.dsfleet.coordinator.kubeapi;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dsfleet.common.Json;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Field ownership as Kubernetes' server-side apply keeps it (metadata.managedFields): which
 * manager set which field. A field is a path of segments in FieldsV1 notation: {@code f:name} a
 * map key, {@code k:{"name":"main"}} the element of a list merged by its key ({@link
 * Patches#MERGE_KEYS}); every other list is one field, replaced whole. Pure: the caller stores the
 * entries (in an annotation of the object, shown as metadata.managedFields).
 */
final class ManagedFields {
  /** Where the entries are kept on the stored object; the API shows them as metadata.managedFields instead. */
  static final String ANNOTATION = io.dsfleet.common.manifest.Validator.MANAGED_FIELDS_ANNOTATION;
  /** The most the annotation holds; beyond, an object's ownership is not kept. */
  static final int MAX_BYTES = io.dsfleet.common.manifest.Validator.MAX_MANAGED_FIELDS_BYTES;

  /** One manager's fields: Apply (server-side apply) or Update (any other write). */
  record Entry(String manager, String operation, String apiVersion, String time, Set<List<String>> fields) {}

  /** A field another manager owns with another value: what an apply without force is refused for. */
  record Conflict(String manager, String apiVersion, List<String> field) {}

  private ManagedFields() {}

  /** The entries of an object: its metadata.managedFields as the API shows them, or its annotation as stored; none when neither. */
  static List<Entry> of(JsonNode object) {
    List<Entry> out = new ArrayList<>();
    if (object == null) {
      return out;
    }
    JsonNode shown = object.path("metadata").path("managedFields");
    String kept = object.path("metadata").path("annotations").path(ANNOTATION).asText("");
    if (!shown.isArray() && kept.isEmpty()) {
      return out;
    }
    try {
      for (JsonNode e : shown.isArray() ? shown : Json.read(kept, JsonNode.class)) {
        Set<List<String>> fields = new LinkedHashSet<>();
        paths(e.path("fieldsV1"), new ArrayList<>(), fields);
        if (!fields.stream().allMatch(ManagedFields::wellFormed)) {
          return new ArrayList<>();
        }
        out.add(new Entry(e.path("manager").asText(), e.path("operation").asText(), e.path("apiVersion").asText(),
            e.path("time").asText(), fields));
      }
    } catch (RuntimeException unreadable) {
      return new ArrayList<>(); // written by hand (dsctl apply takes any annotation): nobody owns anything
    }
    return out;
  }

  /** Every segment {@code f:NAME} or {@code k:} and a JSON object of one key. */
  private static boolean wellFormed(List<String> field) {
    for (String s : field) {
      if (s.startsWith("k:")) {
        try {
          JsonNode k = Json.read(s.substring(2), JsonNode.class);
          if (!k.isObject() || k.size() != 1) {
            return false;
          }
        } catch (RuntimeException e) {
          return false;
        }
      } else if (!s.startsWith("f:") || s.length() == 2) {
        return false;
      }
    }
    return !field.isEmpty();
  }

  /** A child object by its key, made when missing (not Jackson's with(), which reads "/..." as a JSON pointer). */
  private static ObjectNode child(ObjectNode parent, String key) {
    JsonNode c = parent.get(key);
    if (c instanceof ObjectNode o) {
      return o;
    }
    return parent.putObject(key);
  }

  /** The entries as metadata.managedFields shows them. */
  static ArrayNode render(List<Entry> entries) {
    ArrayNode out = Json.mapper().createArrayNode();
    for (Entry e : entries) {
      ObjectNode o = out.addObject().put("manager", e.manager()).put("operation", e.operation()).put("apiVersion", e.apiVersion())
          .put("time", e.time()).put("fieldsType", "FieldsV1");
      ObjectNode tree = o.putObject("fieldsV1");
      for (List<String> f : e.fields()) {
        ObjectNode at = tree;
        for (String s : f) {
          at = child(at, s);
        }
      }
      for (List<String> f : e.fields()) {
        ObjectNode at = tree;
        for (String s : f) {
          at = (ObjectNode) at.get(s);
        }
        if (!at.isEmpty() && !at.has(".")) {
          at.putObject("."); // a member that also has members below it
        }
      }
    }
    return out;
  }

  /** Moves the annotation to metadata.managedFields (what the API shows). */
  static void show(ObjectNode object) {
    JsonNode annotations = object.path("metadata").path("annotations");
    if (annotations.isObject() && annotations.has(ANNOTATION)) {
      ArrayNode rendered = render(of(object));
      ((ObjectNode) annotations).remove(ANNOTATION);
      if (annotations.isEmpty()) {
        ((ObjectNode) object.get("metadata")).remove("annotations");
      }
      ((ObjectNode) object.get("metadata")).set("managedFields", rendered);
    }
  }

  /** Puts the entries on the object to store, as its annotation (none: no annotation). */
  static void keep(ObjectNode object, List<Entry> entries) {
    ObjectNode meta = object.with("metadata");
    List<Entry> nonEmpty = entries.stream().filter(e -> !e.fields().isEmpty()).toList();
    if (nonEmpty.isEmpty()) {
      if (meta.path("annotations").isObject()) {
        ((ObjectNode) meta.get("annotations")).remove(ANNOTATION);
      }
      return;
    }
    meta.with("annotations").put(ANNOTATION, render(nonEmpty).toString());
  }

  private static void paths(JsonNode tree, List<String> at, Set<List<String>> out) {
    if (!tree.isObject()) {
      return;
    }
    if (tree.isEmpty() && !at.isEmpty()) {
      out.add(List.copyOf(at));
      return;
    }
    for (Iterator<Map.Entry<String, JsonNode>> it = tree.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (e.getKey().equals(".")) {
        out.add(List.copyOf(at));
        continue;
      }
      at.add(e.getKey());
      paths(e.getValue(), at, out);
      at.remove(at.size() - 1);
    }
  }

  /**
   * The fields an object sets: every leaf (a scalar, an empty map, a list replaced whole) and
   * every element of a list merged by key (with its key field). Not apiVersion, kind, name,
   * namespace, resourceVersion, the managed-fields annotation, or status.
   */
  static Set<List<String>> fieldsOf(JsonNode object) {
    Set<List<String>> out = new LinkedHashSet<>();
    ObjectNode copy = object.deepCopy();
    copy.remove(List.of("apiVersion", "kind", "status"));
    ObjectNode meta = copy.path("metadata").isObject() ? (ObjectNode) copy.get("metadata") : null;
    if (meta != null) {
      meta.remove(List.of("name", "namespace", "resourceVersion", "uid", "generation", "creationTimestamp", "managedFields"));
      if (meta.path("annotations").isObject()) {
        ((ObjectNode) meta.get("annotations")).remove(ANNOTATION);
        if (meta.get("annotations").isEmpty()) {
          meta.remove("annotations");
        }
      }
      if (meta.isEmpty()) {
        copy.remove("metadata");
      }
    }
    collect(copy, new ArrayList<>(), null, out);
    return out;
  }

  private static void collect(JsonNode v, List<String> at, String field, Set<List<String>> out) {
    if (v.isObject() && !v.isEmpty()) {
      v.fields().forEachRemaining(e -> {
        if (e.getValue().isNull()) {
          return;
        }
        at.add("f:" + e.getKey());
        collect(e.getValue(), at, e.getKey(), out);
        at.remove(at.size() - 1);
      });
      return;
    }
    String key = field == null ? null : Patches.MERGE_KEYS.get(field);
    if (v.isArray() && key != null && !v.isEmpty() && allKeyed(v, key)) {
      for (JsonNode e : v) {
        at.add(elementKey(key, e.get(key)));
        out.add(List.copyOf(at));
        collect(e, at, null, out);
        at.remove(at.size() - 1);
      }
      return;
    }
    if (!at.isEmpty()) {
      out.add(List.copyOf(at));
    }
  }

  /** Whether every element has the key, each its own value (a list with two ports 7946, TCP and UDP, is one field). */
  private static boolean allKeyed(JsonNode list, String key) {
    Set<JsonNode> seen = new java.util.HashSet<>();
    for (JsonNode e : list) {
      if (!e.isObject() || !e.has(key) || !seen.add(e.get(key))) {
        return false;
      }
    }
    return true;
  }

  private static String elementKey(String key, JsonNode value) {
    ObjectNode k = Json.mapper().createObjectNode();
    k.set(key, value);
    return "k:" + k;
  }

  /** The value of a field in an object; null when it has none. */
  static JsonNode valueAt(JsonNode object, List<String> field) {
    JsonNode at = object;
    for (String s : field) {
      if (at == null) {
        return null;
      }
      if (s.startsWith("f:")) {
        at = at.get(s.substring(2));
      } else {
        at = element(at, s);
      }
    }
    return at;
  }

  private static JsonNode element(JsonNode list, String segment) {
    if (!(list instanceof ArrayNode a)) {
      return null;
    }
    Map.Entry<String, JsonNode> key = Json.read(segment.substring(2), JsonNode.class).fields().next();
    for (JsonNode e : a) {
      if (e.path(key.getKey()).equals(key.getValue())) {
        return e;
      }
    }
    return null;
  }

  /** Removes a field from an object (a map key, or a list's element); nothing when it has none. */
  static void remove(JsonNode object, List<String> field) {
    JsonNode parent = valueAt(object, field.subList(0, field.size() - 1));
    String last = field.get(field.size() - 1);
    if (parent instanceof ObjectNode o && last.startsWith("f:")) {
      o.remove(last.substring(2));
    } else if (parent instanceof ArrayNode a && last.startsWith("k:")) {
      JsonNode e = element(a, last);
      for (int i = 0; i < a.size(); i++) {
        if (a.get(i) == e) {
          a.remove(i);
          break;
        }
      }
    }
  }

  /** A field as Kubernetes prints it in a conflict: {@code .spec.template.spec.containers[name="main"].image}. */
  static String print(List<String> field) {
    StringBuilder b = new StringBuilder();
    for (String s : field) {
      if (s.startsWith("f:")) {
        b.append('.').append(s.substring(2));
      } else {
        Map.Entry<String, JsonNode> k = Json.read(s.substring(2), JsonNode.class).fields().next();
        b.append('[').append(k.getKey()).append('=').append(k.getValue().toString()).append(']');
      }
    }
    return b.toString();
  }

  /** Maps of names to values, whose keys are fields each: never one manager's as a whole. */
  private static final Set<String> GRANULAR = Set.of("labels", "annotations", "data", "binaryData", "stringData", "nodeSelector",
      "matchLabels", "limits", "requests");

  /** The struct nodes of a config: objects below the top level that are not name-to-value maps, nor list elements. */
  static Set<List<String>> structs(JsonNode config) {
    Set<List<String>> out = new LinkedHashSet<>();
    for (List<String> f : fieldsOf(config)) {
      for (int i = 2; i < f.size(); i++) {
        List<String> node = f.subList(0, i);
        String last = node.get(node.size() - 1);
        if (last.startsWith("f:") && !GRANULAR.contains(last.substring(2)) && !node.get(0).equals("f:metadata")) {
          JsonNode v = valueAt(config, node);
          if (v != null && v.isObject() && !v.isEmpty()) {
            out.add(List.copyOf(node));
          }
        }
      }
    }
    return out;
  }

  /** Equal values, numbers by value (the stored object's 65534 is a long, a manifest's an int). */
  static boolean same(JsonNode a, JsonNode b) {
    if (a == null || b == null) {
      return a == b;
    }
    return a.equals((x, y) -> x.isNumber() && y.isNumber() ? x.decimalValue().compareTo(y.decimalValue()) : x.equals(y) ? 0 : 1, b);
  }

  /** The entries with only the fields the stored object has (a field dsfleet drops, such as serviceAccountName, is nobody's). */
  static List<Entry> within(List<Entry> entries, JsonNode stored) {
    List<Entry> out = new ArrayList<>();
    for (Entry e : entries) {
      Set<List<String>> kept = new LinkedHashSet<>();
      e.fields().stream().filter(f -> valueAt(stored, f) != null).forEach(kept::add);
      out.add(new Entry(e.manager(), e.operation(), e.apiVersion(), e.time(), kept));
    }
    return out;
  }

  /** Whether {@code field} lies below {@code parent}. */
  private static boolean below(List<String> field, List<String> parent) {
    return field.size() > parent.size() && field.subList(0, parent.size()).equals(parent);
  }

  /** The outcome of an apply: the object to store and the entries after it. */
  record Applied(ObjectNode object, List<Entry> entries) {}

  /**
   * Server-side apply of {@code config} by {@code manager} onto {@code live} (null: a new object):
   * refused with the conflicts when another manager owns a field the config sets to another value
   * (unless forced: the field then changes hands); merged as a strategic merge without directives;
   * then every field the manager set before and no longer sets, and nobody else owns, removed.
   */
  static Applied apply(ObjectNode live, List<Entry> entries, ObjectNode config, String manager, String apiVersion, String time,
      boolean force, List<Conflict> conflicts) {
    return apply(live, entries, config, config, manager, apiVersion, time, force, conflicts);
  }

  /** @param defaulted the config with dsfleet's defaults filled in, what a field's value is compared with (ports get protocol TCP) */
  static Applied apply(ObjectNode live, List<Entry> entries, ObjectNode config, JsonNode defaulted, String manager, String apiVersion,
      String time, boolean force, List<Conflict> conflicts) {
    Set<List<String>> applied = fieldsOf(config);
    List<Entry> others = new ArrayList<>();
    Set<List<String>> before = Set.of();
    for (Entry e : entries) {
      if (e.manager().equals(manager) && e.operation().equals("Apply")) {
        before = e.fields();
      } else {
        others.add(e);
      }
    }
    // a struct (a probe, a security context) the manager's apply brought into the object is the
    // manager's as a whole: when it stops applying it, it goes with the defaults filled into it
    for (List<String> node : structs(config)) {
      if (before.contains(node) || live == null || valueAt(live, node) == null) {
        applied.add(node);
      }
    }
    if (live != null) {
      for (int i = 0; i < others.size(); i++) {
        Entry e = others.get(i);
        Set<List<String>> kept = new LinkedHashSet<>(e.fields());
        for (List<String> f : applied) {
          JsonNode mine = valueAt(defaulted, f);
          boolean node = f.get(f.size() - 1).startsWith("k:") || (mine != null && mine.isObject() && !mine.isEmpty());
          if (e.fields().contains(f) && !node && !same(valueAt(live, f), mine)) {
            if (force) {
              kept.remove(f);
            } else {
              conflicts.add(new Conflict(e.manager(), e.apiVersion(), f));
            }
          }
        }
        others.set(i, new Entry(e.manager(), e.operation(), e.apiVersion(), e.time(), kept));
      }
      if (!conflicts.isEmpty()) {
        return null;
      }
    }
    ObjectNode merged = live == null ? config.deepCopy() : Patches.strategicMerge(live, config);
    Set<List<String>> ownedByOthers = new LinkedHashSet<>();
    others.forEach(e -> ownedByOthers.addAll(e.fields()));
    // deepest first: an element's fields before the element
    List<List<String>> gone = new ArrayList<>(before.stream().filter(f -> !applied.contains(f) && !ownedByOthers.contains(f)).toList());
    gone.sort(Comparator.comparingInt((List<String> f) -> f.size()).reversed());
    Set<List<String>> owned = new LinkedHashSet<>(ownedByOthers);
    owned.addAll(applied);
    for (List<String> f : gone) {
      if (owned.stream().anyMatch(o -> below(o, f))) {
        continue; // others set something inside it: only the manager's own fields in it go
      }
      remove(merged, f);
      // and the maps this leaves empty that nobody sets
      for (int i = f.size() - 1; i > 0; i--) {
        List<String> parent = f.subList(0, i);
        JsonNode left = valueAt(merged, parent);
        if (owned.contains(parent) || left == null || !left.isContainerNode() || !left.isEmpty()) {
          break;
        }
        remove(merged, parent);
      }
    }
    List<Entry> after = new ArrayList<>(others);
    after.add(new Entry(manager, "Apply", apiVersion, time, applied));
    return new Applied(merged, after);
  }

  /**
   * The entries after another kind of write (create, replace, patch) by {@code manager}: it owns
   * what it changed, as an Update; the others lose what it changed or removed.
   */
  static List<Entry> updated(JsonNode before, JsonNode after, List<Entry> entries, String manager, String apiVersion, String time) {
    Map<List<String>, JsonNode> was = values(before);
    Map<List<String>, JsonNode> now = values(after);
    Set<List<String>> changed = new TreeSet<>(Comparator.comparing(Object::toString));
    now.forEach((f, v) -> {
      if (!same(v, was.get(f))) {
        changed.add(f);
      }
    });
    was.keySet().stream().filter(f -> !now.containsKey(f)).forEach(changed::add);
    if (changed.isEmpty()) {
      return entries;
    }
    List<Entry> out = new ArrayList<>();
    Set<List<String>> mine = new LinkedHashSet<>();
    for (Entry e : entries) {
      Set<List<String>> kept = new LinkedHashSet<>(e.fields());
      kept.removeAll(changed);
      kept.removeIf(f -> valueAt(after, f) == null); // what the object still has (struct nodes included)
      if (e.manager().equals(manager) && e.operation().equals("Update")) {
        mine.addAll(kept);
      } else {
        out.add(new Entry(e.manager(), e.operation(), e.apiVersion(), e.time(), kept));
      }
    }
    changed.stream().filter(now::containsKey).forEach(mine::add);
    out.add(new Entry(manager, "Update", apiVersion, time, mine));
    return out;
  }

  private static Map<List<String>, JsonNode> values(JsonNode object) {
    Map<List<String>, JsonNode> out = new LinkedHashMap<>();
    if (object == null) {
      return out;
    }
    for (List<String> f : fieldsOf(object)) {
      JsonNode v = valueAt(object, f);
      out.put(f, f.get(f.size() - 1).startsWith("k:") || v == null ? Json.mapper().getNodeFactory().booleanNode(v != null) : v);
    }
    return out;
  }
}
