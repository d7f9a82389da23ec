package io.dsfleet.agent.pod;

import io.dsfleet.agent.hostfs.AtomicWriter;
import io.dsfleet.agent.hostfs.Fds;
import io.dsfleet.agent.hostfs.Mounts;
import io.dsfleet.agent.hostfs.NoFollow;
import io.dsfleet.agent.hostfs.SubPaths;
import io.dsfleet.agent.runtime.ContainerSpec;
import io.dsfleet.common.Quantities;
import io.dsfleet.common.manifest.LocalPaths;
import io.dsfleet.common.model.*;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A pod's volumes on the host, under {@code podDir/volumes/NAME}, and the mounts of a container.
 *
 * <ul>
 *   <li>configMap, secret, downwardAPI, projected: written by {@link AtomicWriter}, always mounted
 *       read-only whatever {@code readOnly} says (as Kubernetes since 1.10); secret volumes and
 *       projected volumes with a secret live on a tmpfs of their own, never on the host's disk.
 *   <li>emptyDir: a directory shared by the pod's containers, its {@code sizeLimit} enforced by
 *       eviction ({@code Evictions}); {@code medium: Memory} is one tmpfs (with {@code sizeLimit})
 *       shared by them.
 *   <li>hostPath: type checks as the kubelet; a missing path without a type is created as a
 *       directory (what Kubernetes' runtimes do), {@code DirectoryOrCreate}/{@code FileOrCreate} too.
 *   <li>subPath: resolved inside the volume's real path ({@link SubPaths}); for volumes a container
 *       can write (emptyDir, hostPath) the resolved path is pinned with a bind mount under
 *       {@code podDir/volume-subpaths}, so a link swapped in later cannot redirect it.
 *   <li>A mount inside another read-only mount of the container (MetalLB's speaker mounts
 *       {@code /etc/metallb/memberlist} inside {@code /etc/metallb}) gets its mount point created in
 *       the outer volume on the host, as the kubelet does: the runtime cannot create it in a
 *       read-only mount.
 * </ul>
 */
public final class Volumes {
  private static final Logger log = LoggerFactory.getLogger(Volumes.class);

  /** What kind of thing a volume is on the host. */
  public enum Kind {
    /** configMap, secret, downwardAPI, projected: written by the agent, mounted read-only. */
    PROJECTED,
    EMPTY_DIR,
    HOST_PATH
  }

  /** Where a volume is on the host. */
  public record Source(Path path, Kind kind) {}

  /**
   * An emptyDir on the host's disk: its directory, and its sizeLimit as written and in bytes (null
   * and {@link Long#MAX_VALUE} for none).
   */
  public record DiskDir(String name, Path dir, String limit, long limitBytes) {
    public boolean limited() {
      return limit != null;
    }
  }

  /**
   * The pod's emptyDir volumes on disk (not {@code medium: Memory}, whose tmpfs has the size), with
   * their sizeLimits: as the kubelet, a limit of 0 (or one below, which a coordinator before
   * 2026-12-05 let through) is no limit, never an eviction of an empty volume.
   */
  public static List<DiskDir> diskVolumes(PodContext ctx) {
    List<DiskDir> out = new java.util.ArrayList<>();
    for (Volume v : list(ctx.template().spec().volumes())) {
      if (v.emptyDir() != null && !"Memory".equals(v.emptyDir().medium())) {
        String limit = v.emptyDir().sizeLimit();
        long bytes = 0;
        try {
          bytes = limit == null ? 0 : io.dsfleet.common.Quantities.bytes(limit);
        } catch (IllegalArgumentException notNow) {
          // one an older coordinator let through (1e200: an exponent past today's bound): no limit, never a failed pass
        }
        Path dir = ctx.podDir().resolve("volumes").resolve(v.name());
        out.add(bytes > 0 ? new DiskDir(v.name(), dir, limit, bytes) : new DiskDir(v.name(), dir, null, Long.MAX_VALUE));
      }
    }
    return out;
  }

  /** The pod's emptyDir volumes on disk that set a sizeLimit above 0 ({@link #diskVolumes}). */
  public static List<DiskDir> limitedDiskVolumes(PodContext ctx) {
    return diskVolumes(ctx).stream().filter(DiskDir::limited).toList();
  }

  private final Mounts mounts;
  private final Clock clock;

  public Volumes(Mounts mounts, Clock clock) {
    this.mounts = mounts;
    this.clock = clock;
  }

  /** Makes every volume of the pod exist on the host with its current content; says where each is. */
  public Map<String, Source> prepare(PodContext ctx, PodSpec pod) {
    Map<String, Source> out = new HashMap<>();
    Long fsGroup = pod.securityContext() == null ? null : pod.securityContext().fsGroup();
    for (Volume v : list(pod.volumes())) {
      try {
        out.put(v.name(), prepare(ctx, v, fsGroup));
      } catch (PodConfigError e) {
        throw e;
      } catch (IOException | RuntimeException e) {
        throw new PodConfigError("FailedMount", "volume \"" + v.name() + "\": " + e.getMessage());
      }
    }
    return out;
  }

  /**
   * The size of a {@code medium: Memory} emptyDir's tmpfs, as the kubelet sizes it: its {@code
   * sizeLimit}, bounded by the pod's memory limit when every container has one (the larger of the
   * app containers' sum and any init container's); null (the kernel's half of the host's memory)
   * when neither is set. The pages are charged to the container that wrote them and outlive it:
   * unbounded, a crash-looping pod added up to its limit with every restart.
   */
  static Long memoryVolumeSize(PodSpec spec, String sizeLimit) {
    Long limit = sizeLimit == null || Quantities.bytes(sizeLimit) <= 0 ? null : Quantities.bytes(sizeLimit);
    Long pod = podMemoryLimit(spec);
    pod = pod == null || pod <= 0 ? null : pod; // as the kubelet: zero is no bound (and tmpfs reads size=0 as none)
    if (limit == null || pod == null) {
      return limit == null ? pod : limit;
    }
    return Math.min(limit, pod);
  }

  /** The pod's memory limit (Kubernetes' PodLimits), or null when a container has none. */
  private static Long podMemoryLimit(PodSpec spec) {
    long apps = 0;
    for (Container c : spec.containers()) {
      Long m = memoryLimit(c);
      if (m == null) {
        return null;
      }
      apps += m;
    }
    long init = 0;
    for (Container c : spec.initContainers() == null ? List.<Container>of() : spec.initContainers()) {
      Long m = memoryLimit(c);
      if (m == null) {
        return null;
      }
      init = Math.max(init, m);
    }
    return Math.max(apps, init);
  }

  private static Long memoryLimit(Container c) {
    String m = c.resources() == null || c.resources().limits() == null ? null : c.resources().limits().get("memory");
    return m == null ? null : Quantities.bytes(m);
  }

  private Source prepare(PodContext ctx, Volume v, Long fsGroup) throws IOException {
    if (v.hostPath() != null) {
      return new Source(hostPath(v.name(), v.hostPath()), Kind.HOST_PATH);
    }
    Path volumes = NoFollow.mkdirs(ctx.podDir().getParent(), Path.of(ctx.podDir().getFileName().toString(), "volumes"),
        PosixFilePermissions.fromString("rwxr-x---"));
    Path dir = volumes.resolve(v.name());
    NoFollow.mkdirs(volumes, Path.of(v.name()), PosixFilePermissions.fromString("rwxr-xr-x"));
    if (v.emptyDir() != null) {
      if ("Memory".equals(v.emptyDir().medium()) && !mounts.isMountPoint(dir)) {
        Long bytes = memoryVolumeSize(ctx.template().spec(), v.emptyDir().sizeLimit());
        String size = bytes == null ? "" : ",size=" + bytes;
        mounts.tmpfs(dir, "mode=0777" + size);
      }
      // each only when needed: a container restarted on a disk gone read-only keeps its volume
      var open = PosixFilePermissions.fromString("rwxrwxrwx");
      if (!Files.getPosixFilePermissions(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS).equals(open)) {
        NoFollow.chmod(dir, open);
      }
      if (fsGroup != null && ((Number) Files.getAttribute(dir, "unix:gid", java.nio.file.LinkOption.NOFOLLOW_LINKS)).longValue() != fsGroup) {
        NoFollow.chgrp(dir, fsGroup);
      }
      return new Source(dir, Kind.EMPTY_DIR);
    }
    boolean secret = v.secret() != null || v.projected() != null && list(v.projected().sources()).stream().anyMatch(p -> p.secret() != null);
    if (secret && !mounts.isMountPoint(dir)) {
      boolean empty;
      try (var entries = Files.list(dir)) {
        empty = entries.findAny().isEmpty();
      }
      if (empty) { // new, or its tmpfs went with a reboot
        mounts.tmpfs(dir, "mode=0755");
      } else {
        log.warn("secret volume {} of pod {} was written to disk by an earlier agent; it stays there until the pod is recreated",
            v.name(), ctx.podName());
      }
    }
    new AtomicWriter(dir, clock).write(payload(ctx, v), fsGroup);
    return new Source(dir, Kind.PROJECTED);
  }

  /** Writes the projected volumes (configMap, secret, downwardAPI, projected) again, for updates while the pod runs. */
  public void refresh(PodContext ctx, PodSpec pod) {
    Long fsGroup = pod.securityContext() == null ? null : pod.securityContext().fsGroup();
    for (Volume v : list(pod.volumes())) {
      if (v.hostPath() == null && v.emptyDir() == null) {
        try {
          prepare(ctx, v, fsGroup);
        } catch (PodConfigError e) {
          throw e;
        } catch (IOException | RuntimeException e) {
          throw new PodConfigError("FailedMount", "volume \"" + v.name() + "\": " + e.getMessage());
        }
      }
    }
  }

  /**
   * The bind mounts of one container: subPaths resolved (and pinned for writable volumes), the
   * agent's volumes read-only, mount points nested in read-only mounts created.
   */
  public List<ContainerSpec.Mount> mounts(PodContext ctx, Container c, Map<String, Source> sources) {
    List<ContainerSpec.Mount> out = new ArrayList<>();
    List<VolumeMount> vms = list(c.volumeMounts());
    for (int i = 0; i < vms.size(); i++) {
      VolumeMount m = vms.get(i);
      Source src = sources.get(m.name());
      if (src == null) {
        throw new PodConfigError("CreateContainerConfigError", "volumeMount \"" + m.name() + "\": no such volume");
      }
      boolean ro = Boolean.TRUE.equals(m.readOnly()) || src.kind() == Kind.PROJECTED;
      Path source = src.path();
      // "." (or "./") is the volume itself, as in Kubernetes; a path with ".." is refused by subPath()
      if (m.subPath() != null && !m.subPath().isEmpty() && !"".equals(LocalPaths.descending(m.subPath()))) {
        source = subPath(ctx, m, src, c.name(), i);
      }
      String propagation = switch (m.mountPropagation() == null ? "None" : m.mountPropagation()) {
        case "HostToContainer" -> "rslave";
        case "Bidirectional" -> "rshared";
        default -> null;
      };
      out.add(new ContainerSpec.Mount(source.toString(), LocalPaths.mountPath(m.mountPath()), ro, propagation)); // absolute, as Docker wants
    }
    nestedMountPoints(out);
    return out;
  }

  private Path subPath(PodContext ctx, VolumeMount m, Source src, String container, int index) {
    try {
      if (src.kind() == Kind.PROJECTED) {
        return SubPaths.resolve(src.path(), m.subPath()); // written by the agent, read-only to containers: nothing can swap it
      }
      // one stage per container and mount, reused by its next run (the earlier bind is unmounted first)
      Path stage = NoFollow.mkdirs(ctx.podDir(), Path.of("volume-subpaths", m.name(), container), PosixFilePermissions.fromString("rwxr-x---"))
          .resolve(String.valueOf(index));
      return SubPaths.pin(mounts, src.path(), m.subPath(), stage);
    } catch (NoFollow.NotInsideException e) {
      throw new PodConfigError("CreateContainerConfigError", "volumeMount \"" + m.name() + "\": " + e.getMessage() + "; refused");
    } catch (IOException e) {
      throw new PodConfigError("CreateContainerConfigError", "volumeMount \"" + m.name() + "\" subPath \"" + m.subPath() + "\": " + e.getMessage());
    }
  }

  /**
   * For each mount inside another read-only mount, its mount point in the outer mount's host
   * source, made through directory handles (the outer volume may be one a container can write).
   */
  private static void nestedMountPoints(List<ContainerSpec.Mount> mounts) {
    for (ContainerSpec.Mount inner : mounts) {
      ContainerSpec.Mount outer = null;
      for (ContainerSpec.Mount o : mounts) {
        if (o != inner && Path.of(inner.target()).startsWith(Path.of(o.target())) && !o.target().equals(inner.target())
            && (outer == null || Path.of(o.target()).getNameCount() > Path.of(outer.target()).getNameCount())) {
          outer = o;
        }
      }
      if (outer == null || !outer.readOnly()) {
        continue;
      }
      Path rel = Path.of(outer.target()).relativize(Path.of(inner.target()));
      try {
        SubPaths.mountPoint(Path.of(outer.source()), rel, Files.isDirectory(Path.of(inner.source())));
      } catch (IOException e) {
        throw new PodConfigError("CreateContainerConfigError", "cannot make the mount point of " + inner.target() + " inside the read-only "
            + outer.target() + ": " + e.getMessage());
      }
    }
  }

  /** Unmounts and removes a pod's directory; false when something stays mounted there (it is then left alone). */
  public boolean remove(Path podDir) throws IOException {
    if (!mounts.unmountAll(podDir)) {
      log.warn("{} still has mounts; not removing it: {}", podDir, mounts.under(podDir));
      return false;
    }
    NoFollow.deleteTree(podDir);
    return true;
  }

  private static Map<String, AtomicWriter.FileData> payload(PodContext ctx, Volume v) {
    Map<String, AtomicWriter.FileData> files = new TreeMap<>();
    if (v.configMap() != null) {
      ConfigMapVolumeSource s = v.configMap();
      keys(v.name(), files, ctx.configMaps(), "ConfigMap", s.name(), s.items(), s.optional(), mode(s.defaultMode()));
    } else if (v.secret() != null) {
      SecretVolumeSource s = v.secret();
      keys(v.name(), files, ctx.secrets(), "Secret", s.secretName(), s.items(), s.optional(), mode(s.defaultMode()));
    } else if (v.downwardAPI() != null) {
      downward(v.name(), files, ctx, v.downwardAPI().items(), mode(v.downwardAPI().defaultMode()));
    } else if (v.projected() != null) {
      int mode = mode(v.projected().defaultMode());
      for (VolumeProjection p : list(v.projected().sources())) {
        if (p.configMap() != null) {
          keys(v.name(), files, ctx.configMaps(), "ConfigMap", p.configMap().name(), p.configMap().items(), p.configMap().optional(), mode);
        } else if (p.secret() != null) {
          keys(v.name(), files, ctx.secrets(), "Secret", p.secret().name(), p.secret().items(), p.secret().optional(), mode);
        } else if (p.downwardAPI() != null) {
          downward(v.name(), files, ctx, p.downwardAPI().items(), mode);
        }
      }
    }
    return files;
  }

  private static void keys(String volume, Map<String, AtomicWriter.FileData> files, Map<String, Map<String, byte[]>> all, String kind, String name,
      List<KeyToPath> items, Boolean optional, int defaultMode) {
    Map<String, byte[]> data = all.get(name);
    if (data == null) {
      if (Boolean.TRUE.equals(optional)) {
        return;
      }
      throw new PodConfigError("CreateContainerConfigError", kind.toLowerCase() + " \"" + name + "\" not found");
    }
    if (items == null || items.isEmpty()) {
      room(volume, files, data.size());
      data.forEach((k, v) -> files.put(k, new AtomicWriter.FileData(v, defaultMode)));
      return;
    }
    room(volume, files, items.size());
    for (KeyToPath item : items) {
      byte[] v = data.get(item.key());
      if (v == null) {
        if (Boolean.TRUE.equals(optional)) {
          continue;
        }
        throw new PodConfigError("CreateContainerConfigError", "key \"" + item.key() + "\" not found in " + kind.toLowerCase() + " \"" + name + "\"");
      }
      files.put(item.path(), new AtomicWriter.FileData(v, item.mode() == null ? defaultMode : item.mode()));
    }
  }

  private static void downward(String volume, Map<String, AtomicWriter.FileData> files, PodContext ctx, List<DownwardAPIVolumeFile> items, int defaultMode) {
    room(volume, files, list(items).size());
    for (DownwardAPIVolumeFile f : list(items)) {
      String value = Env.fieldValue(ctx, f.fieldRef().fieldPath(), null);
      files.put(f.path(), new AtomicWriter.FileData(value.getBytes(StandardCharsets.UTF_8), f.mode() == null ? defaultMode : f.mode()));
    }
  }

  /** The most files one configMap, secret, downwardAPI or projected volume holds ({@link #room}). */
  public static final int MAX_VOLUME_FILES = 10_000;

  /**
   * Refuses a volume that would hold more than {@link #MAX_VOLUME_FILES} files, before they are
   * listed: each costs the agent's heap a few hundred bytes while the volume is written. Before
   * 2026-12-07 none was refused, and a ConfigMap's 100,000 items (a 2.3 MB template, within every
   * limit) ran every agent of its DaemonSet out of memory at each start (helper-178).
   */
  private static void room(String volume, Map<String, AtomicWriter.FileData> files, int adding) {
    if (files.size() + adding > MAX_VOLUME_FILES) {
      throw new PodConfigError("CreateContainerConfigError", "volume \"" + volume + "\" would hold " + (files.size() + adding)
          + " files or more, over the " + MAX_VOLUME_FILES + " a volume holds");
    }
  }

  /** Checks, or makes, a hostPath as its type says; package-visible for {@code HostPathCreateTest}. */
  static Path hostPath(String volume, HostPathVolumeSource h) {
    Path p = Path.of(h.path());
    String type = h.type() == null ? "" : h.type();
    try {
      switch (type) {
        case "", "DirectoryOrCreate" -> {
          // untyped: no check, but a missing path is made a directory, as Docker's binds and containerd do for the kubelet
          if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS) && !Files.exists(p)) {
            create(p, true);
          } else if (type.equals("DirectoryOrCreate") && !Files.isDirectory(p)) {
            throw mismatch(volume, p, "a directory");
          }
        }
        case "Directory" -> {
          if (!Files.isDirectory(p)) {
            throw mismatch(volume, p, "an existing directory");
          }
        }
        case "FileOrCreate" -> {
          if (!Files.exists(p)) {
            create(p, false);
          } else if (!Files.isRegularFile(p)) {
            throw mismatch(volume, p, "a file");
          }
        }
        case "File" -> {
          if (!Files.isRegularFile(p)) {
            throw mismatch(volume, p, "an existing file");
          }
        }
        case "Socket", "CharDevice", "BlockDevice" -> {
          String want = switch (type) {
            case "Socket" -> "socket";
            case "CharDevice" -> "character special file";
            default -> "block special file";
          };
          if (!Files.exists(p) || !fileType(p).equals(want)) {
            throw mismatch(volume, p, "an existing " + want);
          }
        }
        default -> throw new PodConfigError("HostPathTypeMismatch", "hostPath volume \"" + volume + "\": unknown type " + type);
      }
    } catch (IOException e) {
      throw new PodConfigError("HostPathError", "hostPath volume \"" + volume + "\": " + e.getMessage());
    }
    return p;
  }

  /**
   * Makes a missing hostPath: its missing parents as the kubelet's MkdirAll does (links followed,
   * as in Kubernetes), then the path itself with mkdirat or openat(O_CREAT|O_EXCL|O_NOFOLLOW) on a
   * handle of its parent, its mode (0755, 0644, past the umask) set on the very inode made. The
   * path may lie in a directory a container writes (another hostPath it is granted): before
   * 2026-12-05 the mode was set by path after the create, and a link the container swapped in
   * meanwhile (for the path or a parent) made the agent chmod a host file of its choosing
   * ({@code HostPathCreateTest}; helper-88). Something already there (a race) is left as it is.
   */
  private static void create(Path p, boolean directory) throws IOException {
    Path abs = p.toAbsolutePath().normalize(); // no ".." (validation): only "." and slashes go
    Path parent = abs.getParent();
    if (parent == null) {
      return; // "/" exists
    }
    Files.createDirectories(parent);
    try (Fds.Fd dir = Fds.openDirectory(parent)) {
      if (directory) {
        Fds.child(dir, abs.getFileName().toString(), true, 0755).close();
      } else {
        Fds.createFile(dir, abs.getFileName().toString(), 0644);
      }
    }
  }

  private static String fileType(Path p) throws IOException {
    int m = (Integer) Files.getAttribute(p, "unix:mode") & 0170000;
    return switch (m) {
      case 0140000 -> "socket";
      case 0020000 -> "character special file";
      case 0060000 -> "block special file";
      default -> "other";
    };
  }

  private static PodConfigError mismatch(String volume, Path p, String want) {
    return new PodConfigError("HostPathTypeMismatch", "hostPath volume \"" + volume + "\": " + p + " is not " + want);
  }

  private static int mode(Integer m) {
    return m == null ? 0644 : m;
  }

  private static <T> List<T> list(List<T> l) {
    return l == null ? List.of() : l;
  }
}
