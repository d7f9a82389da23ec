package io.dsfleet.coordinator.kubeapi;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dsfleet.common.Json;
import io.dsfleet.common.manifest.ManifestParser;
import io.dsfleet.common.manifest.ParsedDocument;
import io.dsfleet.common.manifest.Problem;
import io.dsfleet.common.model.Taint;
import io.dsfleet.coordinator.fleet.ControlException;
import io.dsfleet.coordinator.fleet.Fleet;
import io.dsfleet.coordinator.fleet.FleetView.NodeSnapshot;
import io.grpc.Status.Code;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Writes through the Kubernetes API (docs/kubectl.md): create, replace, patch and delete of
 * DaemonSets, ConfigMaps and Secrets, each one the fleet's own all-or-nothing apply with
 * compare-and-set on the resourceVersion; and patches of nodes, which may change what dsctl
 * label, taint and cordon change (labels, taints, unschedulable) and nothing else. Errors are
 * {@link KubeError}s carrying the Status kubectl prints.
 */
final class KubeWrites {
  /** How often a patch is tried again when the object changed between its read and its write (as the API server does). */
  private static final int PATCH_ATTEMPTS = 5;

  /** A kind the API writes: its resource, group and apiVersion. */
  enum Kind {
    DAEMON_SET("daemonsets", "apps", "apps/v1", "DaemonSet"),
    CONFIG_MAP("configmaps", "", "v1", "ConfigMap"),
    SECRET("secrets", "", "v1", "Secret");

    final String resource;
    final String group;
    final String apiVersion;
    final String kind;

    Kind(String resource, String group, String apiVersion, String kind) {
      this.resource = resource;
      this.group = group;
      this.apiVersion = apiVersion;
      this.kind = kind;
    }

    /** "daemonsets.apps", "configmaps": how the API server names a resource in messages. */
    String qualified() {
      return group.isEmpty() ? resource : resource + "." + group;
    }

    static Kind of(String resource) {
      for (Kind k : values()) {
        if (k.resource.equals(resource)) {
          return k;
        }
      }
      return null;
    }
  }

  /** A refused request, as the Status to answer. */
  static final class KubeError extends RuntimeException {
    final transient ObjectNode status;

    KubeError(ObjectNode status) {
      super(status.path("message").asText());
      this.status = status;
    }

    static KubeError of(int code, String reason, String message) {
      return new KubeError(KubeObjects.status(code, reason, message));
    }
  }

  /** The outcome of a write: the object as it is now (or would be, on a dry run) and the warnings to pass on. */
  record Written(ObjectNode object, List<String> warnings, boolean created) {}

  private final Fleet fleet;

  KubeWrites(Fleet fleet) {
    this.fleet = fleet;
  }

  /** The object as the API shows it now; null when there is none. */
  ObjectNode current(Kind kind, String namespace, String name) {
    if (kind == Kind.DAEMON_SET) {
      return fleet.daemonSets().stream().filter(d -> d.namespace().equals(namespace) && d.name().equals(name)).findFirst()
          .map(KubeObjects::daemonSet).orElse(null);
    }
    return fleet.configs(kind.kind).stream().filter(o -> o.namespace().equals(namespace) && o.name().equals(name)).findFirst()
        .map(KubeObjects::config).orElse(null);
  }

  private KubeError notFound(Kind kind, String name) {
    return KubeError.of(404, "NotFound", kind.qualified() + " \"" + name + "\" not found");
  }

  /** POST: a new object; AlreadyExists when there is one of that name. */
  Written create(Kind kind, String namespace, JsonNode body, boolean dryRun) {
    ObjectNode o = object(kind, namespace, null, body);
    if (!o.path("metadata").path("resourceVersion").asText("").isEmpty()) {
      throw KubeError.of(400, "BadRequest", "resourceVersion should not be set on objects to be created");
    }
    String name = o.path("metadata").path("name").asText();
    return write(kind, namespace, name, o, dryRun, true);
  }

