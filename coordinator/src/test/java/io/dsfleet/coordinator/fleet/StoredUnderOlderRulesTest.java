package io.dsfleet.coordinator.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.sql.DriverManager;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An object stored by a coordinator whose rules were looser (a negative sizeLimit before
 * 2026-12-05): re-validated at load it stopped the upgraded coordinator's start (helper-77). It
 * loads as stored and runs as before.
 */
class StoredUnderOlderRulesTest {
  @TempDir Path dir;

  @Test
  void aDaemonSetStoredUnderOlderRulesLoadsAsStored() throws Exception {
    try (FleetHarness h = new FleetHarness(dir)) {
      h.agent("n1");
      h.apply(FleetHarness.manifest("spec.template.spec.volumes[1]", "{name: scratch, emptyDir: {sizeLimit: 1Gi}}"));
      try (var c = DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("dsfleet.db")); var st = c.createStatement()) {
        assertThat(st.executeUpdate("UPDATE objects SET json = replace(json, '\"sizeLimit\":\"1Gi\"', '\"sizeLimit\":\"-1Gi\"')"
            + " WHERE kind = 'DaemonSet'")).isEqualTo(1);
      }
      h.crashAndRestart();
      assertThat(h.ds().ds().spec().template().spec().volumes()).anySatisfy(v -> assertThat(v.emptyDir() == null ? null
          : v.emptyDir().sizeLimit()).isEqualTo("-1Gi"));
      assertThat(h.ds().status().desired()).isEqualTo(1);
    }
  }
}
