package io.dsfleet.coordinator.kubeapi;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dsfleet.common.Json;
import io.dsfleet.common.Sha256;
import io.dsfleet.common.model.ConfigMap;
import io.dsfleet.common.model.DaemonSet;
import io.dsfleet.common.model.IntOrString;
import io.dsfleet.common.model.Secret;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * OpenAPI v3 documents of the served kinds, made from the model records the coordinator parses
 * manifests into: a field is in the schema exactly when dsfleet takes it. kubectl reads them to
 * learn that the server validates fields itself (the fieldValidation parameter of each PATCH), and
 * `kubectl explain` prints them. Patch operations name no request body, so kubectl computes its
 * strategic merge patches from the types compiled into it, as Kubernetes' own.
 */
final class OpenApi {
  private OpenApi() {}

  /** Descriptions of the fields an operator looks up (dsfleet's own words); other fields have their type only. */
  private static final Map<String, String> DESCRIPTIONS = Map.ofEntries(
      Map.entry("DaemonSet", "A DaemonSet runs one pod on every node that matches it: dsfleet's agents run it on each host's Docker."),
      Map.entry("DaemonSet.spec", "What the DaemonSet runs, where, and how a new template rolls out."),
      Map.entry("DaemonSetSpec.selector", "The labels of the DaemonSet's pods; they must match the template's labels. Immutable."),
      Map.entry("DaemonSetSpec.template", "The pod every matching node runs. A change makes a new revision and rolls it out."),
      Map.entry("DaemonSetSpec.updateStrategy", "How a new template replaces the pods: RollingUpdate (node by node, each new pod"
          + " ready before the budget moves on) or OnDelete (a pod is replaced when it is deleted)."),
      Map.entry("DaemonSetSpec.minReadySeconds", "How long a new pod must be ready, without a container crashing, before it counts as"
          + " available. Defaults to 0."),
      Map.entry("DaemonSetSpec.revisionHistoryLimit", "How many old revisions are kept for rollout undo. Defaults to 10."),
      Map.entry("DaemonSetUpdateStrategy.type", "RollingUpdate (the default) or OnDelete."),
      Map.entry("DaemonSetUpdateStrategy.rollingUpdate", "The budget of a rolling update. Present only with type RollingUpdate."),
      Map.entry("RollingUpdateDaemonSet.maxUnavailable", "How many nodes may be without an available pod during the update: a number"
          + " or a percentage of the nodes that should run it (rounded up). Defaults to 1; 0 only with maxSurge."),
      Map.entry("RollingUpdateDaemonSet.maxSurge", "How many nodes may run the old and the new pod at once during the update: a number"
          + " or a percentage (rounded up). Defaults to 0; the agent starts the new pod before it stops the old."),
      Map.entry("ConfigMap", "Configuration that pods read through volumes and environment variables."),
      Map.entry("Secret", "Confidential configuration for pods, sealed at rest by the coordinator; values base64 in data."),
      Map.entry("ObjectMeta.resourceVersion", "The version of the object the coordinator holds; a write naming it is refused when the"
          + " object changed since (compare-and-set)."));

  /** GET /openapi/v3: the documents, each by its group-version path. */
  static ObjectNode root() {
    ObjectNode o = Json.mapper().createObjectNode();
    ObjectNode paths = o.putObject("paths");
    for (String gv : List.of("api/v1", "apis/apps/v1")) {
      paths.putObject(gv).put("serverRelativeURL", "/openapi/v3/" + gv + "?hash=" + hash(document(gv)));
    }
    return o;
  }

  private static String hash(ObjectNode doc) {
    return Sha256.hex(doc.toString().getBytes(StandardCharsets.UTF_8)).substring(0, 32).toUpperCase(java.util.Locale.ROOT);
  }

  /** The document of one group-version ("api/v1", "apis/apps/v1"); null for any other. */
  static ObjectNode document(String gv) {
    ObjectNode doc = Json.mapper().createObjectNode().put("openapi", "3.0.0");
    doc.putObject("info").put("title", "dsfleet").put("version", "v1." + KubeApi.KUBE_MINOR + ".0");
    ObjectNode paths = doc.putObject("paths");
    ObjectNode schemas = doc.putObject("components").putObject("schemas");
    switch (gv) {
      case "apis/apps/v1" -> served(paths, schemas, "apps", DaemonSet.class, "daemonsets");
      case "api/v1" -> {
        served(paths, schemas, "", ConfigMap.class, "configmaps");
        served(paths, schemas, "", Secret.class, "secrets");
      }
      default -> {
        return null;
      }
    }
    return doc;
  }

