package io.dsfleet.common.manifest;

import io.dsfleet.common.Quantities;
import io.dsfleet.common.model.*;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** {@link Validator}'s rules for a pod's containers: names, images, ports, env, resources, mounts, probes, hooks, security. */
final class ContainerRules extends Rules {
  static final Set<String> PULL_POLICIES = Set.of("Always", "IfNotPresent", "Never");
  static final Set<String> PROTOCOLS = Set.of("TCP", "UDP", "SCTP");
  static final Set<String> PROPAGATION = Set.of("None", "HostToContainer", "Bidirectional");
  static final Set<String> ENV_FIELD_PATHS =
      Set.of("metadata.name", "metadata.namespace", "spec.nodeName", "status.hostIP", "status.podIP");
  static final Set<String> RESOURCE_NAMES = Set.of("cpu", "memory");

  ContainerRules(List<Problem> errors) {
    super(errors);
  }

  void container(Container c, String p, Set<String> names, Map<String, Volume> volumes,
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
  void hostPortConflicts(List<Container> containers, String path) {
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
}
