package io.dsfleet.common;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;

/** Files only their owner may read (mode 0600, directories 0700), written atomically and synced. */
public final class OwnerOnlyFiles {
  private OwnerOnlyFiles() {}

  /** Creates the directory (and parents) when missing and makes it owner-only. */
  public static Path directory(Path dir) {
    try {
      Files.createDirectories(dir);
      Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
      return dir;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create " + dir + ": " + e.getMessage(), e);
    }
  }

  /** Replaces the file's content in one step, synced (file and directory): readers see the old or the new content, never part. */
  public static void write(Path f, byte[] content) {
    Path tmp = f.resolveSibling(f.getFileName() + ".tmp");
    try {
      Files.deleteIfExists(tmp);
      Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
      try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
        ch.write(ByteBuffer.wrap(content));
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
