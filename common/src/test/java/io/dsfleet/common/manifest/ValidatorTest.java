package io.dsfleet.common.manifest;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** One named row per Kubernetes validation rule: change one field of a valid DaemonSet, expect one error. */
class ValidatorTest {
  private static final String C0 = "spec.template.spec.containers[0]";
  private static final String POD = "spec.template.spec";

  static Stream<Arguments> rules() {
    return Stream.of(
        row("name required", "metadata.name", null, "metadata.name: Required value"),
        row("name is a DNS-1123 subdomain", "metadata.name", "Agent_1", "metadata.name: Invalid value: \"Agent_1\""),
        row("DaemonSet name at most 63 characters", "metadata.name", "d".repeat(64), "metadata.name: Invalid value: \"" + "d".repeat(64)
            + "\": must be no more than 63 characters (a DaemonSet's pods are named after it and need a hostname)"),
        row("namespace is a DNS-1123 label", "metadata.namespace", "a.b", "metadata.namespace: Invalid value: \"a.b\""),
        row("placeholder namespace named as such", "metadata.namespace", "'${NS}'", "unexpanded ${...} placeholder"),
        row("label key is a qualified name", "metadata.labels", "{'bad key': x}", "metadata.labels: Invalid value: \"bad key\""),
        row("label value at most 63 chars", "metadata.labels", "{k: " + "v".repeat(64) + "}", "must be no more than 63 characters"),
        row("annotation key is a qualified name", "metadata.annotations", "{'/x': y}", "metadata.annotations: Invalid value: \"/x\": prefix part must be non-empty"),
        row("selector required", "spec.selector", null, "spec.selector: Required value"),
        row("selector not empty", "spec.selector", "{}", "spec.selector: Invalid value: \"{}\": empty selector is invalid for daemonset"),
        row("selector matches template labels", "spec.selector.matchLabels", "{app: other}", "spec.template.metadata.labels: Invalid value"),
        row("selector In needs values", "spec.selector.matchExpressions", "[{key: app, operator: In}]", "spec.selector.matchExpressions[0].values: Required value"),
        row("selector Exists takes no values", "spec.selector.matchExpressions", "[{key: app, operator: Exists, values: [a]}]", "spec.selector.matchExpressions[0].values: Forbidden"),
        row("selector operator known", "spec.selector.matchExpressions", "[{key: app, operator: Gt, values: ['1']}]", "spec.selector.matchExpressions[0].operator: Unsupported value: \"Gt\""),
        row("restartPolicy Always only", POD + ".restartPolicy", "OnFailure", POD + ".restartPolicy: Unsupported value: \"OnFailure\": supported values: \"Always\""),
        row("grace period >= 0", POD + ".terminationGracePeriodSeconds", "-1", POD + ".terminationGracePeriodSeconds: Invalid value: -1"),
        row("containers required", POD + ".containers", "[]", POD + ".containers: Required value"),
        row("at most 64 containers", POD + ".containers", containers("c", 65),
            POD + ".containers: Too many: 65: must have at most 64 items (containers and initContainers together)"),
        rows("at most 64 containers and init containers together",
            POD + ".containers: Too many: 65: must have at most 64 items (containers and initContainers together)",
            POD + ".containers", containers("c", 40), POD + ".initContainers", containers("i", 25)),
        row("container name required", C0 + ".name", null, C0 + ".name: Required value"),
        row("container name is a DNS-1123 label", C0 + ".name", "Main", C0 + ".name: Invalid value: \"Main\""),
        row("container names unique across init and main", POD + ".initContainers", "[{name: main, image: x:1}]", C0 + ".name: Duplicate value: \"main\""),
        row("image required", C0 + ".image", null, C0 + ".image: Required value"),
        row("imagePullPolicy known", C0 + ".imagePullPolicy", "Sometimes", C0 + ".imagePullPolicy: Unsupported value: \"Sometimes\""),
        row("containerPort in range", C0 + ".ports[0].containerPort", "70000", C0 + ".ports[0].containerPort: Invalid value: 70000"),
        row("containerPort required", C0 + ".ports[0]", "{name: http}", C0 + ".ports[0].containerPort: Required value"),
        row("hostPort in range", C0 + ".ports[0].hostPort", "-2", C0 + ".ports[0].hostPort: Invalid value: -2"),
        row("port names unique", C0 + ".ports[1]", "{name: http, containerPort: 9090}", C0 + ".ports[1].name: Duplicate value: \"http\""),
        rows("port name is an IANA service name", C0 + ".ports[0].name: Invalid value: \"HTTP_PORT\"", C0 + ".ports[0].name", "HTTP_PORT",
            C0 + ".readinessProbe.httpGet.port", "8080"),
        row("protocol known", C0 + ".ports[0].protocol", "ICMP", C0 + ".ports[0].protocol: Unsupported value: \"ICMP\""),
        rows("hostNetwork needs hostPort == containerPort", C0 + ".ports[0].containerPort: Invalid value: 8080: must match `hostPort` when `hostNetwork` is true",
            POD + ".hostNetwork", "true", C0 + ".ports[0].hostPort", "9999"),
        rows("hostPort unique across containers", POD + ".containers[1].ports[0].hostPort: Duplicate value: \"80/TCP\"",
            C0 + ".ports[0].hostPort", "80", POD + ".containers[1]", "{name: side, image: x:1, ports: [{containerPort: 1, hostPort: 80}]}"),
        row("env name has no '='", C0 + ".env[0].name", "'A=B'", C0 + ".env[0].name: Invalid value: \"A=B\""),
        row("env value and valueFrom exclusive", C0 + ".env[0].value", "x", C0 + ".env[0].valueFrom: Invalid value"),
        row("env fieldRef path supported", C0 + ".env[0].valueFrom.fieldRef.fieldPath", "spec.serviceAccountName", C0 + ".env[0].valueFrom.fieldRef.fieldPath: Unsupported value: \"spec.serviceAccountName\""),
        row("env configMapKeyRef needs key", C0 + ".env[1]", "{name: X, valueFrom: {configMapKeyRef: {name: cm}}}", C0 + ".env[1].valueFrom.configMapKeyRef.key: Required value"),
        row("env valueFrom exactly one source", C0 + ".env[1]", "{name: X, valueFrom: {configMapKeyRef: {name: a, key: b}, secretKeyRef: {name: a, key: b}}}", C0 + ".env[1].valueFrom: Invalid value: \"\": must specify exactly one"),
        row("envFrom one source", C0 + ".envFrom", "[{prefix: X_}]", C0 + ".envFrom[0]: Invalid value: \"\": must specify one of"),
        row("cpu is a quantity", C0 + ".resources", "{limits: {cpu: lots}}", C0 + ".resources.limits[cpu]: Invalid value: \"lots\""),
        row("request <= limit", C0 + ".resources", "{limits: {memory: 64Mi}, requests: {memory: 128Mi}}", C0 + ".resources.requests[memory]: Invalid value: \"128Mi\": must be less than or equal to memory limit"),
        row("only cpu and memory resources", C0 + ".resources", "{limits: {nvidia.com/gpu: 1}}", C0 + ".resources.limits[nvidia.com/gpu]: not supported"),
        row("volumeMount names a volume", C0 + ".volumeMounts[0].name", "nope", C0 + ".volumeMounts[0].name: Not found: \"nope\""),
        row("mountPath required", C0 + ".volumeMounts[0].mountPath", null, C0 + ".volumeMounts[0].mountPath: Required value"),
        row("mountPaths unique", C0 + ".volumeMounts[1]", "{name: logs, mountPath: /var/log/host}", C0 + ".volumeMounts[1].mountPath: Invalid value: \"/var/log/host\": must be unique"),
        row("mountPaths unique as cleaned", C0 + ".volumeMounts[1]", "{name: logs, mountPath: var/log/host/}", C0 + ".volumeMounts[1].mountPath: Invalid value: \"var/log/host/\": must be unique"),
        row("a hostPort without hostIP holds every address", C0 + ".ports",
            "[{name: http, containerPort: 8080}, {containerPort: 80, hostPort: 80}, {containerPort: 81, hostPort: 80, hostIP: 127.0.0.1, protocol: TCP}]",
            C0 + ".ports[2].hostPort: Duplicate value: \"80/TCP\""),
        row("no SYS_ADMIN without privilege escalation", C0 + ".securityContext", "{allowPrivilegeEscalation: false, capabilities: {add: [SYS_ADMIN]}}",
            C0 + ".securityContext: Invalid value: \"\": cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN"),
        row("subPath is relative", C0 + ".volumeMounts[0].subPath", "/abs", C0 + ".volumeMounts[0].subPath: Invalid value: \"/abs\": must be a relative path"),
        row("subPath has no ..", C0 + ".volumeMounts[0].subPath", "a/../b", C0 + ".volumeMounts[0].subPath: Invalid value: \"a/../b\": must not contain '..'"),
        row("subPath with .. in the middle, cleaned", C0 + ".volumeMounts[0].subPath", "a/./../b", C0 + ".volumeMounts[0].subPath: Invalid value: \"a/./../b\": must not contain '..'"),
        row("item path does not start with ..", POD + ".volumes[1]", "{name: cfg, configMap: {name: c, items: [{key: a, path: ..a}]}}", POD + ".volumes[1].configMap.items[0].path: Invalid value: \"..a\": must not start with '..'"),
        row("item path names a file", POD + ".volumes[1]", "{name: cfg, configMap: {name: c, items: [{key: a, path: ./}]}}", POD + ".volumes[1].configMap.items[0].path: Invalid value: \"./\": must name a file in the volume"),
        row("item paths once in a volume, as cleaned", POD + ".volumes[1]",
            "{name: p, projected: {sources: [{configMap: {name: c, items: [{key: a, path: a}]}}, {secret: {name: s, items: [{key: b, path: ./a}]}}]}}",
            POD + ".volumes[1].projected.sources[1].secret.items[0].path: Invalid value: \"./a\": conflicting duplicate paths"),
        rows("a plain volume's items may share a path (Kubernetes keeps the last)", POD + ".volumes[1].configMap.items[2].path: Invalid value: \"..a\"",
            POD + ".volumes[1]", "{name: cfg, configMap: {name: c, items: [{key: a, path: x}, {key: b, path: ./x}, {key: c, path: ..a}]}}"),
        row("emptyDir sizeLimit >= 0", POD + ".volumes[1]", "{name: e, emptyDir: {sizeLimit: -1Gi}}", POD + ".volumes[1].emptyDir.sizeLimit: Invalid value: \"-1Gi\": must be greater than or equal to 0"),
        row("quantity exponent bounded", C0 + ".resources", "{limits: {cpu: '1e999999999'}}", C0 + ".resources.limits[cpu]: Invalid value: \"1e999999999\": quantities must have an exponent between -100 and 100"),
        row("probe header name a token", C0 + ".readinessProbe", "{httpGet: {port: 8080, httpHeaders: [{name: 'X Bad', value: v}]}}", C0 + ".readinessProbe.httpGet.httpHeaders[0].name: Invalid value: \"X Bad\""),
        row("probe header value one line", C0 + ".readinessProbe", "{httpGet: {port: 8080, httpHeaders: [{name: X-A, value: \"v\\r\\nHost: evil\"}]}}", C0 + ".readinessProbe.httpGet.httpHeaders[0].value: Invalid value: \"v\r\nHost: evil\": must not contain a line break or NUL"),
        row("mountPropagation known", C0 + ".volumeMounts[0].mountPropagation", "Shared", C0 + ".volumeMounts[0].mountPropagation: Unsupported value: \"Shared\""),
        row("Bidirectional needs privileged", C0 + ".volumeMounts[0].mountPropagation", "Bidirectional", C0 + ".volumeMounts[0].mountPropagation: Forbidden"),
        row("volume names unique", POD + ".volumes[1]", "{name: logs, emptyDir: {}}", POD + ".volumes[1].name: Duplicate value: \"logs\""),
        row("volume needs a source", POD + ".volumes[1]", "{name: other}", POD + ".volumes[1]: Required value: must specify a volume type"),
        row("volume has one source", POD + ".volumes[0].emptyDir", "{}", POD + ".volumes[0]: Forbidden: may not specify more than 1 volume type"),
        row("hostPath is absolute", POD + ".volumes[0].hostPath.path", "var/log", POD + ".volumes[0].hostPath.path: Invalid value: \"var/log\": must be an absolute path"),
        row("hostPath type known", POD + ".volumes[0].hostPath.type", "Folder", POD + ".volumes[0].hostPath.type: Unsupported value: \"Folder\""),
        row("configMap volume needs a name", POD + ".volumes[1]", "{name: cfg, configMap: {}}", POD + ".volumes[1].configMap.name: Required value"),
        row("secret volume defaultMode <= 0777", POD + ".volumes[1]", "{name: s, secret: {secretName: s, defaultMode: 1000}}", POD + ".volumes[1].secret.defaultMode: Invalid value: 1000"),
        row("item path relative", POD + ".volumes[1]", "{name: cfg, configMap: {name: c, items: [{key: a, path: /etc/a}]}}", POD + ".volumes[1].configMap.items[0].path: Invalid value: \"/etc/a\""),
        row("emptyDir medium known", POD + ".volumes[1]", "{name: e, emptyDir: {medium: HugePages}}", POD + ".volumes[1].emptyDir.medium: Unsupported value: \"HugePages\""),
        row("downwardAPI fieldPath supported", POD + ".volumes[1]", "{name: d, downwardAPI: {items: [{path: x, fieldRef: {fieldPath: status.podIP}}]}}", POD + ".volumes[1].downwardAPI.items[0].fieldRef.fieldPath: Unsupported value: \"status.podIP\""),
        row("probe has one handler", C0 + ".livenessProbe", "{periodSeconds: 5}", C0 + ".livenessProbe: Required value: must specify exactly one handler type"),
        row("probe period >= 1 (0 is unset: defaulted)", C0 + ".readinessProbe.periodSeconds", "-1", C0 + ".readinessProbe.periodSeconds: Invalid value: -1: must be greater than or equal to 1"),
        row("probe initialDelay >= 0", C0 + ".readinessProbe.initialDelaySeconds", "-1", C0 + ".readinessProbe.initialDelaySeconds: Invalid value: -1"),
        row("liveness successThreshold is 1", C0 + ".livenessProbe", "{exec: {command: [ok]}, successThreshold: 2}", C0 + ".livenessProbe.successThreshold: Invalid value: 2: must be 1"),
        row("probe named port exists", C0 + ".readinessProbe.httpGet.port", "metrics", C0 + ".readinessProbe.httpGet.port: Invalid value: \"metrics\""),
        row("probe port in range", C0 + ".readinessProbe.httpGet.port", "0", C0 + ".readinessProbe.httpGet.port: Invalid value: 0"),
        row("init containers have no probes", POD + ".initContainers", "[{name: init, image: x:1, readinessProbe: {exec: {command: [ok]}}}]", POD + ".initContainers[0].readinessProbe: Forbidden"),
        row("preStop needs a command", C0 + ".lifecycle", "{preStop: {exec: {command: []}}}", C0 + ".lifecycle.preStop.exec.command: Required value"),
        row("privileged with allowPrivilegeEscalation false", C0 + ".securityContext", "{privileged: true, allowPrivilegeEscalation: false}", C0 + ".securityContext: Invalid value: \"\": cannot set `allowPrivilegeEscalation` to false and `privileged` to true"),
        row("runAsUser >= 0", C0 + ".securityContext", "{runAsUser: -1}", C0 + ".securityContext.runAsUser: Invalid value: -1"),
        row("runAsUser in Docker's range", C0 + ".securityContext", "{runAsUser: 2147483648}", C0 + ".securityContext.runAsUser: Invalid value: 2147483648: must be between 0 and 2147483647, inclusive"),
        row("fsGroup in Docker's range", POD + ".securityContext", "{fsGroup: 4294967296}", POD + ".securityContext.fsGroup: Invalid value: 4294967296: must be between 0 and 2147483647, inclusive"),
        row("seccomp Localhost profile names a file", C0 + ".securityContext", "{seccompProfile: {type: Localhost, localhostProfile: ./}}", C0 + ".securityContext.seccompProfile.localhostProfile: Invalid value: \"./\": must name a file"),
        row("runAsNonRoot with user 0", C0 + ".securityContext", "{runAsNonRoot: true, runAsUser: 0}", C0 + ".securityContext.runAsNonRoot: Invalid value: true"),
        row("capability names", C0 + ".securityContext", "{capabilities: {add: [net-admin]}}", C0 + ".securityContext.capabilities.add[0]: Invalid value: \"net-admin\""),
        row("seccomp Localhost needs a profile", C0 + ".securityContext", "{seccompProfile: {type: Localhost}}", C0 + ".securityContext.seccompProfile.localhostProfile: Required value"),
        row("seccomp Localhost profile is a path inside the profile directory", C0 + ".securityContext",
            "{seccompProfile: {type: Localhost, localhostProfile: ../../etc/shadow}}",
            C0 + ".securityContext.seccompProfile.localhostProfile: Invalid value: \"../../etc/shadow\": must not contain '..'"),
        row("seccomp Localhost profile is relative", POD + ".securityContext", "{seccompProfile: {type: Localhost, localhostProfile: /etc/shadow}}",
            POD + ".securityContext.seccompProfile.localhostProfile: Invalid value: \"/etc/shadow\": must be a relative path"),
        row("seccomp type known", POD + ".securityContext", "{seccompProfile: {type: Strict}}", POD + ".securityContext.seccompProfile.type: Unsupported value: \"Strict\""),
        row("nodeSelector keys are label keys", POD + ".nodeSelector", "{'-bad': x}", POD + ".nodeSelector: Invalid value: \"-bad\""),
        row("affinity needs a term", POD + ".affinity", "{nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: []}}}", POD + ".affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms: Required value"),
        row("affinity Gt takes one integer", POD + ".affinity", "{nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [{matchExpressions: [{key: cores, operator: Gt, values: [many]}]}]}}}", "matchExpressions[0].values[0]: Invalid value: \"many\": must be an integer"),
        row("affinity matchFields only metadata.name", POD + ".affinity", "{nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [{matchFields: [{key: spec.unschedulable, operator: In, values: ['true']}]}]}}}", "matchFields[0].key: Unsupported value: \"spec.unschedulable\""),
        row("toleration Exists takes no value", POD + ".tolerations", "[{key: a, operator: Exists, value: b}]", POD + ".tolerations[0].operator: Invalid value: \"Exists\": value must be empty"),
        row("toleration empty key needs Exists", POD + ".tolerations", "[{operator: Equal, value: b}]", POD + ".tolerations[0].operator: Invalid value: \"Equal\": operator must be Exists when `key` is empty"),
        row("toleration effect known", POD + ".tolerations", "[{key: a, effect: NoRun}]", POD + ".tolerations[0].effect: Unsupported value: \"NoRun\""),
        row("tolerationSeconds needs NoExecute", POD + ".tolerations", "[{key: a, effect: NoSchedule, tolerationSeconds: 5}]", POD + ".tolerations[0].effect: Invalid value: \"NoSchedule\": effect must be 'NoExecute'"),
        row("imagePullSecrets need names", POD + ".imagePullSecrets", "[{}]", POD + ".imagePullSecrets[0].name: Required value"),
        row("update strategy type known", "spec.updateStrategy.type", "Recreate", "spec.updateStrategy.type: Unsupported value: \"Recreate\""),
        row("maxUnavailable and maxSurge not both non-zero", "spec.updateStrategy", "{rollingUpdate: {maxUnavailable: 1, maxSurge: 1}}", "spec.updateStrategy.rollingUpdate.maxSurge: Invalid value: 1: may not be set when maxUnavailable is non-zero"),
        row("maxUnavailable and maxSurge not both zero", "spec.updateStrategy", "{rollingUpdate: {maxUnavailable: 0}}", "spec.updateStrategy.rollingUpdate.maxUnavailable: Required value: cannot be 0 when maxSurge is 0"),
        row("percent at most 100", "spec.updateStrategy", "{rollingUpdate: {maxUnavailable: 120%}}", "spec.updateStrategy.rollingUpdate.maxUnavailable: Invalid value: \"120%\": must not be greater than 100%"),
        row("percent string well-formed", "spec.updateStrategy", "{rollingUpdate: {maxUnavailable: half}}", "spec.updateStrategy.rollingUpdate.maxUnavailable: Invalid value: \"half\": a valid percent string"),
        row("maxUnavailable >= 0", "spec.updateStrategy", "{rollingUpdate: {maxUnavailable: -1}}", "spec.updateStrategy.rollingUpdate.maxUnavailable: Invalid value: -1"),
        row("percent past an int's range", "spec.updateStrategy", "{rollingUpdate: {maxUnavailable: '99999999999%'}}", "spec.updateStrategy.rollingUpdate.maxUnavailable: Invalid value: \"99999999999%\": must not be greater than 100%"),
        row("minReadySeconds >= 0", "spec.minReadySeconds", "-5", "spec.minReadySeconds: Invalid value: -5"),
        row("revisionHistoryLimit >= 0", "spec.revisionHistoryLimit", "-1", "spec.revisionHistoryLimit: Invalid value: -1"),
        row("integer field wants an integer", C0 + ".ports[0].containerPort", "'8080'", C0 + ".ports[0].containerPort: Invalid value: \"8080\": expected an integer"),
        row("string field wants a string", "metadata.labels", "{app: 1}", "metadata.labels.app: Invalid value: 1: expected a string"),
        row("unsupported volume type named", POD + ".volumes[1]", "{name: c, csi: {driver: x}}", POD + ".volumes[1].csi: not supported"),
        row("unsupported pod field named", POD + ".shareProcessNamespace", "true", POD + ".shareProcessNamespace: not supported"),
        row("nodeName refused with advice", POD + ".nodeName", "n1", POD + ".nodeName: not supported: the coordinator places DaemonSet pods"),
        row("httpGet lifecycle hook refused", C0 + ".lifecycle", "{preStop: {httpGet: {port: 80}}}", C0 + ".lifecycle.preStop.httpGet: not supported: only exec lifecycle hooks"),
        row("podAffinity refused", POD + ".affinity", "{podAffinity: {}}", POD + ".affinity.podAffinity: not supported"),
        row("apiVersion apps/v1 only", "apiVersion", "extensions/v1beta1", "apiVersion: Unsupported value: \"extensions/v1beta1\""));
  }

