package io.dsfleet.coordinator.kubeapi;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dsfleet.common.Json;
import io.dsfleet.common.manifest.ManifestParser;
import io.dsfleet.common.model.KubeObject;
import io.dsfleet.common.manifest.ParsedDocument;
import io.dsfleet.common.manifest.Problem;
import io.dsfleet.coordinator.fleet.ControlException;
import io.dsfleet.coordinator.fleet.Fleet;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

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
  private final java.time.Clock clock;

  KubeWrites(Fleet fleet, java.time.Clock clock) {
    this.fleet = fleet;
    this.clock = clock;
  }

  private String now() {
    return KubeObjects.timestamp(clock.millis());
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
  Written create(Kind kind, String namespace, JsonNode body, boolean dryRun, String manager) {
    ObjectNode o = object(kind, namespace, null, body);
    if (!o.path("metadata").path("resourceVersion").asText("").isEmpty()) {
      throw KubeError.of(400, "BadRequest", "resourceVersion should not be set on objects to be created");
    }
    String name = o.path("metadata").path("name").asText();
    keep(o, ManagedFields.updated(null, o, List.of(), manager, kind.apiVersion, now()));
    return write(kind, namespace, name, o, dryRun, true);
  }

  /** PUT: the whole object; over the resourceVersion it names (Conflict when it moved), or unconditionally without one. */
  Written replace(Kind kind, String namespace, String name, JsonNode body, boolean dryRun, String manager) {
    ObjectNode now = current(kind, namespace, name);
    if (now == null) {
      throw notFound(kind, name);
    }
    checkUid(kind, name, now, body);
    ObjectNode o = object(kind, namespace, name, body);
    keep(o, ManagedFields.updated(object(kind, namespace, name, now), o, named(body, now), manager, kind.apiVersion, now()));
    return write(kind, namespace, name, o, dryRun, false);
  }

  /**
   * PATCH with one of the three patch types, applied to the object as read and written over that
   * version; or a server-side apply ({@link #serverSideApply}).
   */
  Written patch(Kind kind, String namespace, String name, String contentType, JsonNode patch, boolean dryRun, String manager,
      boolean force) {
    boolean apply = contentType != null && contentType.startsWith("application/apply-patch+yaml");
    for (int attempt = 1; ; attempt++) {
      ObjectNode now = current(kind, namespace, name);
      if (now == null && !apply) {
        throw notFound(kind, name);
      }
      JsonNode changed = apply ? null : apply(now, contentType, patch);
      ObjectNode patched = apply ? serverSideApply(kind, namespace, name, now, patch, manager, force)
          : object(kind, namespace, name, checkUid(kind, name, now, changed));
      if (!apply) {
        keep(patched, ManagedFields.updated(object(kind, namespace, name, now), patched, named(changed, now), manager,
            kind.apiVersion, now()));
      }
      if (now == null) {
        return write(kind, namespace, name, patched, dryRun, true);
      }
      String read = now.path("metadata").path("resourceVersion").asText();
      String requested = patched.path("metadata").path("resourceVersion").asText("");
      // a patch naming another version is a compare-and-set on it; otherwise it is written over the
      // version read, and a change in between is a conflict, tried again on the new version
      boolean pinned = !requested.isEmpty() && !requested.equals(read);
      if (!pinned) {
        patched.with("metadata").put("resourceVersion", read);
      }
      try {
        return write(kind, namespace, name, patched, dryRun, false);
      } catch (KubeError e) {
        if (e.status.path("code").asInt() != 409 || pinned || attempt == PATCH_ATTEMPTS) {
          throw e;
        }
      }
    }
  }

  /**
   * The managers a replace or patch starts from, as Kubernetes takes them: the metadata.managedFields
   * its object names (kubectl apply --server-side rewrites them so, moving an object's fields from
   * kubectl-client-side-apply to kubectl), none for the reset [{}], the object's own when it names
   * none or none that can be read. Before 2026-12-06 the object's own always: the rewrite was
   * answered 200 and ignored, and the next server-side apply of a change conflicted with
   * kubectl-client-side-apply, where Kubernetes moves the object over without one.
   */
  private static List<ManagedFields.Entry> named(JsonNode written, ObjectNode now) {
    JsonNode named = written == null ? null : written.path("metadata").path("managedFields");
    if (named != null && named.isArray() && named.size() == 1 && named.get(0).isObject() && named.get(0).isEmpty()) {
      return new ArrayList<>();
    }
    List<ManagedFields.Entry> entries = named != null && named.isArray() && !named.isEmpty() ? ManagedFields.of(written) : List.of();
    return entries.isEmpty() ? ManagedFields.of(now) : entries;
  }

  /**
   * A body or patched object naming a uid (kubectl replace of an exported object): a precondition,
   * as Kubernetes checks it; another uid is 409 Conflict, where it was dropped with what the server
   * sets and the write went to whatever object now has the name.
   */
  private static JsonNode checkUid(Kind kind, String name, ObjectNode now, JsonNode body) {
    String named = body.path("metadata").path("uid").asText("");
    String is = now.path("metadata").path("uid").asText();
    if (!named.isEmpty() && !named.equals(is)) {
      throw KubeError.of(409, "Conflict", "Operation cannot be fulfilled on " + kind.qualified() + " \"" + name + "\": Precondition"
          + " failed: UID in precondition: " + named + ", UID in object meta: " + is);
    }
    return body;
  }

  /** DELETE: Orphan leaves the pods running unmanaged (dsctl delete --cascade=orphan); Background and Foreground remove them. */
  ObjectNode delete(Kind kind, String namespace, String name, String propagation, JsonNode preconditions, boolean dryRun) {
    ObjectNode now = current(kind, namespace, name);
    if (now == null) {
      throw notFound(kind, name);
    }
    for (String field : List.of("uid", "resourceVersion")) {
      JsonNode wanted = preconditions == null ? null : preconditions.get(field);
      if (wanted != null && !wanted.isNull() && !wanted.asText().equals(now.path("metadata").path(field).asText())) {
        throw KubeError.of(409, "Conflict", "Operation cannot be fulfilled on " + kind.qualified() + " \"" + name + "\": Precondition"
            + " failed: " + field + " in precondition: " + wanted.asText() + ", " + field + " in object meta: "
            + now.path("metadata").path(field).asText());
      }
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

  /**
   * Server-side apply: the object as {@code manager} applies {@code config} onto it (null: a new
   * one), its managed fields kept on it; 409 naming each field another manager owns with another
   * value, unless forced.
   */
  private ObjectNode serverSideApply(Kind kind, String namespace, String name, ObjectNode now, JsonNode config, String manager,
      boolean force) {
    if (manager == null || manager.isEmpty()) {
      throw KubeError.of(422, "Invalid", "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply"
          + " patch");
    }
    String directive = directive(config, "");
    if (directive != null) {
      throw KubeError.of(422, "Invalid", kind.kind + " \"" + name + "\" is invalid: " + directive + ": an apply configuration has no"
          + " patch directives (they would change fields other managers own without a conflict)");
    }
    if (now != null) {
      checkUid(kind, name, now, config);
    }
    ObjectNode applied = object(kind, namespace, name, config);
    // an apply config's resourceVersion is a precondition, as Kubernetes holds it (the write below pins it), not a field
    // of anyone's; until 2026-12-08 it was dropped, and so was its uid: an exported object applied server-side went
    // over every change made since by its own manager, and over an object made again under the name
    JsonNode requested = applied.with("metadata").remove("resourceVersion");
    List<ManagedFields.Conflict> conflicts = new ArrayList<>();
    List<ParsedDocument> parsed = ManifestParser.parse(applied.toString(), "kubectl");
    JsonNode defaulted = parsed.size() == 1 && parsed.get(0).object() != null ? Json.mapper().valueToTree(parsed.get(0).object()) : applied;
    ManagedFields.Applied out;
    try {
      out = ManagedFields.apply(now == null ? null : object(kind, namespace, name, now), ManagedFields.of(now), applied, defaulted,
          manager, kind.apiVersion, now(), force, conflicts);
    } catch (Patches.PatchException e) {
      throw KubeError.of(422, "Invalid", kind.kind + " \"" + name + "\" is invalid: " + e.getMessage());
    }
    if (out == null) {
      throw conflict(kind, name, conflicts);
    }
    ObjectNode o = object(kind, namespace, name, out.object());
    List<ManagedFields.Entry> entries = out.entries();
    if (now != null && o.equals(object(kind, namespace, name, now)) && sameFields(entries, ManagedFields.of(now))) {
      entries = ManagedFields.of(now); // nothing changed: the times stay
    }
    keep(o, entries);
    // held only over an object there is: an apply that creates has no version to hold (Kubernetes makes the object),
    // and until helper-203 an export of an object since deleted, applied to put it back, was refused as modified
    if (now != null && requested != null && !requested.asText("").isEmpty()) {
      o.with("metadata").put("resourceVersion", requested.asText());
    }
    return o;
  }

  /** The path of the first key of a body that is a patch directive ($patch, $retainKeys, ...); null when none. */
  private static String directive(JsonNode node, String path) {
    if (node.isObject()) {
      for (var it = node.fields(); it.hasNext(); ) {
        var e = it.next();
        String at = path.isEmpty() ? e.getKey() : path + "." + e.getKey();
        if (e.getKey().startsWith("$")) {
          return at;
        }
        String inner = directive(e.getValue(), at);
        if (inner != null) {
          return inner;
        }
      }
    } else if (node.isArray()) {
      for (int i = 0; i < node.size(); i++) {
        String inner = directive(node.get(i), path + "[" + i + "]");
        if (inner != null) {
          return inner;
        }
      }
    }
    return null;
  }

  private static boolean sameFields(List<ManagedFields.Entry> a, List<ManagedFields.Entry> b) {
    Map<String, java.util.Set<List<String>>> x = new HashMap<>();
    Map<String, java.util.Set<List<String>>> y = new HashMap<>();
    a.stream().filter(e -> !e.fields().isEmpty()).forEach(e -> x.put(e.manager() + "/" + e.operation(), e.fields()));
    b.stream().filter(e -> !e.fields().isEmpty()).forEach(e -> y.put(e.manager() + "/" + e.operation(), e.fields()));
    return x.equals(y);
  }

  /** 409 as Kubernetes words an apply's conflicts (kubectl adds how to resolve them). */
  private static KubeError conflict(Kind kind, String name, List<ManagedFields.Conflict> conflicts) {
    List<String> lines = conflicts.stream().map(c -> "conflict with \"" + c.manager() + "\"" + (c.apiVersion().isEmpty() ? ""
        : " using " + c.apiVersion()) + ": " + ManagedFields.print(c.field())).toList();
    String message = conflicts.size() == 1 ? "Apply failed with 1 conflict: " + lines.get(0)
        : "Apply failed with " + conflicts.size() + " conflicts: " + String.join("\n", lines);
    ObjectNode s = KubeObjects.status(409, "Conflict", message);
    ArrayNode causes = s.putObject("details").put("name", name).put("group", kind.group).put("kind", kind.resource).putArray("causes");
    for (ManagedFields.Conflict c : conflicts) {
      causes.addObject().put("reason", "FieldManagerConflict").put("message", "conflict with \"" + c.manager() + "\"")
          .put("field", ManagedFields.print(c.field()));
    }
    return new KubeError(s);
  }

  /**
   * Puts the managed fields on the object to write, each entry only with the fields the object has
   * as it will be stored (parsed: what dsfleet drops is nobody's field).
   */
  private static void keep(ObjectNode o, List<ManagedFields.Entry> entries) {
    List<ParsedDocument> docs = ManifestParser.parse(o.toString(), "kubectl");
    if (docs.size() == 1 && docs.get(0).object() != null) {
      entries = ManagedFields.within(entries, Json.mapper().valueToTree(docs.get(0).object()));
    }
    if (ManagedFields.render(entries).toString().length() > ManagedFields.MAX_BYTES) {
      entries = List.of(); // an object of very many fields (a ConfigMap of 30,000 keys): ownership is not kept for it
    }
    ManagedFields.keep(o, entries);
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
    if (o.has("metadata") && !o.get("metadata").isObject()) {
      throw KubeError.of(400, "BadRequest", "metadata must be an object");
    }
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
    if (meta.has("annotations") && !meta.get("annotations").isObject()) {
      throw KubeError.of(400, "BadRequest", "metadata.annotations must be a map of strings");
    }
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
      throw Invalids.of(kind, name, problems);
    }
    Fleet.ApplyOutcome outcome;
    try {
      outcome = create ? fleet.create(text, "kubectl", dryRun) : fleet.update(text, "kubectl", dryRun);
    } catch (ControlException e) {
      throw switch (e.code()) {
        case ALREADY_EXISTS -> KubeError.of(409, "AlreadyExists", kind.qualified() + " \"" + name + "\" already exists");
        case NOT_FOUND -> notFound(kind, name);
        case FAILED_PRECONDITION, ABORTED -> KubeError.of(409, "Conflict", "Operation cannot be fulfilled on " + kind.qualified() + " \""
            + name + "\": the object has been modified; please apply your changes to the latest version and try again");
        case INVALID_ARGUMENT -> Invalids.of(kind, name, Invalids.problems(e.getMessage().replaceFirst("^kubectl#1 \\S+: ", "")));
        default -> e;
      };
    }
    List<String> warnings = outcome.warnings().stream().map(w -> w.replaceFirst("^kubectl#1 \\S+: ", "")).toList();
    ObjectNode now = current(kind, namespace, name);
    if (dryRun || now == null) {
      // the object as a read would answer it once written: defaulted, as Kubernetes' dry run answers it. Before
      // 2026-12-06 the object as patched: a field the file gives its zero value ("" or 0, which defaulting takes for
      // unset) showed as that, so kubectl diff showed a change no apply makes, at every run (and a new object no defaults)
      KubeObject parsed = docs.size() == 1 ? docs.get(0).object() : null;
      ObjectNode would = parsed == null ? o.deepCopy() : Json.mapper().valueToTree(parsed);
      if (now != null) {
        ObjectNode meta = would.with("metadata");
        now.path("metadata").fields().forEachRemaining(e -> {
          if (List.of("uid", "creationTimestamp", "generation", "resourceVersion").contains(e.getKey())) {
            meta.set(e.getKey(), e.getValue());
          }
        });
        if (now.has("status")) {
          // a write does not set the status (it is the coordinator's): as it is now, as Kubernetes' dry run answers it
          // (before 2026-12-06 there was none, and kubectl diff showed every DaemonSet's status as removed)
          would.set("status", now.get("status").deepCopy());
        }
      }
      ManagedFields.show(would); // as the written object is answered: its managers' annotation as metadata.managedFields
      return new Written(would, warnings, create);
    }
    return new Written(now, warnings, create);
  }
}
