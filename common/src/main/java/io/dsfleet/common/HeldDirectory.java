package io.dsfleet.common;

import static io.dsfleet.common.LibC.O_DIRECTORY;
import static io.dsfleet.common.LibC.O_NOFOLLOW;
import static io.dsfleet.common.LibC.O_CLOEXEC;
import static io.dsfleet.common.LibC.O_PATH;
import static io.dsfleet.common.LibC.ENOENT;
import static io.dsfleet.common.LibC.ENOTDIR;
import static io.dsfleet.common.LibC.ELOOP;

import com.sun.jna.LastErrorException;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.UserPrincipal;
import java.util.Set;

/**
 * A directory opened once, its entries reached relative to that descriptor: each opened with
 * O_PATH|O_NOFOLLOW (openat through JNA: the JDK has no O_PATH), which names the entry's inode
 * and opens nothing for real, so neither a FIFO (which blocks its reader until a writer comes) nor
 * a device (its driver's open) is ever opened, and a link is held as the link. What is done to an
 * entry (its attributes, chown, chmod, a read of a regular file's content) is done to the inode
 * so held, through {@code /proc/self/fd/N}, as glibc's fchmodat does it: whatever is renamed in
 * over the name meanwhile is not what is acted on.
 *
 * <p>Root works so in the coordinator service's directory (`sudo ds-coordinator join`, `restore`,
 * `backup`), which that service's user writes: until 2026-12-06 Java's fchown and fchmod of an
 * entry opened it read-only without O_NONBLOCK right after root looked at it, as did the read of
 * {@code pki/secrets.key}, and a FIFO that user swapped in between held root's command for good.
 */
public final class HeldDirectory implements AutoCloseable {
  /** openat(2)'s "relative to the working directory". */
  private static final int AT_FDCWD = -100;

  private final int fd;
  private final Path path; // for messages only: nothing is reached through it

  private HeldDirectory(int fd, Path path) {
    this.fd = fd;
    this.path = path;
  }

  /** The directory {@code dir}, links on its way followed as the path names them (its caller checked them). */
  public static HeldDirectory open(Path dir) throws IOException {
    return open(dir, false);
  }

  /** {@link #open(Path)} with its last name not followed: a link there is refused. */
  public static HeldDirectory openNoFollow(Path dir) throws IOException {
    return open(dir, true);
  }

  private static HeldDirectory open(Path dir, boolean noFollow) throws IOException {
    try {
      return new HeldDirectory(LibC.get().openat(AT_FDCWD, nativePath(dir), O_PATH | O_DIRECTORY | O_CLOEXEC | (noFollow ? O_NOFOLLOW : 0), 0), dir);
    } catch (LastErrorException e) {
      throw error(dir, null, e);
    }
  }

  /** Where this directory was opened, for messages. */
  public Path path() {
    return path;
  }

  /** This directory's inode, as a path the process can use (the held inode, whatever its name is now). */
  public Path procPath() {
    return procPath(fd);
  }

  /** This directory's own attributes. */
  public PosixFileAttributes attributes() throws IOException {
    try {
      return Files.readAttributes(procPath(), PosixFileAttributes.class);
    } catch (NoSuchFileException e) {
      throw noProc(e);
    }
  }

  /**
   * The subdirectory {@code name}, opened relative to this one with no link followed and nothing
   * but a directory opened.
   *
   * @throws NoSuchFileException there is none
   * @throws NotADirectory it is a link, or no directory
   */
  public HeldDirectory subdirectory(String name) throws IOException {
    check(name);
    try {
      return new HeldDirectory(LibC.get().openat(fd, z(name), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0), path.resolve(name));
    } catch (LastErrorException e) {
      throw error(path.resolve(name), this, e);
    }
  }

  /**
   * The entry {@code name}, whatever it is (a link held as the link), opened relative to this
   * directory without opening it for real.
   *
   * @throws NoSuchFileException there is none
   */
  public Entry entry(String name) throws IOException {
    check(name);
    try {
      return new Entry(LibC.get().openat(fd, z(name), O_PATH | O_NOFOLLOW | O_CLOEXEC, 0), path.resolve(name));
    } catch (LastErrorException e) {
      throw error(path.resolve(name), this, e);
    }
  }

  /** A name of this directory's own: no separator, not "." or "..". */
  private static void check(String name) {
    if (name.isEmpty() || name.contains("/") || name.contains("\0") || name.equals(".") || name.equals("..")) {
      throw new IllegalArgumentException("not a name in a directory: \"" + name + "\"");
    }
  }

