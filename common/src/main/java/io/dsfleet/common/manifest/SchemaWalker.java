package io.dsfleet.common.manifest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dsfleet.common.model.IntOrString;
import io.dsfleet.common.model.ResourceRequirements;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Checks a document tree against the model records, field by field, so that every field is
 * either understood, ignored out loud, or refused with its path. Nothing is dropped silently.
 *
 * <p>Record components are the supported fields. {@link #IGNORED} lists fields that have no
 * meaning off Kubernetes: they are removed from the tree and reported as warnings. Any other field
 * is an error. Nulls are removed (Kubernetes treats an explicit null as unset). Scalars are
 * type-checked the way Kubernetes' strict decoder does: a string field wants a string, an integer
 * field an integer; quantities (resources) also take numbers.
 */
final class SchemaWalker {

  /** "RecordName.field" -> why it is ignored. */
  static final Map<String, String> IGNORED =
      Map.ofEntries(
          Map.entry("ObjectMeta.uid", "server-assigned in Kubernetes"),
          Map.entry("ObjectMeta.generation", "the coordinator assigns generations"),
          Map.entry("ObjectMeta.creationTimestamp", "server-assigned in Kubernetes"),
          Map.entry("ObjectMeta.managedFields", "server-side apply bookkeeping"),
          Map.entry("ObjectMeta.selfLink", "server-assigned in Kubernetes"),
          Map.entry("ObjectMeta.finalizers", "no Kubernetes controllers run here"),
          Map.entry("ObjectMeta.ownerReferences", "no Kubernetes garbage collector runs here"),
          Map.entry("TemplateMetadata.name", "pods are named by the coordinator"),
          Map.entry("TemplateMetadata.namespace", "pods take the DaemonSet's namespace"),
          Map.entry("TemplateMetadata.creationTimestamp", "server-assigned in Kubernetes"),
          Map.entry("DaemonSet.status", "status is computed by the coordinator"),
          Map.entry("DaemonSetSpec.templateGeneration", "deprecated; revisions are tracked by the coordinator"),
          Map.entry("PodSpec.serviceAccountName", "no Kubernetes API or service accounts on dsfleet hosts"),
          Map.entry("PodSpec.serviceAccount", "no Kubernetes API or service accounts on dsfleet hosts"),
          Map.entry("PodSpec.automountServiceAccountToken", "no service account tokens on dsfleet hosts"),
          Map.entry("PodSpec.priorityClassName", "one pod per node: there is nothing to preempt"),
          Map.entry("PodSpec.priority", "one pod per node: there is nothing to preempt"),
          Map.entry("PodSpec.preemptionPolicy", "one pod per node: there is nothing to preempt"),
          Map.entry("PodSpec.dnsPolicy", "containers use the Docker daemon's DNS (the host's with hostNetwork)"),
          Map.entry("PodSpec.schedulerName", "the coordinator places every DaemonSet pod"),
          Map.entry("PodSpec.enableServiceLinks", "there are no Kubernetes Services"),
          Map.entry("PodSpec.topologySpreadConstraints", "a DaemonSet runs one pod per node already"),
          Map.entry("PodSecurityContext.fsGroupChangePolicy", "volume ownership is set when the agent writes the volume"),
          Map.entry("Container.terminationMessagePolicy", "the exit code alone is reported, no message: a crashed run's log is read with dsctl logs --previous"),
          Map.entry("Container.terminationMessagePath", "the exit code alone is reported, no message: a crashed run's log is read with dsctl logs --previous"),
          Map.entry("NodeAffinity.preferredDuringSchedulingIgnoredDuringExecution",
              "a DaemonSet places one pod on every matching node; preferences rank nothing"));

  /** Unsupported fields with a more useful message than "not supported". */
  static final Map<String, String> EXPLAINED =
      Map.of(
          "PodSecurityContext.windowsOptions", "Windows pods; dsfleet runs pods on Linux Docker hosts",
          "SecurityContext.windowsOptions", "Windows pods; dsfleet runs pods on Linux Docker hosts",
          "PodSpec.nodeName", "the coordinator places DaemonSet pods; use a nodeSelector or node affinity",
          "LifecycleHandler.httpGet", "only exec lifecycle hooks are supported",
          "LifecycleHandler.tcpSocket", "only exec lifecycle hooks are supported");

  private final List<String> warnings = new ArrayList<>();
  private final List<Problem> errors = new ArrayList<>();

  List<String> warnings() {
    return warnings;
  }

  List<Problem> errors() {
    return errors;
  }

  void walk(JsonNode node, Class<?> recordType, String path) {
    if (!node.isObject()) {
      errors.add(Problem.invalid(path, scalarText(node), "expected an object"));
      return;
    }
    ObjectNode obj = (ObjectNode) node;
    Iterator<Map.Entry<String, JsonNode>> it = obj.fields();
    List<String> toRemove = new ArrayList<>();
    while (it.hasNext()) {
      Map.Entry<String, JsonNode> e = it.next();
      String field = e.getKey();
      String childPath = join(path, field);
      RecordComponent comp = component(recordType, field);
      if (e.getValue().isNull() || (comp != null && isEmptyScalarForContainer(e.getValue(), comp.getGenericType()))) {
        toRemove.add(field);
        continue;
      }
      String key = recordType.getSimpleName() + "." + field;
      if (comp != null) {
        walkValue(e.getValue(), comp.getGenericType(), childPath, recordType == ResourceRequirements.class);
      } else if (IGNORED.containsKey(key)) {
        warnings.add(childPath + ": ignored (" + IGNORED.get(key) + ")");
        toRemove.add(field);
      } else {
        errors.add(Problem.notSupported(childPath, EXPLAINED.get(key)));
      }
    }
    obj.remove(toRemove);
  }

  private void walkValue(JsonNode value, Type type, String path, boolean quantities) {
    if (type instanceof ParameterizedType p) {
      Class<?> raw = (Class<?>) p.getRawType();
      Type arg = p.getActualTypeArguments()[p.getActualTypeArguments().length - 1];
      if (raw == List.class) {
        if (!value.isArray()) {
          errors.add(Problem.invalid(path, scalarText(value), "expected a list"));
          return;
        }
        ArrayNode array = (ArrayNode) value;
        for (int i = 0; i < array.size(); i++) {
          if (array.get(i).isNull()) {
            errors.add(Problem.required(path + "[" + i + "]"));
          } else {
            walkValue(array.get(i), arg, path + "[" + i + "]", quantities);
          }
        }
        return;
      }
      if (raw == Map.class) {
        if (!value.isObject()) {
          errors.add(Problem.invalid(path, scalarText(value), "expected a map"));
          return;
        }
        value.fields().forEachRemaining(e -> walkValue(e.getValue(), arg, path + "." + e.getKey(), quantities));
        return;
      }
      throw new IllegalStateException("unexpected model type " + type);
    }
    Class<?> cls = (Class<?>) type;
    if (cls.isRecord() && cls != IntOrString.class) {
      walk(value, cls, path);
    } else if (cls == String.class) {
      boolean ok = value.isTextual() || (quantities && value.isNumber());
      if (!ok) {
        errors.add(Problem.invalid(path, scalarText(value), "expected a string"));
      }
    } else if (cls == Integer.class || cls == Long.class) {
      if (!value.isIntegralNumber() || (cls == Integer.class && !value.canConvertToInt())) {
        errors.add(Problem.invalid(path, scalarText(value), "expected an integer"));
      }
    } else if (cls == Boolean.class) {
      if (!value.isBoolean()) {
        errors.add(Problem.invalid(path, scalarText(value), "expected true or false"));
      }
    } else if (cls == IntOrString.class) {
      if (!(value.isTextual() || (value.isIntegralNumber() && value.canConvertToInt()))) {
        errors.add(Problem.invalid(path, scalarText(value), "expected an integer or a string"));
      }
    } else {
      throw new IllegalStateException("unexpected model type " + cls);
    }
  }

  /** YAML "key:" with no value reads as "" here; Kubernetes reads it as null for objects and lists. */
  private static boolean isEmptyScalarForContainer(JsonNode value, Type type) {
    boolean container = type instanceof ParameterizedType || (type instanceof Class<?> c && c.isRecord() && c != IntOrString.class);
    return container && value.isTextual() && value.textValue().isEmpty();
  }

  private static RecordComponent component(Class<?> recordType, String name) {
    for (RecordComponent c : recordType.getRecordComponents()) {
      if (c.getName().equals(name)) {
        return c;
      }
    }
    return null;
  }

  static String join(String path, String field) {
    return path.isEmpty() ? field : path + "." + field;
  }

  private static Object scalarText(JsonNode node) {
    if (node.isTextual()) {
      return node.textValue();
    }
    if (node.isContainerNode()) {
      return node.isArray() ? "[...]" : "{...}";
    }
    if (node.isNumber()) {
      return node.numberValue();
    }
    return node.isBoolean() ? node.booleanValue() : node.toString();
  }
}
