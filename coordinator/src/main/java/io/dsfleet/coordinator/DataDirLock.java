package io.dsfleet.coordinator;

import io.dsfleet.common.OwnerOnlyFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.Set;

/**
 * One ds-coordinator process at a time in a data directory: {@code serve} for as long as it runs,
 * {@code init}, {@code join} and {@code restore} while they write. Two serving one directory (a
 * second unit, a hand-started one on another port) would each hold the fleet in memory and write
 * the one store under the other; a restore under a serving one would be undone by its next write.
 * As Apache Ratis's ({@code in_use.lock}): an fcntl lock on a file of the directory, which the
 * kernel drops when the process ends however it ends, so a SIGKILL leaves no stale lock behind.
 * An fcntl lock is the process's, not the descriptor's (etcd uses Linux's open-file-description
 * locks for this reason): closing any descriptor of the file drops it, hence {@code HELD}.
 * {@code backup} takes none: it reads a consistent copy beside a serving coordinator.
 */
public final class DataDirLock implements AutoCloseable {
  static final String FILE = "ds-coordinator.lock";
  private static final int MAX_HOLDER_BYTES = 256;

  /**
   * The directories this process holds, by their file key, with who holds them. A second take in
   * this process is refused from here, before it opens the lock file: fcntl locks are the
   * process's, and closing any descriptor of the file (the refused one's) drops them all, so the
   * lock held by the first would be gone for every other process while this one still served.
   */
  private static final java.util.Map<Object, DataDirLock> HELD = new java.util.HashMap<>();

  private final FileChannel channel;
  private final FileLock lock;
  private final Object key;
  private final String holder;

  private DataDirLock(FileChannel channel, FileLock lock, Object key, String holder) {
    this.channel = channel;
    this.lock = lock;
    this.key = key;
    this.holder = holder;
  }

  /** The directory is held by another process (or another part of this one). */
  public static final class InUse extends IllegalStateException {
    InUse(String message) {
      super(message);
    }
  }

  /** The lock file is there but this process may not open it (another user made it). */
  public static final class NotOpened extends UncheckedIOException {
    NotOpened(String message, IOException cause) {
      super(message, cause);
    }
  }

  private static InUse inUse(Path dataDir, String holder) {
    return new InUse(dataDir + " is in use by another ds-coordinator" + (holder.isEmpty() ? "" : " (" + holder + ")")
        + ": one process at a time serves, initialises, joins or restores a data directory; stop that one first");
  }

  /** The directory's identity (device and inode): the same directory under another name (a link, a bind mount) is the same key. */
  private static Object key(Path dataDir) {
    try {
      Object key = java.nio.file.Files.readAttributes(dataDir, java.nio.file.attribute.BasicFileAttributes.class).fileKey();
      return key != null ? key : dataDir.toRealPath();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + dataDir + ": " + e.getMessage(), e);
    }
  }

  /**
   * Takes the directory's lock (made owner-only, with the directory, when missing) for {@code what}
   * this process does there, or refuses with who holds it.
   *
   * @throws InUse another process (or this one) holds it
   * @throws UncheckedIOException the lock file cannot be opened (a link there, a read-only disk)
   */
  public static DataDirLock take(Path dataDir, String what) {
    OwnerOnlyFiles.directory(dataDir);
    synchronized (HELD) {
      Object key = key(dataDir);
      DataDirLock here = HELD.get(key);
      if (here != null) { // held in this process: refused without opening the file (see HELD)
        throw inUse(dataDir, here.holder);
      }
      DataDirLock taken = take(dataDir, what, key);
      HELD.put(key, taken);
      return taken;
    }
  }

  private static DataDirLock take(Path dataDir, String what, Object key) {
    Path file = dataDir.resolve(FILE);
    FileChannel channel;
    try {
      channel = FileChannel.open(file, Set.of(StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE,
          LinkOption.NOFOLLOW_LINKS), PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    } catch (java.nio.file.AccessDeniedException e) {
      throw new NotOpened("cannot open " + file + ": it belongs to " + owner(file) + ", not to this process's user"
          + " (a command run as another user, such as root, made it); give it to this user (chown) or remove it while no"
          + " ds-coordinator runs", e);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot open " + file + ": " + e.getMessage(), e);
    }
    try {
      FileLock lock;
      try {
        lock = channel.tryLock();
      } catch (OverlappingFileLockException heldHere) {
        lock = null;
      }
      if (lock == null) {
        String holder = holder(channel);
        channel.close();
        throw inUse(dataDir, holder);
      }
      // who holds it, for the message of the next one refused (the lock, not this text, decides)
      String holder = what + ", pid " + ProcessHandle.current().pid() + ", since " + Instant.now();
      try {
        channel.truncate(0);
        channel.write(ByteBuffer.wrap((holder + "\n").getBytes(StandardCharsets.UTF_8)), 0);
      } catch (IOException noRoom) {
        // the text only names the holder for a refusal's message: a full disk does not refuse the
        // lock for it (the store, opened next, says what the disk lets it do; helper-94)
      }
      return new DataDirLock(channel, lock, key, holder);
    } catch (IOException e) {
      closeQuietly(channel);
      throw new UncheckedIOException("cannot lock " + file + ": " + e.getMessage(), e);
    } catch (RuntimeException e) {
      closeQuietly(channel);
      throw e;
    }
  }

  /** The holder's own line, printable characters only and bounded (the file is the holder's to write, not a message to trust). */
  private static String holder(FileChannel channel) throws IOException {
    ByteBuffer buf = ByteBuffer.allocate(MAX_HOLDER_BYTES);
    channel.read(buf, 0);
    String text = new String(buf.array(), 0, buf.position(), StandardCharsets.UTF_8).strip();
    return text.replaceAll("[^\\x20-\\x7e]", "?");
  }

  private static String owner(Path file) {
    try {
      return "uid " + java.nio.file.Files.getAttribute(file, "unix:uid", LinkOption.NOFOLLOW_LINKS);
    } catch (IOException | UnsupportedOperationException e) {
      return "another user";
    }
  }

  private static void closeQuietly(FileChannel channel) {
    try {
      channel.close();
    } catch (IOException ignored) {
      // already failing for a better reason
    }
  }

  /** Releases the lock (the file stays: its text is only read beside a held lock). */
  @Override
  public void close() {
    synchronized (HELD) {
      try {
        lock.release();
      } catch (IOException e) {
        // the close below drops it too
      }
      closeQuietly(channel);
      HELD.remove(key, this); // a second close leaves a later holder's entry alone
    }
  }
}
