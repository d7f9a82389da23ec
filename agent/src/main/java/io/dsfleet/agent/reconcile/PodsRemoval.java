package io.dsfleet.agent.reconcile;

import io.dsfleet.common.ReleasedPods;
import io.dsfleet.agent.runtime.OwnedContainer;
import io.dsfleet.common.DaemonThreads;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.stream.Collectors;

/**
 * The stop and removal of every pod of a node that leaves the fleet ({@link Reconciler#removeAll},
 * which first makes sure no pass plans anything more). Work handed out before is not waited for
 * ahead of the stops, which would spend the pods' grace on it: a pod being torn down is left to its
 * teardown; a container a worker is stopping is stopped once (the executor's stops of one
 * container wait for the one under way); a worker stops at its next step, its pod no longer wanted
 * (a container it creates meanwhile it removes itself, never started). Once the stops end, the
 * removal waits for that work to end too, looks once more, stops what still runs, and removes every
 * container. Its waits are bounded by {@code until} ({@link System#nanoTime}), those for stops under
 * way by {@link #SLACK} past it.
 */
final class PodsRemoval {
  /** How long past its deadline the removal still waits for stops under way before it removes their containers. */
  static final Duration SLACK = Duration.ofSeconds(15);

  private final Executor executor;
  private final Supplier<List<OwnedContainer>> owned;
  private final PodWork busy;
  private final Set<String> released;
  private final Consumer<String> progress;
  private final long until;
  private final long hardEnd;

  /**
   * @param owned lists the node's containers now (those the agent recognises as its own)
   * @param released pods left running, unmanaged: never touched
   */
  PodsRemoval(Executor executor, Supplier<List<OwnedContainer>> owned, PodWork busy, Set<String> released, long until,
      Consumer<String> progress) {
    this.executor = executor;
    this.owned = owned;
    this.busy = busy;
    this.released = released;
    this.until = until;
    this.hardEnd = until + SLACK.toNanos();
    this.progress = progress;
  }

  /** @return how many pods were running at its first look */
  int run() {
    Set<String> tearing = busy.teardowns();
    Map<String, List<OwnedContainer>> byPod = runningByPod();
    int running = byPod.size();
    Duration left = left();
    progress.accept("stopping " + running + " pod" + (running == 1 ? "" : "s") + " (each within its grace period, at most "
        + Math.round(left.toMillis() / 1000.0) + " s)");
    // a pod being torn down is left to its teardown: its preStop hooks run once, its sandbox after its containers
    byPod.keySet().removeIf(pod -> {
      if (tearing.contains(pod)) {
        progress.accept("pod " + pod + " was being stopped already: that goes on");
        return true;
      }
      return false;
    });
    stop(byPod, left);
    try {
      busy.awaitNone(until); // the workers at their next step, the teardowns under way
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    Map<String, List<OwnedContainer>> late = runningByPod(); // what the stops left running is stopped again
    if (!late.isEmpty()) {
      progress.accept("stopping " + late.size() + " more pod" + (late.size() == 1 ? "" : "s")
          + " (a container started as the removal began, or one a stop left running)");
      stop(late, left());
    }
    for (OwnedContainer c : owned.get()) {
      if (!ReleasedPods.holds(released, c.podKey(), c.pod())) {
        executor.remove(c, true);
      }
    }
    return running;
  }

  private Duration left() {
    return Duration.ofNanos(Math.max(0, until - System.nanoTime()));
  }

  /** The running containers of each pod that runs, released pods left out. */
  private Map<String, List<OwnedContainer>> runningByPod() {
    return owned.get().stream().filter(c -> !ReleasedPods.holds(released, c.podKey(), c.pod())).filter(OwnedContainer::running)
        .collect(Collectors.groupingBy(OwnedContainer::podKey, HashMap::new, Collectors.toList()));
  }

  /** Stops {@code pods} in parallel, each container within its grace period but at most {@code cap}, waited for until {@link #hardEnd}. */
  private void stop(Map<String, List<OwnedContainer>> pods, Duration cap) {
    if (pods.isEmpty()) {
      return;
    }
    AtomicLong done = new AtomicLong();
    ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, Math.min(pods.size(), 16)), DaemonThreads.named("leave"));
    try {
      for (var e : pods.entrySet()) {
        pool.execute(() -> {
          List<PodPlanner.Kill> kills = new ArrayList<>();
          for (PodPlanner.Action a : PodPlanner.kill(e.getValue(), Duration.ofSeconds(30), "node left the fleet")) {
            PodPlanner.Kill k = (PodPlanner.Kill) a;
            kills.add(new PodPlanner.Kill(k.container(), k.grace().compareTo(cap) > 0 ? cap : k.grace(), k.why()));
          }
          executor.kill(kills);
          progress.accept("stopped " + e.getKey() + " (" + done.incrementAndGet() + "/" + pods.size() + ")");
        });
      }
      pool.shutdown();
      if (!pool.awaitTermination(Math.max(0, hardEnd - System.nanoTime()), TimeUnit.NANOSECONDS)) {
        progress.accept("some pods did not stop in time; their containers are removed");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      pool.shutdownNow();
    }
  }
}
