package io.dsfleet.agent.reconcile;

import io.dsfleet.agent.hostfs.NoFollow;
import io.dsfleet.agent.pod.PodConfigError;
import io.dsfleet.agent.pod.TemplateMark;
import io.dsfleet.agent.pod.Volumes;
import io.dsfleet.agent.runtime.OwnedContainer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The pods' directories under the agent's pods directory, on the host: made fresh for a pod's new
 * template, and removed by first moving them out of the way, to the trash, in one rename. Failures
 * are recorded in {@link Failures} and retried after their back-off, as the {@link Executor}'s.
 */
final class PodDirs {
  private static final Logger log = LoggerFactory.getLogger(PodDirs.class);
  private final Volumes volumes;
  private final Failures failures;
  private final Clock clock;
  private final Random random;
  /** The executor's record of the configs each pod's volumes were written from: a pod's removed with its directory. */
  private final Map<String, String> volumesWritten;

  PodDirs(Volumes volumes, Failures failures, Clock clock, Random random, Map<String, String> volumesWritten) {
    this.volumes = volumes;
    this.failures = failures;
    this.clock = clock;
    this.random = random;
    this.volumesWritten = volumesWritten;
  }

  /**
   * A new template is a new pod, with fresh volumes, as Kubernetes makes one: a pod directory made
   * for another template ({@link TemplateMark}) is moved to the trash and removed ({@link #remove}) before this
   * template's volumes are first written or its first container or sandbox made (the old template's
   * containers all stopped: the planner stops them before anything of a new template). Before 2026-12-06 volumes were kept by name from template to template: a
   * Secret volume that a new template made an emptyDir of the same name showed the new containers,
   * writable, a Secret their template is not given, and what old containers wrote to an emptyDir
   * (a compromised image's, say) reached the containers of the template that replaced it.
   *
   * <p>A directory marked for another template in which a container of this one runs that an agent
   * marking none made ({@code observed}, the pod's containers as listed; no digest label) is theirs:
   * an agent that marks marks before a template's first container, so only an agent that marks none
   * (one before 2026-12-06, a package rolled back) moved the pod to this template in it. It is kept
   * and marked for this template ({@link RolledBackMarks}); a stopped container of this template, or
   * one with a digest, is from an earlier time of it (A, B, A) and keeps nothing.
   */
  void freshForANewTemplate(DesiredPod pod, List<OwnedContainer> observed) {
    Path dir = pod.ctx().podDir();
    try {
      boolean needsNone = TemplateMark.needsNone(pod.template().spec());
      if (needsNone && NoFollow.lstat(dir).isEmpty()) {
        return; // nothing of an earlier template to remove, nothing of this one to mark
      }
      if (TemplateMark.another(dir, pod.hash(), pod.digest()) && !RolledBackMarks.keep(pod, dir, observed)) {
        log.info("pod {}: template {} starts with fresh volumes; removing those of the one before", pod.key(), pod.hash());
        remove(dir.getParent(), dir.getFileName().toString());
        if (NoFollow.lstat(dir).isPresent()) {
          throw new PodConfigError("FailedMount", "the volumes of the pod's template before cannot be removed or moved away: " + dir);
        }
      }
      if (!needsNone) {
        TemplateMark.mark(dir, pod.hash(), pod.digest());
      }
    } catch (IOException e) {
      throw new PodConfigError("FailedMount", "the pod's directory " + dir + ": " + e.getMessage());
    }
  }

  /**
   * Moves {@code dir} (a pod's directory, or one of its volumes) out of the way, to the pods
   * directory's {@code .trash-NAME-RANDOM} for pod directory {@code name}, whose removal is retried
   * with back-off ({@link #removeTrash}); returns where it went.
   */
  static Path toTrash(Path podsDir, String name, Path dir, Random random) throws IOException {
    Path trash = podsDir.resolve(".trash-" + name + "-" + HexFormat.of().toHexDigits(random.nextInt()));
    Files.move(dir, trash, StandardCopyOption.ATOMIC_MOVE);
    return trash;
  }

