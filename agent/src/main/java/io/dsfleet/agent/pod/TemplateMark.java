package io.dsfleet.agent.pod;

import io.dsfleet.agent.hostfs.NoFollow;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * Which template a pod's directory, and so its volumes, was made for: an empty file {@code
 * template-HASH} in it. A new template is a new pod, which Kubernetes gives fresh volumes, but the
 * pod's directory is named after the pod, whose name stays from template to template: this mark
 * tells them apart. A directory without one (made by an agent before 2026-12-06) counts as the
 * current template's.
 */
public final class TemplateMark {
  private static final String PREFIX = "template-";

  private TemplateMark() {}

  /** Whether the pod's directory exists and was made for another template than {@code hash}. */
  public static boolean another(Path podDir, String hash) throws IOException {
    if (NoFollow.lstat(podDir).isEmpty()) {
      return false;
    }
    try (var entries = Files.list(podDir)) {
      return entries.map(p -> p.getFileName().toString()).anyMatch(n -> n.startsWith(PREFIX) && !n.equals(PREFIX + hash));
    }
  }

  /**
   * Whether a pod of {@code spec} makes nothing in its directory: its volumes are all hostPaths
   * (the host's, never the pod's) and no mount takes a subPath (staged there). Such a pod needs
   * no directory and no mark while it has none: one pod directory and mark fewer for each pod of
   * most DaemonSets, and at a template change none to remove (at 10,000 simulated nodes the
   * directories of a rolling update's new pods took seconds of the cores the coordinator shares).
   */
  public static boolean needsNone(io.dsfleet.common.model.PodSpec spec) {
    java.util.List<io.dsfleet.common.model.Container> containers = new java.util.ArrayList<>();
    if (spec.initContainers() != null) {
      containers.addAll(spec.initContainers());
    }
    if (spec.containers() != null) {
      containers.addAll(spec.containers());
    }
    return (spec.volumes() == null || spec.volumes().stream().allMatch(v -> v.hostPath() != null))
        && containers.stream().allMatch(c -> c.volumeMounts() == null || c.volumeMounts().stream().allMatch(m -> m.subPath() == null
            || m.subPath().isEmpty()));
  }

  /** Marks the pod's directory, made if missing, as made for template {@code hash}. */
  public static void mark(Path podDir, String hash) throws IOException {
    Path dir = NoFollow.mkdirs(podDir.getParent(), podDir.getFileName(), PosixFilePermissions.fromString("rwxr-x---"));
    Path mark = dir.resolve(PREFIX + hash);
    if (NoFollow.lstat(mark).isEmpty()) {
      try {
        NoFollow.createFile(mark, new byte[0], PosixFilePermissions.fromString("rw-------"));
      } catch (FileAlreadyExistsException raced) {
        // made meanwhile: marked all the same
      }
    }
  }
}
