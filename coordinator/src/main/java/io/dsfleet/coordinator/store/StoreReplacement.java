package io.dsfleet.coordinator.store;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Set;

/**
 * A data directory's store replaced by a copy (a restore's backup, a join's or a snapshot's copy),
 * in one rename: the copy is written beside it through the descriptor that created it (created
 * new, owner-only: never a link's target), synced and checked through that same descriptor, and
 * never opened by name. Root's restore and join write into the coordinator service's directory,
 * whose user may rename anything there at any time: until 2026-12-06 root reopened the copy by name
 * to sync it (and the join its partial file to copy it, the restore the store to check its MAC),
 * following a link that user swapped in (root opened whatever it named: a device) and waiting for
 * good on a FIFO, the directory's lock held (helper-119).
 */
public final class StoreReplacement {
  private StoreReplacement() {}

  /** Where the copy is written before its rename, in the data directory. */
  public static final String COPY = "dsfleet.db.restoring";

  /** Writes the copy into {@code out}, the new file's own descriptor. */
  public interface Content {
    void writeTo(FileChannel out) throws IOException;
  }

  /** Checks the copy as written (read through its descriptor, positioned anywhere); throws to keep the store as it is. */
  public interface Check {
    void check(FileChannel written) throws IOException;
  }

  /** A copy made by {@link SqliteStore#copyTo} at {@code copy} (a path this process chose: read by name). */
  public static Content from(Path copy) {
    return out -> {
      try (java.io.InputStream in = Files.newInputStream(copy)) { // to its end, not its size: a backup may come through a pipe
        in.transferTo(java.nio.channels.Channels.newOutputStream(out));
      }
    };
  }

  /**
   * Replaces the (closed) store of {@code dataDir} with {@code content}, once {@code check} passed;
   * the store's -wal and -shm are removed first (they belong to the store replaced). Whatever fails
   * leaves no copy behind.
   */
  public static void replace(Path dataDir, Content content, Check check) {
    Path file = dataDir.resolve("dsfleet.db");
    Path tmp = dataDir.resolve(COPY);
    try {
      for (String suffix : List.of("-wal", "-shm")) {
        Files.deleteIfExists(dataDir.resolve("dsfleet.db" + suffix));
      }
      Files.deleteIfExists(tmp); // what a killed one left
      try (FileChannel out = FileChannel.open(tmp, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.READ, StandardOpenOption.WRITE),
          PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")))) {
        Object made = key(tmp);
        content.writeTo(out);
        out.force(true);
        check.check(out);
        if (!made.equals(key(tmp))) { // the rename takes the name, not the file written
          throw new IOException(tmp + " was replaced while the copy was written (by the directory's owner?): the store is left as it was");
        }
      } catch (IOException | RuntimeException e) {
        try {
          Files.deleteIfExists(tmp);
        } catch (IOException gone) {
          e.addSuppressed(gone);
        }
        throw e;
      }
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      try (FileChannel dir = FileChannel.open(dataDir, StandardOpenOption.READ)) {
        dir.force(true); // the rename on disk too
      }
      OpenMark.clear(dataDir); // the copy is a whole store, no -wal to it
    } catch (IOException e) {
      throw new StoreException("replacing the store of " + dataDir + ": " + e.getMessage(), e);
    }
  }

  /** The entry's identity (device and inode), the name not followed; a link or FIFO swapped in has another. */
  private static Object key(Path entry) throws IOException {
    var attrs = Files.readAttributes(entry, java.nio.file.attribute.BasicFileAttributes.class, java.nio.file.LinkOption.NOFOLLOW_LINKS);
    return attrs.isRegularFile() ? attrs.fileKey() : entry + " (no regular file)";
  }
}