  @Override
  public void close() {
    closeFd(fd);
  }

  /** An entry's inode, held (O_PATH): never opened for real but as a regular file, by {@link #read}. */
  public static final class Entry implements AutoCloseable {
    private final int fd;
    private final Path path;
    private final PosixFileAttributes attributes;

    private Entry(int fd, Path path) throws IOException {
      this.fd = fd;
      this.path = path;
      try {
        // stat through /proc of an O_PATH descriptor: of the inode held, a link's own when it is one
        this.attributes = Files.readAttributes(procPath(fd), PosixFileAttributes.class);
      } catch (NoSuchFileException e) {
        closeFd(fd);
        throw noProc(e);
      } catch (IOException | RuntimeException e) {
        closeFd(fd);
        throw e;
      }
    }

    /** The entry's path, as its directory was named: for messages only. */
    public Path path() {
      return path;
    }

    /** The held inode's attributes, as they were when it was opened (a link's own, for a link). */
    public PosixFileAttributes attributes() {
      return attributes;
    }

    /** The uid of the held inode's owner (a link's maker, for a link). */
    public int uid() throws IOException {
      return (Integer) Files.getAttribute(procPath(fd), "unix:uid");
    }

    /** A regular file or a directory (no link, FIFO, socket or device). */
    public boolean isFileOrDirectory() {
      return attributes.isRegularFile() || attributes.isDirectory();
    }

    /**
     * Gives the held inode to {@code owner} and {@code group} (chown of the inode itself: its name is not looked up again).
     *
     * @throws IOException it is no file nor directory, or a file with more than one name (a hard link)
     */
    public void setOwner(UserPrincipal owner, GroupPrincipal group) throws IOException {
      var view = Files.getFileAttributeView(fileOrDirectory(), java.nio.file.attribute.PosixFileAttributeView.class);
      view.setOwner(owner);
      view.setGroup(group);
    }

    /**
     * chmod of the held inode.
     *
     * @throws IOException it is no file nor directory, or a file with more than one name (a hard link)
     */
    public void setPermissions(Set<PosixFilePermission> mode) throws IOException {
      Files.setPosixFilePermissions(fileOrDirectory(), mode);
    }

    private Path fileOrDirectory() throws IOException {
      if (!isFileOrDirectory()) { // through /proc a link's descriptor is the link's own (chmod EOPNOTSUPP, chown lchown's): nothing of root's to do
        throw new IOException(path + " is " + kind(attributes) + ", not a file or directory: left as it is");
      }
      return ownFile();
    }

    /**
     * The held inode's path, once it is known to have this one name: a regular file with more is
     * a hard link, maybe of a file outside this directory (the directory's owner may link a file of
     * root's there where fs.protected_hardlinks is 0), which root would chown, chmod or read as the
     * entry. Until 2026-12-06 root gave such a link's /etc/shadow to the service's user, or made
     * its /etc/passwd 0600.
     */
    private Path ownFile() throws IOException {
      Path p = procPath(fd);
      if (attributes.isRegularFile() || attributes.isSymbolicLink()) { // a directory has one name whatever its count
        int names = (Integer) Files.getAttribute(p, "unix:nlink"); // a link's own (stat of /proc's fd stops at it)
        if (names > 1) { // none: its name went since it was held, and no other leads to it
          throw new IOException(path + " is a hard link, " + (attributes.isSymbolicLink() ? "a link" : "a file") + " with " + names
              + " names (one may be outside this directory): left as it is; it must be a file of its own");
        }
      }
      return p;
    }

    /**
     * What a link held here names, resolved from {@code dir} (the link's own directory) and opened
     * as {@link HeldDirectory#entry} opens (O_PATH, so a FIFO or device it names is not opened),
     * links on its way followed: for a link whose maker its caller trusts. The link's text is read
     * from the link held, never from its name again. A link with more than one name is refused: its
     * maker (root, say) made it elsewhere, for there, and another user may have linked it here
     * where fs.protected_hardlinks is 0 (until 2026-12-06 it was followed; helper-128).
     */
    public Entry target(HeldDirectory dir) throws IOException {
      if (!attributes.isSymbolicLink()) {
        throw new IllegalStateException(path + " is no link");
      }
      ownFile();
      byte[] buf = new byte[4097];
      long n;
      try {
        n = LibC.get().readlinkat(fd, new byte[] {0}, buf, buf.length);
      } catch (LastErrorException e) {
        throw error(path, null, e);
      }
      if (n >= buf.length) {
        throw new IOException(path + ": a link's text of more than 4096 bytes");
      }
      byte[] text = java.util.Arrays.copyOf(buf, (int) n + 1); // NUL-terminated
      try {
        return new Entry(LibC.get().openat(dir.fd, text, O_PATH | O_CLOEXEC, 0), path);
      } catch (LastErrorException e) {
        throw error(path, null, e);
      }
    }

