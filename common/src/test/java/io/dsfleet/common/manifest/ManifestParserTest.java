package io.dsfleet.common.manifest;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.common.model.ConfigMap;
import io.dsfleet.common.model.DaemonSet;
import io.dsfleet.common.model.Secret;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;

class ManifestParserTest {
  /**
   * A lone surrogate (a JSON escape makes one; it has no UTF-8 form, so the store would keep another
   * character) becomes U+FFFD, as the Kubernetes API server decodes it; a pair is kept.
   */
  @Test
  void aLoneSurrogateBecomesTheReplacementCharacterAndAPairIsKept() {
    String json = "{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"metadata\": {\"name\": \"c\", \"annotations\":"
        + " {\"a\": \"x\\ud800y\", \"b\": \"\\udc00\", \"c\": \"\\ud83d\\ude00\"}}, \"data\": {\"k\": \"[\\ud800]\"}}";
    ConfigMap cm = (ConfigMap) ManifestParser.parseOne(json);
    assertThat(cm.metadata().annotations()).containsEntry("a", "x\uFFFDy").containsEntry("b", "\uFFFD")
        .containsEntry("c", new String(Character.toChars(0x1F600)));
    assertThat(cm.data()).containsEntry("k", "[\uFFFD]");
    assertThat(ManifestParser.parseOne(io.dsfleet.common.Json.canonical(cm))).as("its stored JSON parses back to it").isEqualTo(cm);
  }

  @Test
  void multiDocumentStreamWithSkippedKinds() {
    String text = """
        ---
        apiVersion: v1
        kind: ServiceAccount
        metadata: {name: agent}
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: cfg}
        data: {a.conf: "x=1"}
        ---
        """ + Fixtures.BASE;
    List<ParsedDocument> docs = ManifestParser.parse(text, "bundle.yaml");
    assertThat(docs).hasSize(3);
    assertThat(docs.get(0).skipped()).isTrue();
    assertThat(docs.get(0).valid()).isTrue();
    assertThat(docs.get(0).label()).isEqualTo("bundle.yaml#1 ServiceAccount/agent");
    assertThat(docs.get(1).object()).isInstanceOf(ConfigMap.class);
    assertThat(docs.get(1).object().namespace()).isEqualTo("default");
    assertThat(docs.get(2).object()).isInstanceOf(DaemonSet.class);
  }

