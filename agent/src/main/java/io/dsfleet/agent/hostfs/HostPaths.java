package io.dsfleet.agent.hostfs;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The hostPaths bound into one container, as its processes' mount tables show their binds: each
 * its file system's device and its path within that file system (a table's root field, which a
 * process that chroots cannot change), found from the agent's own table. A file in a hostPath is
 * the host's, as Kubernetes counts it (never a pod's, deleted or not): before 2026-12-06 a deleted
 * file a process held there counted for its pod, and a pod that wrote a file in a hostPath a log
 * shipper tails, then deleted it, had the shipper evicted for it (helper-103).
 */
final class HostPaths {
  static final HostPaths NONE = new HostPaths(Set.of(), Set.of());

  /** "DEVICE ROOT", the root as a mount table spells it (ISO-8859-1, unescaped). */
  private final Set<String> keys;
  private final Set<Long> devices;

  private HostPaths(Set<String> keys, Set<Long> devices) {
    this.keys = keys;
    this.devices = devices;
  }

  /**
   * {@code paths} (the host's, no link in them followed) as the agent's mount table ({@code self},
   * its lines) places them; one it cannot place is left out.
   */
  static HostPaths of(Collection<Path> paths, List<String> self) {
    Set<String> keys = new HashSet<>();
    Set<Long> devices = new HashSet<>();
    for (Path p : paths) {
      byte[] z = Fds.nativePath(p);
      String path = new String(z, 0, z.length - 1, StandardCharsets.ISO_8859_1);
      String[] best = null;
      for (String line : self) {
        String[] f = line.split(" ");
        if (f.length > 4 && f[2].indexOf(':') > 0) {
          String point = Mounts.unescape(f[4]);
          if ((path.equals(point) || point.equals("/") || path.startsWith(point + "/"))
              && (best == null || point.length() >= Mounts.unescape(best[4]).length())) {
            best = f; // the longest mount point, the last of a stack
          }
        }
      }
      if (best == null) {
        continue;
      }
      String point = Mounts.unescape(best[4]);
      String rest = point.equals("/") ? path : path.substring(point.length());
      rest = rest.equals("/") ? "" : rest;
      String root = Mounts.unescape(best[3]);
      String within = root.equals("/") ? (rest.isEmpty() ? "/" : rest) : root + rest;
      try {
        int colon = best[2].indexOf(':');
        long dev = HeldDeleted.makedev(Long.parseLong(best[2].substring(0, colon)), Long.parseLong(best[2].substring(colon + 1)));
        keys.add(dev + " " + within);
        devices.add(dev);
      } catch (NumberFormatException e) {
        // not a mount's line
      }
    }
    return keys.isEmpty() ? NONE : new HostPaths(keys, devices);
  }

  /** Whether a mount on {@code dev}, its line's fields from the root on being {@code rest}, binds one of these. */
  boolean binds(long dev, String rest) {
    if (!devices.contains(dev)) {
      return false;
    }
    int space = rest.indexOf(' ');
    return keys.contains(dev + " " + Mounts.unescape(space < 0 ? rest : rest.substring(0, space)));
  }
}
