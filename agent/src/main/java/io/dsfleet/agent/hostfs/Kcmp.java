package io.dsfleet.agent.hostfs;

/** kcmp(2) through JNA: whether two tasks share one table of descriptors. */
final class Kcmp {
  private static final int KCMP_FILES = 2;
  private static final long NR = switch (System.getProperty("os.arch")) {
    case "amd64", "x86_64" -> 312;
    case "aarch64" -> 272;
    default -> -1;
  };

  private Kcmp() {}

  static boolean available() {
    return NR > 0;
  }

  /** True only when the kernel says so: an error (a task ended, no kcmp) is "not known to share". */
  static boolean sameFiles(int pid1, int pid2) {
    if (NR < 0) {
      return false;
    }
    try {
      return Fds.libc().syscall(NR, pid1, pid2, KCMP_FILES, 0, 0) == 0;
    } catch (com.sun.jna.LastErrorException | UnsatisfiedLinkError | NoClassDefFoundError e) {
      return false;
    }
  }
}

