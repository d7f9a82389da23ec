package io.dsfleet.agent.hostfs;

import com.sun.jna.LastErrorException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;

/**
 * What a file holds on disk past its size: blocks allocated beyond its end ({@code fallocate
 * --keep-size}, which Docker's default seccomp profile lets any container call) fill the disk and
 * leave the size a walk reads at 0. Before 2026-12-06 a container preallocated its emptyDir or its
 * own file system full that way, never over its sizeLimit and never the heaviest under disk
 * pressure (Docker's {@code SizeRw} reads sizes too), and a neighbour's volume was emptied for it
 * (helper-101); a file so preallocated, held open and deleted too (its blocks read from
 * {@link LinkTarget}'s statx of it). The kubelet's {@code du}
 * counts blocks. Read with statx (no automount triggered): in a walk, in the directory it holds
 * open, no link followed. Through {@link Fds.LibC}, a walk of bytes takes 2-3 times as long (JNA's
 * direct mapping, faster, leaves a deleted file of libffi's held open in the agent).
 */
final class Allocated {
  private static final int AT_FDCWD = -100;
  private static final int AT_SYMLINK_NOFOLLOW = 0x100;
  private static final int AT_NO_AUTOMOUNT = 0x800;
  private static final int STATX_BLOCKS = 0x400;
  /** struct statx: stx_mask (u32) at 0, stx_blksize (u32) at 4, stx_blocks (u64, 512-byte units) at 48. */
  private static final int SIZE = 256;

  /** A libc without statx (before glibc 2.28): sizes alone, as before. */
  private static volatile boolean missing;

  private Allocated() {}

  /**
   * The bytes allocated to {@code entry} of {@code dir} past its {@code size} rounded up to whole
   * blocks: 0 for a file written the ordinary way or sparse (its size counts what it could hold),
   * and 0 when they cannot be read (gone meanwhile).
   */
  static long pastSize(Fds.Fd dir, Path entry, long size) {
    return pastSize(dir.fd, name(entry), AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, size);
  }

  private static long pastSize(int dirfd, byte[] path, int flags, long size) {
    if (missing) {
      return 0;
    }
    byte[] buf = new byte[SIZE];
    try {
      Fds.libc().statx(dirfd, path, flags, STATX_BLOCKS, buf);
    } catch (LastErrorException e) {
      return 0;
    } catch (UnsatisfiedLinkError e) {
      missing = true;
      return 0;
    }
    ByteBuffer b = ByteBuffer.wrap(buf).order(ByteOrder.nativeOrder());
    if ((b.getInt(0) & STATX_BLOCKS) == 0) {
      return 0;
    }
    return past(b.getLong(48), Integer.toUnsignedLong(b.getInt(4)), size);
  }

  /**
   * The bytes of {@code blocks} (512-byte units) past {@code size} rounded up to whole blocks of
   * {@code blockSize}: a held deleted file's too ({@link HeldDeleted}, from its pinned handle's statx).
   */
  static long past(long blocks, long blockSize, long size) {
    long block = Math.max(512, blockSize);
    long allocated = blocks < 0 || blocks > Long.MAX_VALUE / 512 ? Long.MAX_VALUE : blocks * 512;
    long written = size > Long.MAX_VALUE - block ? Long.MAX_VALUE : (size + block - 1) / block * block;
    return Math.max(0, allocated - written);
  }

  /**
   * The name as its bytes, NUL-terminated: an ASCII name as its characters (no byte past ASCII
   * decodes to one), any other through {@link Fds#rawName}, whose stat would double a walk's time.
   */
  private static byte[] name(Path entry) {
    String s = entry.getFileName().toString();
    byte[] z = new byte[s.length() + 1];
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == 0 || c >= 0x80) {
        byte[] raw = Fds.rawName(entry);
        return java.util.Arrays.copyOf(raw, raw.length + 1);
      }
      z[i] = (byte) c;
    }
    return z;
  }
}
