package io.dsfleet.coordinator.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * `dsctl apply` of several inputs (a directory, -f repeated) against a real coordinator: every
 * input is checked before the first is sent, so one bad input applies none of them.
 */
class ApplySeveralInputsTest extends DsctlOnFixture {

  static String configMap(String name, String value) {
    return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + name + "}\ndata: {k: \"" + value + "\"}\n";
  }

  /** Until 2026-12-08 a.yaml and c.yaml were applied, and dsctl said "b.yaml is invalid; nothing applied". */
  @Test
  void aDirectoryWithOneInvalidFileAppliesNoneOfIt() throws Exception {
    Path manifests = Files.createDirectory(dir.resolve("manifests"));
    Files.writeString(manifests.resolve("a.yaml"), configMap("a", "1"));
    Files.writeString(manifests.resolve("b.yaml"), configMap("b", "1").replace("name: b", "name: B"));
    Files.writeString(manifests.resolve("c.yaml"), configMap("c", "1"));
    DsctlRun.Result r = dsctl("apply", "-f", manifests.toString());
    assertThat(r.exit()).isEqualTo(1);
    assertThat(r.out()).isEmpty();
    assertThat(r.err()).startsWith("error: " + manifests.resolve("b.yaml") + "#1 ConfigMap/B: metadata.name: Invalid value: \"B\"")
        .endsWith("error: nothing applied\n");
    assertThat(dsctl("get", "configmaps", "-A").err()).isEqualTo("No resources found\n");
  }

  /** Until 2026-12-08 both were applied, one after the other: the ConfigMap held the second file's value, exit 0. */
  @Test
  void anObjectInTwoInputsIsRefusedNamingBoth() throws Exception {
    Path first = Files.writeString(dir.resolve("first.yaml"), configMap("shared", "1") + "---\n" + configMap("other", "1"));
    Path second = Files.writeString(dir.resolve("second.yaml"), configMap("shared", "2"));
    DsctlRun.Result r = dsctl("apply", "-f", first.toString(), "-f", second.toString());
    assertThat(r).isEqualTo(new DsctlRun.Result(1, "", "error: " + second + "#1 ConfigMap/shared: the same object appears twice in one"
        + " apply (first in " + first + "#1 ConfigMap/shared)\nerror: nothing applied\n"));
    assertThat(dsctl("get", "configmaps", "-A").err()).isEqualTo("No resources found\n");
    assertThat(dsctl("diff", "-f", first.toString(), "-f", second.toString()).exit()).as("diff refuses them alike").isEqualTo(2);
  }
}