  /** A YAML list of n minimal containers named prefix0, prefix1, ... */
  private static String containers(String prefix, int n) {
    StringBuilder b = new StringBuilder("[");
    for (int i = 0; i < n; i++) {
      b.append(i == 0 ? "" : ", ").append("{name: ").append(prefix).append(i).append(", image: 'x:1'}");
    }
    return b.append("]").toString();
  }

  private static Arguments row(String name, String path, String yamlValue, String expected) {
    return rows(name, expected, path, yamlValue);
  }

  /** A row that changes several fields: path, value, path, value, ... (a null value removes). */
  private static Arguments rows(String name, String expected, String... pathsAndValues) {
    return Arguments.of(name, expected, pathsAndValues);
  }

  /** Each row breaks one rule and gets exactly that one error (a row that also broke another would hide it). */
  @ParameterizedTest(name = "{0}")
  @MethodSource("rules")
  void rule(String name, String expected, String[] pathsAndValues) {
    var tree = Fixtures.baseTree();
    for (int i = 0; i < pathsAndValues.length; i += 2) {
      Fixtures.with(tree, pathsAndValues[i], pathsAndValues[i + 1]);
    }
    List<ParsedDocument> docs = Fixtures.parse(tree);
    assertThat(docs).hasSize(1);
    assertThat(docs.get(0).valid()).as("document should be invalid").isFalse();
    assertThat(docs.get(0).errors()).map(Problem::toString).as("the one error of the row").singleElement()
        .satisfies(e -> assertThat(e).contains(expected));
    assertThat(docs.get(0).object()).as("an invalid document yields no object").isNull();
  }

