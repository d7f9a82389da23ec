package io.dsfleet.agent.reconcile;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Which pod disk pressure evicts (the measuring and choosing of {@link Evictions}, on real
 * directories; the free space given): the one whose disk emptyDirs hold the most, at least 1 % of the
 * file system, one at a time; its every disk emptyDir is emptied.
 */
class DiskPressureTest {
  static final long MIB = 1 << 20;
  static final Evictions.Space PRESSED = new Evictions.Space(5 * MIB, 100 * MIB);
  static final Instant T0 = Instant.parse("2026-12-05T00:00:00Z");
  /** No container wrote to its writable layer, none was removed. */
  static final java.util.function.Supplier<Evictions.Layers> NO_LAYERS = () -> new Evictions.Layers(Map.of(), 0);
  @TempDir Path pods;
  Evictions evictions = new Evictions();

  /** Pods big (3 MiB in an emptyDir without a limit), small (1 MiB) and memory (a tmpfs volume: not the disk's). */
  Collection<DesiredPod> pods() throws IOException {
    Map<String, io.dsfleet.common.model.DaemonSet> byName = new TreeMap<>();
    String volumes = "spec.template.spec.volumes";
    byName.put("big", Pods.ds(volumes, "[{name: scratch, emptyDir: {}}, {name: limited, emptyDir: {sizeLimit: 1Gi}}]"));
    byName.put("small", Pods.ds(volumes, "[{name: scratch, emptyDir: {}}]"));
    byName.put("memory", Pods.ds(volumes, "[{name: scratch, emptyDir: {medium: Memory}}]"));
    var desired = DesiredPod.parse(Pods.named(1, byName), Map.of(), Pods.NODE, "10.1.1.1", pods, "test");
    fill(desired.get("ops/big-abcde"), "scratch", 2 * MIB);
    fill(desired.get("ops/big-abcde"), "limited", MIB);
    fill(desired.get("ops/small-abcde"), "scratch", MIB);
    fill(desired.get("ops/memory-abcde"), "scratch", 10 * MIB);
    return desired.values();
  }

  static void fill(DesiredPod d, String volume, long bytes) throws IOException {
    Path dir = Files.createDirectories(d.ctx().podDir().resolve("volumes").resolve(volume));
    Files.write(dir.resolve("data"), new byte[(int) bytes]);
  }

  @Test
  void underPressureThePodWhoseDiskVolumesHoldTheMostIsEvictedAndAllThoseVolumesEmptied() throws IOException {
    Collection<DesiredPod> all = pods();
    var chosen = evictions.heaviest(all, PRESSED, NO_LAYERS, T0).orElseThrow();
    assertThat(chosen.pod().key()).isEqualTo("ops/big-abcde");
    assertThat(chosen.why()).startsWith("The node was low on resource: ephemeral-storage").contains("5242880 of 104857600 bytes free");
    var used = java.util.regex.Pattern.compile("used (\\d+) bytes").matcher(chosen.why());
    assertThat(used.find()).isTrue();
    assertThat(Long.parseLong(used.group(1))).as("its two volumes' files and directories").isBetween(3 * MIB, 3 * MIB + 64 * 1024);
    assertThat(evictions.evictForPressure(chosen)).isTrue();
    assertThat(evictions.why("ops/big-abcde")).isEqualTo(chosen.why());
    assertThat(evictions.evictForPressure(chosen)).as("once").isFalse();
    assertThat(evictions.heaviest(all, PRESSED, NO_LAYERS, T0.plusSeconds(60))).as("none more while one eviction is under way").isEmpty();

    evictions.empty(chosen.pod(), T0, Backoff.KUBERNETES);
    Path volumes = chosen.pod().ctx().podDir().resolve("volumes");
    assertThat(volumes.resolve("scratch")).as("the volume without a limit emptied").doesNotExist();
    assertThat(volumes.resolve("limited")).as("the one within its limit too").doesNotExist();
    assertThat(evictions.why("ops/big-abcde")).isNull();
    assertThat(pods.resolve("ops_small-abcde/volumes/scratch/data")).as("another pod's volume kept").exists();
  }

