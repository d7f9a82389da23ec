package io.dsfleet.agent.reconcile;

import static io.dsfleet.agent.reconcile.Executor.message;

import io.dsfleet.agent.runtime.ContainerRuntime;
import io.dsfleet.agent.runtime.Labels;
import io.dsfleet.agent.runtime.OwnedContainer;
import io.dsfleet.agent.runtime.RuntimeUnavailableException;
import io.dsfleet.common.model.Container;
import io.dsfleet.common.model.PodTemplateSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The stops of containers ({@link Executor}'s): each with its preStop hook, SIGTERM, the rest of
 * its grace period and SIGKILL, once per run of a container however many ask.
 */
final class ContainerStops {
  // its lines under the Executor's name, as before they moved here: a level set for that logger still covers them
  private static final Logger log = LoggerFactory.getLogger(Executor.class);

  private final ContainerRuntime runtime;
  private final Failures failures;
  private final Clock clock;
  private final ExecutorService stoppers;
  private final Function<OwnedContainer, PodTemplateSpec> templates;

  /**
   * The stops under way or ended lately, by container ID: a second stop of a container waits for
   * the one under way, and one asked within {@link #STOPPED_FOR} of its end, of the same run of the
   * container, does nothing (its caller listed the container before that stop ended: its preStop
   * hook is not run again). A stop that failed is tried again by whoever asks next.
   */
  private final Map<String, Stop> stops = new ConcurrentHashMap<>();

  static final Duration STOPPED_FOR = Duration.ofMinutes(1);

  /**
   * One container's stop, of the run that started at {@code startedAt} (a container started again
   * behind the agent's back is stopped again): done, true if it stopped, once it ended at
   * {@code endedNanos} ({@link System#nanoTime}).
   */
  private static final class Stop {
    final Instant startedAt;
    final CompletableFuture<Boolean> done = new CompletableFuture<>();
    volatile long endedNanos;

    Stop(Instant startedAt) {
      this.startedAt = startedAt;
    }

    /** Whether a stop of the run that started at {@code started} is this one's to do (under way, or ended lately and well). */
    boolean covers(Instant started) {
      if (!done.isDone()) {
        return true;
      }
      return Boolean.TRUE.equals(done.getNow(false)) && java.util.Objects.equals(startedAt, started)
          && System.nanoTime() - endedNanos < STOPPED_FOR.toNanos();
    }
  }

  /**
   * @param stoppers runs the stops of one pod in parallel (each up to its grace period)
   * @param templates the template a container is of, of those seen (Templates#get): a pod replaced or no longer desired still gets its
   *     preStop hooks
   */
  ContainerStops(ContainerRuntime runtime, Failures failures, Clock clock, ExecutorService stoppers,
      Function<OwnedContainer, PodTemplateSpec> templates) {
    this.runtime = runtime;
    this.failures = failures;
    this.clock = clock;
    this.stoppers = stoppers;
    this.templates = templates;
  }

  /** Stops containers: all but sandboxes in parallel (each with its preStop hook and grace), then the sandboxes. */
  void kill(List<PodPlanner.Kill> kills) {
    List<CompletableFuture<Void>> stops = new ArrayList<>();
    for (PodPlanner.Kill k : kills) {
      if (!k.container().isSandbox()) {
        stops.add(CompletableFuture.runAsync(() -> stop(k), stoppers));
      }
    }
    try {
      CompletableFuture.allOf(stops.toArray(CompletableFuture[]::new)).join();
    } catch (CompletionException e) {
      if (e.getCause() instanceof RuntimeUnavailableException r) {
        throw r;
      }
      log.warn("stopping containers: {}", e.getCause().toString());
    }
    kills.stream().filter(k -> k.container().isSandbox()).forEach(this::stop);
  }

  /**
   * preStop hook, then SIGTERM, the rest of the grace period, SIGKILL; once per run of a container
   * however many ask (a worker replacing it, a teardown, the node's removal): a second stop waits
   * for the one under way, or does nothing if that one ended lately and well ({@link #stops}).
   */
  void stop(PodPlanner.Kill k) {
    String id = k.container().id();
    Instant started = k.container().info().startedAt();
    for (int tries = 0; tries < 2; tries++) { // a stop under way that fails is tried again here, once
      Stop mine = new Stop(started);
      Stop earlier = stops.compute(id, (key, s) -> s != null && s.covers(started) ? s : mine);
      if (earlier == mine) {
        stopAs(mine, k);
        return;
      }
      try {
        if (earlier.done.get()) {
          return;
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      } catch (java.util.concurrent.ExecutionException e) {
        throw new IllegalStateException(e); // never: a stop's end is always a value
      }
    }
  }

  private void stopAs(Stop mine, PodPlanner.Kill k) {
    if (stops.size() > 256) {
      stops.values().removeIf(s -> s != mine && s.done.isDone() && System.nanoTime() - s.endedNanos > STOPPED_FOR.toNanos());
    }
    boolean stopped = false;
    try {
      stopNow(k);
      stopped = true;
    } finally {
      mine.endedNanos = System.nanoTime();
      mine.done.complete(stopped);
    }
  }

  private void stopNow(PodPlanner.Kill k) {
    OwnedContainer c = k.container();
    log.info("pod {}: stopping {}: {}", c.podKey(), c.container(), k.why());
    Instant start = clock.instant();
    PodTemplateSpec t = Labels.APP.equals(c.role()) ? templates.apply(c) : null;
    Container spec = t == null ? null : t.spec().containers().stream().filter(x -> x.name().equals(c.container())).findFirst().orElse(null);
    if (spec != null && spec.lifecycle() != null && spec.lifecycle().preStop() != null && !k.grace().isZero()) {
      try {
        var r = runtime.exec(c.id(), spec.lifecycle().preStop().exec().command(), k.grace());
        if (r.exitCode() != 0) {
          log.warn("pod {}: preStop hook of {} exited {}", c.podKey(), c.container(), r.exitCode());
        }
      } catch (RuntimeUnavailableException e) {
        throw e;
      } catch (RuntimeException e) { // as the kubelet: a hook that could not run is logged, the stop goes on
        log.warn("pod {}: preStop hook of {} could not run: {}", c.podKey(), c.container(), message(e));
      }
    }
    Duration spent = Duration.between(start, clock.instant());
    // as the kubelet (killContainer): the grace period less the whole seconds the preStop hook took, so Docker, which takes
    // whole seconds, gives the container all of them; until 2026-12-08 the grace less what the stop took to get here (a
    // few microseconds without a hook) was cut to whole seconds by Docker's call: a second less, every stop (29 s of a
    // default 30). A wall clock stepped back during the hook gives no more than the grace period
    Duration left = spent.isNegative() ? k.grace() : k.grace().minusSeconds(spent.toSeconds());
    // as the kubelet: a container gets at least 2 s between SIGTERM and SIGKILL, however little its grace
    // period left (0, or used up by its preStop hook); a sandbox, which runs nothing, none
    Duration floor = c.isSandbox() ? Duration.ZERO : MIN_STOP_GRACE;
    try {
      runtime.stop(c.id(), left.compareTo(floor) < 0 ? floor : left);
      failures.succeeded(FailedStops.key(c.id()));
    } catch (RuntimeUnavailableException e) {
      throw e;
    } catch (RuntimeException e) { // refused: not stopped again before its back-off (FailedStops)
      failures.failed(FailedStops.key(c.id()), "KillContainerError", message(e), clock.instant(), log);
      throw e;
    }
  }

  /** The kubelet's minimumGracePeriodInSeconds: the shortest time a container is given between SIGTERM and SIGKILL. */
  static final Duration MIN_STOP_GRACE = Duration.ofSeconds(2);

  /**
   * Whether this run of the container is being stopped (its stop under way: preStop hook, grace), or was lately
   * (a list from before that stop's end still shows it running): its status reports it not ready ({@link StatusBuilder}).
   */
  boolean stopping(OwnedContainer c) {
    Stop s = stops.get(c.id());
    return s != null && s.covers(c.info().startedAt());
  }

  /** A stop of the container asked from now on is a new one: it was removed. */
  void forget(String id) {
    stops.remove(id);
  }
}
