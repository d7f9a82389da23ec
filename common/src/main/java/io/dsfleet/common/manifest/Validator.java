package io.dsfleet.common.manifest;

import io.dsfleet.common.match.LabelSelectors;
import io.dsfleet.common.model.*;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Kubernetes validation of defaulted objects (apps/v1 DaemonSet, v1 ConfigMap, v1 Secret), with
 * Kubernetes' field paths and wording. Each rule is one block; the test table in
 * ValidatorTest has a named row per rule. The objects, their metadata, selectors, update
 * strategy, pod and scheduling are here; a pod's containers are {@link ContainerRules}, its
 * volumes {@link VolumeRules}, all adding to one list of problems ({@link Rules}).
 */
public final class Validator extends Rules {
  static final Set<String> SELECTOR_OPS = Set.of("In", "NotIn", "Exists", "DoesNotExist");
  static final Set<String> NODE_SELECTOR_OPS = Set.of("In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt");
  static final Set<String> EFFECTS = Set.of("NoSchedule", "PreferNoSchedule", "NoExecute");
  static final int MAX_ANNOTATIONS_BYTES = 256 * 1024;
  /**
   * Where the Kubernetes API keeps who set which field (server-side apply's managed fields): the
   * coordinator's bookkeeping, not counted in the 256 KiB of annotations, capped on its own.
   */
  public static final String MANAGED_FIELDS_ANNOTATION = "dsfleet.io/managed-fields";
  public static final int MAX_MANAGED_FIELDS_BYTES = 1024 * 1024;
  static final int MAX_CONFIG_BYTES = 1024 * 1024;
  /**
   * A DaemonSet's pods are named after it and a pod's name is its hostname (at most 63
   * characters): the name is held to a DNS label's 63 characters rather than Kubernetes'
   * 253-character subdomain. Namespaces are DNS labels already; ConfigMaps and Secrets name no pod.
   */
  static final int MAX_DAEMON_SET_NAME = 63;
  /**
   * Containers and init containers of one pod together. Kubernetes has no such limit (only the
   * object's size bounds it); here every one is a Docker container created on every matching
   * node, so a bound far above real DaemonSets (the 30 real manifests have at most 8) stops one
   * manifest from making each host start hundreds.
   */
  static final int MAX_CONTAINERS = 64;

  private final ContainerRules containerRules = new ContainerRules(errors);
  private final VolumeRules volumeRules = new VolumeRules(errors);

  private Validator() {
    super(new ArrayList<>());
  }

  public static List<Problem> validate(KubeObject object) {
    Validator v = new Validator();
    if (object instanceof DaemonSet ds) {
      v.daemonSet(ds);
    } else if (object instanceof ConfigMap cm) {
      v.configMap(cm);
    } else if (object instanceof Secret s) {
      v.secret(s);
    }
    return List.copyOf(v.errors);
  }

  // --- objects ---

  private void daemonSet(DaemonSet ds) {
    objectMeta(ds.metadata(), "metadata");
    String name = ds.metadata() == null ? null : ds.metadata().name();
    if (name != null && name.length() > MAX_DAEMON_SET_NAME && errors.stream().noneMatch(p -> p.path().equals("metadata.name"))) {
      errors.add(Problem.invalid("metadata.name", name, "must be no more than " + MAX_DAEMON_SET_NAME
          + " characters (a DaemonSet's pods are named after it and need a hostname)"));
    }
    Map<String, String> a = ds.metadata() == null || ds.metadata().annotations() == null ? Map.of() : ds.metadata().annotations();
    String deadline = a.get("dsfleet.io/progress-deadline-seconds");
    if (deadline != null && !deadline.matches("[1-9][0-9]{0,8}")) {
      errors.add(Problem.invalid("metadata.annotations[dsfleet.io/progress-deadline-seconds]", deadline, "must be a positive number of seconds"));
    }
    String onFailure = a.get("dsfleet.io/on-failure");
    if (onFailure != null && !onFailure.equals("pause") && !onFailure.equals("rollback")) {
      errors.add(Problem.unsupportedValue("metadata.annotations[dsfleet.io/on-failure]", onFailure, List.of("pause", "rollback")));
    }
    DaemonSetSpec spec = ds.spec();
    if (spec == null) {
      errors.add(Problem.required("spec"));
      return;
    }
    LabelSelector selector = spec.selector();
    if (selector == null) {
      errors.add(Problem.required("spec.selector"));
    } else {
      labelSelector(selector, "spec.selector");
      if (isEmpty(selector.matchLabels()) && isEmpty(selector.matchExpressions())) {
        errors.add(Problem.invalid("spec.selector", "{}", "empty selector is invalid for daemonset"));
      }
    }
    PodTemplateSpec template = spec.template();
    Map<String, String> templateLabels =
        template == null || template.metadata() == null ? null : template.metadata().labels();
    if (template == null || template.spec() == null) {
      errors.add(Problem.required("spec.template.spec"));
    } else {
      labels(templateLabels, "spec.template.metadata.labels");
      annotations(template.metadata() == null ? null : template.metadata().annotations(),
          "spec.template.metadata.annotations");
      if (selector != null && errors.stream().noneMatch(p -> p.path().startsWith("spec.selector"))
          && !(isEmpty(selector.matchLabels()) && isEmpty(selector.matchExpressions()))
          && !LabelSelectors.matches(selector, templateLabels == null ? Map.of() : templateLabels)) {
        errors.add(Problem.invalid("spec.template.metadata.labels", templateLabels == null ? "{}" : templateLabels.toString(),
            "`selector` does not match template `labels`"));
      }
      podSpec(template.spec(), "spec.template.spec");
    }
    nonNegative(spec.minReadySeconds(), "spec.minReadySeconds");
    nonNegative(spec.revisionHistoryLimit(), "spec.revisionHistoryLimit");
    updateStrategy(spec.updateStrategy(), "spec.updateStrategy");
  }

