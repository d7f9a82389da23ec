package io.dsfleet.agent.hostfs;

import com.sun.jna.LastErrorException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * One statx(2) call through the agent's libc binding ({@link Fds#libc}, glibc 2.28), and the
 * fields of the kernel's {@code struct statx} (the same on every architecture) this package reads:
 * a file's blocks ({@link Allocated}), which no attribute view of the JDK gives, and a held file's
 * attributes through a handle without asking its file system ({@link LinkTarget}).
 */
final class Statx {
  static final int AT_FDCWD = -100;
  static final int AT_SYMLINK_NOFOLLOW = 0x100;
  static final int AT_NO_AUTOMOUNT = 0x800;
  static final int AT_EMPTY_PATH = 0x1000;
  static final int AT_STATX_DONT_SYNC = 0x4000;
  static final int TYPE = 0x1;
  static final int MODE = 0x2;
  static final int NLINK = 0x4;
  static final int INO = 0x100;
  static final int SIZE = 0x200;
  static final int BLOCKS = 0x400;

  private final ByteBuffer b;

  private Statx(ByteBuffer b) {
    this.b = b;
  }

  /**
   * {@code path} (NUL-terminated bytes) relative to {@code dirfd}; null when the call fails (the
   * file gone, an errno).
   *
   * @throws UnsatisfiedLinkError when libc has no statx
   */
  static Statx of(int dirfd, byte[] path, int flags, int mask) {
    byte[] raw = new byte[256];
    try {
      Fds.libc().statx(dirfd, path, flags, mask, raw);
    } catch (LastErrorException e) {
      return null;
    }
    return new Statx(ByteBuffer.wrap(raw).order(ByteOrder.nativeOrder()));
  }

  /** Whether the kernel filled {@code field} (one of the masks above). */
  boolean has(int field) {
    return (b.getInt(0) & field) != 0;
  }

  long blockSize() {
    return Integer.toUnsignedLong(b.getInt(4));
  }

  long nlink() {
    return Integer.toUnsignedLong(b.getInt(16));
  }

  int mode() {
    return b.getShort(28) & 0xffff;
  }

  long ino() {
    return b.getLong(32);
  }

  long size() {
    return b.getLong(40);
  }

  /** In 512-byte units. */
  long blocks() {
    return b.getLong(48);
  }

  /** The device, as the JDK's {@code unix:dev} gives it. */
  long dev() {
    return MountInfo.makedev(Integer.toUnsignedLong(b.getInt(136)), Integer.toUnsignedLong(b.getInt(140)));
  }
}