  @Test
  void baseFixtureIsValid() {
    List<ParsedDocument> docs = ManifestParser.parse(Fixtures.BASE, "base");
    assertThat(docs.get(0).errors()).isEmpty();
    assertThat(docs.get(0).warnings()).isEmpty();
  }

  @Test
  void aSurgeUpdateIsValidAndWarnsWhenThePodHoldsHostPortsOrTheHostNetwork() {
    var surge = Fixtures.with(Fixtures.baseTree(), "spec.updateStrategy", "{rollingUpdate: {maxUnavailable: 0, maxSurge: 10%}}");
    var plain = Fixtures.parse(surge).get(0);
    assertThat(plain.errors()).isEmpty();
    assertThat(plain.warnings()).isEmpty();
    Fixtures.with(surge, "spec.template.spec.hostNetwork", "true");
    var hostNet = Fixtures.parse(surge).get(0);
    assertThat(hostNet.errors()).isEmpty();
    assertThat(hostNet.warnings()).singleElement().asString()
        .startsWith("spec.updateStrategy.rollingUpdate.maxSurge: the new pod starts next to the old one")
        .contains("uses the host network");
  }

  /**
   * OnDelete beside a rollingUpdate, as `kubectl patch` of the type alone leaves it (the defaulted one stays): valid, and
   * its values are neither checked nor used, as Kubernetes' DaemonSet validation checks rollingUpdate for type
   * RollingUpdate only. It was refused (Forbidden), as Kubernetes refuses it for a StatefulSet, not a DaemonSet.
   */
  @Test
  void onDeleteBesideARollingUpdateIsValidAndWarnsNothing() {
    var tree = Fixtures.with(Fixtures.baseTree(), "spec.updateStrategy", "{type: OnDelete, rollingUpdate: {maxUnavailable: 1, maxSurge: 1}}");
    Fixtures.with(tree, "spec.template.spec.hostNetwork", "true");
    var doc = Fixtures.parse(tree).get(0);
    assertThat(doc.errors()).isEmpty();
    assertThat(doc.warnings()).as("no surge: OnDelete replaces a pod once it is deleted").isEmpty();
  }

