package io.dsfleet.agent.hostfs;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The files that containers' processes deleted and still hold, open or mapped: their blocks stay in
 * use until the last holder lets go, and no walk of a directory finds them. Read from {@code /proc}
 * as the host's root sees it: each process's cgroup names its container (Docker's full ID, in
 * every cgroup driver's path), its descriptors ({@code fd}, and each thread's own table,
 * {@code task/TID/fd}) and mappings ({@code map_files}, from another thread when the first ended)
 * lead to the files; counting files, so do its threads' working directories and roots. A link's
 * text ending in {@code (deleted)} picks the candidates without touching any other file (a socket);
 * a candidate on a file system that does not count is never stat'ed ({@link LinkTarget}: the
 * process's mount table says where it lies), and one that does counts only when it is a regular file
 * (counting files: a file of any type, a directory held open included) with no link left (a name a
 * container chose cannot pass for one). A link whose text cannot be read (a path longer than a page:
 * ENAMETOOLONG) is a candidate too, and a link or a process's directory that cannot be read is
 * passed over alone, never the whole measurement.
 */
public final class HeldDeleted {
  private static final Pattern CONTAINER_ID = Pattern.compile("[0-9a-f]{64}");
  private static final String DELETED = " (deleted)";
  private static final int S_IFMT = 0170000;
  private static final int S_IFREG = 0100000;

  private final Path proc;
  /** Whether threads' tables of descriptors are compared with kcmp: only on the host's own /proc. */
  private final boolean kcmp;

  public HeldDeleted(Path proc) {
    this(proc, proc.equals(Path.of("/proc")));
  }

  /** With {@code kcmp}: the process directories under {@code proc} are named by the host's real pids. */
  HeldDeleted(Path proc, boolean kcmp) {
    this.proc = proc;
    this.kcmp = kcmp && Kcmp.available();
  }

  /**
   * The bytes (apparent sizes) of deleted files held by the processes of each container of
   * {@code ids}, each file once for each pod however many descriptors, mappings and processes of
   * it hold it (and for each pod whose processes hold it). A file
   * counts when it lies on {@code device}, or, with {@code rootsToo} (the containers' writable
   * layers are on the disk that counts), on an overlay whose upper directory is on {@code device}
   * ({@link #overlaysOn}: a container's own file system, whatever root its process chrooted to) or
   * on the device of its process's root (another storage driver's). A container whose processes hold more than {@code maxEntries} descriptors and
   * mappings in all (and lines of mount tables read for them) counts {@link Long#MAX_VALUE} (past
   * measure), so that a million descriptors do not make each look take seconds. A process that ends
   * while it is read is passed over.
   */
  public Map<String, Long> bytesByContainer(Set<String> ids, Object device, boolean rootsToo, long maxEntries) throws IOException {
    return bytesByContainer(ids, Map.of(), Map.of(), List.of(), device, rootsToo, maxEntries);
  }

  /**
   * The same, {@code maxEntries} bounding what the containers of one pod ({@code podOf}: a
   * container's pod key; a container not in it is a pod of its own) hold in all, not each of them:
   * a pod of many containers, each just under the bound, made each check read as many times a
   * million links (8 s for one million here, on the pressure check's thread every 10 s). A file in
   * one of the container's {@code hostPaths} (the host's paths bound into it, as its manifest names them, by container ID)
   * counts for no pod ({@link HostPaths}), unless the hostPath holds one of {@code own} (the pods
   * directory first, then Docker's layers and anonymous volumes) or lies in the pods directory.
   */
  public Map<String, Long> bytesByContainer(Set<String> ids, Map<String, String> podOf, Map<String, ? extends Collection<Path>> hostPaths,
      List<Path> own, Object device, boolean rootsToo, long maxEntries) throws IOException {
    return held(ids, podOf, hostPaths, own, device, rootsToo, maxEntries, false);
  }

  /**
   * How many deleted files the containers hold, as {@link #bytesByContainer} finds them: each an
   * inode in use, however small (disk pressure on inodes; before, a container holding a million
   * empty files it deleted used a million inodes and counted none).
   */
  public Map<String, Long> filesByContainer(Set<String> ids, Map<String, String> podOf, Map<String, ? extends Collection<Path>> hostPaths,
      List<Path> own, Object device, boolean rootsToo, long maxEntries) throws IOException {
    return held(ids, podOf, hostPaths, own, device, rootsToo, maxEntries, true);
  }