  /**
   * Short of inodes with bytes to spare (the kubelet's {@code nodefs.inodesFree<5%}), the pod whose
   * volumes hold the most entries is evicted, not the one holding the most bytes; at least 1 % of
   * the inodes. Before, inodes were not watched: a container making millions of empty files used
   * them up and the host could make no file.
   */
  @Test
  void shortOfInodesThePodWhoseVolumesHoldTheMostEntriesIsEvicted() throws IOException {
    Collection<DesiredPod> all = pods();
    Path cache = Files.createDirectories(all.stream().filter(d -> d.key().equals("ops/small-abcde")).findFirst().orElseThrow()
        .ctx().podDir().resolve("volumes/scratch/cache"));
    for (int i = 0; i < 300; i++) {
      Files.createFile(cache.resolve("f" + i));
    }
    var chosen = new Evictions().heaviest(all, new Evictions.Space(50 * MIB, 100 * MIB, 100, 10_000), NO_LAYERS, T0).orElseThrow();
    assertThat(chosen.pod().key()).as("302 entries against big's 4").isEqualTo("ops/small-abcde");
    assertThat(chosen.why()).startsWith("The node was low on resource: inodes").contains("100 of 10000 inodes free, under 5 %")
        .contains("used 302 inodes");
    assertThat(new Evictions().heaviest(all, new Evictions.Space(50 * MIB, 100 * MIB, 100, 40_000), NO_LAYERS, T0))
        .as("302 entries are under 1 % of 40,000").isEmpty();
    assertThat(new Evictions().heaviest(all, new Evictions.Space(50 * MIB, 100 * MIB, 600, 10_000), NO_LAYERS, T0))
        .as("6 % free: no pressure").isEmpty();
    assertThat(new Evictions().heaviest(all, new Evictions.Space(5 * MIB, 100 * MIB, 100, 10_000), NO_LAYERS, T0).orElseThrow().pod().key())
        .as("short of bytes too: ranked by bytes").isEqualTo("ops/big-abcde");
  }

  /** A container's writable layer counts as its pod's volumes do: writing to its own file system instead evades nothing. */
  @Test
  void aPodsContainersWritableLayersCountToo() throws IOException {
    var chosen = evictions.heaviest(pods(), PRESSED, () -> new Evictions.Layers(Map.of("ops/small-abcde", 4 * MIB), 0), T0).orElseThrow();
    assertThat(chosen.pod().key()).as("1 MiB of volume and 4 MiB of layers against 3 MiB of volumes").isEqualTo("ops/small-abcde");
    assertThat(chosen.why()).contains("containers' writable layers, their files and volumes in Docker's root and the files they deleted and hold open " + 4 * MIB);
  }

  /**
   * Stopped containers removed for their layers instead (the kubelet's first step): no pod is
   * evicted at this check when that ended the pressure (or the space was not read again), and the
   * next one measures; a pod is evicted at once when the file system is still under pressure after
   * them, as the kubelet does.
   */
  @Test
  void noPodIsEvictedAtACheckThatRemovedStoppedContainersForTheirLayersUnlessThePressureStays() throws IOException {
    Collection<DesiredPod> all = pods();
    assertThat(evictions.heaviest(all, PRESSED, () -> new Evictions.Layers(Map.of(), 1), T0)).isEmpty();
    assertThat(evictions.heaviest(all, PRESSED, () -> new Evictions.Layers(Map.of(), 1, new Evictions.Space(50 * MIB, 100 * MIB)), T0))
        .as("the pressure ended").isEmpty();
    assertThat(evictions.heaviest(all, PRESSED, NO_LAYERS, T0.plusSeconds(10))).as("the next check, 10 s on").isPresent();
    assertThat(new Evictions().heaviest(pods(), PRESSED, () -> new Evictions.Layers(Map.of(), 1, PRESSED), T0)).as("still pressed").isPresent();
  }

  @Test
  void withoutPressureNothingIsMeasured() throws IOException {
    assertThat(evictions.heaviest(pods(), new Evictions.Space(11 * MIB, 100 * MIB), () -> {
      throw new AssertionError("the runtime asked for its layers' sizes without pressure");
    }, T0)).isEmpty();
  }