  private void configMap(ConfigMap cm) {
    objectMeta(cm.metadata(), "metadata");
    Map<String, String> data = cm.data() == null ? Map.of() : cm.data();
    Map<String, String> binary = cm.binaryData() == null ? Map.of() : cm.binaryData();
    long size = 0;
    for (var e : data.entrySet()) {
      configKey(e.getKey(), "data[" + e.getKey() + "]");
      size += e.getKey().length() + e.getValue().length();
    }
    for (var e : binary.entrySet()) {
      configKey(e.getKey(), "binaryData[" + e.getKey() + "]");
      if (data.containsKey(e.getKey())) {
        errors.add(Problem.invalid("binaryData[" + e.getKey() + "]", e.getKey(), "duplicate of key present in data"));
      }
      if (!isBase64(e.getValue())) {
        errors.add(Problem.invalid("binaryData[" + e.getKey() + "]", "<binary>", "must be base64-encoded"));
      }
      size += e.getKey().length() + e.getValue().length() * 3L / 4;
    }
    if (size > MAX_CONFIG_BYTES) {
      errors.add(Problem.invalid("data", "<" + size + " bytes>", "must have at most 1048576 bytes"));
    }
  }

  private void secret(Secret s) {
    objectMeta(s.metadata(), "metadata");
    Map<String, String> data = s.data() == null ? Map.of() : s.data();
    long size = 0;
    for (var e : data.entrySet()) {
      configKey(e.getKey(), "data[" + e.getKey() + "]");
      if (!isBase64(e.getValue())) {
        // never echo a secret value
        errors.add(Problem.invalid("data[" + e.getKey() + "]", "<secret>", "must be base64-encoded"));
      }
      size += e.getValue().length() * 3L / 4;
    }
    if (size > MAX_CONFIG_BYTES) {
      errors.add(Problem.invalid("data", "<" + size + " bytes>", "must have at most 1048576 bytes"));
    }
    if ("kubernetes.io/dockerconfigjson".equals(s.type()) && !data.containsKey(".dockerconfigjson")) {
      errors.add(Problem.required("data[.dockerconfigjson]"));
    }
    if ("kubernetes.io/dockercfg".equals(s.type()) && !data.containsKey(".dockercfg")) {
      errors.add(Problem.required("data[.dockercfg]"));
    }
  }

  // --- metadata ---

  private void objectMeta(ObjectMeta meta, String path) {
    if (meta == null) {
      errors.add(Problem.required(path + ".name", "name is required"));
      return;
    }
    if (meta.name() == null || meta.name().isEmpty()) {
      errors.add(Problem.required(path + ".name", "name is required"));
    } else {
      String e = Names.dns1123Subdomain(meta.name());
      if (e != null) {
        errors.add(Problem.invalid(path + ".name", meta.name(), e));
      }
    }
    if (meta.namespace() != null) {
      String e = Names.dns1123Label(meta.namespace());
      if (e != null) {
        errors.add(Problem.invalid(path + ".namespace", meta.namespace(), e));
      }
    }
    labels(meta.labels(), path + ".labels");
    annotations(meta.annotations(), path + ".annotations");
  }

