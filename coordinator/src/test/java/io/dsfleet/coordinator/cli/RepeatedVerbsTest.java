package io.dsfleet.coordinator.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.common.manifest.Fixtures;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A verb run again, as a script runs it at every pass, against a real coordinator: it answers as
 * the first time and records nothing more, so the 50 events kept per node and per DaemonSet are not
 * pushed out by changes that changed nothing; and one asked to do and undo in one call is refused,
 * as kubectl refuses it.
 */
class RepeatedVerbsTest extends DsctlOnFixture {

  static long count(String text, String word) {
    return text.lines().filter(l -> l.contains(word)).count();
  }

  @Test
  void aCordonOfACordonedNodeRecordsNothing() throws Exception {
    c.agent("node-a", Map.of());
    for (int i = 0; i < 3; i++) {
      assertThat(dsctl("cordon", "node-a")).isEqualTo(new DsctlRun.Result(0, "node/node-a cordoned\n", ""));
    }
    assertThat(dsctl("uncordon", "node-a").exit()).isZero();
    assertThat(dsctl("uncordon", "node-a").exit()).isZero();
    String events = dsctl("events", "--for", "node/node-a").out();
    assertThat(count(events, "Cordoned")).as(events).isEqualTo(1);
    assertThat(count(events, "Uncordoned")).as(events).isEqualTo(1);
    assertThat(dsctl("get", "nodes").out()).contains("Ready ").doesNotContain("SchedulingDisabled");
  }

  @Test
  void aPauseOfAPausedRolloutRecordsNothing() throws Exception {
    Path f = Files.writeString(dir.resolve("ds.yaml"), Fixtures.BASE);
    assertThat(dsctl("apply", "-f", f.toString()).exit()).isZero();
    for (int i = 0; i < 3; i++) {
      assertThat(dsctl("rollout", "pause", "ds/agent", "-n", "ops")).isEqualTo(new DsctlRun.Result(0, "daemonset.apps/agent paused\n", ""));
    }
    String events = dsctl("events", "--for", "ds/agent", "-n", "ops").out();
    assertThat(count(events, "RolloutPaused")).as(events).isEqualTo(1);
    assertThat(dsctl("rollout", "resume", "ds/agent", "-n", "ops").exit()).isZero();
    assertThat(count(dsctl("events", "--for", "ds/agent", "-n", "ops").out(), "RolloutResumed")).isEqualTo(1);
  }

  /** A label or taint set and removed in one call is refused, as kubectl refuses it, and nothing changes: it was done and evented as both. */
  @Test
  void aLabelOrTaintSetAndRemovedInOneCallIsRefused() throws Exception {
    c.agent("node-a", Map.of());
    DsctlRun.Result label = dsctl("label", "node", "node-a", "a=1", "a-");
    assertThat(label.exit()).as(label.err()).isNotZero();
    assertThat(label.err()).contains("can not both modify and remove a label in the same command: [a]");
    DsctlRun.Result taint = dsctl("taint", "node", "node-a", "k=v:NoSchedule", "k:NoSchedule-");
    assertThat(taint.exit()).as(taint.err()).isNotZero();
    assertThat(taint.err()).contains("can not both modify and remove the following taint(s) in the same command: [k:NoSchedule-]");
    assertThat(dsctl("events", "--for", "node/node-a").out()).contains("node-a").doesNotContain("Labeled").doesNotContain("Tainted");
    assertThat(dsctl("get", "node", "node-a", "-o", "json").out()).contains("node-a").doesNotContain("\"a\"").doesNotContain("\"k\"");
  }
}
