package io.dsfleet.agent.reconcile;

import io.dsfleet.common.ReleasedPods;
import io.dsfleet.agent.reconcile.PodWorkers.Work;
import io.dsfleet.agent.runtime.OwnedContainer;
import io.dsfleet.agent.runtime.RuntimeUnavailableException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The removal of what no pod needs any more (the kubelet's container garbage collection and its
 * cleanup of orphaned pod directories): the stopped containers a pass's plan names, the pod
 * directories no desired pod has, and the trash (directories moved out of the way because they
 * could not be removed). A container or a piece of trash is handed out once at a time
 * ({@code collecting}), a pod directory as its pod's work (never beside that pod's worker:
 * {@link PodWork}); each is skipped while its failure's back-off holds.
 */
final class GarbageCollector {
  // its lines under the Reconciler's name, as before they moved here: a level set for that logger still covers them
  private static final Logger log = LoggerFactory.getLogger(Reconciler.class);
  private static final Pattern POD_DIR = Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?_[a-z0-9]([-a-z0-9.]*[a-z0-9])?");

  /**
   * The agent's pods directory as a pass reads it: the directories that name a pod (its own
   * records; anything else is left alone) and those it moved out of the way because they could not
   * be removed.
   */
  record PodsDir(Set<String> pods, Set<String> trash) {}

  private final Path podsDir;
  private final Executor executor;
  private final Failures failures;
  private final PodWork busy;
  private final Set<String> collecting;
  private final ReconcilerThreads threads;
  private final RuntimeWatch runtimeWatch;
  private final PodWorkers workers;
  private final Predicate<String> desired;
  private final Runnable wakeUp;

  /**
   * @param collecting the keys of the collector's work under way, the reconciler's (idle when empty)
   * @param desired whether the desired set has a pod (by key) now
   * @param wakeUp makes a full pass due now (the reconciler's)
   */
  GarbageCollector(Path podsDir, Executor executor, Failures failures, PodWork busy, Set<String> collecting, ReconcilerThreads threads,
      RuntimeWatch runtimeWatch, PodWorkers workers, Predicate<String> desired, Runnable wakeUp) {
    this.podsDir = podsDir;
    this.executor = executor;
    this.failures = failures;
    this.busy = busy;
    this.collecting = collecting;
    this.threads = threads;
    this.runtimeWatch = runtimeWatch;
    this.workers = workers;
    this.desired = desired;
    this.wakeUp = wakeUp;
  }

  /** Lists the pods directory once (a pass listed it twice, one listing for each set). */
  PodsDir listPodsDir() {
    Set<String> pods = new TreeSet<>();
    Set<String> trash = new TreeSet<>();
    try (var list = Files.list(podsDir)) {
      list.forEach(p -> {
        String n = p.getFileName().toString();
        if (n.startsWith(".trash-")) {
          trash.add(n);
        } else if (POD_DIR.matcher(n).matches() && Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
          pods.add(n);
        }
      });
    } catch (IOException e) {
      log.warn("cannot list {}: {}", podsDir, e.getMessage());
    }
    return new PodsDir(pods, trash);
  }

  /**
   * Forgets the refused removals ({@code gc/ID}) of containers no longer on the node ({@code owned}: a full list of its
   * containers), removed by hand after the agent's removal was refused: nothing of theirs is removed again, and a failure
   * kept for good made every pass of the node a full one (Reconciler's quiet passes wait for no failure to be recorded)
   * until 2026-12-06, as a refused stop's did ({@link FailedStops#forgetGone}).
   */
  static void forgetGone(Failures failures, List<OwnedContainer> owned) {
    Set<String> there = new java.util.HashSet<>();
    owned.forEach(c -> there.add("gc/" + c.id()));
    failures.forgetIf(k -> k.startsWith("gc/") && !there.contains(k));
  }

  /** Removes the stopped containers of a pass's plan, on the collector's threads. */
  void containers(List<OwnedContainer> garbage, Instant now) {
    for (OwnedContainer c : garbage) {
      // not while the pod's worker may be between creating and starting this very container
      if (busy.underWay(c.podKey()) || failures.get("gc/" + c.id()).map(f -> f.active(now)).orElse(false) || !collecting.add(c.id())) {
        continue;
      }
      threads.gc().execute(() -> {
        boolean removed = false;
        try {
          removed = executor.remove(c, false);
        } catch (RuntimeUnavailableException e) {
          runtimeWatch.unreachable(e);
        } catch (RuntimeException | StackOverflowError e) {
          log.warn("garbage collection of {}: {}", c.info().name(), e.getMessage());
        } finally {
          collecting.remove(c.id()); // the runtime's remove named the container to the view (TouchingRuntime): the next pass inspects it
        }
        if (removed) {
          // a pass looks now (an inspect of the container removed), not at the next tick: the view is
          // current for what comes next (a new desired set acted on from it rather than after a look of
          // its own; docs/benchmarks.md); after a failure the next tick retries, never a tight loop
          wakeUp.run();
        }
      });
    }
  }

  /** Removes the pod directories of a pass's plan (each as its pod's work), unless their pod is desired by then. */
  void directories(Set<String> removeDirs, Instant now) {
    for (String dir : removeDirs) {
      String key = dir.replaceFirst("_", "/");
      if (failures.get("dir/" + dir).map(f -> f.active(now)).orElse(false)) {
        continue;
      }
      // under the pod's own key: never while a pod worker prepares the same pod's volumes
      workers.dispatch(key, Work.DIRECTORY, threads.gc(), () -> {
        if (!desired.test(key)) {
          executor.dirs.remove(podsDir, dir);
        }
      });
    }
  }

  /** Removes the trash a pass found, on the collector's threads. */
  void trash(Set<String> trash, Instant now) {
    for (String t : trash) {
      if (!failures.get("trash/" + t).map(f -> f.active(now)).orElse(false) && collecting.add("trash/" + t)) {
        threads.gc().execute(() -> {
          try {
            executor.dirs.removeTrash(podsDir, t);
          } finally {
            collecting.remove("trash/" + t);
          }
        });
      }
    }
  }

  /** The node's removal: every pod directory but the released pods', and the trash, at once on this thread. */
  void removeAll(Set<String> released) {
    PodsDir left = listPodsDir();
    for (String dir : left.pods()) {
      String namespace = dir.substring(0, dir.indexOf('_'));
      String pod = dir.substring(dir.indexOf('_') + 1);
      if (!ReleasedPods.holds(released, ReleasedPods.key(namespace, pod), pod)) { // released pods run on with their volumes
        executor.dirs.remove(podsDir, dir);
      }
    }
    // and the trash, no pod's (an agent killed while it removed a directory left it): no pass of an agent removes it after this
    left.trash().forEach(trash -> executor.dirs.removeTrash(podsDir, trash));
  }
}