  private void labels(Map<String, String> labels, String path) {
    if (labels == null) {
      return;
    }
    labels.forEach((k, v) -> {
      String ek = Names.qualifiedName(k);
      if (ek != null) {
        errors.add(Problem.invalid(path, k, ek));
      }
      String ev = Names.labelValue(v);
      if (ev != null) {
        errors.add(Problem.invalid(path, v, ev));
      }
    });
  }

  private void annotations(Map<String, String> annotations, String path) {
    if (annotations == null) {
      return;
    }
    long size = 0;
    for (var e : annotations.entrySet()) {
      String ek = Names.qualifiedName(e.getKey().toLowerCase());
      if (ek != null) {
        errors.add(Problem.invalid(path, e.getKey(), ek));
      }
      if (e.getKey().equals(MANAGED_FIELDS_ANNOTATION)) {
        if (e.getValue().length() > MAX_MANAGED_FIELDS_BYTES) {
          errors.add(Problem.invalid(path + "." + e.getKey(), "<" + e.getValue().length() + " bytes>", "must have at most "
              + MAX_MANAGED_FIELDS_BYTES + " bytes"));
        }
        continue;
      }
      size += e.getKey().length() + e.getValue().length();
    }
    if (size > MAX_ANNOTATIONS_BYTES) {
      errors.add(Problem.invalid(path, "<" + size + " bytes>", "must have at most 262144 bytes"));
    }
  }

  private void labelSelector(LabelSelector selector, String path) {
    labels(selector.matchLabels(), path + ".matchLabels");
    List<LabelSelectorRequirement> exprs = list(selector.matchExpressions());
    for (int i = 0; i < exprs.size(); i++) {
      LabelSelectorRequirement r = exprs.get(i);
      String p = path + ".matchExpressions[" + i + "]";
      requirement(r.key(), r.operator(), r.values(), p, SELECTOR_OPS, true);
    }
  }