  private Map<String, Long> held(Set<String> ids, Map<String, String> podOf, Map<String, ? extends Collection<Path>> hostPaths, List<Path> own,
      Object device, boolean rootsToo, long maxEntries, boolean files) throws IOException {
    Map<String, Long> bytes = new HashMap<>();
    Map<String, Long> entries = new HashMap<>();
    Seen seen = new Seen(Math.max(1, maxEntries / 10), files);
    if (ids.isEmpty()) {
      return bytes;
    }
    Set<Object> devices = new HashSet<>();
    devices.add(device);
    if (rootsToo) {
      devices.addAll(overlaysOn(device));
    }
    Map<String, HostPaths> binds = new HashMap<>();
    if (!hostPaths.isEmpty()) {
      List<String> self = selfTable();
      hostPaths.forEach((id, paths) -> binds.put(id, HostPaths.of(paths, self, own)));
    }
    try (DirectoryStream<Path> processes = Files.newDirectoryStream(proc, p -> ProcNames.isPid(p.getFileName().toString()))) {
      for (Path process : processes) {
        String id = containerOf(process, ids);
        if (id == null || bytes.getOrDefault(id, 0L) == Long.MAX_VALUE) {
          continue;
        }
        String pod = podOf.getOrDefault(id, id);
        if (entries.getOrDefault(pod, 0L) > maxEntries) { // past measure: another of its containers counts the most
          continue;
        }
        // its threads: a thread made without CLONE_FILES has descriptors of its own, and a first
        // thread that ended (SYS_exit alone) leaves its directory with no descriptors, mappings or
        // root while the others run on with them; each table is read once (kcmp), under the same bound
        List<String> tasks = new ArrayList<>();
        try (DirectoryStream<Path> t = Files.newDirectoryStream(process.resolve("task"), p -> ProcNames.isPid(p.getFileName().toString()))) {
          for (Path task : t) {
            if (!task.getFileName().equals(process.getFileName())) {
              tasks.add(task.getFileName().toString());
            }
          }
        } catch (IOException | java.nio.file.DirectoryIteratorException gone) {
          // ended
        }
        String pid = process.getFileName().toString();
        Proc p = new Proc(id, pod, process, tasks, binds.getOrDefault(id, HostPaths.NONE));
        if (rootsToo) {
          // the process's root is the container's own file system only until it chroots (CAP_SYS_CHROOT,
          // which Docker gives) elsewhere: the overlays on the disk ({@link #overlaysOn}) count whatever it does
          for (Path r : roots(process, tasks)) {
            p.root = LinkTarget.device(r, p.mounts(entries));
            if (p.root != null) {
              break; // else ended, or its first thread did (the others run on)
            }
          }
        }
        List<String> tables = new ArrayList<>();
        tables.add(pid);
        links(process.resolve("fd"), p, devices, seen, bytes, entries, maxEntries);
        for (String tid : tasks) {
          if (bytes.getOrDefault(id, 0L) == Long.MAX_VALUE) {
            break;
          }
          if (sharesTable(tables, tid, pod, entries, maxEntries)) {
            continue;
          }
          tables.add(tid);
          links(process.resolve("task").resolve(tid).resolve("fd"), p, devices, seen, bytes, entries, maxEntries);
        }
        // the mappings are the process's, whichever of its threads still has them
        long read = links(process.resolve("map_files"), p, devices, seen, bytes, entries, maxEntries);
        for (int i = 0; read == 0 && i < tasks.size() && bytes.getOrDefault(id, 0L) != Long.MAX_VALUE; i++) {
          read = links(proc.resolve(tasks.get(i)).resolve("map_files"), p, devices, seen, bytes, entries, maxEntries);
        }
        if (seen.files) {
          // counting files, the directories its threads work in or chrooted to (each thread's own, made
          // without CLONE_FS): one removed while a thread is in it keeps its inode; before, a container
          // whose processes each sat in a directory they removed held those inodes unseen
          List<Path> dirs = new ArrayList<>(List.of(process.resolve("cwd"), process.resolve("root")));
          for (String tid : tasks) {
            dirs.add(process.resolve("task").resolve(tid).resolve("cwd"));
            dirs.add(process.resolve("task").resolve(tid).resolve("root"));
          }
          for (Path link : dirs) {
            if (bytes.getOrDefault(id, 0L) == Long.MAX_VALUE) {
              break;
            }
            one(link, p, devices, seen, bytes, entries, maxEntries);
          }
        }
      }
    }
    return bytes;
  }

