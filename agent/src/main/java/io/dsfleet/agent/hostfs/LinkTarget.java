package io.dsfleet.agent.hostfs;

import static io.dsfleet.common.LibC.O_CLOEXEC;
import static io.dsfleet.common.LibC.O_PATH;

import com.sun.jna.LastErrorException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Predicate;

/**
 * What a {@code /proc} link of a process leads to (a descriptor, a mapping, a working directory, a
 * root), looked at without asking a file system that does not count. A stat of the link reached the
 * file's own file system: a FUSE daemon that never answers (one a container runs for a mount it was
 * given or made) or an NFS or CIFS server gone away held the stat, and with it the pressure check,
 * for good. So the link is held first (O_PATH, which calls no file system's open, follows the link
 * as the kernel resolved it and pins that file: a descriptor the process closes or replaces
 * meanwhile changes nothing here); the handle's mount ({@code mnt_id} in the agent's own
 * {@code fdinfo} of it) is looked up in the process's mount table, and a file on a device that does
 * not count is left there. Only one on a device that counts, or on a mount the table does not show
 * (the process chrooted out of its reach), is stat'ed, and then with {@code AT_STATX_DONT_SYNC}:
 * FUSE and NFS answer it from what the kernel holds, and the device it says is checked again.
 */
final class LinkTarget {
  /** TYPE, MODE, NLINK, INO, SIZE, BLOCKS: no times, for which NFS and CIFS write back first. */
  private static final int MASK = Statx.TYPE | Statx.MODE | Statx.NLINK | Statx.INO | Statx.SIZE | Statx.BLOCKS;

  /** A file's device (as the JDK's {@code unix:dev}), inode, type and mode, links, size, and blocks (512 bytes) and block size. */
  record Attributes(Long dev, long ino, int mode, long nlink, long size, long blocks, long blockSize) {}

  private LinkTarget() {}

  /**
   * The attributes of what {@code link} leads to when it lies on a device {@code counts} accepts
   * and not in a hostPath ({@link MountTable#hostPath}: the host's, never a pod's); null when it
   * does not, or is gone.
   */
  static Attributes counted(Path link, MountTable mounts, Predicate<Object> counts) {
    int fd = open(link);
    if (fd < 0) {
      return null;
    }
    try {
      int mount = mountOf(fd);
      if (mounts.hostPath(mount)) {
        return null;
      }
      long dev = mounts.device(mount);
      if (dev != -1 && !counts.test(dev)) {
        return null; // another file system: never asked
      }
      Attributes a = statx(fd, MASK);
      return a == null || !counts.test(a.dev()) ? null : a;
    } finally {
      close(fd);
    }
  }

  /** The device of what {@code link} leads to (from the mount table when it shows it); null when gone. */
  static Long device(Path link, MountTable mounts) {
    int fd = open(link);
    if (fd < 0) {
      return null;
    }
    try {
      long dev = mounts.device(mountOf(fd));
      if (dev != -1) {
        return dev;
      }
      Attributes a = statx(fd, 0);
      return a == null ? null : a.dev();
    } finally {
      close(fd);
    }
  }

  private static int open(Path link) {
    try {
      return Fds.libc().openat(Statx.AT_FDCWD, link.toString(), O_PATH | O_CLOEXEC, 0);
    } catch (LastErrorException gone) {
      return -1;
    } catch (UnsatisfiedLinkError | NoClassDefFoundError e) {
      throw unreached(e);
    }
  }

  private static void close(int fd) {
    try {
      Fds.libc().close(fd);
    } catch (LastErrorException e) {
      // nothing to do
    }
  }

  /** The mount ID of the agent's own descriptor {@code fd}; -1 when not known. */
  static int mountOf(int fd) {
    String info;
    try {
      info = new String(Files.readAllBytes(Path.of("/proc/self/fdinfo/" + fd)), StandardCharsets.ISO_8859_1);
    } catch (IOException e) {
      return -1;
    }
    int at = info.indexOf("\nmnt_id:");
    if (at < 0) {
      return -1;
    }
    int start = at + "\nmnt_id:".length();
    while (start < info.length() && (info.charAt(start) == '\t' || info.charAt(start) == ' ')) {
      start++;
    }
    int end = start;
    while (end < info.length() && Character.isDigit(info.charAt(end))) {
      end++;
    }
    try {
      return Integer.parseInt(info, start, end, 10);
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  private static Attributes statx(int fd, int mask) {
    try {
      Statx s = Statx.of(fd, new byte[1], Statx.AT_EMPTY_PATH | Statx.AT_STATX_DONT_SYNC, mask);
      return s == null ? null : new Attributes(s.dev(), s.ino(), s.mode(), s.nlink(), s.size(), s.has(Statx.BLOCKS) ? s.blocks() : 0,
          s.blockSize()); // blocks not said: sizes alone
    } catch (UnsatisfiedLinkError | NoClassDefFoundError e) {
      throw unreached(e);
    }
  }

  /** libc not reached (statx: glibc before 2.28): the measurement fails, and says so, rather than count nothing. */
  private static java.io.UncheckedIOException unreached(Throwable e) {
    return new java.io.UncheckedIOException(new IOException("libc not reached: " + e, e));
  }
}