  /** A disk filled by something else does not take the pods' volumes away one after another. */
  @Test
  void noPodIsEvictedWhoseVolumesHoldLessThanOnePercent() throws IOException {
    assertThat(evictions.heaviest(pods(), new Evictions.Space(MIB, 1000 * MIB), NO_LAYERS, T0)).as("3 MiB of 1000").isEmpty();
  }

  /**
   * A pod that keeps a small limited volume over its limit at every check (evicted for it, emptied,
   * started, over again) and fills the disk through a volume without a limit: its sizeLimit
   * evictions hold no disk pressure back, and it is evicted for the pressure, all its volumes
   * emptied. Before, a sizeLimit eviction under way at every check held every pressure eviction
   * back, and emptied only the small volume: the big one filled the host's disk for good. A
   * neighbour's sizeLimit eviction holds back no pressure eviction of the pod that fills the disk.
   */
  @Test
  void aPodKeptOverASmallSizeLimitCannotHoldDiskPressureBackWhileItsOtherVolumeFillsTheDisk() throws IOException {
    String volumes = "spec.template.spec.volumes";
    Map<String, io.dsfleet.common.model.DaemonSet> byName = Map.of(
        "hoarder", Pods.ds(volumes, "[{name: tiny, emptyDir: {sizeLimit: 1Ki}}, {name: hoard, emptyDir: {}}]"),
        "cycler", Pods.ds(volumes, "[{name: tiny, emptyDir: {sizeLimit: 1Ki}}]"),
        "filler", Pods.ds(volumes, "[{name: hoard, emptyDir: {}}]"));
    var desired = DesiredPod.parse(Pods.named(1, byName), Map.of(), Pods.NODE, "10.1.1.1", pods, "test");
    DesiredPod hoarder = desired.get("ops/hoarder-abcde");
    fill(hoarder, "tiny", 4096);
    fill(hoarder, "hoard", 8 * MIB);
    assertThat(evictions.measure(hoarder, T0)).as("evicted for its sizeLimit at the check").isTrue();
    var chosen = evictions.heaviest(desired.values(), PRESSED, NO_LAYERS, T0).orElseThrow();
    assertThat(chosen.pod()).isEqualTo(hoarder);
    assertThat(evictions.evictForPressure(chosen)).as("its sizeLimit eviction becomes one for disk pressure").isTrue();
    assertThat(evictions.why(hoarder.key())).isEqualTo(chosen.why());
    assertThat(evictions.evictForPressure(chosen)).as("once").isFalse();
    evictions.empty(hoarder, T0, Backoff.KUBERNETES);
    assertThat(hoarder.ctx().podDir().resolve("volumes/hoard")).as("the volume without a limit emptied too").doesNotExist();

    DesiredPod cycler = desired.get("ops/cycler-abcde");
    fill(cycler, "tiny", 4096);
    fill(desired.get("ops/filler-abcde"), "hoard", 8 * MIB);
    assertThat(evictions.measure(cycler, T0.plusSeconds(60))).isTrue();
    assertThat(evictions.heaviest(desired.values(), PRESSED, NO_LAYERS, T0.plusSeconds(60)).orElseThrow().pod().key())
        .as("a neighbour's sizeLimit eviction under way").isEqualTo("ops/filler-abcde");
  }