  /**
   * Unmounts and removes a pod's directory (named by the caller's listing of the agent's pods
   * directory): moved out of the way first, to {@code .trash-NAME-RANDOM}, in one rename, then
   * removed from there, its removal retried after its back-off when it fails (a mount that stays:
   * {@link #removeTrash}). An agent killed while it removes a large tree leaves trash, which the
   * next one removes, never a pod directory holding part of what its pod wrote without its template's
   * mark: before 2026-12-06 it was removed where it lay, and a pod of the same name (its next
   * template, or the pod made again) took what was left for its own. A directory the rename cannot
   * move (a disk that refuses it) stays as it is, its move retried after its back-off: until
   * 2026-12-06 it was removed where it lay, and a removal cut short there (the agent killed, a file
   * it could not remove) could take the template's mark and leave the volumes.
   */
  void remove(Path podsDir, String name) {
    Path dir = podsDir.resolve(name);
    Path trash;
    try {
      trash = toTrash(podsDir, name, dir, random);
    } catch (java.nio.file.NoSuchFileException gone) {
      volumesWritten.remove(name.replaceFirst("_", "/"));
      return;
    } catch (IOException e) {
      failed("dir/" + name, "RemoveFailed", "cannot move " + dir + " out of the way: " + e.getMessage());
      return;
    }
    volumesWritten.remove(name.replaceFirst("_", "/"));
    if (removeTrash(podsDir, trash.getFileName().toString())) {
      log.info("removed the directory of pod {}", name.replaceFirst("_", "/"));
    } else {
      log.warn("moved {} out of the way to {}; its removal is retried with back-off", dir, trash.getFileName());
    }
  }

  /** The trash directories under removal, by name: one removal of each at a time. */
  private final Set<String> removingTrash = ConcurrentHashMap.newKeySet();

  /**
   * Removes (or retries the removal of) a directory moved out of the way; true when it is gone. A
   * failure waits for its back-off; one under removal already (a pass lists the trash of a pod
   * directory as {@link #remove} removes it) is left to that removal.
   */
  boolean removeTrash(Path podsDir, String name) {
    if (!removingTrash.add(name)) {
      return false;
    }
    try {
      if (volumes.remove(podsDir.resolve(name))) {
        failures.succeeded("trash/" + name);
        return true;
      }
      failed("trash/" + name, "RemoveFailed", podsDir.resolve(name) + " still has mounts");
    } catch (IOException e) {
      failed("trash/" + name, "RemoveFailed", "cannot remove " + podsDir.resolve(name) + ": " + e.getMessage());
    } finally {
      removingTrash.remove(name);
    }
    return false;
  }

  private void failed(String key, String reason, String message) {
    failures.failed(key, reason, message, clock.instant(), log);
  }

  /**
   * Removes the volume's tree or, when that fails (what the removal must not cross: a mount, a
   * btrfs subvolume, which any container of a btrfs host can make), moves it out of the way to the
   * pods directory's trash, whose removal is retried with back-off as a pod directory's: the pod
   * starts again with a fresh volume either way, as Kubernetes' new pod would. Before, the pod
   * stayed evicted for good, and, one disk pressure eviction at a time, no other pod was evicted
   * for disk pressure again.
   */
  static void clearVolume(DesiredPod d, Path dir) throws IOException {
    try {
      NoFollow.deleteTree(dir);
    } catch (IOException e) {
      Path pod = d.ctx().podDir();
      Path trash;
      try {
        trash = PodDirs.toTrash(pod.getParent(), pod.getFileName().toString(), dir, RANDOM);
      } catch (IOException | RuntimeException m) {
        e.addSuppressed(m);
        throw e;
      }
      log.warn("pod {}: volume {} not emptied ({}): moved out of the way to {}; its removal is retried with back-off", d.key(),
          dir.getFileName(), e.getMessage(), trash.getFileName());
    }
  }

  private static final Random RANDOM = new Random();

  /**
   * The directories in the pod's volumes directory that no volume of its template names (the
   * template before made them, and the new one has not started yet: it starts with fresh volumes,
   * {@link io.dsfleet.agent.pod.TemplateMark}), on that directory's own file system (not a secret's tmpfs):
   * counted with the pod's disk emptyDirs under disk pressure, and emptied with them. Before, what a
   * volume dropped by a rollout held was no pod's, and a neighbour's volume was emptied for it.
   */
  static List<Path> leftovers(DesiredPod d) {
    if (d.ctx() == null) {
      return List.of();
    }
    Path dir = d.ctx().podDir().resolve("volumes");
    Set<String> named = new java.util.HashSet<>();
    if (d.template().spec().volumes() != null) {
      d.template().spec().volumes().forEach(v -> named.add(v.name()));
    }
    List<Path> out = new java.util.ArrayList<>();
    try (var entries = Files.list(dir)) {
      Object device = Files.getAttribute(dir, "unix:dev", java.nio.file.LinkOption.NOFOLLOW_LINKS);
      for (Path p : (Iterable<Path>) entries::iterator) {
        if (!named.contains(p.getFileName().toString()) && Files.isDirectory(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)
            && device.equals(Files.getAttribute(p, "unix:dev", java.nio.file.LinkOption.NOFOLLOW_LINKS))) {
          out.add(p);
        }
      }
    } catch (IOException | RuntimeException e) { // none yet, or gone
      return out;
    }
    return out;
  }
}
