package io.dsfleet.coordinator.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.common.manifest.ManifestParser;
import io.dsfleet.common.manifest.SharedManifests;
import io.dsfleet.coordinator.fleet.FleetView.DsSnapshot;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The coordinator keeps an applied DaemonSet as it parsed it, not as it parses the JSON it stored:
 * a restart (or a replica taking over) loads the stored JSON, and must find the same objects,
 * template hashes and revisions the applies left in memory.
 */
class AppliedAsLoadedTest {
  @TempDir Path dir;

  @Test
  void whatAnApplyKeepsIsWhatARestartLoads() {
    try (FleetHarness h = new FleetHarness(dir)) {
      h.fleet.apply(FleetHarness.manifest(), "test", false);
      h.fleet.apply(FleetHarness.manifest("metadata.name", "numbers", "metadata.resourceVersion", "\"\"",
          "spec.template.spec.containers[0].resources", "{limits: {cpu: 0.5, memory: 1e3}}",
          "spec.updateStrategy", "{type: RollingUpdate, rollingUpdate: {maxUnavailable: 10%}}",
          "spec.template.spec.containers[0].env", "[{name: A, value: \"\\u00e9\\u2028\"}, {name: B, value: \"\"}]",
          "spec.template.metadata.annotations", "{}"), "test", false);
      h.fleet.apply(FleetHarness.manifest("spec.template.spec.containers[0].image", "local/busybox:2"), "test", false);
      assertRestartLoadsTheSame(h, 2); // the first with two revisions
    }
  }

  /** The real manifests of ../shared/manifests (skipped, saying so, where that folder does not exist). */
  @Test
  void whatAnApplyOfEachRealManifestKeepsIsWhatARestartLoads() throws IOException {
    Path shared = SharedManifests.dir();
    List<Path> files;
    try (Stream<Path> s = Files.list(shared)) {
      files = s.filter(p -> p.toString().endsWith(".yaml")).sorted().toList();
    }
    try (FleetHarness h = new FleetHarness(dir)) {
      int applied = 0;
      for (Path f : files) {
        String text = Files.readString(f);
        if (ManifestParser.parse(text, f.toString()).stream().anyMatch(d -> !d.errors().isEmpty())) {
          continue; // the two with real faults (RealManifestsTest)
        }
        h.fleet.apply(text, f.getFileName().toString(), false);
        applied++;
      }
      assertThat(applied).isEqualTo(28);
      assertRestartLoadsTheSame(h, 28);
    }
  }

  private static void assertRestartLoadsTheSame(FleetHarness h, int count) {
    Map<String, DsSnapshot> before = byName(h.fleet.daemonSets());
    assertThat(before).hasSize(count);
    h.crashAndRestart();
    Map<String, DsSnapshot> after = byName(h.fleet.daemonSets());
    assertThat(after.keySet()).isEqualTo(before.keySet());
    for (String k : before.keySet()) {
      assertThat(after.get(k).ds()).as(k + ": the object").isEqualTo(before.get(k).ds());
      assertThat(after.get(k).hash()).as(k + ": its template's hash").isEqualTo(before.get(k).hash());
      assertThat(after.get(k).revisions()).as(k + ": its revisions").isEqualTo(before.get(k).revisions());
      assertThat(after.get(k).generation()).as(k + ": its generation").isEqualTo(before.get(k).generation());
    }
  }

  private static Map<String, DsSnapshot> byName(List<DsSnapshot> all) {
    return all.stream().collect(Collectors.toMap(d -> d.namespace() + "/" + d.name(), d -> d, (a, b) -> a, TreeMap::new));
  }
}
