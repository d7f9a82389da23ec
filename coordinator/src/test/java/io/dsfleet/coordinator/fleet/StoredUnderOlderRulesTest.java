package io.dsfleet.coordinator.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.coordinator.store.Store;
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

  /** A ConfigMap and a Secret stored with keys today's rules refuse load as stored, each named in the log by kind and key (not value). */
  @Test
  void aConfigMapAndASecretStoredUnderOlderRulesLoadAndAreNamedInTheLog() throws Exception {
    try (var older = new io.dsfleet.coordinator.store.SqliteStore(dir)) { // as an older coordinator stored them
      older.putObjects(java.util.List.of(
          write(new Store.StoredObject("ConfigMap", "ops", "cfg", "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":"
              + "{\"name\":\"cfg\",\"namespace\":\"ops\"},\"data\":{\"..data\":\"one\"}}", 1, 0, 0)),
          write(new Store.StoredObject("Secret", "ops", "sec", "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":"
              + "{\"name\":\"sec\",\"namespace\":\"ops\"},\"data\":{\"..data\":\"aHVudGVyMi10aGUtdmFsdWU=\"}}", 1, 0, 0))));
    }
    java.io.PrintStream stderr = System.err;
    var printed = new java.io.ByteArrayOutputStream();
    System.setErr(new java.io.PrintStream(printed, true, java.nio.charset.StandardCharsets.UTF_8));
    FleetHarness h;
    try {
      h = new FleetHarness(dir);
    } finally {
      System.setErr(stderr);
    }
    try (h) {
      String log = printed.toString(java.nio.charset.StandardCharsets.UTF_8);
      assertThat(log).contains("ConfigMap ops/cfg as stored does not pass today's validation", "Secret ops/sec as stored does not pass",
          "..data").doesNotContain("aHVudGVyMi10aGUtdmFsdWU=");
      assertThat(h.fleet.configs("ConfigMap")).extracting(Store.StoredObject::name).containsExactly("cfg");
      assertThat(h.fleet.configs("Secret")).extracting(Store.StoredObject::name).containsExactly("sec");
    }
  }

  static Store.ObjectWrite write(Store.StoredObject o) {
    return new Store.ObjectWrite(o, 0, null, java.util.List.of(), null);
  }
}
