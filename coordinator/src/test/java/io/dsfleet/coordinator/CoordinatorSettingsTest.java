package io.dsfleet.coordinator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The coordinator's config file read as {@code serve} reads it. */
class CoordinatorSettingsTest {
  @TempDir Path dir;

  CoordinatorMain.Settings settings(String yaml) throws Exception {
    CoordinatorMain.Settings s = new CoordinatorMain.Settings();
    s.config = Files.writeString(dir.resolve("coordinator.yaml"), yaml);
    return s;
  }

  /** A count that is none is refused naming its key and what it got (before: {@code For input string: "lots"}, no key). */
  @Test
  void aCountThatIsNoneIsRefusedNamingItsKey() throws Exception {
    for (String key : List.of("maxConnections", "maxConnectionsPerAddress", "maxObjectsPerApply", "maxMessageBytes")) {
      for (String bad : List.of("lots", "0", "-3", "99999999999")) {
        CoordinatorMain.Settings s = settings(key + ": " + bad + "\n");
        assertThatThrownBy(s::options).as("%s: %s", key, bad).isInstanceOf(IllegalArgumentException.class)
            .hasMessageContaining("config key \"" + key + "\"").hasMessageContaining("got \"" + bad + "\"");
      }
    }
    assertThatThrownBy(settings("listen: 127.0.0.1:99999\n")::options).hasMessageContaining("--listen port must be between 0 and 65535");
    assertThat(settings("maxConnections: 300\nmaxConnectionsPerAddress: 20\n").options().connections().perAddress()).isEqualTo(20);
  }

  /** A per-address cap above the total is refused naming both keys (before: "connection limits must be positive ...", neither key). */
  /** A list or a map for a key of one value was read as "": `dataDir: [/srv/ds]` put the store in the working directory. */
  @Test
  void aListForAKeyOfOneValueIsRefusedNamingTheKey() throws Exception {
    for (String key : List.of("dataDir", "listen", "heartbeatGrace", "maxMessageBytes")) {
      assertThatThrownBy(settings(key + ": [a, b]\n")::options).as(key).isInstanceOf(IllegalArgumentException.class)
          .hasMessage("config key " + key + ": must be one value, not a list or a map");
    }
  }

  @Test
  void aPerAddressCapAboveTheTotalIsRefusedNamingBothKeys() throws Exception {
    assertThatThrownBy(settings("maxConnections: 300\nmaxConnectionsPerAddress: 500\n")::options).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("config key \"maxConnectionsPerAddress\" (500) must be at most \"maxConnections\" (300)");
    assertThat(settings("maxConnections: 300\n").options().connections().perAddress()).as("the default per address follows a smaller total")
        .isLessThanOrEqualTo(300);
  }

  /** Once `serve` has read its options stderr is the daemon's log: a line break in a record's text starts no line of its own. */
  @Test
  void onceItsOptionsAreReadEachRecordOfTheLogIsOneLine() throws Exception {
    CoordinatorMain.Settings s = settings("dataDir: " + dir.resolve("data") + "\n");
    String printed = io.dsfleet.common.testing.StderrRecords.printedAfter(() -> assertThat(s.optionsOrReport()).isNotNull(),
        "WARN a node said\nINFO forged");
    assertThat(printed).isEqualTo("WARN a node said?INFO forged" + System.lineSeparator());
  }
}
