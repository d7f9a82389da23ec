package io.dsfleet.common;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The process's file-descriptor limit, which the connection caps of both daemons are cut from. Read
 * from {@code /proc/self/limits}, not the JDK's OperatingSystemMXBean: the bean loaded about 70
 * classes of java.lang.management and the JDK's cgroup code into every agent for this one number
 * (docs/agent.md, "Footprint").
 */
public final class FileDescriptors {
  private FileDescriptors() {}

  static final long UNKNOWN = 4096;

  /** The process's limit on open files (the JVM raises the soft limit to the hard one at start); 4096 where it cannot tell. */
  public static long limit() {
    try {
      return softLimit(Files.readString(Path.of("/proc/self/limits")));
    } catch (IOException | RuntimeException e) {
      return UNKNOWN;
    }
  }

  /** The soft limit on the "Max open files" line of a {@code /proc/PID/limits}; 4096 without one. */
  static long softLimit(String limits) {
    for (String line : limits.split("\n")) {
      if (line.startsWith("Max open files")) {
        String[] words = line.substring("Max open files".length()).trim().split("\\s+");
        return words[0].equals("unlimited") ? Long.MAX_VALUE : Long.parseLong(words[0]);
      }
    }
    return UNKNOWN;
  }
}