  /**
   * A volume of more files than a sizeLimit's measure walks (100,000; 100 here) is no filler of the
   * disk for that alone: measured further under pressure (up to 1,000,000; 1,000 here), it holds
   * what it holds. Before, it counted as the largest, past the 1 % floor, whatever filled the disk.
   */
  @Test
  void aVolumeOfManySmallFilesIsMeasuredNotTakenForTheDisksFiller() throws IOException {
    evictions = new Evictions(100, 1000);
    Map<String, io.dsfleet.common.model.DaemonSet> byName = Map.of("cache", Pods.ds("spec.template.spec.volumes", "[{name: files, emptyDir: {}}]"));
    DesiredPod d = DesiredPod.parse(Pods.named(1, byName), Map.of(), Pods.NODE, "10.1.1.1", pods, "test").get("ops/cache-abcde");
    Path dir = Files.createDirectories(d.ctx().podDir().resolve("volumes/files"));
    for (int i = 0; i < 150; i++) {
      Files.createFile(dir.resolve("f" + i));
    }
    long gib = 1L << 30;
    assertThat(evictions.heaviest(List.of(d), new Evictions.Space(5 * gib, 1000 * gib), NO_LAYERS, T0))
        .as("150 empty files on a disk of 1000 GiB something else filled: far under 1 %").isEmpty();
    for (int i = 150; i <= 1000; i++) {
      Files.createFile(dir.resolve("f" + i));
    }
    assertThat(evictions.heaviest(List.of(d), new Evictions.Space(5 * gib, 1000 * gib), NO_LAYERS, T0.plusSeconds(60)))
        .as("past what it measures, the largest: so many files cannot hide bytes").isPresent();
  }

  /**
   * A pod's walks share one bound at a check (1,000,000 entries; 1,000 here): two volumes of 600
   * files each, each under it, are past measure together, the largest. Before, each walk had a
   * bound of its own, and a pod of many volumes or containers each just under it made one check
   * walk tens of millions of entries. The next check has the whole bound again.
   */
  @Test
  void aPodsWalksShareOneBound() throws IOException {
    evictions = new Evictions(100, 1000);
    Map<String, io.dsfleet.common.model.DaemonSet> byName = Map.of("cache",
        Pods.ds("spec.template.spec.volumes", "[{name: a, emptyDir: {}}, {name: b, emptyDir: {}}]"));
    DesiredPod d = DesiredPod.parse(Pods.named(1, byName), Map.of(), Pods.NODE, "10.1.1.1", pods, "test").get("ops/cache-abcde");
    long gib = 1L << 30;
    Evictions.Space elsewhere = new Evictions.Space(5 * gib, 1000 * gib); // filled by something else: 1,200 empty files are far under 1 %
    for (String volume : List.of("a", "b")) {
      Path dir = Files.createDirectories(d.ctx().podDir().resolve("volumes").resolve(volume));
      for (int i = 0; i < (volume.equals("a") ? 600 : 300); i++) {
        Files.createFile(dir.resolve("f" + i));
      }
    }
    assertThat(evictions.heaviest(List.of(d), elsewhere, NO_LAYERS, T0)).as("900 entries in all: measured").isEmpty();
    for (int i = 300; i < 600; i++) {
      Files.createFile(d.ctx().podDir().resolve("volumes/b").resolve("f" + i));
    }
    assertThat(evictions.heaviest(List.of(d), elsewhere, NO_LAYERS, T0.plusSeconds(60)).orElseThrow().why())
        .as("1,200 entries in all, 600 a volume: past measure").contains("held more than the agent measures");
    for (int i = 300; i < 600; i++) {
      Files.delete(d.ctx().podDir().resolve("volumes/b").resolve("f" + i));
    }
    assertThat(evictions.heaviest(List.of(d), elsewhere, NO_LAYERS, T0.plusSeconds(120))).as("900 again: each check has the whole bound")
        .isEmpty();
  }

  /** An eviction for a sizeLimit empties only the volumes over their limits, as before. */
  @Test
  void aSizeLimitEvictionEmptiesOnlyTheVolumesOverTheirLimits() throws IOException {
    Map<String, io.dsfleet.common.model.DaemonSet> byName = Map.of("limited",
        Pods.ds("spec.template.spec.volumes", "[{name: over, emptyDir: {sizeLimit: 1Ki}}, {name: free, emptyDir: {}}]"));
    DesiredPod d = DesiredPod.parse(Pods.named(1, byName), Map.of(), Pods.NODE, "10.1.1.1", pods, "test").get("ops/limited-abcde");
    fill(d, "over", 4096);
    fill(d, "free", 4096);
    assertThat(evictions.measure(d, T0)).isTrue();
    evictions.empty(d, T0, Backoff.KUBERNETES);
    assertThat(d.ctx().podDir().resolve("volumes/over")).doesNotExist();
    assertThat(d.ctx().podDir().resolve("volumes/free/data")).exists();
  }
}
