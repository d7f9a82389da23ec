package io.dsfleet.agent.hostfs;

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
 * open, no link followed. Through {@link io.dsfleet.common.LibC}, a walk of bytes takes 2-3 times as long (JNA's
 * direct mapping, faster, leaves a deleted file of libffi's held open in the agent).
 */
final class Allocated {
  /** A libc without statx (before glibc 2.28): sizes alone, as before. */
  private static volatile boolean missing;

  private Allocated() {}

  /**
   * The bytes allocated to {@code entry} of {@code dir} past its {@code size} rounded up to whole
   * blocks: 0 for a file written the ordinary way or sparse (its size counts what it could hold),
   * and 0 when they cannot be read (gone meanwhile).
   */
  static long pastSize(Fds.Fd dir, Path entry, long size) {
    if (missing) {
      return 0;
    }
    Statx s;
    try {
      s = Statx.of(dir.fd, Fds.nameZ(entry), Statx.AT_SYMLINK_NOFOLLOW | Statx.AT_NO_AUTOMOUNT, Statx.BLOCKS);
    } catch (UnsatisfiedLinkError e) {
      missing = true;
      return 0;
    }
    return s == null || !s.has(Statx.BLOCKS) ? 0 : past(s.blocks(), s.blockSize(), size);
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
}
