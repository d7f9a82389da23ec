package io.dsfleet.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import io.dsfleet.common.manifest.Allocation;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every YAML the project reads goes through {@link Json#yamlMapper()}: no aliases, linear cost, a 4 MiB document limit. */
class YamlReadingTest {
  @TempDir Path dir;

  @Test
  void anAliasIsRefusedWhereverYamlIsRead() throws Exception {
    assertThatThrownBy(() -> Json.yamlMapper().readTree("a: &x 1\nb: *x\n"))
        .hasMessageStartingWith("YAML aliases (*x) are not supported: write the value out");
    Path config = Files.writeString(dir.resolve("coordinator.yaml"), "listen: &l 127.0.0.1\nadvertise: *l\n");
    assertThatThrownBy(() -> ConfigFile.read(config, Set.of("listen", "advertise")))
        .hasMessageContaining("YAML aliases (*l) are not supported: write the value out");
  }

  @Test
  void anAliasAsAKeyOrAListItemIsRefusedToo() {
    assertThatThrownBy(() -> Json.yamlMapper().readTree("a: &k key\nm: {*k : 1}\n"))
        .hasMessageStartingWith("YAML aliases (*k) are not supported");
    assertThatThrownBy(() -> Json.yamlMapper().readTree("a: &v 1\nl: [0, *v]\n"))
        .hasMessageStartingWith("YAML aliases (*v) are not supported");
  }

  @Test
  void anAnchorAloneChangesNothingAndIsAccepted() throws Exception {
    assertThat(Json.yamlMapper().readTree("a: &x 1\nb: {c: &y [2]}\n")).isEqualTo(Json.mapper().readTree("{\"a\":1,\"b\":{\"c\":[2]}}"));
  }

  /** Plain, quoted and block scalars of 1 MB with no break in them: about 2 GB each to read before. */
  @Test
  void aLongUnbrokenScalarIsReadInLinearMemory() throws Exception {
    String blob = "QUJD".repeat(250_000);
    for (String yaml : new String[] {"v: " + blob + "\n", "v: \"" + blob + "\"\n", "v: '" + blob + "'\n", "v: |\n  " + blob + "\n"}) {
      Json.yamlMapper().readTree(yaml);
      long allocated = Allocation.during(() -> {
        try {
          assertThat(Json.yamlMapper().readTree(yaml).get("v").asText().strip()).isEqualTo(blob);
        } catch (Exception e) {
          throw new AssertionError(e);
        }
      });
      assertThat(allocated).as("bytes allocated to read " + yaml.substring(0, 6)).isLessThan(32L << 20);
    }
  }

  /** A document that fits a request to the coordinator (4 MiB) fits the parser; SnakeYAML's own default was 3 MiB. */
  @Test
  void aDocumentOfUpTo4MiBIsRead() throws Exception {
    String value = "x".repeat(4 * 1024 * 1024 - 100);
    JsonNode node = Json.yamlMapper().readTree("v: " + value + "\n");
    assertThat(node.get("v").asText()).hasSize(value.length());
  }

  @Test
  void aDocumentOver4MiBIsRefusedNamingTheLimit() {
    assertThatThrownBy(() -> Json.yamlMapper().readTree("v: " + "x".repeat(5 * 1024 * 1024) + "\n"))
        .hasMessageContaining("4194304 code points");
  }
}
