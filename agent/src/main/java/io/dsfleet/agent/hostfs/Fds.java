package io.dsfleet.agent.hostfs;

import static io.dsfleet.common.LibC.O_WRONLY;
import static io.dsfleet.common.LibC.O_CREAT;
import static io.dsfleet.common.LibC.O_EXCL;
import static io.dsfleet.common.LibC.O_NONBLOCK;
import static io.dsfleet.common.LibC.O_DIRECTORY;
import static io.dsfleet.common.LibC.O_NOFOLLOW;
import static io.dsfleet.common.LibC.O_CLOEXEC;
import static io.dsfleet.common.LibC.O_PATH;
import static io.dsfleet.common.LibC.ENOENT;
import static io.dsfleet.common.LibC.EEXIST;
import static io.dsfleet.common.LibC.ENOTDIR;
import static io.dsfleet.common.LibC.ELOOP;

import com.sun.jna.LastErrorException;
import io.dsfleet.common.LibC;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * Directory handles for paths a container can change: openat with O_PATH|O_NOFOLLOW at every
 * step, mkdirat on a handle, as the kubelet's subpath code does (pkg/volume/util/subpath,
 * doSafeOpen and doSafeMakeDir). O_PATH opens nothing for real: a FIFO or a device a container
 * planted is never opened (its driver never runs, it never blocks). The JDK has no mkdirat and
 * no O_PATH; these calls go to libc through JNA.
 *
 * <p>A handle ({@link Fd}) names an inode, not a path: what a container renames or links
 * afterwards does not change what it refers to. {@code /proc/self/fd/N} reaches that inode (for
 * its attributes, or for mount(8) to bind it).
 */
public final class Fds {
  /** The process's one binding of libc (common's, loaded on first use), for this package's other calls into it. */
  static LibC libc() {
    return LibC.get();
  }

  private Fds() {}

  /** An open file descriptor; close it. */
  public static final class Fd implements AutoCloseable {
    final int fd;

    Fd(int fd) {
      this.fd = fd;
    }

    /** The inode this handle holds, as a path any process of this agent (mount(8) included) can use. */
    public Path procPath() {
      return Path.of("/proc/" + ProcessHandle.current().pid() + "/fd/" + fd);
    }

    /** The attributes of the inode itself. */
    public BasicFileAttributes attributes() throws IOException {
      return Files.readAttributes(procPath(), BasicFileAttributes.class);
    }

    /** (device, inode). */
    public long[] identity() throws IOException {
      return NoFollow.identity(procPath(), true);
    }

    @Override
    public void close() {
      try {
        LibC.get().close(fd);
      } catch (LastErrorException e) {
        // nothing to do
      }
    }
  }

  /** A directory the agent trusts (its own path), opened. */
  public static Fd openDirectory(Path trusted) throws IOException {
    try {
      return new Fd(LibC.get().openat(-100 /* AT_FDCWD */, nativePath(trusted), O_PATH | O_DIRECTORY | O_CLOEXEC, 0));
    } catch (LastErrorException e) {
      throw error("open " + trusted, e);
    }
  }

  /**
   * The directory {@code name} inside {@code dir}: never through a link, never anything but a
   * directory (O_PATH|O_DIRECTORY|O_NOFOLLOW: a link or anything else is ENOTDIR, and nothing is
   * opened for real, so neither a FIFO nor a device can act on it), created with {@code mode} when
   * missing (mode set on the handle's inode, past the umask).
   *
   * @throws NoFollow.NotInsideException when it is a link or not a directory
   */
  public static Fd child(Fd dir, String name, boolean create, int mode) throws IOException {
    check(name);
    for (int i = 0; i < 2; i++) {
      try {
        return new Fd(LibC.get().openat(dir.fd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0));
      } catch (LastErrorException e) {
        if (e.getErrorCode() == ELOOP || e.getErrorCode() == ENOTDIR) {
          throw new NoFollow.NotInsideException(name + " is a symlink or not a directory");
        }
        if (e.getErrorCode() != ENOENT || !create) {
          throw error("open " + name, e);
        }
      }
      try {
        LibC.get().mkdirat(dir.fd, name, mode);
        try (Fd made = new Fd(LibC.get().openat(dir.fd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0))) {
          Files.setPosixFilePermissions(made.procPath(), AtomicWriter.perms(mode)); // the inode the handle holds; mkdir's mode went through the umask
        }
      } catch (LastErrorException e) {
        if (e.getErrorCode() != EEXIST) {
          throw error("mkdir " + name, e);
        }
      }
    }
    throw new IOException("cannot open or make " + name);
  }

