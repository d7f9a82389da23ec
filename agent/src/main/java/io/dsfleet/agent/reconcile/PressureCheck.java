package io.dsfleet.agent.reconcile;

import io.dsfleet.agent.hostfs.HeldDeleted;
import io.dsfleet.agent.hostfs.Inodes;
import io.dsfleet.agent.hostfs.LayerDirs;
import io.dsfleet.agent.hostfs.NoFollow;
import io.dsfleet.agent.runtime.ContainerRuntime;
import io.dsfleet.agent.runtime.Labels;
import io.dsfleet.agent.runtime.OwnedContainer;
import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One disk pressure check ({@link Evictions}), on the pressure check's own thread: the free space
 * of the pods' file system; under pressure, what the containers wrote to their writable layers,
 * and first, as the kubelet reclaims dead containers before it evicts a pod, the removal of the
 * previous runs of containers that run again (kept only for {@code logs --previous}) whose layers
 * hold bytes; then the pod to evict, if any. Evicting it is the caller's (under the pod's own work).
 */
final class PressureCheck {
  private static final Logger log = LoggerFactory.getLogger(PressureCheck.class);
  private final String node;
  private final ContainerRuntime runtime;
  private final Path podsDir;
  private final Evictions evictions;
  private final Executor executor;
  private final Predicate<String> podBusy;
  /** The containers' processes' held deleted files, as {@code /proc} shows them. */
  private final HeldDeleted heldDeleted = new HeldDeleted(Path.of("/proc"));
  /** The pods' file system; the pressure check's thread's only. */
  private FileStore store;

  /** @param podBusy whether a pod's work is under way (its containers are left alone then) */
  PressureCheck(String node, ContainerRuntime runtime, Path podsDir, Evictions evictions, Executor executor, Predicate<String> podBusy) {
    this.node = node;
    this.runtime = runtime;
    this.podsDir = podsDir;
    this.evictions = evictions;
    this.executor = executor;
    this.podBusy = podBusy;
  }

  /**
   * The pod to evict for disk pressure at {@code now}, among {@code pods}, with the containers
   * {@code owned} (their labels checked) as the last pass listed them.
   *
   * @throws IOException when the pods' file system cannot be read (no pods directory yet)
   */
  Optional<Evictions.Heaviest> run(Collection<DesiredPod> pods, List<OwnedContainer> owned, Instant now) throws IOException {
    if (store == null) { // found once (the JDK reads the whole mount table for it); its figures are read anew each time
      store = Files.getFileStore(podsDir);
    }
    Evictions.Space space = space();
    return evictions.heaviest(pods, space, () -> {
      Evictions.Layers l = layers(pods, owned, space.byInodes());
      if (l.reclaimed() == 0) {
        return l;
      }
      try { // read again: the kubelet evicts at once when what it reclaimed was not enough
        return new Evictions.Layers(l.byPod(), l.reclaimed(), space());
      } catch (IOException e) {
        return l;
      }
    }, now);
  }

  /** The pods' file system's free and total bytes and inodes. */
  private Evictions.Space space() throws IOException {
    long[] inodes = inodes(podsDir);
    return new Evictions.Space(store.getUsableSpace(), store.getTotalSpace(), inodes[0], inodes[1]);
  }

  /** Whether reading the inodes failed was logged (said once). */
  private boolean saidNoInodes;

  /**
   * The free and total inodes of {@code dir}'s file system ({@link Inodes}); 0 and 0 when they
   * cannot be read (logged once), which leaves them unwatched.
   */
  private long[] inodes(Path dir) {
    try {
      long[] inodes = Inodes.of(dir);
      saidNoInodes = false;
      return inodes;
    } catch (IOException e) {
      if (!saidNoInodes) {
        saidNoInodes = true;
        log.warn("disk pressure: the free inodes of {} not read, so not watched: {}", dir, e.toString());
      }
      return new long[] {0, 0};
    }
  }