  /**
   * The devices of the overlay mounts (Docker's overlay2: each container's root) whose upper
   * directory, where what a container writes lies, is on {@code device}: read from the agent's own
   * mount table ({@code PROC/self/mountinfo}, which no container changes), the upper directories'
   * devices read by their paths under Docker's root. None when it cannot be read.
   */
  Set<Object> overlaysOn(Object device) {
    Set<Object> devices = new HashSet<>();
    for (String line : selfTable()) {
      MountInfo.Mount m = MountInfo.parse(line);
      if (m == null || !(m.fsType().equals("overlay") || m.fsType().equals("fuse.fuse-overlayfs"))) {
        continue;
      }
      for (String option : m.superOptions().split(",")) {
        if (option.startsWith("upperdir=")) {
          try {
            Path upper = MountInfo.path(MountInfo.unescape(option.substring(9)));
            if (upper != null && Files.getAttribute(upper, "unix:dev").equals(device)) {
              devices.add(m.dev());
            }
          } catch (IOException | RuntimeException e) {
            // gone meanwhile, or not a path: not one that counts
          }
        }
      }
    }
    return devices;
  }

  /** The agent's own mount table ({@code PROC/self/mountinfo}, which no container changes), its lines; none when it cannot be read. */
  private List<String> selfTable() {
    try {
      return MountInfo.lines(proc.resolve("self").resolve("mountinfo"));
    } catch (IOException | RuntimeException e) {
      return List.of();
    }
  }

  /** The process's root, then its other threads' (as {@code /proc/TID}), the first that answers. */
  private List<Path> roots(Path process, List<String> tasks) {
    List<Path> roots = new ArrayList<>();
    roots.add(process.resolve("root"));
    for (String tid : tasks) {
      roots.add(proc.resolve(tid).resolve("root"));
    }
    return roots;
  }

  /**
   * Whether the thread {@code tid} shares its descriptors with one of the tables already read (the
   * kernel's kcmp, KCMP_FILES; each comparison counts as an entry); without kcmp (another /proc
   * than the host's, an architecture not known here) it is read as its own.
   */
  private boolean sharesTable(List<String> tables, String tid, String pod, Map<String, Long> entries, long maxEntries) {
    if (!kcmp) {
      return false;
    }
    for (String other : tables) {
      if (entries.merge(pod, 1L, Long::sum) > maxEntries) {
        return false; // its links will find the bound
      }
      if (Kcmp.sameFiles(Integer.parseInt(other), Integer.parseInt(tid))) {
        return true;
      }
    }
    return false;
  }

  /** Counts what the links of {@code dir} lead to; returns how many it read (0 when it cannot be read). */
  private static long links(Path dir, Proc p, Set<Object> devices, Seen seen, Map<String, Long> bytes, Map<String, Long> entries,
      long maxEntries) {
    long read = 0;
    // a directory that cannot be read (the process ended meanwhile: ENOENT from the listing itself,
    // a DirectoryIteratorException) is that directory, never the whole measurement
    try (DirectoryStream<Path> links = Files.newDirectoryStream(dir)) {
      for (Path link : links) {
        read++;
        if (!one(link, p, devices, seen, bytes, entries, maxEntries)) {
          break;
        }
      }
    } catch (IOException | java.nio.file.DirectoryIteratorException gone) {
      // the process ended (its pid may be reused: what it held is given back either way)
    }
    return read;
  }

