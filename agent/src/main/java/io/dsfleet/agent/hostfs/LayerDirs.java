package io.dsfleet.agent.hostfs;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * Where each container's writable layer lies, read from {@code /proc} as the host's root sees it:
 * a process's cgroup names its container ({@link HeldDeleted#containerOf}), its mount table the
 * overlay at its root. Disk pressure counts the inodes of that directory: Docker says what a layer
 * holds in bytes only.
 */
public final class LayerDirs {
  private final Path proc;

  public LayerDirs(Path proc) {
    this.proc = proc;
  }

  /**
   * The directory of each running container of {@code ids} that holds what it wrote to its own file
   * system (overlay's {@code upperdir}, the one layer a container writes), from the mount table of
   * one of its processes: its root, when that is an overlay; none for a container on another
   * storage driver, or one whose processes are all gone. The path is Docker's mount option, as the
   * host sees it.
   */
  public Map<String, Path> upperDirs(Set<String> ids) throws IOException {
    Map<String, Path> out = new HashMap<>();
    if (ids.isEmpty()) {
      return out;
    }
    try (DirectoryStream<Path> processes = Files.newDirectoryStream(proc, p -> HeldDeleted.isPid(p.getFileName().toString()))) {
      for (Path process : processes) {
        String id = HeldDeleted.containerOf(process, ids);
        if (id == null || out.containsKey(id)) {
          continue;
        }
        try {
          Path upper = rootUpperDir(Files.readAllLines(process.resolve("mountinfo")));
          if (upper != null) {
            out.put(id, upper);
          }
        } catch (IOException | RuntimeException gone) {
          // the process ended: another of the container's may say
        }
      }
    }
    return out;
  }

  /**
   * The {@code upperdir} of the overlay mounted at {@code /} in a mount table ({@code mountinfo}:
   * "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [TAGS] - TYPE SOURCE SUPER-OPTIONS"), or null.
   */
  static Path rootUpperDir(java.util.List<String> mountinfo) {
    Path upper = null;
    for (String line : mountinfo) {
      String[] f = line.split(" ");
      int dash = java.util.Arrays.asList(f).indexOf("-");
      if (f.length < 5 || dash < 6 || f.length < dash + 4 || !f[4].equals("/")) {
        continue;
      }
      upper = null; // the last mount at / is the root
      if (f[dash + 1].equals("overlay")) {
        for (String option : f[dash + 3].split(",")) {
          if (option.startsWith("upperdir=") && option.length() > "upperdir=/".length() && option.charAt("upperdir=".length()) == '/'
              && option.indexOf('\\') < 0) { // an escaped character (a space, \040): not a path Docker makes
            upper = Path.of(option.substring("upperdir=".length()));
          }
        }
      }
    }
    return upper;
  }
}