  /**
   * The bytes (with {@code inodes}, the inodes) the pods' containers use in their writable layers,
   * by pod key, when Docker keeps them on the pods' file system; none when it keeps them elsewhere (they do not fill this file
   * system) or cannot say. The same file system is the same device, whatever mount reaches it: file
   * stores compare as mounts (device and mount point), and a Docker root bound from a directory of
   * the pods' disk (or a state directory bound so) was another one, its layers not counted, a
   * neighbour's volume emptied for them. Previous runs holding bytes (short of inodes, or entries in
   * their upper directories) are removed first (counted in {@link Evictions.Layers#reclaimed}). With
   * them, wherever the layers lie, what the containers' processes hold in files they deleted
   * ({@link #held}).
   */
  private Evictions.Layers layers(Collection<DesiredPod> pods, List<OwnedContainer> owned, boolean inodes) {
    Object device;
    try {
      device = Files.getAttribute(podsDir, "unix:dev");
    } catch (IOException | RuntimeException e) {
      log.warn("disk pressure: the pods' file system not read: {}", e.toString());
      return new Evictions.Layers(Map.of(), 0);
    }
    ContainerRuntime.WritableLayers layers;
    try {
      layers = runtime.writableLayers(node);
      if (!Files.getAttribute(layers.root(), "unix:dev").equals(device)) {
        layers = null; // elsewhere: they do not fill this file system
      }
    } catch (IOException | RuntimeException e) {
      log.warn("disk pressure: the containers' writable layers not measured: {}", e.toString());
      layers = null;
    }
    ContainerRuntime.WritableLayers found = layers;
    // each layer walked once a check, for its bytes and for its inodes: a previous run kept is
    // measured first to decide whether to remove it, then again with its pod
    Map<String, Long> layerBytes = new HashMap<>();
    Map<String, Long> layerInodes = new HashMap<>();
    // a previous run's layer from a bound of its own: once removed, its walk spends none of its pod's
    java.util.function.Function<OwnedContainer, NoFollow.Budget> budgetOf = c -> previousRun(c, owned)
        ? evictions.previousRunsBudget(c.podKey()) : evictions.budget(c.podKey());
    java.util.function.Function<OwnedContainer, Long> bytesOf = c -> layerBytes.computeIfAbsent(c.id(),
        id -> layerBytes(found, c, budgetOf.apply(c)));
    java.util.function.Function<OwnedContainer, Long> inodesOf = c -> layerInodes.computeIfAbsent(c.id(),
        id -> measure(LayerDirs.upperDir(found.root(), id).orElse(null), true, c, budgetOf.apply(c)));
    int reclaimed = 0;
    java.util.Set<String> removed = new java.util.HashSet<>();
    for (OwnedContainer c : layers == null ? List.<OwnedContainer>of() : owned) {
      if (!previousRun(c, owned) || podBusy.test(c.podKey())) {
        continue;
      }
      // short of inodes, what its layer holds in inodes: empty files are 0 bytes to Docker, and before, a
      // previous run holding only those was kept and its pod evicted for them
      // (one holding bytes holds inodes too, whatever the storage driver)
      long bytes = bytesOf.apply(c);
      long entries = inodes && bytes == 0 ? inodesOf.apply(c) : 0;
      if ((bytes > 0 || entries > 0) && executor.remove(c, false)) {
        log.info("disk pressure: removed the previous run of pod {}'s container {} ({} in its writable layer) before evicting any pod",
            c.podKey(), c.container(), bytes > 0 ? bytes + " bytes" : entries + " inodes");
        reclaimed++;
        removed.add(c.id());
      }
    }
    // a hostPath holding the pods' volumes or the containers' layers is no way out of their count
    List<Path> own = layers == null ? List.of(podsDir) : List.of(podsDir, layers.root().resolve("overlay2"), layers.root().resolve("volumes"));
    Map<String, Long> held = held(owned, hostPaths(pods, owned), own, device, layers != null, inodes);
    Map<String, Long> byPod = new HashMap<>();
    for (OwnedContainer c : owned) {
      if (removed.contains(c.id())) {
        continue; // its layer is given back
      }
      long use = held.getOrDefault(c.id(), 0L);
      if (layers != null) {
        long layer = inodes ? inodesOf.apply(c) : bytesOf.apply(c);
        use = Evictions.plus(use, Evictions.plus(layer, measure(containerDir(layers.root().resolve("containers"), c), inodes, c)));
        for (Path volume : layers.volumesById().getOrDefault(c.id(), List.of())) {
          use = Evictions.plus(use, anonymous(volume, device, inodes, c));
        }
      }
      byPod.merge(c.podKey(), use, Evictions::plus);
    }
    return new Evictions.Layers(byPod, reclaimed);
  }

