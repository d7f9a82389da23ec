package io.dsfleet.common;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The host's memory (MemTotal of {@code /proc/meminfo}), which an agent reports as its node's. Not
 * the JDK's OperatingSystemMXBean, which loaded about 70 classes of java.lang.management and the
 * JDK's cgroup code into every agent for this one number, and which gave the agent's own cgroup's
 * memory limit where its unit set one, not the memory its pods share (docs/agent.md, "Footprint").
 */
public final class HostMemory {
  private HostMemory() {}

  /** The host's memory in bytes; 0 where it cannot tell (as the JDK's bean on a system without it). */
  public static long total() {
    try {
      return memTotal(Files.readString(Path.of("/proc/meminfo")));
    } catch (IOException | RuntimeException e) {
      return 0;
    }
  }

  /** The MemTotal line of a {@code /proc/meminfo} in bytes (the file gives kB); 0 without one. */
  static long memTotal(String meminfo) {
    for (String line : meminfo.split("\n")) {
      if (line.startsWith("MemTotal:")) {
        String[] words = line.substring("MemTotal:".length()).trim().split("\\s+");
        return Long.parseLong(words[0]) * 1024;
      }
    }
    return 0;
  }
}