  /** PUT: the whole object; over the resourceVersion it names (Conflict when it moved), or unconditionally without one. */
  Written replace(Kind kind, String namespace, String name, JsonNode body, boolean dryRun) {
    if (current(kind, namespace, name) == null) {
      throw notFound(kind, name);
    }
    return write(kind, namespace, name, object(kind, namespace, name, body), dryRun, false);
  }

  /** PATCH with one of the three patch types: applied to the object as read, written over that version. */
  Written patch(Kind kind, String namespace, String name, String contentType, JsonNode patch, boolean dryRun) {
    for (int attempt = 1; ; attempt++) {
      ObjectNode now = current(kind, namespace, name);
      if (now == null) {
        throw notFound(kind, name);
      }
      ObjectNode patched = object(kind, namespace, name, apply(now, contentType, patch));
      String requested = patched.path("metadata").path("resourceVersion").asText("");
      if (requested.isEmpty() || requested.equals(now.path("metadata").path("resourceVersion").asText())) {
        // the version read: a change in between is a conflict, tried again on the new version
        patched.with("metadata").put("resourceVersion", now.path("metadata").path("resourceVersion").asText());
      }
      try {
        return write(kind, namespace, name, patched, dryRun, false);
      } catch (KubeError e) {
        if (e.status.path("code").asInt() != 409 || !requested.isEmpty() || attempt == PATCH_ATTEMPTS) {
          throw e;
        }
      }
    }
  }

  /** DELETE: Orphan leaves the pods running unmanaged (dsctl delete --cascade=orphan); Background and Foreground remove them. */
  ObjectNode delete(Kind kind, String namespace, String name, String propagation, boolean dryRun) {
    ObjectNode now = current(kind, namespace, name);
    if (now == null) {
      throw notFound(kind, name);
    }
    if (propagation != null && !List.of("Orphan", "Background", "Foreground").contains(propagation)) {
      throw KubeError.of(400, "BadRequest", "propagationPolicy must be Orphan, Background or Foreground: " + propagation);
    }
    if (!dryRun) {
      if (kind == Kind.DAEMON_SET) {
        fleet.deleteDaemonSet(namespace, name, !"Orphan".equals(propagation));
      } else {
        fleet.deleteConfig(kind.kind, namespace, name);
      }
    }
    return KubeObjects.deleted(kind.group, kind.resource, name, now.path("metadata").path("uid").asText());
  }

  /** The patched object (a copy). */
  static ObjectNode apply(ObjectNode now, String contentType, JsonNode patch) {
    String type = contentType == null ? "" : contentType.split(";")[0].trim();
    JsonNode out;
    try {
      out = switch (type) {
        case "application/merge-patch+json" -> Patches.mergePatch(now, patch);
        case "application/json-patch+json" -> Patches.jsonPatch(now, patch);
        case "application/strategic-merge-patch+json" -> Patches.strategicMerge(now, patch);
        case "application/apply-patch+yaml" -> throw KubeError.of(415, "UnsupportedMediaType", "server-side apply (kubectl apply"
            + " --server-side) is not served by the dsfleet coordinator yet: use kubectl apply without --server-side");
        default -> throw KubeError.of(415, "UnsupportedMediaType", "the body of the request was in an unknown format - accepted media"
            + " types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json");
      };
    } catch (Patches.PatchException e) {
      throw KubeError.of(422, "Invalid", "the patch cannot be applied: " + e.getMessage());
    }
    if (!out.isObject()) {
      throw KubeError.of(422, "Invalid", "the patched object is not an object");
    }
    return (ObjectNode) out;
  }

