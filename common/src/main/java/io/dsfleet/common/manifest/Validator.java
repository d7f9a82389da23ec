package io.dsfleet.common.manifest;

import io.dsfleet.common.Quantities;
import io.dsfleet.common.match.LabelSelectors;
import io.dsfleet.common.model.*;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Kubernetes validation of defaulted objects (apps/v1 DaemonSet, v1 ConfigMap, v1 Secret), with
 * Kubernetes' field paths and wording. Each rule is one block; the test table in
 * ValidatorTest has a named row per rule.
 */
public final class Validator {
  static final Set<String> PULL_POLICIES = Set.of("Always", "IfNotPresent", "Never");
  static final Set<String> PROTOCOLS = Set.of("TCP", "UDP", "SCTP");
  static final Set<String> PROPAGATION = Set.of("None", "HostToContainer", "Bidirectional");
  static final Set<String> HOST_PATH_TYPES =
      Set.of("", "DirectoryOrCreate", "Directory", "FileOrCreate", "File", "Socket", "CharDevice", "BlockDevice");
  static final Set<String> SELECTOR_OPS = Set.of("In", "NotIn", "Exists", "DoesNotExist");
  static final Set<String> NODE_SELECTOR_OPS = Set.of("In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt");
  static final Set<String> EFFECTS = Set.of("NoSchedule", "PreferNoSchedule", "NoExecute");
  static final Set<String> ENV_FIELD_PATHS =
      Set.of("metadata.name", "metadata.namespace", "spec.nodeName", "status.hostIP", "status.podIP");
  static final Set<String> VOLUME_FIELD_PATHS =
      Set.of("metadata.name", "metadata.namespace", "metadata.labels", "metadata.annotations");
  static final Set<String> SECCOMP_TYPES = Set.of("RuntimeDefault", "Unconfined", "Localhost");
  static final Set<String> RESOURCE_NAMES = Set.of("cpu", "memory");
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

  private final List<Problem> errors = new ArrayList<>();

