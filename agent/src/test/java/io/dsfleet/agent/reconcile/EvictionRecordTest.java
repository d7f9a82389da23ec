package io.dsfleet.agent.reconcile;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The evictions' record in the state directory: what one agent writes, the next reads; a line that is no eviction is dropped alone. */
class EvictionRecordTest {
  @TempDir Path dir;

  @Test
  void whatOneAgentWritesTheNextReads() {
    EvictionRecord record = new EvictionRecord(dir.resolve("evictions"));
    Instant at = Instant.parse("2026-12-06T08:00:00Z");
    Map<String, String> evicted = Map.of("ops/a-abcde", "emptyDir volume \"scratch\"\tover\nits limit");
    Map<String, Evictions.Streak> streaks = Map.of("ops/a-abcde", new Evictions.Streak(2, at, at.plusSeconds(10), "before"),
        "ops/b-abcde", new Evictions.Streak(1, at, at, "low on resource"));
    record.save(evicted, Set.of("ops/a-abcde"), streaks);
    Map<String, String> evictedRead = new HashMap<>();
    Set<String> pressuredRead = new HashSet<>();
    Map<String, Evictions.Streak> streaksRead = new HashMap<>();
    assertThat(new EvictionRecord(dir.resolve("evictions")).restore(evictedRead, pressuredRead, streaksRead))
        .containsExactlyInAnyOrder("ops/a-abcde", "ops/b-abcde");
    assertThat(evictedRead).isEqualTo(evicted);
    assertThat(pressuredRead).containsExactly("ops/a-abcde");
    assertThat(streaksRead).isEqualTo(Map.of("ops/a-abcde", new Evictions.Streak(2, at, at.plusSeconds(10), evicted.get("ops/a-abcde")),
        "ops/b-abcde", streaks.get("ops/b-abcde")));
  }

  @Test
  void aLineThatIsNoEvictionIsDroppedAloneAndAnUnreadableRecordIsNone() throws Exception {
    Path file = dir.resolve("evictions");
    new EvictionRecord(file).save(Map.of(), Set.of(), Map.of("ops/b-abcde", new Evictions.Streak(1, Instant.EPOCH, Instant.EPOCH, "x")));
    Files.writeString(file, "../../etc\t1\t0\t0\t0\t0\t\nops/c-abcde\tmany\t0\t0\t0\t0\t\n" + Files.readString(file));
    assertThat(new EvictionRecord(file).load()).containsOnlyKeys("ops/b-abcde");
    Files.delete(file);
    Files.createDirectory(file);
    assertThat(new EvictionRecord(file).load()).isEmpty();
  }
}
