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
    try {
      Files.createDirectories(dir);
      Integer me = processUid();
      // no /proc: not Linux, where the daemons run
      Checked seen = me != null ? refuseForeign(dir, me) : new Checked(dir.toRealPath(), false);
      Path real = seen.real();
      checked.run();
      var view = Files.getFileAttributeView(real, java.nio.file.attribute.PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS);
      var attrs = view.readAttributes();
      if (!attrs.isDirectory()) {
        throw new IOException(real + " is " + (attrs.isSymbolicLink() ? "a link" : "no directory") + " now, not the directory checked"
            + " (it was replaced meanwhile)");
      }
      var ownerOnly = PosixFilePermissions.fromString("rwx------");
      if (!attrs.permissions().equals(ownerOnly)) { // only when needed: a read-only disk is still read (a restart on it)
        view.setPermissions(ownerOnly); // fchmod of it opened with O_NOFOLLOW: a link swapped in since fails, never followed
      }
      return seen.anothers();
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
        ByteBuffer rest = ByteBuffer.wrap(content);
        while (rest.hasRemaining()) {
          ch.write(rest);
        }
        ch.force(true);
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
   * FIFO or a link to one planted there held the backup for good (helper-113).
   */
  public static String readSmall(Path f, int max) {
    try {
      var entry = Files.readAttributes(f, java.nio.file.attribute.PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
      Integer me = processUid();
      if (entry.isSymbolicLink() && me != null) {
        int maker = (Integer) Files.getAttribute(f, "unix:uid", LinkOption.NOFOLLOW_LINKS);
        if (maker != me && maker != 0) {
          throw new IOException("it is a link uid " + maker + " made, not this process's uid " + me + " nor root: it could lead anywhere;"
              + " remove it");
        }
      }
      if (!Files.isRegularFile(f)) {
        throw new IOException("it is no regular file (a FIFO, a device, a directory): it must be a file of its own");
      }
      // not followed when it was no link: one swapped in since is refused (ELOOP)
      Set<StandardOpenOption> read = Set.of(StandardOpenOption.READ);
      try (FileChannel ch = entry.isSymbolicLink() ? FileChannel.open(f, read) : FileChannel.open(f, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
        ByteBuffer buf = ByteBuffer.allocate(max + 1);
        while (buf.hasRemaining() && ch.read(buf) >= 0) {
          // until the end, or one byte past what may be there
        }
        if (buf.position() > max) {
          throw new IOException("it holds more than " + max + " bytes");
        }
        return new String(buf.array(), 0, buf.position(), StandardCharsets.UTF_8);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + f + ": " + e.getMessage(), e);
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