  /**
   * Zero values Kubernetes' defaulting takes for unset ("" or 0 in a Go field: SetDefaults_DaemonSet, _PodSpec,
   * _Container, _ContainerPort, _HTTPGetAction, _Probe), as a chart renders an empty value: defaulted, not refused.
   */
  @Test
  void zeroValuesKubernetesTakesForUnsetAreDefaulted() {
    var tree = Fixtures.with(Fixtures.baseTree(), "spec.updateStrategy", "{type: ''}");
    Fixtures.with(tree, "metadata.namespace", "''");
    Fixtures.with(tree, POD + ".restartPolicy", "''");
    Fixtures.with(tree, C0 + ".imagePullPolicy", "''");
    Fixtures.with(tree, C0 + ".ports", "[{containerPort: 80, protocol: ''}]");
    Fixtures.with(tree, C0 + ".readinessProbe", "{httpGet: {port: 80, scheme: ''}, periodSeconds: 0, timeoutSeconds: 0,"
        + " successThreshold: 0, failureThreshold: 0}");
    var doc = Fixtures.parse(tree).get(0);
    assertThat(doc.errors()).isEmpty();
    var ds = (io.dsfleet.common.model.DaemonSet) doc.object();
    assertThat(ds.namespace()).isEqualTo("default");
    assertThat(ds.spec().updateStrategy().type()).isEqualTo("RollingUpdate");
    assertThat(ds.spec().updateStrategy().rollingUpdate().maxUnavailable().intValue()).isEqualTo(1);
    assertThat(ds.spec().template().spec().restartPolicy()).isEqualTo("Always");
    var c = ds.spec().template().spec().containers().get(0);
    assertThat(c.imagePullPolicy()).isEqualTo("IfNotPresent");
    assertThat(c.ports().get(0).protocol()).isEqualTo("TCP");
    var probe = c.readinessProbe();
    assertThat(probe.httpGet().scheme()).isEqualTo("HTTP");
    assertThat(List.of(probe.periodSeconds(), probe.timeoutSeconds(), probe.successThreshold(), probe.failureThreshold()))
        .containsExactly(10, 1, 1, 3);
  }