  /**
   * The body as the object to write: its kind and apiVersion those of the URL, its namespace and
   * name those of the URL (set when missing, a mismatch refused), what the server sets removed.
   */
  private static ObjectNode object(Kind kind, String namespace, String name, JsonNode body) {
    if (body == null || !body.isObject()) {
      throw KubeError.of(400, "BadRequest", "the request body is not a " + kind.kind + " object");
    }
    ObjectNode o = ((ObjectNode) body).deepCopy();
    if (!o.path("kind").asText(kind.kind).equals(kind.kind) || !o.path("apiVersion").asText(kind.apiVersion).equals(kind.apiVersion)) {
      throw KubeError.of(400, "BadRequest", "the API version in the data (" + o.path("apiVersion").asText() + ") and kind ("
          + o.path("kind").asText() + ") do not match " + kind.apiVersion + " " + kind.kind + ", the resource of the URL");
    }
    o.put("apiVersion", kind.apiVersion).put("kind", kind.kind);
    ObjectNode meta = o.with("metadata");
    String ns = meta.path("namespace").asText("");
    if (!ns.isEmpty() && !ns.equals(namespace)) {
      throw KubeError.of(400, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request");
    }
    meta.put("namespace", namespace);
    String n = meta.path("name").asText("");
    if (n.isEmpty() && name == null) {
      throw KubeError.of(422, "Invalid", kind.kind + " is invalid: metadata.name: Required value: name is required (generateName is"
          + " not served: dsfleet objects are named)");
    }
    if (name != null && !n.isEmpty() && !n.equals(name)) {
      throw KubeError.of(400, "BadRequest", "the name of the object (" + n + ") does not match the name on the URL (" + name + ")");
    }
    if (n.isEmpty()) {
      meta.put("name", name);
    }
    // what the API server sets, as it shows them: not the client's to write
    o.remove("status");
    meta.remove(List.of("uid", "creationTimestamp", "generation", "managedFields", "selfLink", "deletionTimestamp",
        "deletionGracePeriodSeconds"));
    if (o.path("spec").isObject()) {
      ((ObjectNode) o.get("spec")).remove("templateGeneration");
      if (o.path("spec").path("template").path("metadata").isObject()) {
        ((ObjectNode) o.get("spec").get("template").get("metadata")).remove("creationTimestamp");
      }
    }
    if (meta.path("annotations").isObject() && meta.get("annotations").isEmpty()) {
      meta.remove("annotations");
    }
    return o;
  }

  /** Validates, then applies (created: refused when it exists), as the fleet's apply does; answers the object. */
  private Written write(Kind kind, String namespace, String name, ObjectNode o, boolean dryRun, boolean create) {
    String text = o.toString();
    List<ParsedDocument> docs = ManifestParser.parse(text, "kubectl");
    List<Problem> problems = docs.stream().flatMap(d -> d.errors().stream()).toList();
    if (!problems.isEmpty()) {
      throw invalid(kind, name, problems);
    }
    Fleet.ApplyOutcome outcome;
    try {
      outcome = create ? fleet.create(text, "kubectl", dryRun) : fleet.apply(text, "kubectl", dryRun);
    } catch (ControlException e) {
      throw switch (e.code()) {
        case ALREADY_EXISTS -> KubeError.of(409, "AlreadyExists", kind.qualified() + " \"" + name + "\" already exists");
        case FAILED_PRECONDITION, ABORTED -> KubeError.of(409, "Conflict", "Operation cannot be fulfilled on " + kind.qualified() + " \""
            + name + "\": the object has been modified; please apply your changes to the latest version and try again");
        case INVALID_ARGUMENT -> invalid(kind, name, List.of(new Problem("", e.getMessage().replaceFirst("^kubectl#1 \\S+: ", ""))));
        default -> e;
      };
    }
    List<String> warnings = outcome.warnings().stream().map(w -> w.replaceFirst("^kubectl#1 \\S+: ", "")).toList();
    ObjectNode now = current(kind, namespace, name);
    if (dryRun || now == null) {
      ObjectNode would = o.deepCopy();
      if (now != null) {
        ObjectNode meta = would.with("metadata");
        now.path("metadata").fields().forEachRemaining(e -> {
          if (List.of("uid", "creationTimestamp", "generation", "resourceVersion").contains(e.getKey())) {
            meta.set(e.getKey(), e.getValue());
          }
        });
      }
      return new Written(would, warnings, create);
    }
    return new Written(now, warnings, create);
  }

  /** 422 Invalid with each problem a cause, as `The DaemonSet "x" is invalid: spec...: Required value`. */
  static KubeError invalid(Kind kind, String name, List<Problem> problems) {
    String joined = problems.size() == 1 ? problems.get(0).toString().replaceFirst("^: ", "")
        : "[" + String.join(", ", problems.stream().map(Problem::toString).toList()) + "]";
    ObjectNode s = KubeObjects.status(422, "Invalid", kind.kind + (kind.group.isEmpty() ? "" : "." + kind.group) + " \"" + name
        + "\" is invalid: " + joined);
    ObjectNode details = s.putObject("details").put("name", name).put("group", kind.group).put("kind", kind.kind);
    ArrayNode causes = details.putArray("causes");
    for (Problem p : problems) {
      ObjectNode c = causes.addObject().put("reason", reason(p.message())).put("message", p.message());
      if (!p.path().isEmpty()) {
        c.put("field", p.path());
      }
    }
    return new KubeError(s);
  }

  private static String reason(String message) {
    return message.startsWith("Required value") ? "FieldValueRequired" : message.startsWith("Unsupported value") ? "FieldValueNotSupported"
        : message.startsWith("Duplicate value") ? "FieldValueDuplicate" : message.startsWith("Forbidden") ? "FieldValueForbidden"
            : message.startsWith("Too many") ? "FieldValueTooMany" : message.startsWith("Not found") ? "FieldValueNotFound"
                : "FieldValueInvalid";
  }

  /**
   * PATCH of a node: what dsctl label, taint and cordon change, and nothing else of it (a node's
   * other fields are the agent's). Each change is the same call dsctl makes: labels, then
   * taints, then the cordon; the node as it is after them.
   */
  ObjectNode patchNode(String name, String contentType, JsonNode patch, boolean dryRun) {
    NodeSnapshot n = fleet.node(name, false);
    if (n == null) {
      throw KubeError.of(404, "NotFound", "nodes \"" + name + "\" not found");
    }
    ObjectNode before = KubeObjects.node(n);
    ObjectNode after = apply(before, contentType, patch);
    Map<String, String> labels = new HashMap<>();
    after.path("metadata").path("labels").fields().forEachRemaining(e -> labels.put(e.getKey(), e.getValue().asText()));
    List<Taint> taints = new ArrayList<>();
    for (JsonNode t : after.path("spec").path("taints")) {
      try {
        taints.add(new Taint(t.path("key").asText(), t.path("value").asText(""), t.path("effect").asText(), null));
      } catch (IllegalArgumentException e) {
        throw KubeError.of(422, "Invalid", "Node \"" + name + "\" is invalid: spec.taints: " + e.getMessage());
      }
    }
    boolean unschedulable = after.path("spec").path("unschedulable").asBoolean(false);
    ObjectNode rest = strip(after.deepCopy());
    if (!rest.equals(strip(before.deepCopy()))) {
      throw KubeError.of(422, "Invalid", "Node \"" + name + "\" is invalid: the dsfleet coordinator changes a node's metadata.labels,"
          + " spec.taints and spec.unschedulable only (kubectl label, taint, cordon); its other fields are its agent's");
    }
    List<Problem> problems = new ArrayList<>();
    labels.forEach((k, v) -> {
      String bad = io.dsfleet.common.manifest.Names.qualifiedName(k);
      if (bad != null) {
        problems.add(Problem.invalid("metadata.labels", k, bad));
      }
      bad = io.dsfleet.common.manifest.Names.labelValue(v);
      if (bad != null) {
        problems.add(Problem.invalid("metadata.labels", v, bad));
      }
    });
    if (!problems.isEmpty()) {
      throw new KubeError(KubeObjects.status(422, "Invalid", "Node \"" + name + "\" is invalid: " + problems.get(0)));
    }
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
    List<Taint> add = taints.stream().filter(t -> !n.taints().contains(t)).toList();
    List<Fleet.TaintRemoval> gone = n.taints().stream().filter(t -> !taints.contains(t))
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

  /** A node's JSON without what a patch may change. */
  private static ObjectNode strip(ObjectNode node) {
    node.with("metadata").remove("labels");
    node.with("spec").remove(List.of("taints", "unschedulable"));
    return node;
  }
}
