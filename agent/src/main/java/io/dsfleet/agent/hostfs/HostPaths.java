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
  static final HostPaths NONE = new HostPaths(Set.of());

  /** A place on the host: a file system's device and a path within it, as a mount table's root field spells it (ISO-8859-1, unescaped). */
  private record Place(long dev, String within) {
    /** Whether this place is {@code other}, or holds it. */
    boolean holds(Place other) {
      return dev == other.dev && (within.equals("/") || other.within.equals(within) || other.within.startsWith(within + "/"));
    }
  }

  private final Set<Place> binds;

  private HostPaths(Set<Place> binds) {
    this.binds = binds;
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
    List<Place> owned = new java.util.ArrayList<>();
    for (Path o : own) {
      Place k = place(o, self);
      if (k != null) {
        owned.add(k);
      }
    }
    Place podsDir = own.isEmpty() ? null : place(own.get(0), self);
    Set<Place> binds = new HashSet<>();
    for (Path p : paths) {
      Place k = place(p, self);
      if (k != null && owned.stream().noneMatch(k::holds) && (podsDir == null || !podsDir.holds(k))) {
        binds.add(k);
      }
    }
    return binds.isEmpty() ? NONE : new HostPaths(binds);
  }

  /** Where {@code p} lies, as the agent's table places it (the longest mount point holding it, the last of a stack); null when it cannot. */
  private static Place place(Path p, List<String> self) {
    byte[] z = Fds.nativePath(p);
    String path = new String(z, 0, z.length - 1, StandardCharsets.ISO_8859_1);
    MountInfo.Mount best = null;
    for (String line : self) {
      MountInfo.Mount m = MountInfo.parse(line);
      if (m != null && (path.equals(m.point()) || m.point().equals("/") || path.startsWith(m.point() + "/"))
          && (best == null || m.point().length() >= best.point().length())) {
        best = m;
      }
    }
    if (best == null) {
      return null;
    }
    String rest = best.point().equals("/") ? path : path.substring(best.point().length());
    rest = rest.equals("/") ? "" : rest;
    return new Place(best.dev(), best.root().equals("/") ? (rest.isEmpty() ? "/" : rest) : best.root() + rest);
  }

  /** Whether a mount on {@code dev} whose root (unescaped) is {@code root} binds one of these. */
  boolean binds(long dev, String root) {
    return !binds.isEmpty() && binds.contains(new Place(dev, root));
  }
}