  /**
   * A fieldRef's apiVersion "" (SetDefaults_ObjectFieldSelector takes it for unset) in env and in a downwardAPI volume:
   * the same template as without it, not refused (Unsupported value: "").
   */
  @Test
  void aFieldRefsEmptyApiVersionIsTakenAsAbsent() {
    String env = "[{name: NODE, valueFrom: {fieldRef: {fieldPath: spec.nodeName%s}}}]";
    String downward = "{name: d, downwardAPI: {items: [{path: n, fieldRef: {fieldPath: metadata.name%s}}]}}";
    String projected = "{name: p, projected: {sources: [{downwardAPI: {items: [{path: n, fieldRef: {fieldPath: metadata.name%s}}]}}]}}";
    var empty = Fixtures.with(Fixtures.baseTree(), C0 + ".env", env.formatted(", apiVersion: ''"));
    Fixtures.with(empty, POD + ".volumes[1]", downward.formatted(", apiVersion: ''"));
    Fixtures.with(empty, POD + ".volumes[2]", projected.formatted(", apiVersion: ''"));
    var absent = Fixtures.with(Fixtures.baseTree(), C0 + ".env", env.formatted(""));
    Fixtures.with(absent, POD + ".volumes[1]", downward.formatted(""));
    Fixtures.with(absent, POD + ".volumes[2]", projected.formatted(""));
    var doc = Fixtures.parse(empty).get(0);
    assertThat(doc.errors()).isEmpty();
    var expected = Fixtures.parse(absent).get(0);
    assertThat(expected.errors()).isEmpty();
    assertThat(io.dsfleet.common.Json.canonical(((io.dsfleet.common.model.DaemonSet) doc.object()).spec().template()))
        .isEqualTo(io.dsfleet.common.Json.canonical(((io.dsfleet.common.model.DaemonSet) expected.object()).spec().template()));
  }