  private Validator() {}

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
      if (ru != null) {
        errors.add(Problem.forbidden(path + ".rollingUpdate", "may not be specified when strategy `type` is 'OnDelete'"));
      }
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
      volume(v, p);
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
      container(inits.get(i), path + ".initContainers[" + i + "]", names, volumes, hostNetwork, true);
    }
    for (int i = 0; i < containers.size(); i++) {
      container(containers.get(i), path + ".containers[" + i + "]", names, volumes, hostNetwork, false);
    }
    hostPortConflicts(containers, path);

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

  private void container(Container c, String p, Set<String> names, Map<String, Volume> volumes,
      boolean hostNetwork, boolean init) {
    if (c.name() == null || c.name().isEmpty()) {
      errors.add(Problem.required(p + ".name"));
    } else {
      String e = Names.dns1123Label(c.name());
      if (e != null) {
        errors.add(Problem.invalid(p + ".name", c.name(), e));
      }
      if (!names.add(c.name())) {
        errors.add(Problem.duplicate(p + ".name", c.name()));
      }
    }
    if (c.image() == null || c.image().isBlank()) {
      errors.add(Problem.required(p + ".image"));
    } else if (!c.image().equals(c.image().strip())) {
      errors.add(Problem.invalid(p + ".image", c.image(), "must not have leading or trailing whitespace"));
    }
    if (c.imagePullPolicy() != null && !PULL_POLICIES.contains(c.imagePullPolicy())) {
      errors.add(Problem.unsupportedValue(p + ".imagePullPolicy", c.imagePullPolicy(), sorted(PULL_POLICIES)));
    }
    ports(c, p, hostNetwork);
    env(c, p);
    resources(c.resources(), p + ".resources");
    mounts(c, p, volumes);
    if (init) {
      for (var probe : List.of(new Object[] {c.livenessProbe(), "livenessProbe"},
          new Object[] {c.readinessProbe(), "readinessProbe"}, new Object[] {c.startupProbe(), "startupProbe"})) {
        if (probe[0] != null) {
          errors.add(Problem.forbidden(p + "." + probe[1], "may not be set for init containers"));
        }
      }
      if (c.lifecycle() != null) {
        errors.add(Problem.forbidden(p + ".lifecycle", "may not be set for init containers"));
      }
    } else {
      probe(c.livenessProbe(), p + ".livenessProbe", true, c);
      probe(c.readinessProbe(), p + ".readinessProbe", false, c);
      probe(c.startupProbe(), p + ".startupProbe", true, c);
      if (c.lifecycle() != null) {
        hook(c.lifecycle().postStart(), p + ".lifecycle.postStart");
        hook(c.lifecycle().preStop(), p + ".lifecycle.preStop");
      }
    }
    securityContext(c.securityContext(), p + ".securityContext");
  }

  private void ports(Container c, String p, boolean hostNetwork) {
    Set<String> portNames = new HashSet<>();
    List<ContainerPort> ports = list(c.ports());
    for (int i = 0; i < ports.size(); i++) {
      ContainerPort port = ports.get(i);
      String pp = p + ".ports[" + i + "]";
      if (port.name() != null) {
        String e = Names.portName(port.name());
        if (e != null) {
          errors.add(Problem.invalid(pp + ".name", port.name(), e));
        } else if (!portNames.add(port.name())) {
          errors.add(Problem.duplicate(pp + ".name", port.name()));
        }
      }
      if (port.containerPort() == null) {
        errors.add(Problem.required(pp + ".containerPort"));
      } else if (port.containerPort() < 1 || port.containerPort() > 65535) {
        errors.add(Problem.invalid(pp + ".containerPort", port.containerPort(), "must be between 1 and 65535, inclusive"));
      }
      if (port.hostPort() != null && (port.hostPort() < 0 || port.hostPort() > 65535)) {
        errors.add(Problem.invalid(pp + ".hostPort", port.hostPort(), "must be between 1 and 65535, inclusive"));
      }
      if (hostNetwork && port.hostPort() != null && port.hostPort() != 0 && port.containerPort() != null
          && !port.hostPort().equals(port.containerPort())) {
        errors.add(Problem.invalid(pp + ".containerPort", port.containerPort(), "must match `hostPort` when `hostNetwork` is true"));
      }
      if (port.protocol() != null && !PROTOCOLS.contains(port.protocol())) {
        errors.add(Problem.unsupportedValue(pp + ".protocol", port.protocol(), sorted(PROTOCOLS)));
      }
    }
  }

  /**
   * One host port per protocol and address, as Docker binds them: no hostIP is 0.0.0.0, which
   * holds the port on every address (so it clashes with any other hostIP of that port), and no
   * protocol is TCP (Kubernetes compares the strings as written; Docker then fails the pod on every
   * node).
   */
  private void hostPortConflicts(List<Container> containers, String path) {
    Map<String, Set<String>> addressesByPort = new HashMap<>();
    for (int i = 0; i < containers.size(); i++) {
      List<ContainerPort> ports = list(containers.get(i).ports());
      for (int j = 0; j < ports.size(); j++) {
        ContainerPort port = ports.get(j);
        if (port.hostPort() != null && port.hostPort() > 0) {
          String protocol = port.protocol() == null || port.protocol().isEmpty() ? "TCP" : port.protocol();
          String ip = port.hostIP() == null || port.hostIP().isEmpty() || port.hostIP().equals("::") ? "0.0.0.0" : port.hostIP();
          Set<String> taken = addressesByPort.computeIfAbsent(port.hostPort() + "/" + protocol, k -> new HashSet<>());
          if (taken.contains(ip) || taken.contains("0.0.0.0") || (ip.equals("0.0.0.0") && !taken.isEmpty())) {
            errors.add(Problem.duplicate(path + ".containers[" + i + "].ports[" + j + "].hostPort", port.hostPort() + "/" + protocol));
          }
          taken.add(ip);
        }
      }
    }
  }

  private void env(Container c, String p) {
    List<EnvVar> env = list(c.env());
    for (int i = 0; i < env.size(); i++) {
      EnvVar e = env.get(i);
      String ep = p + ".env[" + i + "]";
      if (e.name() == null) {
        errors.add(Problem.required(ep + ".name"));
      } else {
        String bad = Names.envVarName(e.name());
        if (bad != null) {
          errors.add(Problem.invalid(ep + ".name", e.name(), bad));
        }
      }
      if (e.valueFrom() != null) {
        if (e.value() != null && !e.value().isEmpty()) {
          errors.add(Problem.invalid(ep + ".valueFrom", "", "may not be specified when `value` is not empty"));
        }
        EnvVarSource src = e.valueFrom();
        int n = (src.fieldRef() != null ? 1 : 0) + (src.configMapKeyRef() != null ? 1 : 0) + (src.secretKeyRef() != null ? 1 : 0);
        if (n != 1) {
          errors.add(Problem.invalid(ep + ".valueFrom", "", "must specify exactly one of: `fieldRef`, `configMapKeyRef` or `secretKeyRef`"));
        }
        if (src.fieldRef() != null) {
          fieldRef(src.fieldRef(), ep + ".valueFrom.fieldRef", ENV_FIELD_PATHS);
        }
        keyRef(src.configMapKeyRef(), ep + ".valueFrom.configMapKeyRef");
        keyRef(src.secretKeyRef(), ep + ".valueFrom.secretKeyRef");
      }
    }
    List<EnvFromSource> envFrom = list(c.envFrom());
    for (int i = 0; i < envFrom.size(); i++) {
      EnvFromSource e = envFrom.get(i);
      String ep = p + ".envFrom[" + i + "]";
      int n = (e.configMapRef() != null ? 1 : 0) + (e.secretRef() != null ? 1 : 0);
      if (n != 1) {
        errors.add(Problem.invalid(ep, "", "must specify one of: `configMapRef` or `secretRef`"));
      }
      for (var ref : List.of(new Object[] {e.configMapRef(), ".configMapRef"}, new Object[] {e.secretRef(), ".secretRef"})) {
        if (ref[0] instanceof NameReference r && (r.name() == null || r.name().isEmpty())) {
          errors.add(Problem.required(ep + ref[1] + ".name"));
        }
      }
      if (e.prefix() != null) {
        String bad = Names.envVarName(e.prefix());
        if (bad != null) {
          errors.add(Problem.invalid(ep + ".prefix", e.prefix(), bad));
        }
      }
    }
  }

  private void keyRef(KeySelector ref, String p) {
    if (ref == null) {
      return;
    }
    if (ref.name() == null || ref.name().isEmpty()) {
      errors.add(Problem.required(p + ".name"));
    }
    if (ref.key() == null || ref.key().isEmpty()) {
      errors.add(Problem.required(p + ".key"));
    } else {
      configKey(ref.key(), p + ".key");
    }
  }

  private void fieldRef(ObjectFieldSelector ref, String p, Set<String> allowed) {
    if (ref.apiVersion() != null && !ref.apiVersion().equals("v1")) {
      errors.add(Problem.unsupportedValue(p + ".apiVersion", ref.apiVersion(), List.of("v1")));
    }
    String fp = ref.fieldPath();
    if (fp == null || fp.isEmpty()) {
      errors.add(Problem.required(p + ".fieldPath"));
    } else if (!allowed.contains(fp) && !isLabelOrAnnotationRef(fp)) {
      errors.add(Problem.unsupportedValue(p + ".fieldPath", fp, sorted(allowed)));
    }
  }

  private static boolean isLabelOrAnnotationRef(String fp) {
    return fp.matches("metadata\\.(labels|annotations)\\['[^']+'\\]");
  }

  private void resources(ResourceRequirements r, String p) {
    if (r == null) {
      return;
    }
    Map<String, java.math.BigDecimal> limits = new HashMap<>();
    for (var kind : List.of("limits", "requests")) {
      Map<String, String> m = kind.equals("limits") ? r.limits() : r.requests();
      if (m == null) {
        continue;
      }
      for (var e : m.entrySet()) {
        String rp = p + "." + kind + "[" + e.getKey() + "]";
        if (!RESOURCE_NAMES.contains(e.getKey())) {
          errors.add(Problem.notSupported(rp, "only cpu and memory are enforced on Docker"));
          continue;
        }
        try {
          java.math.BigDecimal q = Quantities.parse(e.getValue());
          if (q.signum() < 0) {
            errors.add(Problem.invalid(rp, e.getValue(), "must be greater than or equal to 0"));
          } else if (kind.equals("limits")) {
            limits.put(e.getKey(), q);
          } else if (limits.containsKey(e.getKey()) && q.compareTo(limits.get(e.getKey())) > 0) {
            errors.add(Problem.invalid(rp, e.getValue(), "must be less than or equal to " + e.getKey() + " limit of " + r.limits().get(e.getKey())));
          }
        } catch (IllegalArgumentException ex) {
          errors.add(Problem.invalid(rp, e.getValue(), ex.getMessage()));
        }
      }
    }
  }

  private void mounts(Container c, String p, Map<String, Volume> volumes) {
    Set<String> paths = new HashSet<>();
    boolean privileged = c.securityContext() != null && Boolean.TRUE.equals(c.securityContext().privileged());
    List<VolumeMount> mounts = list(c.volumeMounts());
    for (int i = 0; i < mounts.size(); i++) {
      VolumeMount m = mounts.get(i);
      String mp = p + ".volumeMounts[" + i + "]";
      if (m.name() == null || m.name().isEmpty()) {
        errors.add(Problem.required(mp + ".name"));
      } else if (!volumes.containsKey(m.name())) {
        errors.add(Problem.notFound(mp + ".name", m.name()));
      }
      if (m.mountPath() == null || m.mountPath().isEmpty()) {
        errors.add(Problem.required(mp + ".mountPath"));
      } else if (!paths.add(LocalPaths.mountPath(m.mountPath()))) { // as Docker compares them: "/d" and "/d/" are one
        errors.add(Problem.invalid(mp + ".mountPath", m.mountPath(), "must be unique"));
      }
      if (m.subPath() != null && !m.subPath().isEmpty()) {
        relativePath(m.subPath(), mp + ".subPath");
      }
      if (m.mountPropagation() != null) {
        if (!PROPAGATION.contains(m.mountPropagation())) {
          errors.add(Problem.unsupportedValue(mp + ".mountPropagation", m.mountPropagation(), sorted(PROPAGATION)));
        } else if (m.mountPropagation().equals("Bidirectional") && !privileged) {
          errors.add(Problem.forbidden(mp + ".mountPropagation", "Bidirectional mount propagation is available only to privileged containers"));
        }
      }
    }
  }

  /** A path inside a volume or directory ({@link LocalPaths#descending}). */
  private void relativePath(String path, String p) {
    if (path.startsWith("/")) {
      errors.add(Problem.invalid(p, path, "must be a relative path"));
    } else if (LocalPaths.descending(path) == null) {
      errors.add(Problem.invalid(p, path, "must not contain '..'"));
    }
  }

  /**
   * A file a volume projects ({@link LocalPaths#payloadFile}); in a projected volume, once across
   * its sources as the agent cleans it ({@code "a"} and {@code "./a"} are one file: Kubernetes'
   * "conflicting duplicate paths"). {@code files} is null for the other volumes, where Kubernetes
   * keeps the last item of a path.
   */
  private void payloadPath(String path, String p, Set<String> files) {
    relativePath(path, p);
    String clean = LocalPaths.descending(path);
    if (clean == null) {
      return;
    }
    if (LocalPaths.payloadFile(path) == null) { // the kubelet's atomic writer refuses these too, at every mount
      errors.add(Problem.invalid(p, path, clean.isEmpty() ? "must name a file in the volume" : "must not start with '..'"));
    } else if (files != null && !files.add(clean)) {
      errors.add(Problem.invalid(p, path, "conflicting duplicate paths: another source of the volume writes " + clean));
    }
  }

  private void probe(Probe probe, String p, boolean singleSuccess, Container c) {
    if (probe == null) {
      return;
    }
    int handlers = (probe.exec() != null ? 1 : 0) + (probe.httpGet() != null ? 1 : 0) + (probe.tcpSocket() != null ? 1 : 0);
    if (handlers != 1) {
      errors.add(Problem.required(p, "must specify exactly one handler type (exec, httpGet or tcpSocket)"));
    }
    nonNegative(probe.initialDelaySeconds(), p + ".initialDelaySeconds");
    atLeastOne(probe.timeoutSeconds(), p + ".timeoutSeconds");
    atLeastOne(probe.periodSeconds(), p + ".periodSeconds");
    atLeastOne(probe.successThreshold(), p + ".successThreshold");
    atLeastOne(probe.failureThreshold(), p + ".failureThreshold");
    if (singleSuccess && probe.successThreshold() != null && probe.successThreshold() != 1) {
      errors.add(Problem.invalid(p + ".successThreshold", probe.successThreshold(), "must be 1"));
    }
    if (probe.exec() != null && isEmpty(probe.exec().command())) {
      errors.add(Problem.required(p + ".exec.command"));
    }
    if (probe.httpGet() != null) {
      HTTPGetAction h = probe.httpGet();
      port(h.port(), p + ".httpGet.port", c);
      if (h.scheme() != null && !h.scheme().equals("HTTP") && !h.scheme().equals("HTTPS")) {
        errors.add(Problem.unsupportedValue(p + ".httpGet.scheme", h.scheme(), List.of("HTTP", "HTTPS")));
      }
      List<HTTPHeader> headers = list(h.httpHeaders());
      for (int i = 0; i < headers.size(); i++) {
        String hp = p + ".httpGet.httpHeaders[" + i + "]";
        HTTPHeader header = headers.get(i);
        String badName = header.name() == null || header.name().isEmpty() ? null : Names.httpHeaderName(header.name());
        String badValue = header.value() == null ? null : Names.httpHeaderValue(header.value());
        if (header.name() == null || header.name().isEmpty()) {
          errors.add(Problem.required(hp + ".name"));
        } else if (badName != null) {
          errors.add(Problem.invalid(hp + ".name", header.name(), badName));
        }
        if (badValue != null) {
          errors.add(Problem.invalid(hp + ".value", header.value(), badValue));
        }
      }
    }
    if (probe.tcpSocket() != null) {
      port(probe.tcpSocket().port(), p + ".tcpSocket.port", c);
    }
  }

  private void port(IntOrString port, String p, Container c) {
    if (port == null) {
      errors.add(Problem.required(p));
    } else if (port.intValue() != null) {
      if (port.intValue() < 1 || port.intValue() > 65535) {
        errors.add(Problem.invalid(p, port.intValue(), "must be between 1 and 65535, inclusive"));
      }
    } else {
      String e = Names.portName(port.strValue());
      if (e != null) {
        errors.add(Problem.invalid(p, port.strValue(), e));
      } else if (list(c.ports()).stream().noneMatch(cp -> port.strValue().equals(cp.name()))) {
        errors.add(Problem.invalid(p, port.strValue(), "must be a port number or the name of a port of this container"));
      }
    }
  }

  private void hook(LifecycleHandler handler, String p) {
    if (handler == null) {
      return;
    }
    if (handler.exec() == null) {
      errors.add(Problem.required(p, "must specify a handler type (exec)"));
    } else if (isEmpty(handler.exec().command())) {
      errors.add(Problem.required(p + ".exec.command"));
    }
  }

  private void securityContext(SecurityContext sc, String p) {
    if (sc == null) {
      return;
    }
    unixId(sc.runAsUser(), p + ".runAsUser");
    unixId(sc.runAsGroup(), p + ".runAsGroup");
    if (Boolean.TRUE.equals(sc.privileged()) && Boolean.FALSE.equals(sc.allowPrivilegeEscalation())) {
      errors.add(Problem.invalid(p, "", "cannot set `allowPrivilegeEscalation` to false and `privileged` to true"));
    }
    if (Boolean.FALSE.equals(sc.allowPrivilegeEscalation()) && sc.capabilities() != null
        && list(sc.capabilities().add()).stream().anyMatch(c -> c.equals("SYS_ADMIN") || c.equals("CAP_SYS_ADMIN"))) {
      errors.add(Problem.invalid(p, "", "cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN"));
    }
    if (Boolean.TRUE.equals(sc.runAsNonRoot()) && sc.runAsUser() != null && sc.runAsUser() == 0) {
      errors.add(Problem.invalid(p + ".runAsNonRoot", true, "cannot be true when runAsUser is 0"));
    }
    if (sc.capabilities() != null) {
      for (var kind : List.of("add", "drop")) {
        List<String> caps = list(kind.equals("add") ? sc.capabilities().add() : sc.capabilities().drop());
        for (int i = 0; i < caps.size(); i++) {
          if (!caps.get(i).matches("(?i)ALL|(CAP_)?[A-Z_]+")) {
            errors.add(Problem.invalid(p + ".capabilities." + kind + "[" + i + "]", caps.get(i), "not a Linux capability name"));
          }
        }
      }
    }
    seccomp(sc.seccompProfile(), p + ".seccompProfile");
  }

  private void seccomp(SeccompProfile profile, String p) {
    if (profile == null) {
      return;
    }
    if (profile.type() == null) {
      errors.add(Problem.required(p + ".type"));
    } else if (!SECCOMP_TYPES.contains(profile.type())) {
      errors.add(Problem.unsupportedValue(p + ".type", profile.type(), sorted(SECCOMP_TYPES)));
    } else if (profile.type().equals("Localhost") && (profile.localhostProfile() == null || profile.localhostProfile().isEmpty())) {
      errors.add(Problem.required(p + ".localhostProfile", "must be set when seccomp type is Localhost"));
    } else if (!profile.type().equals("Localhost") && profile.localhostProfile() != null) {
      errors.add(Problem.invalid(p + ".localhostProfile", profile.localhostProfile(), "can only be set when seccomp type is Localhost"));
    } else if (profile.localhostProfile() != null) {
      relativePath(profile.localhostProfile(), p + ".localhostProfile"); // Kubernetes' validateLocalDescendingPath
      if ("".equals(LocalPaths.descending(profile.localhostProfile()))) {
        errors.add(Problem.invalid(p + ".localhostProfile", profile.localhostProfile(), "must name a file in the profile directory"));
      }
    }
  }

  // --- volumes ---

  private void volume(Volume v, String p) {
    Set<String> files = new HashSet<>(); // the files a projected volume's sources write, cleaned
    int sources = (v.hostPath() != null ? 1 : 0) + (v.emptyDir() != null ? 1 : 0) + (v.configMap() != null ? 1 : 0)
        + (v.secret() != null ? 1 : 0) + (v.downwardAPI() != null ? 1 : 0) + (v.projected() != null ? 1 : 0);
    if (sources == 0) {
      errors.add(Problem.required(p, "must specify a volume type"));
    } else if (sources > 1) {
      errors.add(Problem.forbidden(p, "may not specify more than 1 volume type"));
    }
    if (v.hostPath() != null) {
      HostPathVolumeSource h = v.hostPath();
      if (h.path() == null || h.path().isEmpty()) {
        errors.add(Problem.required(p + ".hostPath.path"));
      } else if (!h.path().startsWith("/")) {
        errors.add(Problem.invalid(p + ".hostPath.path", h.path(), "must be an absolute path"));
      } else if (List.of(h.path().split("/")).contains("..")) {
        errors.add(Problem.invalid(p + ".hostPath.path", h.path(), "must not contain '..'"));
      }
      if (h.type() != null && !HOST_PATH_TYPES.contains(h.type())) {
        errors.add(Problem.unsupportedValue(p + ".hostPath.type", h.type(), sorted(HOST_PATH_TYPES)));
      }
    }
    if (v.emptyDir() != null) {
      EmptyDirVolumeSource e = v.emptyDir();
      if (e.medium() != null && !e.medium().isEmpty() && !e.medium().equals("Memory")) {
        errors.add(Problem.unsupportedValue(p + ".emptyDir.medium", e.medium(), List.of("", "Memory")));
      }
      if (e.sizeLimit() != null && !Quantities.isValid(e.sizeLimit())) {
        errors.add(Problem.invalid(p + ".emptyDir.sizeLimit", e.sizeLimit(), "must be a quantity"));
      } else if (e.sizeLimit() != null && Quantities.parse(e.sizeLimit()).signum() < 0) {
        errors.add(Problem.invalid(p + ".emptyDir.sizeLimit", e.sizeLimit(), "must be greater than or equal to 0"));
      }
    }
    if (v.configMap() != null) {
      requiredName(v.configMap().name(), p + ".configMap.name");
      items(v.configMap().items(), p + ".configMap.items", null);
      mode(v.configMap().defaultMode(), p + ".configMap.defaultMode");
    }
    if (v.secret() != null) {
      requiredName(v.secret().secretName(), p + ".secret.secretName");
      items(v.secret().items(), p + ".secret.items", null);
      mode(v.secret().defaultMode(), p + ".secret.defaultMode");
    }
    if (v.downwardAPI() != null) {
      downwardItems(v.downwardAPI().items(), p + ".downwardAPI.items", null);
      mode(v.downwardAPI().defaultMode(), p + ".downwardAPI.defaultMode");
    }
    if (v.projected() != null) {
      mode(v.projected().defaultMode(), p + ".projected.defaultMode");
      List<VolumeProjection> srcs = list(v.projected().sources());
      for (int i = 0; i < srcs.size(); i++) {
        VolumeProjection s = srcs.get(i);
        String sp = p + ".projected.sources[" + i + "]";
        int n = (s.configMap() != null ? 1 : 0) + (s.secret() != null ? 1 : 0) + (s.downwardAPI() != null ? 1 : 0);
        if (n != 1) {
          errors.add(Problem.forbidden(sp, "may not specify more than 1 volume type per source"));
        }
        if (s.configMap() != null) {
          requiredName(s.configMap().name(), sp + ".configMap.name");
          items(s.configMap().items(), sp + ".configMap.items", files);
        }
        if (s.secret() != null) {
          requiredName(s.secret().name(), sp + ".secret.name");
          items(s.secret().items(), sp + ".secret.items", files);
        }
        if (s.downwardAPI() != null) {
          downwardItems(s.downwardAPI().items(), sp + ".downwardAPI.items", files);
        }
      }
    }
  }

  private void requiredName(String name, String p) {
    if (name == null || name.isEmpty()) {
      errors.add(Problem.required(p));
    } else {
      String e = Names.dns1123Subdomain(name);
      if (e != null) {
        errors.add(Problem.invalid(p, name, e));
      }
    }
  }

  private void items(List<KeyToPath> items, String p, Set<String> files) {
    List<KeyToPath> list = list(items);
    for (int i = 0; i < list.size(); i++) {
      KeyToPath k = list.get(i);
      if (k.key() == null || k.key().isEmpty()) {
        errors.add(Problem.required(p + "[" + i + "].key"));
      }
      if (k.path() == null || k.path().isEmpty()) {
        errors.add(Problem.required(p + "[" + i + "].path"));
      } else {
        payloadPath(k.path(), p + "[" + i + "].path", files);
      }
      mode(k.mode(), p + "[" + i + "].mode");
    }
  }

  private void downwardItems(List<DownwardAPIVolumeFile> items, String p, Set<String> files) {
    List<DownwardAPIVolumeFile> list = list(items);
    for (int i = 0; i < list.size(); i++) {
      DownwardAPIVolumeFile f = list.get(i);
      if (f.path() == null || f.path().isEmpty()) {
        errors.add(Problem.required(p + "[" + i + "].path"));
      } else {
        payloadPath(f.path(), p + "[" + i + "].path", files);
      }
      if (f.fieldRef() == null) {
        errors.add(Problem.required(p + "[" + i + "].fieldRef"));
      } else {
        fieldRef(f.fieldRef(), p + "[" + i + "].fieldRef", VOLUME_FIELD_PATHS);
      }
      mode(f.mode(), p + "[" + i + "].mode");
    }
  }

  private void mode(Integer mode, String p) {
    if (mode != null && (mode < 0 || mode > 0777)) {
      errors.add(Problem.invalid(p, mode, "must be a number between 0 and 0777 (octal), both inclusive"));
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

  // --- helpers ---

  private void configKey(String key, String p) {
    String e = Names.configKey(key);
    if (e != null) {
      errors.add(Problem.invalid(p, key, e));
    }
  }

  /** A user or group id: Kubernetes' and Docker's range (a larger one is refused by Docker on every node). */
  private void unixId(Long n, String p) {
    if (n != null && (n < 0 || n > Integer.MAX_VALUE)) {
      errors.add(Problem.invalid(p, n, "must be between 0 and " + Integer.MAX_VALUE + ", inclusive"));
    }
  }

  private void nonNegative(Number n, String p) {
    if (n != null && n.longValue() < 0) {
      errors.add(Problem.invalid(p, n, "must be greater than or equal to 0"));
    }
  }

  private void atLeastOne(Integer n, String p) {
    if (n != null && n < 1) {
      errors.add(Problem.invalid(p, n, "must be greater than or equal to 1"));
    }
  }

  private static boolean isBase64(String s) {
    try {
      Base64.getDecoder().decode(s.replaceAll("\\s", ""));
      return true;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  private static boolean isEmpty(java.util.Collection<?> c) {
    return c == null || c.isEmpty();
  }

  private static boolean isEmpty(Map<?, ?> m) {
    return m == null || m.isEmpty();
  }

  private static <T> List<T> list(List<T> l) {
    return l == null ? List.of() : l;
  }

  private static List<String> sorted(Set<String> s) {
    return s.stream().sorted().toList();
  }
}
