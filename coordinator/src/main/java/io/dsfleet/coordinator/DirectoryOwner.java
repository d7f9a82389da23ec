package io.dsfleet.coordinator;

import io.dsfleet.common.HeldDirectory;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;

/**
 * A directory root writes into on behalf of the coordinator's data directory's owner, opened once
 * and worked on through that descriptor: every entry is reached relative to it with no link
 * followed (Linux's {@link SecureDirectoryStream}: openat with O_NOFOLLOW, renameat; and {@link
 * HeldDirectory}'s O_PATH handles, which open no FIFO or device, for subdirectories and the entries
 * given), and what root wrote is given to the owner.
 *
 * <p>The shipped unit (DynamicUser=) owns its directory as the service's own user, and an operator
 * runs `sudo ds-coordinator restore` and `join` there as root: before 2026-12-06 the store and keys
 * they wrote stayed root's (0600) and the coordinator could not open them, since systemd gives a
 * state directory's tree to the unit's user only when the directory itself is not the user's yet
 * (helper-107). Until 2026-12-06 root then wrote and chowned by path: the directory's owner could
 * swap {@code pki} for a link while a join waited for the leader, and root wrote the CA and its key
 * into the directory the link named and gave them, and that directory's own {@code ca.crt} and
 * {@code ca.key}, to the service's user (helper-113).
 */
final class DirectoryOwner implements AutoCloseable {
  private static final LinkOption NOFOLLOW = LinkOption.NOFOLLOW_LINKS;

  private final HeldDirectory held; // what entries are opened relative to, never for real but as files (HeldDirectory)
  private final SecureDirectoryStream<Path> dir; // the same directory, opened through held's descriptor: writes, renames, removals
  private final Path path; // for messages only: nothing is reached through it

  /** A test's hook: runs with an entry's name as this directory is about to open it (a swap at that moment). */
  private final Consumer<String> opening;

  private DirectoryOwner(HeldDirectory held, Path path, Consumer<String> opening) throws IOException {
    this.held = held;
    this.path = path;
    this.opening = opening;
    DirectoryStream<Path> stream;
    try {
      stream = Files.newDirectoryStream(held.procPath()); // the inode held, not a path looked up again
    } catch (IOException | RuntimeException e) {
      held.close();
      throw e;
    }
    if (!(stream instanceof SecureDirectoryStream<Path> secure)) {
      stream.close();
      held.close();
      throw new IOException("cannot open " + path + " without following links on this system (no SecureDirectoryStream)");
    }
    this.dir = secure;
  }

  /** The store's files, as restore and join leave them (the directory's lock: {@link CoordinatorMain#locked}). */
  static final List<String> STORE = List.of("dsfleet.db", "dsfleet.db-wal", "dsfleet.db-shm");

  /** Opens {@code dir} (which its caller checked: {@code OwnerOnlyFiles.directory}); a link to it is followed, as the path names it. */
  static DirectoryOwner open(Path dir) throws IOException {
    return open(dir, name -> {});
  }

  /** {@link #open(Path)}; {@code opening} runs with each entry's name as it is about to be opened, here and in subdirectories (a test's swap). */
  static DirectoryOwner open(Path dir, Consumer<String> opening) throws IOException {
    return new DirectoryOwner(HeldDirectory.open(dir), dir, opening);
  }

  /**
   * The subdirectory {@code name}, opened relative to this one with no link followed, nothing but
   * a directory opened (O_PATH|O_DIRECTORY|O_NOFOLLOW: until 2026-12-06 the JDK's open of it,
   * right after root looked at it, had no O_DIRECTORY nor O_NONBLOCK, and a FIFO swapped in
   * between held root's join); null when there is none.
   *
   * @throws IOException {@code name} is a link or no directory
   */
  DirectoryOwner subdirectory(String name) throws IOException {
    opening.accept(name);
    HeldDirectory sub;
    try {
      sub = held.subdirectory(name);
    } catch (NoSuchFileException e) {
      return null;
    } catch (HeldDirectory.NotADirectory e) {
      throw new IOException(e.getMessage() + ": it must be a directory of its own (a link there could lead anywhere, and root would"
          + " write there); remove it", e);
    }
    return new DirectoryOwner(sub, path.resolve(name), opening);
  }