  /**
   * The bytes in the container's writable layer: what the runtime said, or, where it said nothing
   * (overlay2: {@link ContainerRuntime#writableLayers}), its upper directory walked. Docker says a
   * layer's bytes only, never its inodes, which are always walked.
   */
  private static long layerBytes(ContainerRuntime.WritableLayers layers, OwnedContainer c, NoFollow.Budget budget) {
    Long said = layers.bytesById().get(c.id());
    return said != null ? said : measure(LayerDirs.upperDir(layers.root(), c.id()).orElse(null), false, c, budget);
  }

  private static java.util.Set<String> running(List<OwnedContainer> owned) {
    java.util.Set<String> ids = new java.util.HashSet<>();
    owned.stream().filter(OwnedContainer::running).forEach(c -> ids.add(c.id()));
    return ids;
  }

  /** What a directory of the container's holds, in inodes or in bytes, its entries taken from its pod's ({@link Evictions#budget}); 0 when there is none, or it cannot be measured (logged). */
  private long measure(Path dir, boolean inodes, OwnedContainer c) {
    return measure(dir, inodes, c, evictions.budget(c.podKey()));
  }

  /** ... its entries taken from {@code budget}. */
  private static long measure(Path dir, boolean inodes, OwnedContainer c, NoFollow.Budget budget) {
    if (dir == null) {
      return 0;
    }
    try {
      return Evictions.use(dir, inodes, budget);
    } catch (IOException | RuntimeException e) {
      log.warn("disk pressure: {} of pod {}'s container {} not measured: {}", dir, c.podKey(), c.container(), e.toString());
      return 0;
    }
  }

  /**
   * What the running containers' processes hold in files they deleted (an emptyDir's or, with
   * {@code layersToo}, their own file system's), by container ID, in bytes or, with {@code inodes},
   * in files: no walk of a volume sees them, and before, a container that wrote a file, kept it
   * open and deleted it filled the disk unseen while its neighbours (each holding 1 %) were evicted
   * and emptied, one after another.
   */
  private Map<String, Long> held(List<OwnedContainer> owned, Map<String, List<Path>> hostPaths, List<Path> own, Object device,
      boolean layersToo, boolean inodes) {
    try {
      Map<String, String> podOf = new HashMap<>();
      owned.forEach(c -> podOf.put(c.id(), c.podKey()));
      return inodes ? heldDeleted.filesByContainer(running(owned), podOf, hostPaths, own, device, layersToo, Evictions.PRESSURE_MAX_ENTRIES)
          : heldDeleted.bytesByContainer(running(owned), podOf, hostPaths, own, device, layersToo, Evictions.PRESSURE_MAX_ENTRIES);
    } catch (IOException | RuntimeException e) {
      log.warn("disk pressure: the files the containers deleted and hold open not measured: {}", e.toString());
      return Map.of();
    }
  }

