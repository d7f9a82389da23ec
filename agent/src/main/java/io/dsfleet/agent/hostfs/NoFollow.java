package io.dsfleet.agent.hostfs;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Iterator;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * File operations that never follow a symbolic link, for paths a container can change. A
 * container controls everything inside its writable volumes, including links to host paths; the
 * agent is root on the host, so following one of those links would let the container write,
 * chmod or delete any host file. Every operation here works on the link itself, or refuses.
 *
 * <p>Recursive removal walks with {@link SecureDirectoryStream} (openat/unlinkat relative to an
 * open directory, O_NOFOLLOW), so swapping a directory for a link mid-walk cannot redirect it.
 */
public final class NoFollow {
  private static final LinkOption[] NOFOLLOW = {LinkOption.NOFOLLOW_LINKS};

  private NoFollow() {}

  /** The attributes of the path itself (a link is reported as a link), or empty when it does not exist. */
  public static Optional<BasicFileAttributes> lstat(Path p) {
    try {
      return Optional.of(Files.readAttributes(p, BasicFileAttributes.class, NOFOLLOW));
    } catch (NoSuchFileException e) {
      return Optional.empty();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** (device, inode) of the path itself, not of what a link points to. */
  public static long[] identity(Path p, boolean followLinks) throws IOException {
    LinkOption[] opts = followLinks ? new LinkOption[0] : NOFOLLOW;
    return new long[] {((Number) Files.getAttribute(p, "unix:dev", opts)).longValue(),
        ((Number) Files.getAttribute(p, "unix:ino", opts)).longValue()};
  }

  /**
   * Creates a new file with this content and mode. Fails when anything exists at the path, a link
   * included (O_CREAT|O_EXCL never follows), so a planted link cannot redirect the write.
   */
  public static void createFile(Path p, byte[] data, Set<PosixFilePermission> mode) throws IOException {
    Set<OpenOption> opts = Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
    try (SeekableByteChannel ch = Files.newByteChannel(p, opts)) {
      // a slice at a time: the JDK copies a heap buffer's remaining bytes through a direct buffer of their size, and
      // the unit bounds direct memory at 16 MiB: pod workers writing 1 MB keys at once failed "Direct buffer memory"
      io.dsfleet.common.OwnerOnlyFiles.writeFully(ch, data);
    }
    chmod(p, mode);
  }

  /**
   * The first {@code max} bytes at most of a regular file, read as the file itself (opened
   * O_NOFOLLOW), or null when nothing is at the path; anything but a regular file (a link, a
   * directory, a FIFO whose open would block) is refused unread.
   */
  public static byte[] readAtMost(Path p, int max) throws IOException {
    Optional<BasicFileAttributes> a = lstat(p);
    if (a.isEmpty()) {
      return null;
    }
    if (!a.get().isRegularFile()) {
      throw new IOException(p + " is not a regular file");
    }
    try (SeekableByteChannel ch = Files.newByteChannel(p, Set.of(StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS))) {
      ByteBuffer b = ByteBuffer.allocate(max);
      while (b.hasRemaining() && ch.read(b) >= 0) {
        // until full or at its end
      }
      byte[] out = new byte[b.position()];
      b.flip().get(out);
      return out;
    } catch (NoSuchFileException gone) {
      return null;
    }
  }

  /** chmod of the file itself: refuses a link (the JDK opens it O_NOFOLLOW and uses fchmod). */
  public static void chmod(Path p, Set<PosixFilePermission> mode) throws IOException {
    Files.getFileAttributeView(p, PosixFileAttributeView.class, NOFOLLOW).setPermissions(mode);
  }

  /** chgrp of the path itself (lchown); a gid past the int range is refused, never wrapped (to group 0). */
  public static void chgrp(Path p, long gid) throws IOException {
    Files.setAttribute(p, "unix:gid", Math.toIntExact(gid), NOFOLLOW);
  }

  /**
   * Creates the directories of {@code rel} under {@code base}, one component at a time, refusing a
   * component that is a link or not a directory.
   *
   * @return the created (or existing) directory
   * @throws NotInsideException when a component is a link or a file
   */
  public static Path mkdirs(Path base, Path rel, Set<PosixFilePermission> mode) throws IOException {
    Path cur = base;
    for (Path part : rel) {
      cur = cur.resolve(part);
      Optional<BasicFileAttributes> a = lstat(cur);
      if (a.isEmpty()) {
        try {
          Files.createDirectory(cur); // mkdir(2) does not follow a link at the last component
          chmod(cur, mode);
          continue;
        } catch (FileAlreadyExistsException raced) {
          a = lstat(cur);
        }
      }
      if (a.isEmpty() || a.get().isSymbolicLink() || !a.get().isDirectory()) {
        throw new NotInsideException(base.relativize(cur) + (a.isPresent() && a.get().isSymbolicLink() ? " is a symlink" : " is not a directory"));
      }
    }
    return cur;
  }

  /**
   * How deep {@link #deleteTree} walks (each level holds an open directory); a directory found
   * deeper is moved up to the top of the tree and removed from there.
   */
  static final int MAX_DEPTH = 256;

  /**
   * Removes a file, link or directory tree without following any link in it, and without leaving
   * the file system it starts on (a directory on another device, a mount nobody unmounted, is left
   * alone, as the kubelet's RemoveAllOneFilesystem does); missing is success. The walk is a loop,
   * not a recursion, so a tree a container made as deep as it likes cannot overflow the stack; a
   * directory {@link #MAX_DEPTH} levels down is renamed (renameat, no link followed) into the
   * tree's top directory, which is read again once it looks empty: a tree of any depth goes, with
   * at most {@link #MAX_DEPTH} directories open (a deeper one was refused before and stayed on the
   * host's disk for good).
   */
  public static void deleteTree(Path p) throws IOException {
    Optional<BasicFileAttributes> a = lstat(p);
    if (a.isEmpty()) {
      return;
    }
    if (!a.get().isDirectory() || a.get().isSymbolicLink()) {
      Files.delete(p); // unlink: a link goes, its target stays
      return;
    }
    String device = device(a.get());
    try (Level root = Level.top(p)) {
      Deque<Level> levels = new ArrayDeque<>();
      boolean hoisted = false;
      try {
        levels.push(root.open(p.getFileName()));
        while (!levels.isEmpty()) {
          Level top = levels.peek();
          if (!top.entries.hasNext()) {
            if (levels.size() == 1 && hoisted) { // what was moved up may not have been listed: read the top again
              levels.pop().close();
              levels.push(root.open(p.getFileName()));
              hoisted = false;
              continue;
            }
            levels.pop().close();
            top.parent.deleteDirectory(top.name);
            continue;
          }
          Path name = top.entries.next().getFileName();
          BasicFileAttributes e = top.attributes(name);
          if (e == null) {
            continue; // removed meanwhile
          }
          if (e.isDirectory() && !e.isSymbolicLink()) {
            if (!device(e).equals(device)) {
              throw new IOException(name + " is on another file system (a mount): not removed");
            }
            if (levels.size() >= MAX_DEPTH) {
              hoist(top.dir, name, levels.peekLast().dir);
              hoisted = true;
              continue;
            }
            levels.push(top.open(name)); // a directory swapped for anything else since it was seen fails here
          } else {
            try {
              top.dir.deleteFile(name);
            } catch (NoSuchFileException gone) {
              // removed meanwhile
            }
          }
        }
      } finally {
        levels.forEach(Level::close);
      }
    }
  }

  /**
   * The bytes a directory tree holds, as an emptyDir's sizeLimit counts them: the sizes of its
   * regular files and directories (a directory that held many long names keeps their size after
   * they are gone), nothing followed through a link, nothing counted on another file system (a
   * mount). Sizes as files report them: a sparse file counts what it could hold, a file of several
   * links once a link, a file deleted while held open not at all, and blocks allocated past a
   * file's end count too ({@link Allocated}); a sum past a long is {@link
   * Long#MAX_VALUE}. Counting stops once it is over
   * {@code stopAbove}; a tree of more than {@code maxEntries} entries, or deeper than {@link
   * #MAX_DEPTH} levels, is not measured further and counts as {@link Long#MAX_VALUE} (a container
   * could otherwise hide bytes from the count, or make every count take minutes). Missing: 0.
   */
  public static long usage(Path p, long stopAbove, long maxEntries) throws IOException {
    return walk(p, stopAbove, () -> new Budget(maxEntries), false);
  }

  /** {@link #usage}, its entries taken from {@code budget}, which other walks share: past it, {@link Long#MAX_VALUE}. */
  public static long usage(Path p, Budget budget) throws IOException {
    return walk(p, Long.MAX_VALUE, () -> budget, false);
  }

  /** {@link #inodes}, its entries taken from {@code budget}, which other walks share: past it, {@link Long#MAX_VALUE}. */
  public static long inodes(Path p, Budget budget) throws IOException {
    return walk(p, Long.MAX_VALUE, () -> budget, true);
  }

  /**
   * Entries that the walks sharing it may visit in all: what one pod's volumes, writable layers and
   * their directories hold, measured for disk pressure, counts against one, so that a pod of many
   * volumes or containers, each just under a walk's bound, cannot make a check take minutes (64
   * containers of 999,999 entries each: 64 million, 11-14 minutes of walking at the rate measured
   * here, no eviction meanwhile; helper-103). One thread's.
   */
  public static final class Budget {
    private long left;

    public Budget(long entries) {
      this.left = entries;
    }

    /** Takes one entry; false once none is left. */
    boolean take() {
      return left-- > 0;
    }
  }

  /**
   * The inodes a directory tree uses on its own file system, as the kubelet's disk pressure on
   * inodes counts them: each entry once a link (a file of several links more than once), the
   * tree's own directory not, the rest as {@link #usage} (nothing followed, nothing on another
   * file system; more than {@code maxEntries} entries, or deeper than {@link #MAX_DEPTH}, count
   * as {@link Long#MAX_VALUE}). Missing: 0.
   */
  public static long inodes(Path p, long maxEntries) throws IOException {
    return walk(p, Long.MAX_VALUE, () -> new Budget(maxEntries), true);
  }

  /** @param budget each attempt's entries: a bound of its own, or a budget shared with other walks (a retry spends from it again) */
  private static long walk(Path p, long stopAbove, java.util.function.Supplier<Budget> budget, boolean inodes) throws IOException {
    for (int attempt = 1; ; attempt++) {
      try {
        return walkUsage(p, stopAbove, budget.get(), inodes);
      } catch (Swapped swapped) {
        if (attempt == SWAPPED_ATTEMPTS) {
          return Long.MAX_VALUE; // a directory swapped under every walk: a container racing the count is over its limit
        }
      }
    }
  }

  /**
   * Walks that may find a directory swapped (for a link, a FIFO, another directory) between its
   * listing and its open: a directory removed and made again meanwhile is ordinary churn (one walk
   * in 10,000 met one, helper-77), so the walk is made again; one that meets a swap every time
   * counts as over its limit (bytes hidden behind a swapped link: helper-74).
   */
  static final int SWAPPED_ATTEMPTS = 3;

  /** A directory of the walk was not, by the time it was opened, the one listed. */
  private static final class Swapped extends Exception {
    Swapped() {
      super(null, null, false, false);
    }
  }

  /**
   * A test's hook between a directory's listing and its open (where a container would swap it):
   * given the entry's name joined to its directory's own name.
   */
  static volatile java.util.function.Consumer<Path> beforeOpen = x -> { };

  private static long walkUsage(Path p, long stopAbove, Budget budget, boolean inodes) throws IOException, Swapped {
    Optional<BasicFileAttributes> a = lstat(p);
    if (a.isEmpty() || !a.get().isDirectory() || a.get().isSymbolicLink()) {
      return a.map(x -> inodes ? 1L : x.isRegularFile() ? x.size() : 0L).orElse(0L);
    }
    long used = 0; // inodes on the tree's file system
    String device = device(a.get());
    long bytes = 0; // the tree's own directory not counted: an empty volume uses nothing, whatever its file system says
    try (Level root = Level.top(p)) {
      Deque<Level> levels = new ArrayDeque<>();
      try {
        levels.push(root.open(p.getFileName()));
        while (!levels.isEmpty() && bytes <= stopAbove) {
          Level top = levels.peek();
          if (!top.entries.hasNext()) {
            levels.pop().close();
            continue;
          }
          if (!budget.take()) {
            return Long.MAX_VALUE;
          }
          Path name = top.entries.next().getFileName();
          BasicFileAttributes e = top.attributes(name);
          if (e == null) {
            continue; // removed meanwhile
          }
          if (e.isDirectory() && !e.isSymbolicLink()) {
            if (!device(e).equals(device)) {
              continue;
            }
            if (levels.size() >= MAX_DEPTH) {
              return Long.MAX_VALUE;
            }
            bytes = plus(bytes, e.size());
            used++;
            beforeOpen.accept(top.name.resolve(name));
            Level next;
            try {
              next = top.open(name);
            } catch (NoSuchFileException gone) {
              continue; // removed meanwhile
            } catch (NotInsideException notADirectory) {
              throw new Swapped();
            }
            boolean same;
            try {
              same = Objects.equals(next.handle.attributes().fileKey(), e.fileKey());
            } catch (IOException | RuntimeException x) {
              next.close();
              throw x;
            }
            if (!same) { // another directory swapped in between
              next.close();
              throw new Swapped();
            }
            levels.push(next);
          } else {
            bytes = plus(bytes, e.isRegularFile() ? plus(e.size(), inodes ? 0 : Allocated.pastSize(top.handle, name, e.size())) : 0);
            used++;
          }
        }
      } finally {
        levels.forEach(Level::close);
      }
    }
    return inodes ? used : bytes;
  }

  /**
   * A sum of sizes that stops at {@link Long#MAX_VALUE}: a sparse file's size is what it could
   * hold, up to 8 EiB on XFS, btrfs or tmpfs (one {@code truncate}), and before 2026-12-06 a tree
   * holding one beside any written byte summed past a long to less than nothing (helper-101).
   */
  private static long plus(long a, long b) {
    return a > Long.MAX_VALUE - b ? Long.MAX_VALUE : a + b;
  }

  private static final java.security.SecureRandom HOIST_NAMES = new java.security.SecureRandom();

  /** Moves directory {@code name} of {@code from} into {@code to} under a fresh name (the tree's own names may be anything). */
  private static void hoist(SecureDirectoryStream<Path> from, Path name, SecureDirectoryStream<Path> to) throws IOException {
    for (int attempt = 0; ; attempt++) {
      Path fresh = Path.of(".deep-" + java.util.HexFormat.of().toHexDigits(HOIST_NAMES.nextLong()));
      try {
        to.getFileAttributeView(fresh, BasicFileAttributeView.class, NOFOLLOW).readAttributes();
        continue; // taken (rename would replace an empty directory of that name: harmless, but keep it plain)
      } catch (NoSuchFileException free) {
        // use it
      }
      try {
        from.move(name, to, fresh);
        return;
      } catch (IOException e) {
        if (attempt >= 3) {
          throw new IOException(name + " is more than " + MAX_DEPTH + " directories deep and could not be moved up: " + e.getMessage(), e);
        }
      }
    }
  }

  /**
   * One open directory of a walk: its handle (O_PATH|O_DIRECTORY|O_NOFOLLOW, {@link
   * Fds#listedDirectory}), its listing through that very inode ({@code /proc/self/fd/N} leads to
   * the inode the handle holds, a directory whatever the name holds now), its parent's listing,
   * and where the walk is in it.
   * Before 2026-12-05 a walk opened each directory it had seen with the JDK's openat, which has no
   * O_DIRECTORY: a container that swapped a FIFO in for it blocked the agent's collector thread for
   * good, and a device node it made (Docker grants CAP_MKNOD) was opened by root (helper-74).
   */
  private static final class Level implements AutoCloseable {
    final SecureDirectoryStream<Path> parent;
    final Path name;
    final Fds.Fd handle;
    final SecureDirectoryStream<Path> dir;
    final Iterator<Path> entries;

    private Level(SecureDirectoryStream<Path> parent, Path name, Fds.Fd handle) throws IOException {
      this.parent = parent;
      this.name = name;
      this.handle = handle;
      try {
        DirectoryStream<Path> ds = Files.newDirectoryStream(handle.procPath());
        if (!(ds instanceof SecureDirectoryStream<Path> secure)) {
          ds.close();
          throw new IOException("this platform cannot walk " + name + " without following links");
        }
        this.dir = secure;
      } catch (IOException | RuntimeException e) {
        handle.close();
        throw e;
      }
      this.entries = dir.iterator();
    }

    /** The directory holding {@code p} (the agent's own path), as the top of a walk of {@code p}. */
    static Level top(Path p) throws IOException {
      Path parent = p.toAbsolutePath().getParent();
      return new Level(null, parent, Fds.openDirectory(parent));
    }

    /** The directory {@code name} listed here; a link, FIFO or device swapped in for it fails ({@link NotInsideException}). */
    Level open(Path name) throws IOException {
      return new Level(dir, name, Fds.listedDirectory(handle, name));
    }

    @Override
    public void close() {
      try {
        dir.close();
      } catch (IOException e) {
        // closing is all that is asked
      } finally {
        handle.close();
      }
    }

    /** An entry's own attributes (a link's, not its target's); null when it is gone. */
    BasicFileAttributes attributes(Path entry) throws IOException {
      try {
        return dir.getFileAttributeView(entry, BasicFileAttributeView.class, NOFOLLOW).readAttributes();
      } catch (NoSuchFileException gone) {
        return null;
      }
    }
  }

  /** The device of a file, from its key ("(dev=803,ino=1234)" on Linux). */
  static String device(BasicFileAttributes a) {
    String key = String.valueOf(a.fileKey());
    int at = key.indexOf("dev=");
    return at < 0 ? key : key.substring(at, key.indexOf(',', at) < 0 ? key.length() : key.indexOf(',', at));
  }

  /** A path that must stay inside a directory leads out of it (through a link), or is not what it must be. */
  public static final class NotInsideException extends IOException {
    public NotInsideException(String message) {
      super(message);
    }
  }
}
