package io.dsfleet.agent.hostfs;

import io.dsfleet.common.manifest.LocalPaths;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * {@code subPath} without escapes (the CVE-2017-1002101 and CVE-2021-25741 class). A container
 * can put a link to any host path inside a writable volume, and swap it in at any moment; the
 * kubelet's answer, followed here: resolve the subPath against the volume's real path and refuse
 * anything that ends up outside it; for volumes a container can write, open the result through
 * directory handles without following any link and bind that very inode to a location only the
 * agent controls ({@link #pin}). Docker is then given that pinned location.
 */
public final class SubPaths {
  private SubPaths() {}

  /**
   * The real path of {@code subPath} inside {@code volume}, created as a directory when missing
   * (as the kubelet does).
   *
   * @throws NoFollow.NotInsideException when it leads outside the volume
   */
  public static Path resolve(Path volume, String subPath) throws IOException {
    Path root = volume.toRealPath();
    Path rel = relative(subPath);
    Prefix p = existing(root, rel, subPath);
    Path made = p.path();
    if (p.parts() < rel.getNameCount()) {
      made = NoFollow.mkdirs(made, rel.subpath(p.parts(), rel.getNameCount()), PosixFilePermissions.fromString("rwxrwxrwx"));
    }
    return inside(root, made.toRealPath(), subPath);
  }

  /**
   * A subPath as the kubelet takes it, cleaned ({@link LocalPaths#descending}: {@code "conf/"} is
   * {@code "conf"}); one that is the volume itself ({@code "."}) is not a subPath, its caller mounts
   * the volume.
   */
  static Path relative(String subPath) {
    String clean = LocalPaths.descending(subPath);
    if (clean == null || clean.isEmpty()) {
      throw new IllegalArgumentException("subPath \"" + subPath + "\" must be a relative path inside its volume, without \"..\" parts");
    }
    return Path.of(clean);
  }

  /** How much of {@code rel} exists: its real path (links followed, never out of the volume) and how many parts of {@code rel} that is. */
  private record Prefix(Path path, int parts) {}

  private static Prefix existing(Path root, Path rel, String subPath) throws IOException {
    Path existing = root;
    int i = 0;
    for (; i < rel.getNameCount(); i++) {
      Path next = existing.resolve(rel.getName(i));
      if (NoFollow.lstat(next).isEmpty()) {
        break;
      }
      try {
        existing = inside(root, next.toRealPath(), subPath);
      } catch (java.nio.file.NoSuchFileException dangling) {
        throw new NoFollow.NotInsideException("subPath \"" + subPath + "\" goes through a symlink to a path that does not exist");
      }
    }
    return new Prefix(existing, i);
  }

  private static Path inside(Path root, Path real, String subPath) throws NoFollow.NotInsideException {
    if (!real.startsWith(root)) {
      throw new NoFollow.NotInsideException("subPath \"" + subPath + "\" leads outside its volume through a symlink (to " + real + ")");
    }
    return real;
  }

  /**
   * For a volume a container can write (emptyDir, hostPath): resolves {@code subPath} as
   * {@link #resolve} does (links followed only while they stay inside), then walks the result from
   * the volume's root through directory handles, O_NOFOLLOW at every step, creating what is missing
   * with mkdirat (a link swapped in meanwhile fails the walk), and binds the inode it reached
   * ({@code /proc/PID/fd/N}, not a path) at {@code stage}, in the agent's own directory. Docker is
   * given {@code stage}: nothing a container does afterwards changes what it points to.
   *
   * @throws NoFollow.NotInsideException when the subPath leads outside its volume or changed underneath
   */
  public static Path pin(Mounts mounts, Path volume, String subPath, Path stage) throws IOException {
    Path root = volume.toRealPath();
    Path rel = relative(subPath);
    int mode = AtomicWriter.mode(Files.getPosixFilePermissions(root));
    Prefix p = existing(root, rel, subPath);
    Path existing = p.path();
    int i = p.parts();
    List<String> walk = new ArrayList<>();
    root.relativize(existing).forEach(part -> walk.add(part.toString()));
    int known = walk.get(0).isEmpty() ? 0 : walk.size();
    if (known == 0) {
      walk.clear();
    }
    for (int j = i; j < rel.getNameCount(); j++) {
      walk.add(rel.getName(j).toString());
    }
    if (walk.isEmpty()) {
      throw new NoFollow.NotInsideException("subPath \"" + subPath + "\" is the volume itself");
    }
    List<Fds.Fd> open = new ArrayList<>();
    try {
      Fds.Fd cur = Fds.openDirectory(root);
      open.add(cur);
      for (int j = 0; j < walk.size() - 1; j++) {
        cur = Fds.child(cur, walk.get(j), j >= known, mode);
        open.add(cur);
      }
      String last = walk.get(walk.size() - 1);
      Fds.Fd leaf = walk.size() > known ? Fds.child(cur, last, true, mode) : Fds.leaf(cur, last);
      open.add(leaf);
      boolean dir = leaf.attributes().isDirectory();
      if (mounts.isMountPoint(stage)) {
        mounts.unmount(stage); // from an earlier run of this container
      }
      Optional<BasicFileAttributes> a = NoFollow.lstat(stage);
      if (a.isPresent() && a.get().isDirectory() != dir) {
        NoFollow.deleteTree(stage);
        a = Optional.empty();
      }
      if (a.isEmpty()) {
        Files.createDirectories(stage.getParent());
        if (dir) {
          Files.createDirectory(stage);
        } else {
          Files.createFile(stage);
        }
      }
      mounts.bind(leaf.procPath(), stage);
      long[] mounted = NoFollow.identity(stage, true);
      long[] held = leaf.identity();
      if (mounted[0] != held[0] || mounted[1] != held[1]) {
        mounts.unmount(stage);
        throw new NoFollow.NotInsideException("subPath \"" + subPath + "\" changed while it was mounted");
      }
      return stage;
    } catch (NoFollow.NotInsideException e) {
      throw new NoFollow.NotInsideException("subPath \"" + subPath + "\": " + e.getMessage());
    } finally {
      open.forEach(Fds.Fd::close);
    }
  }

  /**
   * Makes the mount point {@code rel} (a directory, or an empty file) inside a volume a container
   * can write, through directory handles (no link followed, nothing made outside).
   */
  public static void mountPoint(Path volume, Path rel, boolean directory) throws IOException {
    Path root = volume.toRealPath();
    int mode = AtomicWriter.mode(Files.getPosixFilePermissions(root));
    List<Fds.Fd> open = new ArrayList<>();
    try {
      Fds.Fd cur = Fds.openDirectory(root);
      open.add(cur);
      int dirs = directory ? rel.getNameCount() : rel.getNameCount() - 1;
      for (int j = 0; j < dirs; j++) {
        cur = Fds.child(cur, rel.getName(j).toString(), true, mode);
        open.add(cur);
      }
      if (!directory) {
        Fds.createFile(cur, rel.getFileName().toString(), 0644);
      }
    } finally {
      open.forEach(Fds.Fd::close);
    }
  }
}
