package io.dsfleet.agent.hostfs;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Set;

/**
 * A process's mount table ({@code /proc/PID/mountinfo}) as the device of each mount by its ID: which
 * file system a held file lies on (its handle's {@code mnt_id}) without asking that file system. The
 * text is the kernel's; a container chooses only paths and sources, which the kernel escapes
 * ({@code \040}, {@code \012}), so each line is one mount and its first three fields are numbers.
 * Read through {@link MountInfo}, as ISO-8859-1: a name that is no UTF-8 cannot make the table unreadable. An ID listed twice is
 * not known. Kept as two arrays: a container may have 100,000 mounts (the kernel's {@code mount-max}).
 */
final class MountTable {
  static final MountTable NONE = new MountTable(new int[0], new long[0], 0, Set.of());

  private final int[] ids;
  private final long[] devices;
  /** How many lines were read: the cost of reading it, counted against a pod's bound. */
  final long lines;
  /** The IDs of the mounts of {@link HostPaths#left} (a hostPath's bind, its files the host's). */
  private final Set<Integer> hostPaths;

  private MountTable(int[] ids, long[] devices, long lines, Set<Integer> hostPaths) {
    this.ids = ids;
    this.devices = devices;
    this.lines = lines;
    this.hostPaths = hostPaths;
  }

  /** The first of {@code tables} that can be read (a process whose first thread ended has none: its other threads'); else {@link #NONE}. */
  static MountTable read(Iterable<Path> tables) {
    return read(tables, HostPaths.NONE);
  }

  /** ... knowing which of its mounts bind one of {@code hostPaths} ({@link #hostPath}). */
  static MountTable read(Iterable<Path> tables, HostPaths hostPaths) {
    for (Path table : tables) {
      try {
        return read(table, hostPaths);
      } catch (IOException | RuntimeException gone) {
        // ended, or its first thread did
      }
    }
    return NONE;
  }

  static MountTable read(Path mountinfo) throws IOException {
    return read(mountinfo, HostPaths.NONE);
  }

  static MountTable read(Path mountinfo, HostPaths hostPaths) throws IOException {
    Set<Integer> binds = new java.util.HashSet<>();
    long[] packed = new long[64];
    long[] devs = new long[64];
    int n = 0;
    long lines = 0;
    try (BufferedReader r = Files.newBufferedReader(mountinfo, StandardCharsets.ISO_8859_1)) {
      for (String line = r.readLine(); line != null; line = r.readLine()) {
        lines++;
        MountInfo.Mount m = MountInfo.parse(line);
        if (m == null) {
          continue;
        }
        if (n == packed.length) {
          packed = Arrays.copyOf(packed, n * 2);
          devs = Arrays.copyOf(devs, n * 2);
        }
        packed[n] = ((long) m.id() << 32) | n; // sorted by ID, each still knowing its device's place
        devs[n] = m.dev();
        n++;
        if (hostPaths.binds(m.dev(), m.root())) {
          binds.add(m.id());
        }
      }
    }
    packed = Arrays.copyOf(packed, n);
    Arrays.sort(packed);
    int[] ids = new int[n];
    long[] devices = new long[n];
    for (int i = 0; i < n; i++) {
      ids[i] = (int) (packed[i] >> 32);
      devices[i] = devs[(int) packed[i]];
    }
    return new MountTable(ids, devices, lines, binds);
  }

  /** Whether the mount {@code id} binds one of the hostPaths the table was read for. */
  boolean hostPath(int id) {
    return hostPaths.contains(id) && device(id) != -1; // an ID listed twice is not known: its files count as before
  }

  /** The device of the mount {@code id}; -1 when the table does not list it once. */
  long device(int id) {
    int i = Arrays.binarySearch(ids, id);
    if (i < 0 || (i > 0 && ids[i - 1] == id) || (i + 1 < ids.length && ids[i + 1] == id)) {
      return -1;
    }
    return devices[i];
  }
}
