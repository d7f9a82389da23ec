package io.dsfleet.common;

import java.lang.management.ManagementFactory;

/** The process's file-descriptor limit, which the connection caps of both daemons are cut from. */
public final class FileDescriptors {
  private FileDescriptors() {}

  /** The process's limit on open files (the JVM raises the soft limit to the hard one at start); 4096 where it cannot tell. */
  public static long limit() {
    if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.UnixOperatingSystemMXBean unix) {
      return unix.getMaxFileDescriptorCount();
    }
    return 4096;
  }
}
