package io.dsfleet.common.manifest;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** The 30 real manifests users bring (docs/manifests.md lists the result for each). */
class RealManifestsTest {
  /** The two that fail, each for a fault it really has, and the exact error. */
  private static final Map<String, String> EXPECTED_FAILURES = Map.of(
      "27-grafana-agent-loki.yaml",
      "metadata.namespace: Invalid value: \"${NAMESPACE}\": a lowercase RFC 1123 label must consist of lower case "
          + "alphanumeric characters or '-', and must start and end with an alphanumeric character (an unexpanded ${...} placeholder?)",
      "30-kube-proxy-windows.yaml",
      "spec.template.spec.securityContext.windowsOptions: not supported: Windows pods; dsfleet runs pods on Linux Docker hosts");

  @Test
  void everyManifestValidatesOrFailsOnlyForItsRealFault() throws IOException {
    Path dir = SharedManifests.dir();
    List<Path> files;
    try (Stream<Path> s = Files.list(dir)) {
      files = s.filter(p -> p.toString().endsWith(".yaml")).sorted().toList();
    }
    assertThat(files).hasSize(30);
    int valid = 0;
    for (Path f : files) {
      List<ParsedDocument> docs = ManifestParser.parse(Files.readString(f), f.getFileName().toString());
      assertThat(docs).as(f.toString()).hasSize(1);
      ParsedDocument doc = docs.get(0);
      String expected = EXPECTED_FAILURES.get(f.getFileName().toString());
      if (expected == null) {
        assertThat(doc.errors()).as(f.getFileName() + " should be valid").isEmpty();
        assertThat(doc.object()).isNotNull();
        assertThat(ManifestParser.parseOne(io.dsfleet.common.Json.canonical(doc.object())))
            .as(f.getFileName() + ": its canonical JSON (what the store keeps) parses back to the same object, which the coordinator keeps")
            .isEqualTo(doc.object());
        valid++;
      } else {
        assertThat(doc.errors()).as(f.getFileName().toString()).map(Problem::toString).containsExactly(expected);
      }
    }
    assertThat(valid).isEqualTo(28);
  }

  @Test
  void ignoredFieldsAreWarnedAboutByPath() throws IOException {
    Path f = SharedManifests.dir().resolve("25-cilium-agent.yaml");
    ParsedDocument doc = ManifestParser.parse(Files.readString(f), "cilium").get(0);
    assertThat(doc.warnings()).contains(
        "spec.template.spec.affinity.podAntiAffinity: ignored (a DaemonSet already runs at most one pod per host)");
  }
}