  @Test
  void aDaemonSetNameOf63CharactersAndSixtyFourContainersAreValid() {
    var tree = Fixtures.with(Fixtures.baseTree(), "metadata.name", "d".repeat(63));
    Fixtures.with(tree, POD + ".initContainers", containers("i", 63));
    var doc = Fixtures.parse(tree).get(0);
    assertThat(doc.errors()).isEmpty();
    assertThat(doc.object().name()).hasSize(63);
  }

  /** Only a DaemonSet's name becomes a pod's name; ConfigMaps and Secrets keep Kubernetes' 253 characters. */
  @Test
  void configMapAndSecretNamesMayHave253Characters() {
    String name = "c".repeat(253);
    for (String kind : List.of("ConfigMap", "Secret")) {
      var doc = ManifestParser.parse("apiVersion: v1\nkind: " + kind + "\nmetadata: {name: " + name + "}\n", "t").get(0);
      assertThat(doc.errors()).as(kind).isEmpty();
    }
    var tooLong = ManifestParser.parse("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + name + "c}\n", "t").get(0);
    assertThat(tooLong.errors()).map(Problem::toString).singleElement().asString().endsWith(": must be no more than 253 characters");
  }

  /** Kubernetes cleans these before use; the agent does too (LocalPaths), so they are valid. */
  @Test
  void pathsTheKubeletCleansAreValid() {
    var tree = Fixtures.baseTree();
    Fixtures.with(tree, C0 + ".volumeMounts[0].subPath", "conf/");
    Fixtures.with(tree, POD + ".volumes[1]", "{name: cfg, configMap: {name: c, items: [{key: a, path: ./x//a}, {key: b, path: y/}]}}");
    Fixtures.with(tree, C0 + ".securityContext", "{seccompProfile: {type: Localhost, localhostProfile: ./profiles//p.json}}");
    assertThat(Fixtures.parse(tree).get(0).errors()).isEmpty();
    Fixtures.with(tree, C0 + ".volumeMounts[0].subPath", "..c"); // a file named so, in the volume
    assertThat(Fixtures.parse(tree).get(0).errors()).isEmpty();
  }

