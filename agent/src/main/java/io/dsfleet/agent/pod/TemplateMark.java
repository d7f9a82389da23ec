package io.dsfleet.agent.pod;

import io.dsfleet.agent.hostfs.NoFollow;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * Which template a pod's directory, and so its volumes, was made for: a file {@code
 * template-HASH} in it holding the template's digest (the SHA-256 of its JSON as sent). A new
 * template is a new pod, which Kubernetes gives fresh volumes, but the pod's directory is named
 * after the pod, whose name stays from template to template: this mark tells them apart, by hash
 * and digest (a template can be made to share another's 40-bit hash). A directory without one
 * (made by an agent before 2026-12-06) counts as the current template's, and so does an empty mark
 * (an agent's before 2026-12-06) for the template of its hash: an agent's upgrade leaves every
 * pod's volumes. Only the agent writes here (volumes are directories below).
 */
public final class TemplateMark {
  private static final String PREFIX = "template-";
  /** A digest is 64 characters; a mark longer than this is no mark of ours. */
  private static final int MAX_READ = 128;

  private TemplateMark() {}

  /**
   * Whether the pod's directory exists and was made for another template than {@code hash} and
   * {@code digest}: a mark of another hash, or of this one holding another digest (an empty mark
   * of this hash, an older agent's, does not say another).
   */
  public static boolean another(Path podDir, String hash, String digest) throws IOException {
    if (NoFollow.lstat(podDir).isEmpty()) {
      return false;
    }
    boolean other;
    try (var entries = Files.list(podDir)) {
      other = entries.map(p -> p.getFileName().toString()).anyMatch(n -> n.startsWith(PREFIX) && !n.equals(PREFIX + hash));
    }
    if (other) {
      return true;
    }
    String held = read(podDir.resolve(PREFIX + hash));
    return held != null && !held.isEmpty() && !held.equals(digest);
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

  /**
   * Marks the pod's directory, made if missing, as made for template {@code hash} and {@code
   * digest}. An empty mark of the hash (an older agent's, which {@link #another} took for this
   * template) is written again with the digest.
   */
  public static void mark(Path podDir, String hash, String digest) throws IOException {
    Path dir = NoFollow.mkdirs(podDir.getParent(), podDir.getFileName(), PosixFilePermissions.fromString("rwxr-x---"));
    Path mark = dir.resolve(PREFIX + hash);
    String held = read(mark);
    if (held != null && held.isEmpty()) {
      Files.deleteIfExists(mark); // the link itself, never what it names
      held = null;
    }
    if (held == null) {
      try {
        NoFollow.createFile(mark, digest.getBytes(StandardCharsets.US_ASCII), PosixFilePermissions.fromString("rw-------"));
      } catch (FileAlreadyExistsException raced) {
        // made meanwhile: marked all the same
      }
    }
  }

  /**
   * Marks the pod's directory for template {@code hash} and {@code digest} alone: this template's
   * mark made first (one of this hash holding another digest replaced in one rename), then every
   * other template's removed (the entry itself, never what a link names). For a directory whose
   * containers are of this template already, though an agent that marks none left another's mark.
   * In that order an agent killed in between leaves both marks, never none: a directory without a
   * mark counts as any template's, and until a fix of 2026-12-06 (the others removed first) one so
   * left was kept for the template before if the rollout was undone meanwhile (helper-168).
   */
  public static void markAlone(Path podDir, String hash, String digest) throws IOException {
    markAlone(podDir, hash, digest, () -> {});
  }

  /** {@link #markAlone(Path, String, String)}; {@code marked} runs once this template's mark is made (a test's kill). */
  static void markAlone(Path podDir, String hash, String digest, Runnable marked) throws IOException {
    Path mine = podDir.resolve(PREFIX + hash);
    String held = read(mine);
    if (held != null && !held.isEmpty() && !held.equals(digest)) { // this hash's mark of another digest: no longer the directory's
      Path next = podDir.resolve(".next-" + PREFIX + hash); // no mark's name: one an agent killed here left is never read as one
      Files.deleteIfExists(next);
      NoFollow.createFile(next, digest.getBytes(StandardCharsets.US_ASCII), PosixFilePermissions.fromString("rw-------"));
      Files.move(next, mine, java.nio.file.StandardCopyOption.ATOMIC_MOVE, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    } else {
      mark(podDir, hash, digest);
    }
    marked.run();
    java.util.List<Path> others;
    try (var entries = Files.list(podDir)) {
      others = entries.filter(p -> p.getFileName().toString().startsWith(PREFIX) && !p.getFileName().toString().equals(PREFIX + hash))
          .toList();
    }
    for (Path other : others) {
      Files.deleteIfExists(other);
    }
  }

  /**
   * What the mark holds, at most {@link #MAX_READ} bytes of it, or null when there is none. Read as
   * the file itself ({@link NoFollow#readAtMost}): anything else there (a link, a directory) reads
   * as a mark of no template's, "?".
   */
  private static String read(Path mark) throws IOException {
    var a = NoFollow.lstat(mark);
    if (a.isPresent() && !a.get().isRegularFile()) {
      return "?";
    }
    byte[] b = NoFollow.readAtMost(mark, MAX_READ);
    return b == null ? null : b.length == 0 ? "" : new String(b, StandardCharsets.US_ASCII).strip();
  }
}
