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
import java.util.List;
import java.util.Set;

/** Files only their owner may read (mode 0600, directories 0700), written atomically and synced. */
public final class OwnerOnlyFiles {
  private OwnerOnlyFiles() {}

  /**
   * Creates the directory (and parents) when missing and makes it owner-only. A directory that
   * exists and belongs to another user (or is reached through a link another user owns) is
   * refused, not taken over: whoever owns it could replace the files in it (a key, the CA a
   * process trusts) whatever their mode, and a root process's chmod would not take it back.
   */
  public static Path directory(Path dir) {
    try {
      Files.createDirectories(dir);
      refuseForeign(dir);
      Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
      return dir;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create " + dir + ": " + e.getMessage(), e);
    }
  }

  private static void refuseForeign(Path dir) throws IOException {
    Integer me = processUid();
    if (me == null) {
      return; // no /proc: not Linux, where the daemons run
    }
    for (LinkOption[] how : List.of(new LinkOption[] {LinkOption.NOFOLLOW_LINKS}, new LinkOption[0])) {
      int owner = (Integer) Files.getAttribute(dir, "unix:uid", how);
      if (owner != me) {
        throw new IOException((how.length == 0 ? "the directory it leads to" : "it") + " belongs to uid " + owner + ", not to this process's uid "
            + me + ": another user could replace the files in it; give it to this user or remove it");
      }
    }
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
      try (FileChannel ch = FileChannel.open(tmp, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE),
          PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")))) {
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

  public static void write(Path f, String content) {
    write(f, content.getBytes(StandardCharsets.UTF_8));
  }

  public static String read(Path f) {
    try {
      return Files.readString(f);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + f + ": " + e.getMessage(), e);
    }
  }
}
