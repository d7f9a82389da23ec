package io.dsfleet.common;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;

/**
 * The C library calls the JDK has no form of (descriptor-relative opens, a link's text through
 * its descriptor, statx, statvfs by bytes, syscall): one binding for a process, loaded on first
 * use ({@link #get}). Root's opens in the coordinator service's directory ({@link HeldDirectory})
 * and the agent's walks of pod volumes (its hostfs package) both go through it; a binding of its
 * own each loaded JNA's proxy and method tables twice in the agent.
 */
public interface LibC extends Library {
  /** open(2) flags and errno values of Linux on x86-64 and arm64, for the callers of this binding. */
  int O_WRONLY = 01;
  int O_CREAT = 0100;
  int O_EXCL = 0200;
  int O_NONBLOCK = 04000;
  int O_DIRECTORY = 0200000;
  int O_NOFOLLOW = 0400000;
  int O_CLOEXEC = 02000000;
  int O_PATH = 010000000;
  int ENOENT = 2;
  int EEXIST = 17;
  int ENOTDIR = 20;
  int ELOOP = 40;

  int openat(int dirfd, String path, int flags, int mode) throws LastErrorException;

  /** The same, the name as its bytes (NUL-terminated): a name that is no text in the JVM's encoding reaches the kernel as it is. */
  int openat(int dirfd, byte[] path, int flags, int mode) throws LastErrorException;

  int mkdirat(int dirfd, String path, int mode) throws LastErrorException;

  int close(int fd) throws LastErrorException;

  /** A link's own text, through a descriptor of the link itself (O_PATH|O_NOFOLLOW) and an empty path. */
  long readlinkat(int dirfd, byte[] path, byte[] buf, long size) throws LastErrorException;

  /** A file system's inodes, the path as its bytes. */
  int statvfs(byte[] path, com.sun.jna.Pointer buf) throws LastErrorException;

  /** A file's attributes, its path as NUL-terminated bytes (glibc 2.28), which no attribute view of the JDK gives all of. */
  int statx(int dirfd, byte[] path, int flags, int mask, byte[] buf) throws LastErrorException;

  /** A system call libc has no function for. */
  long syscall(long number, long a1, long a2, long a3, long a4, long a5) throws LastErrorException;

  /** The process's binding. */
  static LibC get() {
    return Holder.C;
  }

  /**
   * Loaded on first use. JNA's search path for libraries is given before JNA first loads one: without
   * it JNA ran {@code /sbin/ldconfig -p} at every start to learn the directories the dynamic linker
   * knows (a process, the JDK's process classes and a reaper thread in every agent, for a path
   * libc's loading does not need: JNA 5 loads "c" on Linux by opening the process itself).
   * The path given is JNA's own default without what ldconfig added; one set by a
   * {@code -Djna.platform.library.path} wins.
   */
  final class Holder {
    private Holder() {}

    static final String SEARCH_PATH = "jna.platform.library.path";

    static final LibC C = load();

    private static LibC load() {
      if (System.getProperty(SEARCH_PATH) == null) {
        String multiArch = (System.getProperty("os.arch").equals("aarch64") ? "aarch64" : "x86_64") + "-linux-gnu";
        System.setProperty(SEARCH_PATH, String.join(java.io.File.pathSeparator,
            "/usr/lib/" + multiArch, "/lib/" + multiArch, "/usr/lib64", "/lib64", "/usr/lib", "/lib"));
      }
      return Native.load("c", LibC.class);
    }
  }
}