    /**
     * The content of the held regular file, at most {@code max} bytes: it is opened for real only
     * now, through the inode held, so a FIFO or a link renamed over its name meanwhile is never read.
     *
     * @throws IOException it is no regular file, is a hard link ({@link #ownFile}), or holds more than {@code max} bytes
     */
    public byte[] read(int max) throws IOException {
      if (!attributes.isRegularFile()) {
        throw new IOException("it is " + kind(attributes) + ": it must be a file of its own");
      }
      try (FileChannel ch = FileChannel.open(ownFile(), StandardOpenOption.READ)) {
        return OwnerOnlyFiles.readUpTo(ch, max);
      }
    }

    @Override
    public void close() {
      closeFd(fd);
    }
  }

  /** The entry was a link or no directory where a directory was wanted (ENOTDIR, ELOOP). */
  public static final class NotADirectory extends IOException {
    NotADirectory(String message) {
      super(message);
    }
  }

  /** What a file is, in words, for a message: "a link", "a FIFO", ... */
  public static String kind(PosixFileAttributes a) {
    if (a.isSymbolicLink()) {
      return "a link";
    }
    if (a.isDirectory()) {
      return "a directory";
    }
    if (a.isRegularFile()) {
      return "a regular file";
    }
    return "no regular file (a FIFO, a socket or a device)";
  }

  private static IOException error(Path p, HeldDirectory in, LastErrorException e) {
    int code = e.getErrorCode();
    if (code == ENOENT) {
      return new NoSuchFileException(p.toString());
    }
    if (code == ENOTDIR || code == ELOOP) {
      String what = "not a directory";
      if (in != null) {
        try (Entry seen = in.entry(p.getFileName().toString())) {
          what = kind(seen.attributes());
        } catch (IOException | RuntimeException gone) {
          // the message says less
        }
      }
      return new NotADirectory(p + " is " + what + ", not a directory of its own");
    }
    return new IOException("cannot open " + p + ": " + e.getMessage());
  }

  /**
   * The descriptor's inode as a path of this process's own (nothing here hands it to another).
   * /proc/self, which the kernel resolves in /proc's own PID namespace: until 2026-12-06 it was
   * /proc/PID, and where /proc is a parent namespace's (`unshare --pid --fork` without
   * `--mount-proc`, a container given the host's /proc) PID named another process there, whose
   * descriptor root then chowned, chmodded or read (helper-128).
   */
  private static Path procPath(int fd) {
    return Path.of("/proc/self/fd/" + fd);
  }

  /** A held descriptor not found in /proc: when there is no /proc mounted, an error that says so. */
  private static IOException noProc(NoSuchFileException e) {
    if (Files.isDirectory(Path.of("/proc/self/fd"))) {
      return e;
    }
    return new IOException("no /proc here (" + e.getFile() + "): what is held of a directory another user writes is reached"
        + " only through /proc/self/fd; mount /proc", e);
  }

  private static void closeFd(int fd) {
    try {
      LibC.get().close(fd);
    } catch (LastErrorException e) {
      // nothing to do
    }
  }

  /** A name, NUL-terminated, in the encoding the JDK gives the kernel names in. */
  private static byte[] z(String name) {
    byte[] b = name.getBytes(NAMES);
    return java.util.Arrays.copyOf(b, b.length + 1);
  }

  private static final java.nio.charset.Charset NAMES = names();

  private static java.nio.charset.Charset names() {
    try {
      return java.nio.charset.Charset.forName(System.getProperty("sun.jnu.encoding", "UTF-8"));
    } catch (IllegalArgumentException e) {
      return java.nio.charset.StandardCharsets.UTF_8;
    }
  }

  /** A path, NUL-terminated, as the JDK gives it to the kernel. */
  private static byte[] nativePath(Path p) {
    return z(p.toAbsolutePath().toString());
  }
}