  /**
   * A document that is empty, or only comments, is skipped wherever it stands, as kubectl skips it:
   * a trailing "---", two in a row, and helm template's "# Source: ..." of a template that renders
   * nothing. Until 2026-12-08 only a leading one was: any other was an invalid document
   * ("expected an object with apiVersion and kind") and refused the whole apply.
   */
  @Test
  void emptyAndCommentOnlyDocumentsAreSkippedAnywhere() {
    String cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s}\ndata: {k: v}\n";
    String text = "---\n---\n" + cm.formatted("a") + "---\n\n---\n# Source: chart/templates/empty.yaml\n---\n"
        + cm.formatted("b") + "---\n# trailing\n---\n";
    List<ParsedDocument> docs = ManifestParser.parse(text, "helm.yaml");
    assertThat(docs).allSatisfy(d -> assertThat(d.errors()).isEmpty());
    assertThat(docs).map(ParsedDocument::label).containsExactly("helm.yaml#1 ConfigMap/a", "helm.yaml#2 ConfigMap/b");
    assertThat(ManifestParser.parse(cm.formatted("c") + "---\n", "trailing.yaml")).hasSize(1);
  }

  /**
   * A `kind: List` whose items are no list is refused naming items, and one without items holds no
   * object. Until 2026-12-08 both threw a ClassCastException out of the parser: dsctl validate
   * printed its stack trace, dsctl apply "error: class ...MissingNode cannot be cast to class
   * ...ArrayNode", and the coordinator answered a raw apply UNKNOWN.
   */
  @Test
  void aListWhoseItemsAreNoListIsRefusedNamingThem() {
    List<ParsedDocument> docs = ManifestParser.parse("apiVersion: v1\nkind: List\nitems: {a: b}\n", "list.yaml");
    assertThat(docs).singleElement().satisfies(d -> {
      assertThat(d.label()).isEqualTo("list.yaml#1 List/(no name)");
      assertThat(d.errors()).map(Problem::toString).containsExactly("items: Invalid value: expected a list");
    });
    assertThat(ManifestParser.parse("apiVersion: v1\nkind: List\n", "empty.yaml")).isEmpty();
    assertThat(ManifestParser.parse("apiVersion: v1\nkind: List\nitems:\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
        "null.yaml")).map(ParsedDocument::label).containsExactly("null.yaml#1 ConfigMap/a");
  }

  /**
   * A DaemonSet whose volumes are a map, not a list, is refused naming them. Until 2026-12-08 the
   * pre-pass for projected service account tokens read the map as a list of one and threw a
   * NullPointerException: a stack trace from dsctl validate, UNKNOWN from the coordinator.
   */
  @Test
  void volumesThatAreNoListAreRefusedNamingThem() {
    String text = Fixtures.BASE.replace("      volumes:\n      - name: logs\n        hostPath: {path: /var/log, type: Directory}\n",
        "      volumes: {a: b}\n");
    assertThat(text).contains("volumes: {a: b}");
    ParsedDocument d = ManifestParser.parse(text, "ds.yaml").get(0);
    assertThat(d.errors()).map(Problem::path).contains("spec.template.spec.volumes");
  }

  @Test
  void kubernetesDefaultsAreApplied() {
    DaemonSet ds = Fixtures.baseDaemonSet();
    assertThat(ds.spec().updateStrategy().type()).isEqualTo("RollingUpdate");
    assertThat(ds.spec().updateStrategy().rollingUpdate().maxUnavailable().intValue()).isEqualTo(1);
    assertThat(ds.spec().updateStrategy().rollingUpdate().maxSurge().intValue()).isEqualTo(0);
    assertThat(ds.spec().revisionHistoryLimit()).isEqualTo(10);
    assertThat(ds.spec().minReadySeconds()).isEqualTo(0);
    var pod = ds.spec().template().spec();
    assertThat(pod.restartPolicy()).isEqualTo("Always");
    assertThat(pod.terminationGracePeriodSeconds()).isEqualTo(30L);
    var c = pod.containers().get(0);
    assertThat(c.imagePullPolicy()).isEqualTo("IfNotPresent");
    assertThat(c.ports().get(0).protocol()).isEqualTo("TCP");
    var probe = c.readinessProbe();
    assertThat(List.of(probe.periodSeconds(), probe.timeoutSeconds(), probe.successThreshold(), probe.failureThreshold()))
        .containsExactly(10, 1, 1, 3);
    assertThat(probe.httpGet().path()).isEqualTo("/");
  }

  @Test
  void latestOrUntaggedImagesAreAlwaysPulled() {
    assertThat(Defaults.defaultPullPolicy("nginx")).isEqualTo("Always");
    assertThat(Defaults.defaultPullPolicy("nginx:latest")).isEqualTo("Always");
    assertThat(Defaults.defaultPullPolicy("registry:5000/nginx")).isEqualTo("Always");
    assertThat(Defaults.defaultPullPolicy("registry:5000/nginx:1.25")).isEqualTo("IfNotPresent");
    assertThat(Defaults.defaultPullPolicy("nginx@sha256:abc")).isEqualTo("IfNotPresent");
  }

  @Test
  void secretStringDataIsFoldedIntoData() {
    String text = """
        apiVersion: v1
        kind: Secret
        metadata: {name: creds, namespace: ops}
        data: {user: YWRtaW4=}
        stringData: {password: s3cret}
        """;
    Secret s = (Secret) ManifestParser.parse(text, "s").get(0).object();
    assertThat(s.stringData()).isNull();
    assertThat(s.type()).isEqualTo("Opaque");
    assertThat(new String(Base64.getDecoder().decode(s.data().get("password")))).isEqualTo("s3cret");
    assertThat(s.data()).containsKey("user");
    assertThat(s.toString()).doesNotContain("s3cret").doesNotContain("YWRtaW4=");
  }

  @Test
  void secretWithBadBase64IsRefusedWithoutEchoingIt() {
    String text = """
        apiVersion: v1
        kind: Secret
        metadata: {name: creds}
        data: {token: "not base64!"}
        """;
    ParsedDocument doc = ManifestParser.parse(text, "s").get(0);
    assertThat(doc.errors()).map(Problem::toString)
        .containsExactly("data[token]: Invalid value: \"<secret>\": must be base64-encoded");
  }

  @Test
  void yamlSyntaxErrorNamesTheLine() {
    List<ParsedDocument> docs = ManifestParser.parse("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: [\n", "broken.yaml");
    assertThat(docs).hasSize(1);
    assertThat(docs.get(0).errors().get(0).message()).startsWith("YAML syntax error at line");
  }

  @Test
  void documentWithoutKindIsAnError() {
    ParsedDocument doc = ManifestParser.parse("metadata: {name: x}\n", "x").get(0);
    assertThat(doc.errors()).map(Problem::toString).contains("kind: Required value", "apiVersion: Required value");
  }

  @Test
  void serviceAccountTokenProjectionIsDroppedWithAWarning() {
    var tree = Fixtures.with(Fixtures.baseTree(), "spec.template.spec.volumes[1]",
        "{name: p, projected: {sources: [{serviceAccountToken: {path: token}}, {configMap: {name: c}}]}}");
    ParsedDocument doc = Fixtures.parse(tree).get(0);
    assertThat(doc.errors()).isEmpty();
    assertThat(doc.warnings()).anyMatch(w -> w.startsWith("spec.template.spec.volumes[1].projected.sources[0].serviceAccountToken: ignored"));
    var projected = ((DaemonSet) doc.object()).spec().template().spec().volumes().get(1).projected();
    assertThat(projected.sources()).hasSize(1);
    assertThat(projected.sources().get(0).configMap().name()).isEqualTo("c");
  }

  /**
   * The warning for a termination message says what is reported: the exit code alone, no message
   * (before 2026-12-07 it promised the last log line, which nothing reports: an operator relying on
   * FallbackToLogsOnError looked for a crash's reason in a status that never had it).
   */
  @Test
  void terminationMessageFieldsWarnThatOnlyTheExitCodeIsReported() {
    var tree = Fixtures.with(Fixtures.baseTree(), "spec.template.spec.containers[0].terminationMessagePolicy", "FallbackToLogsOnError");
    ParsedDocument doc = Fixtures.parse(tree).get(0);
    assertThat(doc.errors()).isEmpty();
    assertThat(doc.warnings()).singleElement().asString()
        .startsWith("spec.template.spec.containers[0].terminationMessagePolicy: ignored")
        .contains("the exit code alone is reported", "dsctl logs --previous")
        .doesNotContain("last log line");
  }

  @Test
  void antiAffinityAgainstOtherPodsIsRefused() {
    var tree = Fixtures.with(Fixtures.baseTree(), "spec.template.spec.affinity",
        "{podAntiAffinity: {requiredDuringSchedulingIgnoredDuringExecution: [{labelSelector: {matchLabels: {app: db}}, topologyKey: kubernetes.io/hostname}]}}");
    assertThat(Fixtures.parse(tree).get(0).errors()).map(Problem::toString)
        .containsExactly("spec.template.spec.affinity.podAntiAffinity: not supported");
  }

  /**
   * An anti-affinity whose selector has an expression without an operator, or a null one, is refused
   * as any other: before, matching it against the template's labels (to drop a self anti-affinity)
   * threw a NullPointerException out of the parser, dsctl validate and apply failing with no field named.
   */
  @Test
  void antiAffinityWithAnIncompleteExpressionIsRefusedNotACrash() {
    for (String expression : List.of("{key: app}", "null")) {
      var tree = Fixtures.with(Fixtures.baseTree(), "spec.template.spec.affinity",
          "{podAntiAffinity: {requiredDuringSchedulingIgnoredDuringExecution: [{labelSelector: {matchExpressions: [" + expression
              + "]}, topologyKey: kubernetes.io/hostname}]}}");
      assertThat(Fixtures.parse(tree).get(0).errors()).map(Problem::toString).as(expression)
          .containsExactly("spec.template.spec.affinity.podAntiAffinity: not supported");
    }
  }

  @Test
  void anAliasIsRefusedNamingItsFieldAndLineInsteadOfBecomingTheAnchorsName() {
    String node = "        - {name: NODE, valueFrom: {fieldRef: {fieldPath: spec.nodeName}}}\n";
    assertThat(Fixtures.BASE).contains(node);
    String text = Fixtures.BASE.replace(node, node
        + "        - {name: LEVEL, value: &level debug}\n"
        + "        - name: OTHER_LEVEL\n"
        + "          value: *level\n");
    List<ParsedDocument> docs = ManifestParser.parse(text, "alias.yaml");
    assertThat(docs).hasSize(1);
    assertThat(docs.get(0).object()).isNull();
    assertThat(docs.get(0).errors()).map(Problem::toString).containsExactly(
        "spec.template.spec.containers[0].env[2].value: YAML aliases (*level) are not supported: write the value out"
            + " (line 24, column 18)");
  }

  /**
   * A ConfigMap's and a Secret's namespace "" and a Secret's type "" are unset to Kubernetes (SetDefaults_Secret,
   * the namespace of the request): defaulted, as a DaemonSet's are.
   */
  @Test
  void aConfigObjectsEmptyNamespaceAndASecretsEmptyTypeAreDefaulted() {
    String text = """
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: cfg, namespace: ""}
        data: {k: v}
        ---
        apiVersion: v1
        kind: Secret
        metadata: {name: s, namespace: ""}
        type: ""
        stringData: {k: v}
        """;
    List<ParsedDocument> docs = ManifestParser.parse(text, "empty.yaml");
    assertThat(docs).allSatisfy(d -> assertThat(d.errors()).isEmpty());
    assertThat(((ConfigMap) docs.get(0).object()).metadata().namespace()).isEqualTo("default");
    Secret s = (Secret) docs.get(1).object();
    assertThat(s.metadata().namespace()).isEqualTo("default");
    assertThat(s.type()).isEqualTo("Opaque");
  }

  @Test
  void aMergeKeyIsAnAliasTooAndIsRefused() {
    String text = """
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: cfg, labels: &labels {app: x}}
        data:
          <<: *labels
        """;
    ParsedDocument doc = ManifestParser.parse(text, "merge.yaml").get(0);
    assertThat(doc.object()).isNull();
    assertThat(doc.errors()).map(Problem::toString)
        .containsExactly("data.<<: YAML aliases (*labels) are not supported: write the value out (line 5, column 7)");
  }

  @Test
  void documentsBeforeAnAliasAreStillReported() {
    String text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n"
        + "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: &n b}\ndata: {k: *n}\n";
    List<ParsedDocument> docs = ManifestParser.parse(text, "two.yaml");
    assertThat(docs).hasSize(2);
    assertThat(docs.get(0).valid()).isTrue();
    assertThat(docs.get(1).errors()).map(Problem::path).containsExactly("data.k");
  }

  /**
   * A 1 MB env value (or base64 blob) used to cost about 2 GB of allocation to read: SnakeYAML's
   * reader copied the whole unread window for every 1 KiB while scanning one unbroken scalar.
   */
  @Test
  void aMegabyteEnvValueIsReadInLinearMemory() {
    String text = Fixtures.BASE.replace("        env:\n", "        env:\n        - name: BIG\n          value: " + "x".repeat(1_000_000) + "\n");
    ManifestParser.parse(text, "warm-up"); // class loading and JIT out of the measurement
    long allocated = Allocation.during(() -> {
      ParsedDocument doc = ManifestParser.parse(text, "big.yaml").get(0);
      assertThat(doc.errors()).isEmpty();
      assertThat(((DaemonSet) doc.object()).spec().template().spec().containers().get(0).env().get(0).value()).hasSize(1_000_000);
    });
    assertThat(allocated).as("bytes allocated to parse a manifest of 1 MB").isLessThan(64L << 20);
  }

  @Test
  void storedJsonIsReadInLinearMemoryToo() {
    DaemonSet ds = (DaemonSet) ManifestParser.parse(Fixtures.BASE.replace("        env:\n",
        "        env:\n        - name: BIG\n          value: " + "x".repeat(1_000_000) + "\n"), "big.yaml").get(0).object();
    String json = io.dsfleet.common.Json.canonical(ds);
    ManifestParser.parseOne(json);
    long allocated = Allocation.during(() -> assertThat(ManifestParser.parseOne(json)).isEqualTo(ds));
    assertThat(allocated).as("bytes allocated to read a stored object of 1 MB").isLessThan(64L << 20);
  }

  /**
   * The coordinator reads back the canonical JSON it stored, which can be longer than the manifest
   * it came from (escapes, defaults): JSON is read as JSON, not held to the YAML document limit.
   */
  @Test
  void storedJsonIsNotHeldToTheYamlDocumentLimit() {
    var tree = Fixtures.with(Fixtures.baseTree(), "spec.template.spec.containers[0].env[1]", "{name: BIG, value: x}");
    ((com.fasterxml.jackson.databind.node.ObjectNode) tree.at("/spec/template/spec/containers/0/env/1")).put("value", "\n".repeat(5 << 20));
    String json = io.dsfleet.common.Json.canonical(tree);
    assertThat(json.length()).isGreaterThan(10 << 20);
    DaemonSet ds = (DaemonSet) ManifestParser.parseOne(json);
    assertThat(ds.spec().template().spec().containers().get(0).env().get(1).value()).hasSize(5 << 20);
  }

  @Test
  void emptyValueMeansUnset() {
    String text = Fixtures.BASE.replace("        readinessProbe:", "        securityContext:\n        readinessProbe:");
    ParsedDocument doc = ManifestParser.parse(text, "t").get(0);
    assertThat(doc.errors()).isEmpty();
    assertThat(((DaemonSet) doc.object()).spec().template().spec().containers().get(0).securityContext()).isNull();
  }
}
