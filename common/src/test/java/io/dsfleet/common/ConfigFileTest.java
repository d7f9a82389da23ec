package io.dsfleet.common;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A config file read at start: what it says when it is no YAML. */
class ConfigFileTest {
  @TempDir Path dir;

  /** The agent's config holds the join token: a typo on its line named the problem and the place, and printed the line with the token. */
  @Test
  void aFileThatIsNoYamlIsRefusedNamingThePlaceNotTheTextOfItsLine() throws Exception {
    Path typo = Files.writeString(dir.resolve("agent.yaml"), "coordinators: 127.0.0.1:7443\njoinToken: dsf1.abc.SECRETPART: x\n");
    assertThatThrownBy(() -> ConfigFile.read(typo, Set.of("coordinators", "joinToken"))).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("cannot read config file " + typo).hasMessageContaining("mapping values are not allowed here")
        .hasMessageContaining("line 2, column ").hasMessageNotContaining("SECRETPART");
    Path unclosed = Files.writeString(dir.resolve("other.yaml"), "joinToken: \"dsf1.abc.SECRETPART\nnodeName: x\n");
    assertThatThrownBy(() -> ConfigFile.read(unclosed, Set.of("joinToken", "nodeName"))).hasMessageContaining("line ")
        .hasMessageNotContaining("SECRETPART");
  }
}