  private static void served(ObjectNode paths, ObjectNode schemas, String group, Class<?> kind, String resource) {
    String prefix = group.isEmpty() ? "/api/v1" : "/apis/" + group + "/v1";
    ObjectNode gvk = Json.mapper().createObjectNode().put("group", group).put("version", "v1").put("kind", kind.getSimpleName());
    ObjectNode collection = paths.putObject(prefix + "/namespaces/{namespace}/" + resource);
    collection.set("get", operation(gvk, "list", false));
    collection.set("post", operation(gvk, "post", true));
    ObjectNode one = paths.putObject(prefix + "/namespaces/{namespace}/" + resource + "/{name}");
    one.set("get", operation(gvk, "get", false));
    one.set("put", operation(gvk, "put", true));
    one.set("patch", operation(gvk, "patch", true));
    one.set("delete", operation(gvk, "delete", false));
    ObjectNode top = schema(kind, schemas);
    top.putArray("x-kubernetes-group-version-kind").add(gvk);
  }

  private static ObjectNode operation(ObjectNode gvk, String action, boolean validates) {
    ObjectNode op = Json.mapper().createObjectNode().put("x-kubernetes-action", action);
    op.set("x-kubernetes-group-version-kind", gvk.deepCopy());
    ArrayNode params = op.putArray("parameters");
    if (validates) {
      params.addObject().put("name", "fieldValidation").put("in", "query").put("description", "Strict: a field the server does not"
          + " take is an error (dsfleet always checks every field)").putObject("schema").put("type", "string");
      params.addObject().put("name", "dryRun").put("in", "query").putObject("schema").put("type", "string");
    }
    op.putObject("responses").putObject("200").put("description", "OK");
    return op;
  }

  private static String name(Class<?> record) {
    return "io.dsfleet.model." + record.getSimpleName();
  }

  /** The schema of a record, added to {@code schemas} with every record it refers to. */
  private static ObjectNode schema(Class<?> record, ObjectNode schemas) {
    if (schemas.has(name(record))) {
      return (ObjectNode) schemas.get(name(record));
    }
    ObjectNode s = schemas.putObject(name(record)).put("type", "object");
    describe(s, record.getSimpleName());
    ObjectNode properties = s.putObject("properties");
    for (RecordComponent c : record.getRecordComponents()) {
      ObjectNode p = property(c.getGenericType(), schemas);
      describe(p, record.getSimpleName() + "." + c.getName());
      properties.set(c.getName(), p);
    }
    return s;
  }

  private static void describe(ObjectNode s, String key) {
    if (DESCRIPTIONS.containsKey(key)) {
      s.put("description", DESCRIPTIONS.get(key));
    }
  }

  private static ObjectNode property(Type type, ObjectNode schemas) {
    ObjectNode p = Json.mapper().createObjectNode();
    if (type instanceof ParameterizedType pt) {
      Type arg = pt.getActualTypeArguments()[pt.getActualTypeArguments().length - 1];
      if (pt.getRawType() == List.class) {
        p.put("type", "array").set("items", property(arg, schemas));
      } else {
        p.put("type", "object").set("additionalProperties", property(arg, schemas));
      }
      return p;
    }
    Class<?> c = (Class<?>) type;
    if (c == IntOrString.class) {
      return p.put("type", "string").put("format", "int-or-string").put("x-kubernetes-int-or-string", true);
    }
    if (c.isRecord()) {
      schema(c, schemas);
      p.putArray("allOf").addObject().put("$ref", "#/components/schemas/" + name(c));
      return p;
    }
    if (c == String.class) {
      return p.put("type", "string");
    }
    if (c == Integer.class || c == Long.class || c == int.class || c == long.class) {
      return p.put("type", "integer").put("format", c == Long.class || c == long.class ? "int64" : "int32");
    }
    if (c == Boolean.class || c == boolean.class) {
      return p.put("type", "boolean");
    }
    if (c == Instant.class) {
      return p.put("type", "string").put("format", "date-time");
    }
    throw new IllegalStateException("no schema for " + c);
  }
}