  /** Makes the subdirectory {@code name} (0700) and opens it; one already there (a link too) is an error. */
  DirectoryOwner makeSubdirectory(String name) throws IOException {
    // mkdir by path: this directory's own path was checked, and mkdir follows no link at its last name
    try {
      Files.createDirectory(path.resolve(name), PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    } catch (java.nio.file.FileAlreadyExistsException e) {
      throw new IOException(path.resolve(name) + " appeared while this ran (none was there when it began): remove it, and try again", e);
    }
    DirectoryOwner made = subdirectory(name);
    if (made == null) {
      throw new NoSuchFileException(path.resolve(name).toString(), null, "removed as it was made");
    }
    return made;
  }

  /**
   * Replaces the entry {@code name}'s content in one step (owner-only, synced): written to a new
   * file beside it (created here, never a link's target), then renamed over it. One that fails (a
   * full disk) leaves no part behind: until 2026-12-06 root's partial {@code ca.key.tmp} stayed in
   * the service's pki/ (helper-119).
   */
  void write(String name, byte[] content) throws IOException {
    Path tmp = Path.of(name + ".tmp");
    try {
      dir.deleteFile(tmp);
    } catch (NoSuchFileException gone) {
      // nothing left by an earlier try
    }
    try {
      replace(tmp, name, content);
    } catch (IOException | RuntimeException e) {
      try {
        dir.deleteFile(tmp);
      } catch (IOException gone) {
        // none made, or renamed already
      }
      throw e;
    }
  }

  private void replace(Path tmp, String name, byte[] content) throws IOException {
    try (FileChannel ch = (FileChannel) dir.newByteChannel(tmp, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE, NOFOLLOW),
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")))) {
      ByteBuffer rest = ByteBuffer.wrap(content);
      while (rest.hasRemaining()) {
        ch.write(rest);
      }
      ch.force(true);
    }
    dir.move(tmp, dir, Path.of(name));
    try (FileChannel self = (FileChannel) dir.newByteChannel(Path.of("."), Set.of(StandardOpenOption.READ))) {
      self.force(true); // the rename on disk too
    }
  }

  /** Removes the entry {@code name} (a file, or an empty directory); none is no error. */
  void delete(String name) throws IOException {
    try {
      if (dir.getFileAttributeView(Path.of(name), PosixFileAttributeView.class, NOFOLLOW).readAttributes().isDirectory()) {
        dir.deleteDirectory(Path.of(name));
      } else {
        dir.deleteFile(Path.of(name));
      }
    } catch (NoSuchFileException gone) {
      // already gone
    }
  }

  /** This directory's own owner and group. */
  PosixFileAttributes attributes() throws IOException {
    return dir.getFileAttributeView(PosixFileAttributeView.class).readAttributes();
  }

  /**
   * Gives this directory itself and each of its entries {@code names} that is a file or directory
   * of another user to {@code owner}'s owner and group: only root writes files of another uid than
   * the directory's (anyone else is refused another's directory). An entry that is a link (or a
   * FIFO, a device) is left as it is: root made none; a file with more than one name (a hard link
   * of a file outside, maybe root's) is refused, naming it ({@link HeldDirectory.Entry#setOwner}). Each entry is held (O_PATH, opened for real
   * never) and what is given is the inode held: until 2026-12-06 root looked at the entry, then
   * opened it to fchown it, read-only without O_NONBLOCK, and a FIFO the directory's owner swapped
   * in between held root's command.
   */
  void giveTo(PosixFileAttributes owner, List<String> names) throws IOException {
    give(dir.getFileAttributeView(PosixFileAttributeView.class), owner);
    for (String name : names) {
      opening.accept(name);
      try (HeldDirectory.Entry entry = held.entry(name)) {
        if (entry.isFileOrDirectory() && !entry.attributes().owner().equals(owner.owner())) {
          entry.setOwner(owner.owner(), owner.group());
        }
      } catch (NoSuchFileException gone) {
        // none to give
      }
    }
  }

  private static void give(PosixFileAttributeView view, PosixFileAttributes owner) throws IOException {
    if (!view.readAttributes().owner().equals(owner.owner())) {
      view.setOwner(owner.owner());
      view.setGroup(owner.group());
    }
  }

  /** Makes this directory owner-only (0700) where it is not (through its descriptor). */
  void ownerOnly() throws IOException {
    PosixFileAttributeView self = dir.getFileAttributeView(PosixFileAttributeView.class);
    var mode = PosixFilePermissions.fromString("rwx------");
    if (!self.readAttributes().permissions().equals(mode)) {
      self.setPermissions(mode);
    }
  }

  @Override
  public void close() throws IOException {
    try {
      dir.close();
    } finally {
      held.close();
    }
  }
}
