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
   * its lines) places them; one it cannot place is left out, and so is one that holds any of
   * {@code own} or lies in the first of them (the pods directory, Docker's layers and anonymous
   * volumes): a file of a pod's own volume or layer reached through such a hostPath is still its
   * pod's. Before 2026-12-06 a container of a pod with hostPath {@code /} (node-exporter's,
   * cadvisor's) opened a file of its own emptyDir or layer through it, deleted it, and filled the
   * disk counted for no pod, a neighbour evicted for it (helper-106).
   */
  static HostPaths of(Collection<Path> paths, List<String> self, List<Path> own) {
    List<String[]> owned = new java.util.ArrayList<>();
    for (Path o : own) {
      String[] k = place(o, self);
      if (k != null) {
        owned.add(k);
      }
    }
    String[] podsDir = own.isEmpty() ? null : place(own.get(0), self);
    Set<String> keys = new HashSet<>();
    Set<Long> devices = new HashSet<>();
    for (Path p : paths) {
      String[] k = place(p, self);
      if (k == null || holdsOwn(k, owned, podsDir)) {
        continue;
      }
      try {
        int colon = k[0].indexOf(':');
        long dev = HeldDeleted.makedev(Long.parseLong(k[0].substring(0, colon)), Long.parseLong(k[0].substring(colon + 1)));
        keys.add(dev + " " + k[1]);
        devices.add(dev);
      } catch (NumberFormatException e) {
        // not a mount's line
      }
    }
    return keys.isEmpty() ? NONE : new HostPaths(keys, devices);
  }

  /** Whether {@code k} holds one of {@code owned} (or is one), or lies in {@code inside}: on the same device, by path within it. */
  private static boolean holdsOwn(String[] k, List<String[]> owned, String[] inside) {
    for (String[] o : owned) {
      if (o[0].equals(k[0]) && (k[1].equals("/") || o[1].equals(k[1]) || o[1].startsWith(k[1] + "/"))) {
        return true;
      }
    }
    return inside != null && inside[0].equals(k[0]) && (inside[1].equals("/") || k[1].startsWith(inside[1] + "/"));
  }

  /** The device ("MAJOR:MINOR") and the path within its file system of {@code p}, as the agent's table places it; null when it cannot. */
  private static String[] place(Path p, List<String> self) {
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
      return null;
    }
    String point = Mounts.unescape(best[4]);
    String rest = point.equals("/") ? path : path.substring(point.length());
    rest = rest.equals("/") ? "" : rest;
    String root = Mounts.unescape(best[3]);
    return new String[] {best[2], root.equals("/") ? (rest.isEmpty() ? "/" : rest) : root + rest};
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