  /**
   * The directory an entry of a listing names ({@code entry}: a name as the JDK listed it, its
   * bytes as they are on disk), opened O_PATH|O_DIRECTORY|O_NOFOLLOW inside {@code dir}: a link, a
   * FIFO or a device swapped in for it since it was seen is refused before anything is opened for
   * real (the JDK's own openat of a listed directory has no O_DIRECTORY: a FIFO blocked it for
   * good, a device's driver ran as root).
   *
   * @throws NoFollow.NotInsideException when it is no longer a directory
   * @throws java.nio.file.NoSuchFileException when it is gone
   */
  public static Fd listedDirectory(Fd dir, Path entry) throws IOException {
    try {
      return new Fd(LibC.get().openat(dir.fd, nameZ(entry), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0));
    } catch (LastErrorException e) {
      if (e.getErrorCode() == ELOOP || e.getErrorCode() == ENOTDIR) {
        throw new NoFollow.NotInsideException(entry + " is no longer a directory");
      }
      if (e.getErrorCode() == ENOENT) {
        throw new java.nio.file.NoSuchFileException(entry.toString());
      }
      throw error("open " + entry, e);
    }
  }

  private static final Path NOWHERE = Path.of("/dev/null");

  /**
   * A path's last name as its bytes on disk: the JDK keeps them (a name that is no UTF-8 included)
   * and gives them out only percent-encoded, in the path's URI.
   */
  static byte[] rawName(Path entry) {
    // under /dev/null, which nothing can be under: the URI's stat (for a directory's trailing slash)
    // fails at once, where a name resolved against the working directory made root stat "/NAME" (an
    // automount, a hung NFS mount there: helper-77)
    String raw = NOWHERE.resolve(entry.getFileName()).toUri().getRawPath();
    int end = raw.endsWith("/") ? raw.length() - 1 : raw.length(); // a directory's URI ends with a slash
    String last = raw.substring(raw.lastIndexOf('/', end - 1) + 1, end);
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(last.length());
    for (int i = 0; i < last.length(); i++) {
      char c = last.charAt(i);
      if (c == '%') {
        out.write(Integer.parseInt(last, i + 1, i + 3, 16));
        i += 2;
      } else {
        out.write(c); // the URI's other characters are ASCII
      }
    }
    return out.toByteArray();
  }

  /**
   * {@link #rawName}, NUL-terminated, for libc: an ASCII name as its characters (no byte past ASCII
   * decodes to one) without the URI rawName goes through, whose stat would double a walk's time.
   */
  static byte[] nameZ(Path entry) {
    String s = entry.getFileName().toString();
    byte[] z = new byte[s.length() + 1];
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == 0 || c >= 0x80) {
        byte[] raw = rawName(entry);
        return java.util.Arrays.copyOf(raw, raw.length + 1);
      }
      z[i] = (byte) c;
    }
    return z;
  }

  /**
   * A path as the bytes the JDK gives the kernel for it (each name's, {@link #rawName}),
   * NUL-terminated: a String handed to JNA is encoded in JNA's own charset ({@code jna.encoding},
   * else the platform's), and a name that is no text in it (bytes a listing gave, not UTF-8) became
   * U+FFFD on the way, another path.
   */
  static byte[] nativePath(Path p) {
    Path abs = p.toAbsolutePath(); // as the JDK resolves a relative one
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    for (Path name : abs) {
      out.write('/');
      out.writeBytes(rawName(name));
    }
    if (abs.getNameCount() == 0) {
      out.write('/');
    }
    out.write(0);
    return out.toByteArray();
  }

  /**
   * The last component of a subPath: a directory or a regular file, never a link, a FIFO or a
   * device. It is opened O_PATH|O_NOFOLLOW, which opens nothing for real (a device's driver is
   * never called, a FIFO never blocks) and holds a link as the link, so its type is known before
   * anything is done with it.
   */
  public static Fd leaf(Fd dir, String name) throws IOException {
    check(name);
    Fd fd;
    try {
      fd = new Fd(LibC.get().openat(dir.fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC, 0));
    } catch (LastErrorException e) {
      throw error("open " + name, e);
    }
    BasicFileAttributes a = fd.attributes();
    if (!a.isDirectory() && !a.isRegularFile()) {
      fd.close();
      throw new NoFollow.NotInsideException(name + (a.isSymbolicLink() ? " is a symlink" : " is neither a directory nor a regular file"));
    }
    return fd;
  }

  /** Creates an empty regular file {@code name} in {@code dir} when nothing is there (O_EXCL: never through a link). */
  public static void createFile(Fd dir, String name, int mode) throws IOException {
    check(name);
    try {
      int fd = LibC.get().openat(dir.fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, mode);
      try (Fd f = new Fd(fd)) {
        Files.setPosixFilePermissions(f.procPath(), AtomicWriter.perms(mode));
      }
    } catch (LastErrorException e) {
      if (e.getErrorCode() != EEXIST) {
        throw error("create " + name, e);
      }
      try (Fd existing = leaf(dir, name)) {
        if (!existing.attributes().isRegularFile()) {
          throw new NoFollow.NotInsideException(name + " is not a file");
        }
      }
    }
  }

  private static void check(String name) {
    if (name.isEmpty() || name.equals(".") || name.equals("..") || name.contains("/")) {
      throw new IllegalArgumentException("not a single path component: \"" + name + "\"");
    }
  }

  private static IOException error(String what, LastErrorException e) {
    return new IOException(what + ": errno " + e.getErrorCode());
  }
}
