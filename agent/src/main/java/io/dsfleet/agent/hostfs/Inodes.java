package io.dsfleet.agent.hostfs;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import java.io.IOException;
import java.nio.file.Path;

/**
 * A file system's free and total inodes ({@code statvfs}'s {@code f_ffree} and {@code f_files}),
 * which the JDK's file stores do not give: libc's {@code statvfs} through JNA ({@link Fds#libc}),
 * no process started for it.
 */
public final class Inodes {
  /** glibc's {@code struct statvfs} on 64-bit Linux (x86-64, arm64): {@code f_files} and {@code f_ffree} after five longs. */
  private static final int SIZE = 112;
  private static final int F_FILES = 40;
  private static final int F_FFREE = 48;
  private static final boolean SUPPORTED = System.getProperty("os.name").equals("Linux")
      && (System.getProperty("os.arch").equals("amd64") || System.getProperty("os.arch").equals("aarch64"));

  private Inodes() {}

  /**
   * The free and total inodes of {@code dir}'s file system; 0 and 0 for one without a fixed number
   * (btrfs).
   *
   * @throws IOException when they cannot be read (the call failed; a platform whose layout of the
   *     answer is not known here)
   */
  public static long[] of(Path dir) throws IOException {
    if (!SUPPORTED) {
      throw new IOException("inodes are read on 64-bit Linux (x86-64, arm64) only, not " + System.getProperty("os.arch"));
    }
    try (Memory buf = new Memory(SIZE)) {
      Fds.libc().statvfs(Fds.nativePath(dir), buf); // the bytes the JDK's own calls would give
      return new long[] {buf.getLong(F_FFREE), buf.getLong(F_FILES)};
    } catch (LastErrorException e) {
      throw new IOException("statvfs " + dir + ": errno " + e.getErrorCode(), e);
    } catch (UnsatisfiedLinkError | NoClassDefFoundError e) {
      throw new IOException("statvfs " + dir + ": libc not reached: " + e, e);
    }
  }
}