  private void requirement(String key, String op, List<String> values, String p, Set<String> ops, boolean labelKey) {
    if (key == null || key.isEmpty()) {
      errors.add(Problem.required(p + ".key"));
    } else if (labelKey) {
      String e = Names.qualifiedName(key);
      if (e != null) {
        errors.add(Problem.invalid(p + ".key", key, e));
      }
    }
    if (op == null) {
      errors.add(Problem.required(p + ".operator"));
      return;
    }
    if (!ops.contains(op)) {
      errors.add(Problem.unsupportedValue(p + ".operator", op, sorted(ops)));
      return;
    }
    int n = values == null ? 0 : values.size();
    switch (op) {
      case "In", "NotIn" -> {
        if (n == 0) {
          errors.add(Problem.required(p + ".values", "must be specified when `operator` is 'In' or 'NotIn'"));
        }
      }
      case "Exists", "DoesNotExist" -> {
        if (n > 0) {
          errors.add(Problem.forbidden(p + ".values", "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
        }
      }
      case "Gt", "Lt" -> {
        if (n != 1) {
          errors.add(Problem.required(p + ".values", "must be specified single value when `operator` is 'Lt' or 'Gt'"));
        } else {
          try {
            Long.parseLong(values.get(0));
          } catch (NumberFormatException e) {
            errors.add(Problem.invalid(p + ".values[0]", values.get(0), "must be an integer"));
          }
        }
      }
      default -> throw new IllegalStateException(op);
    }
  }

  // --- update strategy ---

  private void updateStrategy(DaemonSetUpdateStrategy strategy, String path) {
    if (strategy == null) {
      return;
    }
    String type = strategy.type();
    if (!"RollingUpdate".equals(type) && !"OnDelete".equals(type)) {
      errors.add(Problem.unsupportedValue(path + ".type", type, List.of("OnDelete", "RollingUpdate")));
      return;
    }
    RollingUpdateDaemonSet ru = strategy.rollingUpdate();
    if ("OnDelete".equals(type)) {
      // a rollingUpdate beside it is kept and means nothing, as Kubernetes' DaemonSet validation has it (it checks
      // rollingUpdate for type RollingUpdate only): `kubectl patch` of the type alone leaves the defaulted one there
      return;
    }
    if (ru == null) {
      return;
    }
    Integer unavailable = intOrPercent(ru.maxUnavailable(), path + ".rollingUpdate.maxUnavailable");
    Integer surge = intOrPercent(ru.maxSurge(), path + ".rollingUpdate.maxSurge");
    if (unavailable == null || surge == null) {
      return;
    }
    if (unavailable != 0 && surge != 0) {
      errors.add(Problem.invalid(path + ".rollingUpdate.maxSurge", ru.maxSurge().json(),
          "may not be set when maxUnavailable is non-zero"));
    } else if (unavailable == 0 && surge == 0) {
      errors.add(Problem.required(path + ".rollingUpdate.maxUnavailable", "cannot be 0 when maxSurge is 0"));
    }
  }

  /** The numeric part of an int-or-percent value, or null after reporting why it is invalid. */
  private Integer intOrPercent(IntOrString v, String path) {
    if (v == null) {
      return 0;
    }
    if (v.intValue() != null) {
      if (v.intValue() < 0) {
        errors.add(Problem.invalid(path, v.intValue(), "must be greater than or equal to 0"));
        return null;
      }
      return v.intValue();
    }
    String s = v.strValue();
    if (!s.matches("[0-9]+%")) {
      errors.add(Problem.invalid(path, s, "a valid percent string must be a numeric string followed by an ending '%'"));
      return null;
    }
    String digits = s.substring(0, s.length() - 1).replaceFirst("^0+(?=.)", ""); // leading zeros: "007%" is 7 %
    if (digits.length() > 3 || Integer.parseInt(digits) > 100) { // the length first: "99999999999%" is no int
      errors.add(Problem.invalid(path, s, "must not be greater than 100%"));
      return null;
    }
    return Integer.parseInt(digits);
  }

  // --- pod ---

  private void podSpec(PodSpec pod, String path) {
    if (!"Always".equals(pod.restartPolicy())) {
      errors.add(Problem.unsupportedValue(path + ".restartPolicy", pod.restartPolicy(), List.of("Always")));
    }
    nonNegative(pod.terminationGracePeriodSeconds(), path + ".terminationGracePeriodSeconds");

    Map<String, Volume> volumes = new HashMap<>();
    List<Volume> vols = list(pod.volumes());
    for (int i = 0; i < vols.size(); i++) {
      Volume v = vols.get(i);
      String p = path + ".volumes[" + i + "]";
      if (v.name() == null || v.name().isEmpty()) {
        errors.add(Problem.required(p + ".name"));
      } else {
        String e = Names.dns1123Label(v.name());
        if (e != null) {
          errors.add(Problem.invalid(p + ".name", v.name(), e));
        }
        if (volumes.putIfAbsent(v.name(), v) != null) {
          errors.add(Problem.duplicate(p + ".name", v.name()));
        }
      }
      volumeRules.volume(v, p);
    }

    List<Container> containers = list(pod.containers());
    if (containers.isEmpty()) {
      errors.add(Problem.required(path + ".containers"));
    }
    Set<String> names = new HashSet<>();
    boolean hostNetwork = Boolean.TRUE.equals(pod.hostNetwork());
    List<Container> inits = list(pod.initContainers());
    if (containers.size() + inits.size() > MAX_CONTAINERS) {
      errors.add(Problem.tooMany(path + ".containers", containers.size() + inits.size(), MAX_CONTAINERS,
          "containers and initContainers together"));
    }
    for (int i = 0; i < inits.size(); i++) {
      containerRules.container(inits.get(i), path + ".initContainers[" + i + "]", names, volumes, hostNetwork, true);
    }
    for (int i = 0; i < containers.size(); i++) {
      containerRules.container(containers.get(i), path + ".containers[" + i + "]", names, volumes, hostNetwork, false);
    }
    containerRules.hostPortConflicts(containers, path);

    if (pod.nodeSelector() != null) {
      labels(pod.nodeSelector(), path + ".nodeSelector");
    }
    if (pod.affinity() != null && pod.affinity().nodeAffinity() != null) {
      NodeSelector required = pod.affinity().nodeAffinity().requiredDuringSchedulingIgnoredDuringExecution();
      if (required != null) {
        nodeSelector(required, path + ".affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution");
      }
    }
    List<Toleration> tolerations = list(pod.tolerations());
    for (int i = 0; i < tolerations.size(); i++) {
      toleration(tolerations.get(i), path + ".tolerations[" + i + "]");
    }
    if (pod.securityContext() != null) {
      PodSecurityContext sc = pod.securityContext();
      unixId(sc.runAsUser(), path + ".securityContext.runAsUser");
      unixId(sc.runAsGroup(), path + ".securityContext.runAsGroup");
      unixId(sc.fsGroup(), path + ".securityContext.fsGroup");
      List<Long> groups = list(sc.supplementalGroups());
      for (int i = 0; i < groups.size(); i++) {
        unixId(groups.get(i), path + ".securityContext.supplementalGroups[" + i + "]");
      }
      seccomp(sc.seccompProfile(), path + ".securityContext.seccompProfile");
      if (Boolean.TRUE.equals(sc.runAsNonRoot()) && sc.runAsUser() != null && sc.runAsUser() == 0) {
        errors.add(Problem.invalid(path + ".securityContext.runAsNonRoot", true, "cannot be true when runAsUser is 0"));
      }
    }
    List<LocalObjectReference> pullSecrets = list(pod.imagePullSecrets());
    for (int i = 0; i < pullSecrets.size(); i++) {
      if (pullSecrets.get(i).name() == null || pullSecrets.get(i).name().isEmpty()) {
        errors.add(Problem.required(path + ".imagePullSecrets[" + i + "].name"));
      }
    }
  }

  // --- scheduling ---

  private void nodeSelector(NodeSelector selector, String p) {
    List<NodeSelectorTerm> terms = list(selector.nodeSelectorTerms());
    if (terms.isEmpty()) {
      errors.add(Problem.required(p + ".nodeSelectorTerms", "must have at least one node selector term"));
    }
    for (int i = 0; i < terms.size(); i++) {
      NodeSelectorTerm t = terms.get(i);
      String tp = p + ".nodeSelectorTerms[" + i + "]";
      List<NodeSelectorRequirement> exprs = list(t.matchExpressions());
      for (int j = 0; j < exprs.size(); j++) {
        NodeSelectorRequirement r = exprs.get(j);
        requirement(r.key(), r.operator(), r.values(), tp + ".matchExpressions[" + j + "]", NODE_SELECTOR_OPS, true);
      }
      List<NodeSelectorRequirement> fields = list(t.matchFields());
      for (int j = 0; j < fields.size(); j++) {
        NodeSelectorRequirement r = fields.get(j);
        String fp = tp + ".matchFields[" + j + "]";
        if (!"metadata.name".equals(r.key())) {
          errors.add(Problem.unsupportedValue(fp + ".key", r.key(), List.of("metadata.name")));
        } else if (!"In".equals(r.operator()) && !"NotIn".equals(r.operator())) {
          errors.add(Problem.unsupportedValue(fp + ".operator", r.operator(), List.of("In", "NotIn")));
        } else if (r.values() == null || r.values().size() != 1) {
          errors.add(Problem.required(fp + ".values", "must be only one value when `operator` is 'In' or 'NotIn' for node field selector"));
        }
      }
    }
  }

  private void toleration(Toleration t, String p) {
    String op = t.operator() == null || t.operator().isEmpty() ? "Equal" : t.operator();
    if (t.key() != null && !t.key().isEmpty()) {
      String e = Names.qualifiedName(t.key());
      if (e != null) {
        errors.add(Problem.invalid(p + ".key", t.key(), e));
      }
    } else if (!op.equals("Exists")) {
      errors.add(Problem.invalid(p + ".operator", op, "operator must be Exists when `key` is empty, which means \"match all values and all keys\""));
    }
    if (!op.equals("Equal") && !op.equals("Exists")) {
      errors.add(Problem.unsupportedValue(p + ".operator", op, List.of("Equal", "Exists")));
    } else if (op.equals("Exists") && t.value() != null && !t.value().isEmpty()) {
      errors.add(Problem.invalid(p + ".operator", op, "value must be empty when `operator` is 'Exists'"));
    } else if (op.equals("Equal") && t.value() != null) {
      String e = Names.labelValue(t.value());
      if (e != null) {
        errors.add(Problem.invalid(p + ".value", t.value(), e));
      }
    }
    if (t.effect() != null && !t.effect().isEmpty() && !EFFECTS.contains(t.effect())) {
      errors.add(Problem.unsupportedValue(p + ".effect", t.effect(), sorted(EFFECTS)));
    }
    if (t.tolerationSeconds() != null && !"NoExecute".equals(t.effect())) {
      errors.add(Problem.invalid(p + ".effect", t.effect() == null ? "" : t.effect(), "effect must be 'NoExecute' when `tolerationSeconds` is set"));
    }
  }
}
