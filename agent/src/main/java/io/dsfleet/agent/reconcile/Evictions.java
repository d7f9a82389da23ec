package io.dsfleet.agent.reconcile;

import io.dsfleet.agent.hostfs.NoFollow;
import io.dsfleet.agent.pod.Volumes;
import io.dsfleet.agent.runtime.OwnedContainer;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The sizeLimit of emptyDir volumes on the host's disk, enforced as the kubelet's eviction manager
 * does: every {@link #CHECK_EVERY} each such volume is measured ({@link NoFollow#usage}), and a pod
 * with one over its limit is evicted: its app containers are stopped (a kill verdict, as a failed
 * liveness probe's), none starts again (waiting, reason {@code Evicted}) until the volumes over their
 * limit are emptied, and then the pod starts again, as the new pod Kubernetes' DaemonSet controller
 * makes for an evicted one would, with empty volumes. Before, a sizeLimit on disk was taken and
 * ignored: a review's pod filled the state directory's disk through a volume of {@code sizeLimit: 1Mi}.
 *
 * <p>Disk pressure too, as the kubelet's hard thresholds {@code nodefs.available<10%} and {@code
 * nodefs.inodesFree<5%}: when the file system of the pods' volumes has less than {@link
 * #PRESSURE_FREE_PERCENT} % of its bytes free (or {@link #PRESSURE_INODES_FREE_PERCENT} % of its
 * inodes), the pod whose disk emptyDirs, containers' writable layers (when Docker keeps them on
 * that file system) and held deleted files hold the most bytes (short of inodes only: inodes), at
 * least {@link #PRESSURE_LEAST_PERCENT} % of them, is evicted the same way: its stopped containers
 * and its sandbox are removed and all its disk emptyDirs emptied; one pod at a time, none while
 * another pod's eviction for disk pressure is under way. Before, a volume without a sizeLimit filled the
 * host's disk and nothing stopped it. An eviction for a sizeLimit holds none back: a pod that kept
 * a small limited volume over its limit at every check (evicted, emptied, over again) held every
 * pressure eviction back while its volume without a limit, never emptied, filled the disk.
 */
final class Evictions {
  private static final Logger log = LoggerFactory.getLogger(Evictions.class);
  /** How often limited volumes are measured (the kubelet's housekeeping period). */
  static final Duration CHECK_EVERY = Duration.ofSeconds(10);
  /** Entries of one volume measured at most: a volume of more counts as over its limit. */
  static final long MAX_ENTRIES = 100_000;
  /**
   * Entries of one volume measured at most for disk pressure, where a volume of more counts as the
   * largest: ten times {@link #MAX_ENTRIES}, on the pressure check's own thread and only under
   * pressure, so a volume of many small files (a cache) is not taken for the disk's filler when
   * something else fills it (at 100,000 it was: past the 1 % floor and first, whatever it held).
   */
  static final long PRESSURE_MAX_ENTRIES = 1_000_000;
  /**
   * A pod's volumes are measured again no sooner than this many times the last measurement took:
   * a walk of 100,000 entries took 0.4-0.5 s here (1-1.3 s counting bytes, each file's blocks read too), so measuring one such volume costs at most 2 %
   * of a core however it is filled.
   */
  static final int PACE = 50;
  /** ... but never more than this between two measurements of a pod. */
  static final Duration MAX_PAUSE = Duration.ofMinutes(1);

  /** Disk pressure: the pods' file system with less free than this share (the kubelet's default hard threshold). */
  static final int PRESSURE_FREE_PERCENT = 10;
  /**
   * ... and a pod evicted for it only when its disk emptyDirs hold at least this share of the file
   * system: a disk filled by something else does not take every pod's volumes away, one each check.
   */
  static final int PRESSURE_LEAST_PERCENT = 1;

  /** Disk pressure on inodes: the pods' file system with fewer free inodes than this share (the kubelet's {@code nodefs.inodesFree<5%}). */
  static final int PRESSURE_INODES_FREE_PERCENT = 5;

  /**
   * The free and total bytes of the file system that holds the pods' volumes, and its free and
   * total inodes (0 and 0 when not known, or a file system without a fixed number: btrfs).
   */
  record Space(long free, long total, long freeInodes, long totalInodes) {
    Space(long free, long total) {
      this(free, total, 0, 0);
    }

    boolean pressed() {
      return bytesPressed() || inodesPressed();
    }

    private boolean bytesPressed() {
      return total > 0 && free * 100 < total * PRESSURE_FREE_PERCENT;
    }

    private boolean inodesPressed() {
      return totalInodes > 0 && freeInodes * 100 < totalInodes * PRESSURE_INODES_FREE_PERCENT;
    }

    /** Whether pods are ranked by the inodes they use (short of inodes, not of bytes), not by bytes. */
    boolean byInodes() {
      return !bytesPressed() && inodesPressed();
    }
  }

  /**
   * What the pods' containers hold in their writable layers (and in files they deleted and hold
   * open) for disk pressure, by pod key, in bytes or inodes ({@link Space#byInodes}), how many stopped containers were removed to reclaim theirs
   * before any pod is evicted (the kubelet removes dead containers first), and the pods' file
   * system read again after those removals (null when none, or not read): when some were removed,
   * a pod is evicted at this check only when the file system is still under pressure after them,
   * as the kubelet measures again after it reclaims.
   */
  record Layers(Map<String, Long> byPod, int reclaimed, Space after) {
    Layers(Map<String, Long> byPod, int reclaimed) {
      this(byPod, reclaimed, null);
    }
  }

  /** A pod chosen for eviction under disk pressure, and why. */
  record Heaviest(DesiredPod pod, String why) {}

  private final long maxEntries;
  private final long pressureMaxEntries;
  /** Where the evictions under way and the pods' streaks are kept across the agent's restarts; null: nowhere. */
  private final EvictionRecord record;
  /** The pods read from the record, whose holds the reconciler has not made again yet ({@link #takeRestored}). */
  private final Set<String> restored = ConcurrentHashMap.newKeySet();

  Evictions() {
    this(MAX_ENTRIES, PRESSURE_MAX_ENTRIES, null);
  }

  /** With other bounds of a walk (tests: {@link #MAX_ENTRIES} files take seconds to make). */
  Evictions(long maxEntries, long pressureMaxEntries) {
    this(maxEntries, pressureMaxEntries, null);
  }

  /** Kept in {@code record} across the agent's restarts, and started from what it holds. */
  Evictions(EvictionRecord record) {
    this(MAX_ENTRIES, PRESSURE_MAX_ENTRIES, record);
  }

  private Evictions(long maxEntries, long pressureMaxEntries, EvictionRecord record) {
    this.maxEntries = maxEntries;
    this.pressureMaxEntries = pressureMaxEntries;
    this.record = record;
    if (record != null) {
      restored.addAll(record.restore(evicted, pressured, streaks));
    }
  }

  private void save() {
    if (record != null) {
      record.save(evicted, pressured, streaks);
    }
  }

  /**
   * The pods read from the record at the start whose holds are not made yet, once: the reconciler
   * holds each again, an eviction under way until its volumes are emptied, a back-off until it
   * ends ({@link #backOff}).
   */
  Set<String> takeRestored() {
    Set<String> out = Set.copyOf(restored);
    restored.removeAll(out);
    return out;
  }

  /** The pod's back-off after its last eviction, while it lasts at {@code now}: when it ended, until when, and why it was evicted. */
  java.util.Optional<Streak> backOff(String podKey, Instant now) {
    Streak s = streaks.get(podKey);
    return s != null && WallClock.waiting(now, s.at(), s.until()) ? java.util.Optional.of(s) : java.util.Optional.empty();
  }

  /** Why each pod is evicted, by pod key, until its volumes are emptied. */
  private final Map<String, String> evicted = new ConcurrentHashMap<>();
  /** The evicted pods whose every disk emptyDir is emptied (disk pressure), not only those over their limits. */
  private final Set<String> pressured = ConcurrentHashMap.newKeySet();
  /** When the pods' volumes may be measured again for disk pressure ({@link #PACE}); the disk pressure thread's only. */
  private Instant nextPressure = Instant.MIN;
  /** Whether the pressure under way was logged as having no pod to evict (said once, not at every check); the disk pressure thread's only. */
  private boolean saidNoneToEvict;
  /** The pass thread's only. */
  private Instant nextCheck = Instant.MIN;
  /** How often the volumes are measured and the disk checked: {@link #CHECK_EVERY} but in tests ({@link #checkEvery(Duration)}). */
  private volatile Duration checkEvery = CHECK_EVERY;
  /** Measurements of a pod's limited volumes that ended, over the agent's life (tests wait on it). */
  private final java.util.concurrent.atomic.AtomicLong measured = new java.util.concurrent.atomic.AtomicLong();
  /** When each pod's volumes may be measured again, by pod key ({@link #PACE}). */
  private final Map<String, Instant> nextMeasure = new ConcurrentHashMap<>();
  /** A pod's evictions in a row, when the last one ended, until when it waits after it ({@link #startAgainAt}), and why it was evicted. */
  record Streak(int count, Instant at, Instant until, String why) {}
  /** Each evicted pod's evictions in a row, by pod key ({@link #startAgainAt}). */
  private final Map<String, Streak> streaks = new ConcurrentHashMap<>();
  /** When an evicted pod's volumes may be tried again after emptying them failed (a mount inside: a btrfs subvolume), by pod key. */
  private final Map<String, Instant> nextEmpty = new ConcurrentHashMap<>();

  /** Whether the volumes are due to be measured at {@code now} (the pass thread asks, once a pass). */
  boolean checkDue(Instant now) {
    if (!due(now)) {
      return false;
    }
    nextCheck = now.plus(checkEvery);
    return true;
  }

  /** Whether the volumes are due to be measured at {@code now}, changing nothing: a quiet pass is not skipped then (the pass thread's). */
  boolean due(Instant now) {
    return !waiting(now, nextCheck, checkEvery);
  }

  /**
   * Checks every {@code every} instead of {@link #CHECK_EVERY} (tests: an eviction within a second
   * or two instead of ten); a check due sooner than the last interval set comes at once.
   */
  void checkEvery(Duration every) {
    checkEvery = every;
  }

  /** How many measurements of a pod's limited volumes have ended (each pod's each check, {@link #measure}). */
  long measurements() {
    return measured.get();
  }

  /**
   * Whether {@code now} is before {@code until}, set at most {@code most} ahead: a wall clock
   * stepped back (NTP, date -s) past that is not waited out (it stopped enforcement for as long).
   */
  private static boolean waiting(Instant now, Instant until, Duration most) {
    return now.isBefore(until) && !now.isBefore(until.minus(most));
  }

  /** Why the pod is evicted, or null. */
  String why(String podKey) {
    return evicted.get(podKey);
  }

  boolean any() {
    return !evicted.isEmpty();
  }

  /** Forgets the pods no longer desired. */
  void retain(Set<String> podKeys) {
    boolean changed = evicted.keySet().retainAll(podKeys);
    pressured.retainAll(podKeys);
    nextMeasure.keySet().retainAll(podKeys);
    nextEmpty.keySet().retainAll(podKeys);
    changed |= streaks.keySet().retainAll(podKeys);
    if (changed) {
      save();
    }
  }

  /**
   * Measures the pod's limited volumes; true when one is over its limit and the pod was not
   * evicted already (it is now). Any thread, under the pod's own work (never beside its worker).
   */
  boolean measure(DesiredPod d, Instant now) {
    if (evicted.containsKey(d.key()) || waiting(now, nextMeasure.getOrDefault(d.key(), Instant.MIN), MAX_PAUSE)) {
      return false;
    }
    long start = System.nanoTime();
    try {
      return measured(d);
    } finally {
      measured.incrementAndGet();
      nextMeasure.put(d.key(), now.plus(Duration.ofNanos(Math.min((System.nanoTime() - start) * PACE, MAX_PAUSE.toNanos()))));
    }
  }

  private boolean measured(DesiredPod d) {
    for (Volumes.DiskDir v : Volumes.limitedDiskVolumes(d.ctx())) {
      long used;
      try {
        used = NoFollow.usage(v.dir(), v.limitBytes(), maxEntries);
      } catch (IOException | RuntimeException e) {
        log.warn("pod {}: cannot measure emptyDir volume {}: {}", d.key(), v.name(), e.toString());
        continue;
      }
      if (used > v.limitBytes()) {
        String why = "emptyDir volume \"" + v.name() + "\" " + (used == Long.MAX_VALUE ? "holds more than the agent measures (over "
            + maxEntries + " entries or deeper than 256 levels)" : "uses at least " + used + " bytes") + ", over its sizeLimit " + v.limit()
            + ": the pod was evicted (its containers stopped, the volume emptied) and starts again";
        evicted.put(d.key(), why);
        save();
        log.warn("pod {}: {}", d.key(), why);
        return true;
      }
    }
    return false;
  }

  /**
   * Under disk pressure, the desired pod whose disk emptyDirs and containers' writable layers
   * ({@code layers}: by pod key, in bytes or, short of inodes only, in inodes ({@link Space#byInodes}),
   * asked for only under pressure; none chosen when stopped containers were removed for theirs
   * instead and that ended the pressure) hold the most, when they hold at least {@link
   * #PRESSURE_LEAST_PERCENT} % of the file system's bytes (or inodes); none while a pod is evicted for
   * disk pressure already (its volumes may be what frees the disk) or sooner than {@link #PACE} times
   * the last such measurement took. A pod evicted for a sizeLimit holds nothing back (it may keep one
   * small volume over its limit at every check) and is measured as any other. Measures only (the
   * disk pressure thread, beside the pods' workers and the collector); {@link #evictForPressure}
   * evicts.
   */
  java.util.Optional<Heaviest> heaviest(Collection<DesiredPod> pods, Space space, java.util.function.Supplier<Layers> layers,
      Instant now) {
    if (!space.pressed()) {
      saidNoneToEvict = false;
    }
    if (!space.pressed() || !pressured.isEmpty() || waiting(now, nextPressure, MAX_PAUSE)) {
      return java.util.Optional.empty();
    }
    long start = System.nanoTime();
    budgets.clear();
    previousRunsBudgets.clear();
    Layers measured = layers.get();
    if (measured.reclaimed() > 0) {
      if (measured.after() == null || !measured.after().pressed() || measured.after().byInodes() != space.byInodes()) {
        return java.util.Optional.empty(); // what that gave back was enough (or the next check sees it, and measures anew)
      }
      // still under pressure: evicted now, as the kubelet does; before, a pod whose containers crashed in
      // turn, each leaving a previous run of one written byte at every check, held its eviction off for good
      space = measured.after();
    }
    boolean inodes = space.byInodes();
    Map<String, Long> layerUse = measured.byPod();
    DesiredPod most = null;
    long mostUse = -1;
    long mostVolumes = 0;
    for (DesiredPod d : pods) {
      if (d.ctx() == null) {
        continue;
      }
      long volumes = 0;
      for (Volumes.DiskDir v : Volumes.diskVolumes(d.ctx())) {
        try {
          volumes = plus(volumes, use(v.dir(), inodes, budget(d.key())));
        } catch (IOException | RuntimeException e) {
          log.warn("pod {}: cannot measure emptyDir volume {}: {}", d.key(), v.name(), e.toString());
        }
      }
      for (Path dir : PodDirs.leftovers(d)) {
        try {
          volumes = plus(volumes, use(dir, inodes, budget(d.key())));
        } catch (IOException | RuntimeException e) {
          log.warn("pod {}: cannot measure {}, a volume its template no longer has: {}", d.key(), dir.getFileName(), e.toString());
        }
      }
      long use = plus(volumes, layerUse.getOrDefault(d.key(), 0L));
      if (use > mostUse) {
        most = d;
        mostUse = use;
        mostVolumes = volumes;
      }
    }
    nextPressure = now.plus(Duration.ofNanos(Math.min((System.nanoTime() - start) * PACE, MAX_PAUSE.toNanos())));
    long free = inodes ? space.freeInodes() : space.free();
    long total = inodes ? space.totalInodes() : space.total();
    String unit = inodes ? " inodes" : " bytes";
    String under = (inodes ? PRESSURE_INODES_FREE_PERCENT : PRESSURE_FREE_PERCENT) + " %";
    if (most == null || mostUse < total / 100 * PRESSURE_LEAST_PERCENT) {
      if (!saidNoneToEvict) {
        saidNoneToEvict = true;
        log.warn("the pods' file system has {} of {}{} free, under {}; no pod's emptyDir volumes hold {} % of it: none evicted",
            free, total, unit, under, PRESSURE_LEAST_PERCENT);
      }
      return java.util.Optional.empty();
    }
    return java.util.Optional.of(new Heaviest(most, "The node was low on resource: " + (inodes ? "inodes" : "ephemeral-storage")
        + " (the pods' file system had " + free + " of " + total + unit + " free, under " + under + "); this pod "
        + (mostUse == Long.MAX_VALUE ? "held more than the agent measures" : "used " + mostUse + unit) + " (emptyDir volumes "
        + (mostVolumes == Long.MAX_VALUE ? "past measure" : mostVolumes) + ", containers' writable layers, their files and volumes in Docker's root and the files they"
        + " deleted and hold open " + layerUse.getOrDefault(most.key(), 0L)
        + "), the most of any pod's: the pod was evicted (its containers and sandbox stopped and removed, its emptyDir volumes emptied) and starts again"));
  }

  /** What a directory holds for disk pressure: its inodes or its bytes, past its pod's {@code budget} {@link Long#MAX_VALUE}. */
  static long use(Path dir, boolean inodes, NoFollow.Budget budget) throws IOException {
    return inodes ? NoFollow.inodes(dir, budget) : NoFollow.usage(dir, budget);
  }

  /**
   * The entries a pod's walks may visit at this disk pressure check, all of them together: its
   * emptyDirs and leftovers here, its containers' writable layers, their directories in Docker's
   * root and their anonymous volumes ({@link PressureCheck}); a pod past them is past measure, the
   * largest. Before 2026-12-06 each walk had its bound, and a pod of many each just under it made
   * one check take minutes. The disk pressure thread's only, made anew at each check.
   */
  NoFollow.Budget budget(String podKey) {
    return budgets.computeIfAbsent(podKey, k -> new NoFollow.Budget(pressureMaxEntries));
  }

  /**
   * The entries the layers of a pod's previous runs may visit at this check, all of them together:
   * a bound beside {@link #budget}, so that a run removed to reclaim the disk spends none of what
   * the pod keeps is measured with. Before, its walk took from the pod's one bound, and a pod whose
   * previous run held most of it was past measure, the largest, though that run was removed.
   */
  NoFollow.Budget previousRunsBudget(String podKey) {
    return previousRunsBudgets.computeIfAbsent(podKey, k -> new NoFollow.Budget(pressureMaxEntries));
  }

  private final Map<String, NoFollow.Budget> budgets = new HashMap<>();
  private final Map<String, NoFollow.Budget> previousRunsBudgets = new HashMap<>();

  /** A sum of sizes that stops at {@link Long#MAX_VALUE} (past measure), never wraps. */
  static long plus(long a, long b) {
    return a == Long.MAX_VALUE || b == Long.MAX_VALUE || a > Long.MAX_VALUE - b ? Long.MAX_VALUE : a + b;
  }

  /** Whether the pod was evicted for disk pressure (its stopped containers are removed before it starts again: their layers count). */
  boolean pressured(String podKey) {
    return pressured.contains(podKey);
  }

  /**
   * Evicts the pod chosen under disk pressure, unless it is evicted for it already; true when it is
   * now. An eviction of the pod for a sizeLimit under way becomes this one (all its disk emptyDirs
   * emptied, its stopped containers removed), else the volume without a limit that fills the disk
   * would outlive it. Under the pod's own work.
   */
  boolean evictForPressure(Heaviest h) {
    if (!pressured.add(h.pod().key())) {
      return false;
    }
    evicted.put(h.pod().key(), h.why());
    save();
    log.warn("pod {}: {}", h.pod().key(), h.why());
    return true;
  }

  /**
   * The probes' verdicts with a kill for every running app container of an evicted pod among
   * {@code containers}.
   */
  Map<String, ProbeVerdict> withKills(Map<String, ProbeVerdict> verdicts, Collection<OwnedContainer> containers) {
    if (evicted.isEmpty()) {
      return verdicts;
    }
    Map<String, ProbeVerdict> out = new HashMap<>(verdicts);
    for (OwnedContainer c : containers) {
      String why = evicted.get(c.podKey());
      if (why != null && c.running() && !c.isSandbox()) {
        out.put(c.id(), new ProbeVerdict(true, false, null, why, true));
      }
    }
    return out;
  }

  /** Whether the evicted pod's app containers are all stopped among {@code containers}: its volumes may be emptied. */
  boolean stopped(String podKey, Collection<OwnedContainer> containers, Instant now) {
    return evicted.containsKey(podKey) && !waiting(now, nextEmpty.getOrDefault(podKey, Instant.MIN), MAX_PAUSE) && containers.stream().noneMatch(c -> c.podKey().equals(podKey) && c.running() && !c.isSandbox());
  }

  /**
   * Empties the evicted pod's volumes over their limit, or all its disk emptyDirs when it was evicted
   * for disk pressure (the next start makes them again), and ends its eviction, counted in the pod's
   * evictions in a row with {@code backoff} ({@link #startAgainAt(String)}).
   */
  void empty(DesiredPod d, Instant now, Backoff backoff) throws IOException {
    boolean all = pressured.contains(d.key());
    try {
      for (Volumes.DiskDir v : Volumes.diskVolumes(d.ctx())) {
        if (all || v.limited() && NoFollow.usage(v.dir(), v.limitBytes(), maxEntries) > v.limitBytes()) {
          PodDirs.clearVolume(d, v.dir());
        }
      }
      if (all) {
        for (Path dir : PodDirs.leftovers(d)) {
          PodDirs.clearVolume(d, dir);
        }
      }
    } catch (IOException | RuntimeException e) {
      nextEmpty.put(d.key(), now.plus(MAX_PAUSE)); // not every pass: each try walks the volume
      throw e;
    }
    String why = evicted.get(d.key());
    startAgainAt(d.key(), why == null ? "" : why, now, backoff);
    pressured.remove(d.key());
    evicted.remove(d.key());
    save(); // the eviction's end and the streak it made, at once: a kill in between counts neither
    log.info("pod {}: evicted pod's volumes emptied; it starts again", d.key());
  }

  /**
   * When the pod whose eviction ended {@code now} may start again, as Kubernetes' DaemonSet
   * controller recreates a failed pod: at once the first time, then after {@code backoff}'s delays
   * (10 s doubling to 5 min; the controller's are 1 s doubling to 15 min), over again once the
   * last eviction is {@link Backoff#resetAfter} old. Its stopped containers, removed under disk
   * pressure, took their restart back-off with them: before, a pod evicted again and again
   * started again at once every time, and a container that filled the disk as fast as it could
   * held the node's disk full.
   */
  private void startAgainAt(String podKey, String why, Instant now, Backoff backoff) {
    streaks.compute(podKey, (k, was) -> {
      int count = was == null || !WallClock.waiting(now, was.at(), was.at().plus(backoff.resetAfter())) ? 1 : was.count() + 1;
      return new Streak(count, now, count == 1 ? now : now.plus(backoff.delay(count - 2)), why);
    });
  }

  /** When the pod whose eviction ended last may start again ({@link #startAgainAt}); null when none ended. */
  Instant startAgainAt(String podKey) {
    Streak s = streaks.get(podKey);
    return s == null ? null : s.until();
  }
}