  /**
   * The hostPaths each running container of {@code owned} has bound, by container ID: its template's
   * ({@code pods}; a container of another template than its pod's now, none), each the host's path
   * (with the mount's subPath) as the manifest says it. A file in one counts for no pod, deleted and
   * held open or not ({@link HeldDeleted}).
   */
  private static Map<String, List<Path>> hostPaths(Collection<DesiredPod> pods, List<OwnedContainer> owned) {
    Map<String, DesiredPod> byKey = new HashMap<>();
    pods.forEach(d -> byKey.put(d.key(), d));
    Map<String, List<Path>> out = new HashMap<>();
    for (OwnedContainer c : owned) {
      DesiredPod d = byKey.get(c.podKey());
      if (!c.running() || c.isSandbox() || d == null || !d.valid() || !d.runs(c)) {
        continue;
      }
      var spec = d.template().spec();
      Map<String, io.dsfleet.common.model.HostPathVolumeSource> volumes = new HashMap<>();
      (spec.volumes() == null ? List.<io.dsfleet.common.model.Volume>of() : spec.volumes()).stream().filter(v -> v.hostPath() != null)
          .forEach(v -> volumes.put(v.name(), v.hostPath()));
      java.util.stream.Stream.concat(spec.initContainers() == null ? java.util.stream.Stream.empty() : spec.initContainers().stream(),
              spec.containers().stream())
          .filter(x -> x.name().equals(c.container()) && x.volumeMounts() != null)
          .flatMap(x -> x.volumeMounts().stream())
          .filter(m -> volumes.containsKey(m.name()))
          .forEach(m -> {
            Path source = Path.of(volumes.get(m.name()).path());
            source = m.subPath() == null || m.subPath().isEmpty() ? source : source.resolve(m.subPath());
            // no link followed: one a container planted in its hostPath since would name another mount, its emptyDir's say
            out.computeIfAbsent(c.id(), k -> new java.util.ArrayList<>()).add(source.normalize());
          });
    }
    return out;
  }

  /**
   * The container's directory under Docker's root ({@code containers/ID}): the {@code hosts},
   * {@code resolv.conf} and {@code hostname} files Docker binds into it, writable by its root (a
   * container joined to its pod's sandbox shares the sandbox's, counted with the sandbox, of the
   * same pod), and its logs. Docker's {@code SizeRw} is the layer's alone: before, a container that
   * appended to its {@code /etc/hosts} filled the disk uncounted and had a neighbour's volume
   * emptied for it (as the kubelet before CVE-2020-8557's fix). Null for an ID Docker would not give.
   */
  private static Path containerDir(Path containers, OwnedContainer c) {
    return c.id().matches("[0-9a-f]{1,64}") ? containers.resolve(c.id()) : null; // never a path of anything but a container ID
  }

  /**
   * What one of the container's anonymous volumes holds (Docker makes one for each {@code VOLUME}
   * of its image that no mount covers, under its root), when it lies on the pods' file system:
   * neither {@code SizeRw} nor the pod's emptyDirs count it, and before, a container that filled its
   * image's volume had a neighbour's volume emptied for it. {@code device}: the pods' file system's.
   */
  private long anonymous(Path volume, Object device, boolean inodes, OwnedContainer c) {
    try {
      if (!Files.getAttribute(volume, "unix:dev", java.nio.file.LinkOption.NOFOLLOW_LINKS).equals(device)) {
        return 0;
      }
    } catch (java.nio.file.NoSuchFileException gone) {
      return 0;
    } catch (IOException | RuntimeException e) {
      log.warn("disk pressure: pod {}'s container {}'s volume {} not measured: {}", c.podKey(), c.container(), volume, e.toString());
      return 0;
    }
    return measure(volume, inodes, c);
  }

  /**
   * Whether {@code c} is a stopped app container whose pod runs the same container again: kept only
   * for {@code logs --previous}. An init container's exit says the pod's init is done (and no app
   * container has its name), a crashed app container waiting for its restart holds the pod's
   * restart count and back-off: never these.
   */
  private static boolean previousRun(OwnedContainer c, List<OwnedContainer> owned) {
    return !c.running() && owned.stream().anyMatch(o -> o.running() && o.podKey().equals(c.podKey())
        && o.container().equals(c.container()) && Labels.APP.equals(o.role()) && o.sameTemplate(c));
  }
}
