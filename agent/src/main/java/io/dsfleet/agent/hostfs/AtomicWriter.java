package io.dsfleet.agent.hostfs;

import io.dsfleet.common.manifest.LocalPaths;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Writes the files of a configMap, secret, downwardAPI or projected volume the way the kubelet's
 * atomic writer does (pkg/volume/util/atomic_writer.go), so a container sees the old set of files
 * or the new one, never a mix, and the agent never writes through a link:
 *
 * <pre>
 *   VOLUME/..2026_11_30_17_01_02.123456789   the files of one version (a fresh directory)
 *   VOLUME/..data -> ..2026_11_30_...          swapped in one rename(2)
 *   VOLUME/key    -> ..data/key                one link per top-level name of the payload
 * </pre>
 *
 * Each version is written into a directory created for it (mkdir never follows a link), files are
 * created O_CREAT|O_EXCL|O_NOFOLLOW, modes set with fchmod on the opened file, the swap is a
 * rename of a link, and what is no longer wanted is removed with {@link NoFollow#deleteTree}.
 * Entries of the volume directory that no payload ever named (a nested mount point, say) are left
 * alone (a link into {@code ..data} no payload names now is a key's a write cut short left, and
 * goes). A version directory that {@code ..data} does not name (an agent killed while it wrote the
 * next version, or after the swap and before the old version's removal) is removed at the next
 * write, which an agent makes for each pod at its start: before 2026-12-06 it stayed for the pod's
 * life, and with it, readable in the pod's containers, a Secret's values from before its rotation
 * (on the volume's tmpfs, in memory). The volume is mounted read-only into containers, so nothing here races a container; the
 * no-follow rules also hold against directories an older agent mounted writable.
 */
public final class AtomicWriter {
  static final String DATA = "..data";
  private static final String DATA_TMP = "..data_tmp";
  private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyy_MM_dd_HH_mm_ss.").withZone(ZoneOffset.UTC);

  /** One file of the payload: its bytes and mode (e.g. 0644). */
  public record FileData(byte[] data, int mode) {
    @Override
    public boolean equals(Object o) {
      return o instanceof FileData f && f.mode == mode && Arrays.equals(f.data, data);
    }

    @Override
    public int hashCode() {
      return 31 * Arrays.hashCode(data) + mode;
    }
  }

  private final Path dir;
  private final Clock clock;

  /** @param dir the volume's directory, made by the agent in its own state directory */
  public AtomicWriter(Path dir, Clock clock) {
    this.dir = dir;
    this.clock = clock;
  }

  /**
   * Makes the volume hold exactly this payload. Paths are relative, without "..", and do not start
   * with "..". Returns false when the volume already held it (nothing written).
   *
   * @param gid the group to own every file and directory (the pod's fsGroup), or null
   */
  public boolean write(Map<String, FileData> payload, Long gid) throws IOException {
    Map<Path, FileData> files = new TreeMap<>();
    for (var e : payload.entrySet()) {
      files.put(validate(e.getKey()), e.getValue()); // two spellings of one file: one of them (the last in the paths' order), never a refusal
    }
    Optional<Path> current = currentVersion();
    removeStaleVersions(current);
    Set<String> oldTop = new TreeSet<>(strayLinks(topLevel(files.keySet())));
    if (current.isPresent()) {
      Set<Path> old = new TreeSet<>();
      if (holds(current.get(), files, old) && oldTop.isEmpty() && linksInPlace(topLevel(files.keySet()))) {
        return false;
      }
      old.forEach(p -> oldTop.add(p.getName(0).toString()));
    }
    Path version = Files.createTempDirectory(dir, ".." + STAMP.format(clock.instant()));
    try {
      fill(version, files, gid);
    } catch (IOException | RuntimeException e) {
      NoFollow.deleteTree(version); // a half-written version never stays (on a tmpfs it would hold memory)
      throw e;
    }
    swap(version, files.keySet(), oldTop, current);
    return true;
  }

  private void fill(Path version, Map<Path, FileData> files, Long gid) throws IOException {
    NoFollow.chmod(version, PosixFilePermissions.fromString("rwxr-xr-x"));
    if (gid != null) {
      NoFollow.chgrp(version, gid);
    }
    for (var e : files.entrySet()) {
      Path parent = e.getKey().getParent();
      if (parent != null) {
        Path made = NoFollow.mkdirs(version, parent, PosixFilePermissions.fromString("rwxr-xr-x"));
        if (gid != null) {
          for (Path p = made; !p.equals(version); p = p.getParent()) {
            NoFollow.chgrp(p, gid);
          }
        }
      }
      Path f = version.resolve(e.getKey());
      NoFollow.createFile(f, e.getValue().data(), perms(e.getValue().mode()));
      if (gid != null) {
        NoFollow.chgrp(f, gid);
      }
    }
  }

  private void swap(Path version, Set<Path> paths, Set<String> oldTop, Optional<Path> current) throws IOException {
    // the swap: a new link, renamed over ..data (rename replaces the link itself, never its target)
    Path tmp = dir.resolve(DATA_TMP);
    NoFollow.deleteTree(tmp);
    Files.createSymbolicLink(tmp, version.getFileName());
    Files.move(tmp, dir.resolve(DATA), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);

    Set<String> top = topLevel(paths);
    for (String name : top) {
      Path link = dir.resolve(name);
      Path want = Path.of(DATA, name);
      Optional<BasicFileAttributes> a = NoFollow.lstat(link);
      if (a.isPresent() && a.get().isSymbolicLink() && Files.readSymbolicLink(link).equals(want)) {
        continue;
      }
      NoFollow.deleteTree(link); // a file or directory of an older layout, or a wrong link
      Files.createSymbolicLink(link, want);
    }
    for (String name : oldTop) {
      if (!top.contains(name)) {
        NoFollow.deleteTree(dir.resolve(name));
      }
    }
    if (current.isPresent()) {
      NoFollow.deleteTree(current.get());
    }
  }

  /**
   * The top-level links into {@code ..data} ({@code NAME -> ..data/NAME}, as {@link #swap} makes
   * them) whose names {@code top} does not hold: a key's link a write cut short left after its swap
   * (the version in place never had the key, so no later write took it for one to remove, and it
   * dangled for the pod's life). Nothing else: an entry no payload named (a nested mount point) stays.
   */
  private Set<String> strayLinks(Set<String> top) throws IOException {
    Set<String> out = new TreeSet<>();
    try (var entries = Files.list(dir)) {
      for (Path p : (Iterable<Path>) entries::iterator) {
        String name = p.getFileName().toString();
        Optional<BasicFileAttributes> a = name.startsWith("..") || top.contains(name) ? Optional.empty() : NoFollow.lstat(p);
        if (a.isPresent() && a.get().isSymbolicLink() && Files.readSymbolicLink(p).equals(Path.of(DATA, name))) {
          out.add(name);
        }
      }
    }
    return out;
  }

  /** A version directory's name as {@link #write} makes it: {@code ..} and its time stamp, then the digits of a temporary name. */
  private static final java.util.regex.Pattern VERSION = java.util.regex.Pattern.compile("\\.\\.\\d{4}(_\\d{2}){5}\\.\\d+");

  /** Removes the version directories other than {@code current}: what a write cut short left. */
  private void removeStaleVersions(Optional<Path> current) throws IOException {
    try (var entries = Files.list(dir)) {
      for (Path p : (Iterable<Path>) entries::iterator) {
        if (VERSION.matcher(p.getFileName().toString()).matches() && !Optional.of(p).equals(current)) {
          NoFollow.deleteTree(p);
        }
      }
    }
  }

  /** The directory ..data points to, when it is a link to a version directory of this volume. */
  private Optional<Path> currentVersion() throws IOException {
    Path data = dir.resolve(DATA);
    Optional<BasicFileAttributes> a = NoFollow.lstat(data);
    if (a.isEmpty() || !a.get().isSymbolicLink()) {
      return Optional.empty();
    }
    Path target = Files.readSymbolicLink(data);
    if (target.isAbsolute() || target.getNameCount() != 1 || !target.toString().startsWith("..") || target.toString().equals(DATA)) {
      return Optional.empty();
    }
    Path version = dir.resolve(target);
    Optional<BasicFileAttributes> v = NoFollow.lstat(version);
    return v.isPresent() && v.get().isDirectory() && !v.get().isSymbolicLink() ? Optional.of(version) : Optional.empty();
  }

  private boolean linksInPlace(Set<String> top) throws IOException {
    for (String name : top) {
      Path link = dir.resolve(name);
      Optional<BasicFileAttributes> a = NoFollow.lstat(link);
      if (a.isEmpty() || !a.get().isSymbolicLink() || !Files.readSymbolicLink(link).equals(Path.of(DATA, name))) {
        return false;
      }
    }
    return true;
  }

  /**
   * Whether a version directory holds exactly {@code files}: regular files of their modes and bytes
   * (links and anything else make it differ), compared a block at a time, so that no file is ever
   * read whole into the heap; {@code paths} gets every path it holds. Before 2026-12-07 each file was
   * read whole, and a volume naming one 1 MB key in 200 paths (a projected volume's items, a few KB
   * of template) had the agent read 200 MB into its 48 MiB heap at each start, and fail on it before
   * the set without that DaemonSet could reach it: out of memory at every start, for good
   * (helper-178).
   */
  private static boolean holds(Path version, Map<Path, FileData> files, Set<Path> paths) throws IOException {
    boolean same = true;
    byte[] block = new byte[COMPARED_BLOCK];
    try (var walk = Files.walk(version)) { // Files.walk does not follow links
      for (Path p : (Iterable<Path>) walk::iterator) {
        BasicFileAttributes a = NoFollow.lstat(p).orElse(null);
        if (a == null || p.equals(version) || a.isDirectory()) {
          continue;
        }
        Path rel = version.relativize(p);
        paths.add(rel);
        FileData want = files.get(rel);
        same = same && want != null && a.isRegularFile() && a.size() == want.data().length
            && mode(Files.getPosixFilePermissions(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) == want.mode() && sameBytes(p, want.data(), block);
      }
    }
    return same && paths.equals(files.keySet());
  }

  /** The bytes compared at a time ({@link #holds}). */
  private static final int COMPARED_BLOCK = 64 * 1024;

  private static boolean sameBytes(Path file, byte[] want, byte[] block) throws IOException {
    try (java.io.InputStream in = Files.newInputStream(file, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      int at = 0;
      for (int n; (n = in.readNBytes(block, 0, block.length)) > 0; at += n) {
        if (at + n > want.length || !Arrays.equals(block, 0, n, want, at, at + n)) {
          return false;
        }
      }
      return at == want.length;
    }
  }

  private static Set<String> topLevel(Set<Path> paths) {
    Set<String> top = new HashSet<>();
    paths.forEach(p -> top.add(p.getName(0).toString()));
    return top;
  }

  /** A payload path, cleaned ({@link LocalPaths#payloadFile}: relative, no "..", not starting with "..", a file). */
  static Path validate(String path) {
    String clean = LocalPaths.payloadFile(path);
    if (clean == null) {
      throw new IllegalArgumentException("volume file path \"" + path + "\" must be a relative path to a file, without \"..\" parts and"
          + " not starting with \"..\"");
    }
    return Path.of(clean);
  }

  static Set<PosixFilePermission> perms(int mode) {
    StringBuilder b = new StringBuilder();
    String rwx = "rwxrwxrwx";
    for (int i = 0; i < 9; i++) {
      b.append((mode & (1 << (8 - i))) != 0 ? rwx.charAt(i) : '-');
    }
    return PosixFilePermissions.fromString(b.toString());
  }

  static int mode(Set<PosixFilePermission> perms) {
    int m = 0;
    for (PosixFilePermission p : perms) {
      m |= 1 << (8 - p.ordinal());
    }
    return m;
  }
}