  /** Counts what one link leads to (it may be missing); false when the pod is past measure now. */
  private static boolean one(Path link, Proc p, Set<Object> devices, Seen seen, Map<String, Long> bytes, Map<String, Long> entries,
      long maxEntries) {
    if (entries.merge(p.pod, 1L, Long::sum) > maxEntries) {
      bytes.put(p.id, Long.MAX_VALUE);
      return false;
    }
    long size = heldDeleted(link, p, devices, seen, entries);
    if (size < 0 || entries.get(p.pod) > maxEntries) { // its mount table, read for this link, was past measure too
      bytes.put(p.id, Long.MAX_VALUE);
      return false;
    }
    if (size > 0) {
      bytes.merge(p.id, size, (a, b) -> a > Long.MAX_VALUE - b ? Long.MAX_VALUE : a + b);
    }
    return true;
  }

  /** The container of {@code ids} the process's cgroup names (the outermost: a container's own containers count for it), or null. */
  private static String containerOf(Path process, Set<String> ids) {
    String cgroup;
    try {
      cgroup = Files.readString(process.resolve("cgroup"));
    } catch (IOException | RuntimeException gone) {
      return null;
    }
    Matcher m = CONTAINER_ID.matcher(cgroup);
    while (m.find()) {
      if (ids.contains(m.group())) {
        return m.group();
      }
    }
    return null;
  }

  /**
   * The size of the deleted regular file (counting files: 1 for a file of any type) the link leads
   * to, on a device that counts, the first time the pod is seen to hold it; else 0; -1 when the pod
   * holds more than are kept. A file on another device is never stat'ed ({@link LinkTarget}).
   */
  private static long heldDeleted(Path link, Proc p, Set<Object> devices, Seen seen, Map<String, Long> entries) {
    try {
      if (!Files.readSymbolicLink(link).toString().endsWith(DELETED)) {
        return 0;
      }
    } catch (java.nio.file.NoSuchFileException closed) {
      return 0;
    } catch (IOException unreadable) {
      // a path longer than the kernel writes into a link's text (ENAMETOOLONG: a container makes one
      // with directories deep enough): what the link leads to decides, as for a deleted one
    }
    LinkTarget.Attributes a = LinkTarget.counted(link, p.mounts(entries), dev -> devices.contains(dev) || dev.equals(p.root));
    if (a == null) {
      return 0;
    }
    // counting files, whatever its type: a directory (or FIFO, device node, link) removed while held
    // open uses its inode as a regular file does; before, only regular files counted, and a container
    // that opened a million directories and removed them used a million inodes unseen
    boolean counts = seen.files || (a.mode() & S_IFMT) == S_IFREG;
    if (!counts || a.nlink() != 0) {
      return 0;
    }
    // once for each pod that holds it: which pod's process /proc lists first cannot shift it onto another
    int added = seen.add(p.pod, a.dev(), a.ino());
    if (added <= 0 || seen.files) {
      return added < 0 ? -1 : added;
    }
    long past = Allocated.past(a.blocks(), a.blockSize(), a.size()); // preallocated past its end (fallocate --keep-size): its blocks held too
    return a.size() > Long.MAX_VALUE - past ? Long.MAX_VALUE : a.size() + past;
  }

  /** One process as it is read: its container and pod, its root's device, and its mount table once a link needs it. */
  private final class Proc {
    final String id;
    final String pod;
    final Path dir;
    final List<String> tasks;
    final HostPaths hostPaths;
    Object root;
    private MountTable mounts;

    Proc(String id, String pod, Path dir, List<String> tasks, HostPaths hostPaths) {
      this.id = id;
      this.pod = pod;
      this.dir = dir;
      this.tasks = tasks;
      this.hostPaths = hostPaths;
    }

    /** Read once, its lines counted against the pod's bound (a container may have 100,000 mounts). */
    MountTable mounts(Map<String, Long> entries) {
      if (mounts == null) {
        List<Path> tables = new ArrayList<>();
        tables.add(dir.resolve("mountinfo"));
        for (String tid : tasks) {
          tables.add(proc.resolve(tid).resolve("mountinfo")); // its first thread ended: its others'
        }
        mounts = MountTable.read(tables, hostPaths);
        entries.merge(pod, mounts.lines, Long::sum);
      }
      return mounts;
    }
  }
}
