package io.dsfleet.agent.hostfs;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The files that containers' processes deleted and still hold, open or mapped: their blocks stay in
 * use until the last holder lets go, and no walk of a directory finds them. Read from {@code /proc}
 * as the host's root sees it: each process's cgroup names its container (Docker's full ID, in
 * every cgroup driver's path), its descriptors ({@code fd}) and mappings ({@code map_files}) lead
 * to the files. A link's text ending in {@code (deleted)} picks the candidates without touching
 * any other file (a socket, a FUSE file that might not answer); a candidate counts only when it is
 * a regular file with no link left (a name a container chose cannot pass for one). A link whose
 * text cannot be read (a path longer than a page: ENAMETOOLONG) is a candidate too, and a link or
 * a process's directory that cannot be read is passed over alone, never the whole measurement.
 */
public final class HeldDeleted {
  private static final Pattern CONTAINER_ID = Pattern.compile("[0-9a-f]{64}");
  private static final String DELETED = " (deleted)";
  private static final int S_IFMT = 0170000;
  private static final int S_IFREG = 0100000;

  private final Path proc;

  public HeldDeleted(Path proc) {
    this.proc = proc;
  }

  /**
   * The bytes (apparent sizes) of deleted files held by the processes of each container of
   * {@code ids}, each file once however many descriptors, mappings and processes hold it. A file
   * counts when it lies on {@code device}, or, with {@code rootsToo}, on the device of its
   * process's root (the container's own file system, when its writable layer is on the disk that
   * counts). A container whose processes hold more than {@code maxEntries} descriptors and
   * mappings in all counts {@link Long#MAX_VALUE} (past measure), so that a million descriptors do
   * not make each look take seconds. A process that ends while it is read is passed over.
   */
  public Map<String, Long> bytesByContainer(Set<String> ids, Object device, boolean rootsToo, long maxEntries) throws IOException {
    Map<String, Long> bytes = new HashMap<>();
    Map<String, Long> entries = new HashMap<>();
    Set<String> seen = new HashSet<>();
    if (ids.isEmpty()) {
      return bytes;
    }
    try (DirectoryStream<Path> processes = Files.newDirectoryStream(proc, p -> isPid(p.getFileName().toString()))) {
      for (Path process : processes) {
        String id = containerOf(process, ids);
        if (id == null || bytes.getOrDefault(id, 0L) == Long.MAX_VALUE) {
          continue;
        }
        Object root = null;
        if (rootsToo) {
          try {
            root = Files.getAttribute(process.resolve("root"), "unix:dev");
          } catch (IOException | RuntimeException gone) {
            // ended, or its first thread did (the others run on): its links are read all the same
          }
        }
        for (String dir : new String[] {"fd", "map_files"}) {
          // one process's directory that cannot be read (the process ended meanwhile: ENOENT from the
          // listing itself, a DirectoryIteratorException) is that directory, never the whole measurement
          try (DirectoryStream<Path> links = Files.newDirectoryStream(process.resolve(dir))) {
            for (Path link : links) {
              long n = entries.merge(id, 1L, Long::sum);
              if (n > maxEntries) {
                bytes.put(id, Long.MAX_VALUE);
                break;
              }
              long size = heldDeleted(link, device, root, seen);
              if (size > 0) {
                bytes.merge(id, size, (a, b) -> a > Long.MAX_VALUE - b ? Long.MAX_VALUE : a + b);
              }
            }
          } catch (IOException | java.nio.file.DirectoryIteratorException gone) {
            // the process ended (its pid may be reused: what it held is given back either way)
          }
        }
      }
    }
    return bytes;
  }

  private static boolean isPid(String name) {
    if (name.isEmpty() || name.length() > 10) {
      return false;
    }
    for (int i = 0; i < name.length(); i++) {
      if (name.charAt(i) < '0' || name.charAt(i) > '9') {
        return false;
      }
    }
    return true;
  }

  /** The container of {@code ids} the process's cgroup names (the outermost: a container's own containers count for it), or null. */
  private static String containerOf(Path process, Set<String> ids) {
    String cgroup;
    try {
      cgroup = Files.readString(process.resolve("cgroup"));
    } catch (IOException | RuntimeException gone) {
      return null;
    }
    Matcher m = CONTAINER_ID.matcher(cgroup);
    while (m.find()) {
      if (ids.contains(m.group())) {
        return m.group();
      }
    }
    return null;
  }

  /** The size of the deleted regular file the link leads to, on a device that counts, the first time it is seen; else 0. */
  private static long heldDeleted(Path link, Object device, Object root, Set<String> seen) {
    try {
      if (!Files.readSymbolicLink(link).toString().endsWith(DELETED)) {
        return 0;
      }
    } catch (java.nio.file.NoSuchFileException closed) {
      return 0;
    } catch (IOException unreadable) {
      // a path longer than the kernel writes into a link's text (ENAMETOOLONG: a container makes one
      // with directories deep enough): what the link leads to decides, as for a deleted one
    }
    Map<String, Object> a;
    try {
      a = Files.readAttributes(link, "unix:dev,ino,mode,nlink,size");
    } catch (IOException closed) {
      return 0;
    }
    Object dev = a.get("dev");
    if (((Integer) a.get("mode") & S_IFMT) != S_IFREG || ((Integer) a.get("nlink")) != 0 || !(dev.equals(device) || dev.equals(root))) {
      return 0;
    }
    return seen.add(dev + ":" + a.get("ino")) ? (Long) a.get("size") : 0;
  }
}