  /** kubectl's YAML reader and the API server's strict field validation refuse a key given twice; so does the parser. */
  @Test
  void aKeyGivenTwiceIsAnErrorNotTheLastOneSilently() {
    String yaml = Fixtures.BASE.replace("        image: local/busybox:1\n", "        image: local/busybox:1\n        image: other:2\n");
    assertThat(yaml).as("the fixture has a container image to repeat").contains("image: other:2");
    var doc = ManifestParser.parse(yaml, "dup").get(0);
    assertThat(doc.valid()).isFalse();
    assertThat(doc.errors()).map(Problem::toString).singleElement().asString().contains("Duplicate field 'image'");
    var json = ManifestParser.parse("{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"metadata\": {\"name\": \"a\", \"name\": \"b\"}}", "dup").get(0);
    assertThat(json.errors()).map(Problem::toString).singleElement().asString().contains("Duplicate field 'name'");
  }

  @Test
  void everyErrorIsReportedNotJustTheFirst() {
    var tree = Fixtures.with(Fixtures.baseTree(), "metadata.name", null);
    Fixtures.with(tree, C0 + ".image", null);
    Fixtures.with(tree, "spec.minReadySeconds", "-1");
    assertThat(Fixtures.parse(tree).get(0).errors()).map(Problem::path)
        .contains("metadata.name", C0 + ".image", "spec.minReadySeconds");
  }
}
