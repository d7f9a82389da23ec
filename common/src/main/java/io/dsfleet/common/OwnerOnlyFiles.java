package io.dsfleet.common;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/** Files only their owner may read (mode 0600, directories 0700), written atomically and synced. */
public final class OwnerOnlyFiles {
  private OwnerOnlyFiles() {}

  /**
   * Creates the directory (and parents) when missing and makes it owner-only. A directory that
   * exists and belongs to another user is refused, not taken over: whoever owns it could replace
   * the files in it (a key, the CA a process trusts) whatever their mode, and a root process's
   * chmod would not take it back. Two layouts of systemd's pass: a link root made (with
   * {@code DynamicUser=}, {@code /var/lib/NAME} is root's link to {@code /var/lib/private/NAME}),
   * and, for a root process (an operator's {@code sudo ds-coordinator backup}), a directory of
   * another user in a tree of theirs that only root can reach ({@code /var/lib/private}).
   */
  public static Path directory(Path dir) {
    return directory(dir, () -> {});
  }

  /**
   * {@link #directory(Path)}; {@code checked} runs once the directory is checked, before its mode
   * is set (a test's swap). The mode is set on the directory as checked, its real path, with its
   * last name not followed: in the service's directory (systemd's layout below) its user may swap
   * {@code pki/} for a link at any time, and until 2026-12-06 root's chmod by the path given,
   * right after the check, made the directory the link led to 0700 (/usr; helper-113).
   */
  static Path directory(Path dir, Runnable checked) {
    checkDirectory(dir, checked);
    return dir;
  }

  /**
   * {@link #directory(Path, Runnable)}; returns whether the directory, as checked, belongs to
   * another user than this process's (root in the service's directory: {@link #refuseForeign}).
   */
  static boolean checkDirectory(Path dir, Runnable checked) {
    try (Held held = hold(dir, checked)) {
      return held.anothers();
    }
  }

  /** A directory checked and held open ({@link #hold}); {@code anothers}: it belongs to another user than this process's. */
  record Held(HeldDirectory dir, boolean anothers) implements AutoCloseable {
    @Override
    public void close() {
      dir.close();
    }
  }

  /**
   * {@link #directory(Path, Runnable)}, the directory as checked held open: what is read in it
   * after is read relative to this descriptor, not through its path again (a {@code pki/} swapped
   * for a link after the check: until 2026-12-06 root then read that directory's
   * {@code secrets.key}).
   */
  static Held hold(Path dir, Runnable checked) {
    try {
      Files.createDirectories(dir);
      Integer me = processUid();
      // no /proc: not Linux, where the daemons run
      Checked seen = me != null ? refuseForeign(dir, me) : new Checked(dir.toRealPath(), false);
      Path real = seen.real();
      checked.run();
      HeldDirectory held;
      try {
        held = HeldDirectory.openNoFollow(real); // the directory checked, its last name not followed
      } catch (HeldDirectory.NotADirectory | java.nio.file.NoSuchFileException e) {
        throw new IOException(real + " is " + (Files.isSymbolicLink(real) ? "a link" : "no directory") + " now, not the directory checked"
            + " (it was replaced meanwhile)", e);
      }
      try {
        var ownerOnly = PosixFilePermissions.fromString("rwx------");
        if (!held.attributes().permissions().equals(ownerOnly)) { // only when needed: a read-only disk is still read (a restart on it)
          Files.setPosixFilePermissions(held.procPath(), ownerOnly); // chmod of the inode held: nothing swapped in since is reached
        }
        return new Held(held, seen.anothers());
      } catch (IOException | RuntimeException e) {
        held.close();
        throw e;
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create " + dir + ": " + e.getMessage(), e);
    }
  }

  /** A directory as {@link #refuseForeign} checked it: its real path, and whether another user than this process's owns it. */
  record Checked(Path real, boolean anothers) {}

  /**
   * @param me the process's effective uid
   * @return the directory's real path and owner, as checked
   */
  static Checked refuseForeign(Path dir, int me) throws IOException {
    // every link on the way, as the path names it: made by this user or root, or it could lead anywhere
    Path abs = dir.toAbsolutePath();
    for (int i = 1; i <= abs.getNameCount(); i++) {
      Path step = abs.getRoot().resolve(abs.subpath(0, i));
      if (Files.isSymbolicLink(step)) {
        int maker = (Integer) Files.getAttribute(step, "unix:uid", LinkOption.NOFOLLOW_LINKS);
        if (maker != me && maker != 0) {
          throw new IOException((step.equals(abs) ? "it" : step.toString()) + " is a link uid " + maker + " made, not this process's uid "
              + me + " nor root: it could lead anywhere; remove it");
        }
      }
    }
    Path real = dir.toRealPath();
    int owner = (Integer) Files.getAttribute(real, "unix:uid");
    boolean theirs = owner != me;
    if (theirs && !(me == 0 && onlyRootReaches(real, owner))) {
      throw new IOException((Files.isSymbolicLink(dir) ? "the directory it leads to" : "it") + " belongs to uid " + owner
          + ", not to this process's uid " + me + ": another user could replace the files in it; give it to this user (chown),"
          + " or run this as the user it belongs to");
    }
    // every directory above it, as the path names it and as it is: another user who may write one
    // could move it aside and put theirs in its place (as OpenSSH checks the parents of its key files)
    java.util.Set<Path> above = new java.util.LinkedHashSet<>();
    for (int i = 0; i < abs.getNameCount(); i++) {
      above.add(i == 0 ? abs.getRoot() : abs.getRoot().resolve(abs.subpath(0, i)));
    }
    for (Path p = real.getParent(); p != null; p = p.getParent()) {
      above.add(p);
    }
    for (Path p : above) {
      int uid = (Integer) Files.getAttribute(p, "unix:uid");
      var perms = Files.getPosixFilePermissions(p);
      boolean othersWrite = perms.contains(java.nio.file.attribute.PosixFilePermission.GROUP_WRITE)
          || perms.contains(java.nio.file.attribute.PosixFilePermission.OTHERS_WRITE);
      boolean ownersOwn = theirs && uid == owner; // the tree of another user's service root looks after (onlyRootReaches)
      if ((uid != me && uid != 0 && !ownersOwn) || (othersWrite && !sticky(p))) {
        throw new IOException("it is under " + p + ", which " + (othersWrite ? "users other than its owner may write" : "belongs to uid " + uid)
            + ": they could move it aside and put theirs in its place; put it where only root (or this user) writes, as /var/lib");
      }
    }
    return new Checked(real, theirs);
  }

  /** The sticky bit: in such a directory (/tmp) only an entry's owner may rename or remove it. */
  private static boolean sticky(Path dir) throws IOException {
    return ((Integer) Files.getAttribute(dir, "unix:mode") & 01000) != 0;
  }

  /**
   * Whether {@code dir} is in a tree of {@code owner}'s that only root can reach: its ancestors
   * {@code owner}'s up to one of root's that no one else may even enter (mode 0700, as systemd's
   * /var/lib/private). Nobody but root and that owner could have put it there; the owner's own
   * data is theirs to have.
   */
  private static boolean onlyRootReaches(Path dir, int owner) throws IOException {
    for (Path p = dir.getParent(); p != null; p = p.getParent()) {
      int uid = (Integer) Files.getAttribute(p, "unix:uid");
      if (uid == owner) {
        continue;
      }
      return uid == 0 && PosixFilePermissions.toString(Files.getPosixFilePermissions(p)).endsWith("------");
    }
    return false;
  }

  /** The process's effective user id, from /proc/self/status; null where there is no /proc. */
  static Integer processUid() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("Uid:")) {
          return Integer.valueOf(line.substring(4).trim().split("\\s+")[1]);
        }
      }
      return null;
    } catch (IOException e) {
      return null;
    }
  }

  /**
   * Replaces the file's content in one step, synced (file and directory): readers see the old or
   * the new content, never part. The content goes through the descriptor that created the
   * temporary file (created new, so never a link's target), never through its name again.
   */
  public static void write(Path f, byte[] content) {
    Path tmp = f.resolveSibling(f.getFileName() + ".tmp");
    try {
      Files.deleteIfExists(tmp);
      try (FileChannel ch = createNew(tmp)) {
        try {
          writeFully(ch, content);
          ch.force(true);
        } catch (IOException e) { // a full disk: the temporary made goes (before helper-151 an empty one stayed for good)
          try {
            Files.deleteIfExists(tmp);
          } catch (IOException gone) {
            e.addSuppressed(gone);
          }
          throw e;
        }
      }
      Files.move(tmp, f, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      // the rename itself must reach the disk too, or a crash can bring back the old file
      try (FileChannel dir = FileChannel.open(f.toAbsolutePath().getParent(), StandardOpenOption.READ)) {
        dir.force(true);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + f + ": " + e.getMessage(), e);
    }
  }

  /**
   * The most one write or read hands the kernel at once: the JDK copies a heap buffer's remaining
   * bytes through a direct buffer of their size, which the thread then keeps for reuse, and the
   * agent's unit bounds direct memory at 16 MiB. Before 2026-12-07 a desired set of 4 MiB (an
   * admin's valid apply of large ConfigMaps), a volume's file or a request to Docker took its whole
   * size of it at once (DirectMemoryTest). 16 KiB, Docker's client's read size: each thread that
   * writes keeps at most that (a 64 KiB slice, 256 busy pod workers would have held all 16 MiB).
   */
  public static final int SLICE = 16 * 1024;

  /** Writes all of {@code data} to a blocking channel, {@link #SLICE} at a time. */
  public static void writeFully(java.nio.channels.WritableByteChannel ch, byte[] data) throws IOException {
    for (int off = 0; off < data.length; off += SLICE) {
      ByteBuffer b = ByteBuffer.wrap(data, off, Math.min(SLICE, data.length - off));
      while (b.hasRemaining()) {
        ch.write(b);
      }
    }
  }

  /** A file's content, read {@link #SLICE} at a time ({@code Files.readAllBytes} reads it through one direct buffer of its size). */
  public static byte[] readAll(Path f) throws IOException {
    try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
      long size = ch.size();
      if (size > Integer.MAX_VALUE - 8) {
        throw new IOException(f + " holds " + size + " bytes, more than an array takes");
      }
      byte[] out = new byte[(int) size];
      int read = 0;
      while (read < out.length) {
        int n = ch.read(ByteBuffer.wrap(out, read, Math.min(SLICE, out.length - read)));
        if (n < 0) {
          return java.util.Arrays.copyOf(out, read); // shorter than it was a moment ago
        }
        read += n;
      }
      return out;
    }
  }

  /**
   * A new owner-only file (0600), open for writing: created new, so never a link's target (a file
   * or link already there is an error); written through this descriptor, never opened by name again.
   */
  public static FileChannel createNew(Path f) throws IOException {
    return FileChannel.open(f, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE),
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
  }

  public static void write(Path f, String content) {
    write(f, content.getBytes(StandardCharsets.UTF_8));
  }

  /**
   * A small file's content (a key), at most {@code max} bytes. Refused when it is no regular file
   * (a FIFO held its reader for good, /dev/zero filled its heap) or is a link another user than
   * root or this process's made: root reads the service's {@code pki/secrets.key} for `sudo
   * ds-coordinator backup` and `restore`, in a directory that user writes, and until 2026-12-06 a
   * FIFO or a link to one planted there held the backup for good (helper-113). The entry is held
   * ({@link HeldDirectory#entry}: O_PATH, nothing opened for real) before anything is decided, and
   * read only through that inode: until 2026-12-06 root looked at it and then opened it by name,
   * and a FIFO swapped in between held root's command.
   */
  public static String readSmall(Path f, int max) {
    return readSmall(f, max, () -> {});
  }

  /** {@link #readSmall(Path, int)}; {@code opening} runs as the entry is about to be opened (a test's swap). */
  static String readSmall(Path f, int max, Runnable opening) {
    // not Linux (dsctl on a workstation, no /proc), where no daemon reads another user's directory; on
    // Linux with no /proc mounted this is refused (HeldDirectory says so): until 2026-12-06 it was
    // read by path, a link any user made followed and a FIFO swapped in waited on (helper-128)
    if (!System.getProperty("os.name", "").startsWith("Linux")) {
      try {
        if (!Files.isRegularFile(f)) {
          throw new IOException("it is no regular file: it must be a file of its own");
        }
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
          return new String(readUpTo(ch, max), StandardCharsets.UTF_8);
        }
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read " + f + ": " + e.getMessage(), e);
      }
    }
    try (HeldDirectory dir = HeldDirectory.open(f.toAbsolutePath().getParent())) {
      return readSmall(dir, f.getFileName().toString(), max, opening);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + f + ": " + e.getMessage(), e);
    }
  }

  /** What {@code ch} holds, at most {@code max} bytes: refused when there is more. */
  static byte[] readUpTo(FileChannel ch, int max) throws IOException {
    ByteBuffer buf = ByteBuffer.allocate(max + 1);
    while (buf.hasRemaining() && ch.read(buf) >= 0) {
      // until the end, or one byte past what may be there
    }
    if (buf.position() > max) {
      throw new IOException("it holds more than " + max + " bytes");
    }
    return java.util.Arrays.copyOf(buf.array(), buf.position());
  }

  /** {@link #readSmall(Path, int)} of the entry {@code name} of a directory held open. */
  static String readSmall(HeldDirectory dir, String name, int max, Runnable opening) throws IOException {
    opening.run();
    try (HeldDirectory.Entry entry = dir.entry(name)) {
      if (!entry.attributes().isSymbolicLink()) {
        return new String(entry.read(max), StandardCharsets.UTF_8);
      }
      Integer me = processUid();
      int maker = entry.uid();
      if (me != null && maker != me && maker != 0) {
        throw new IOException("it is a link uid " + maker + " made, not this process's uid " + me + " nor root: it could lead anywhere;"
            + " remove it");
      }
      try (HeldDirectory.Entry target = entry.target(dir)) { // the link held, its text read from it
        return new String(target.read(max), StandardCharsets.UTF_8);
      }
    }
  }

  public static String read(Path f) {
    try {
      return Files.readString(f);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + f + ": " + e.getMessage(), e);
    }
  }
}
