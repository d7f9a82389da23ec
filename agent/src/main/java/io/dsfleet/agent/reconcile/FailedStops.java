package io.dsfleet.agent.reconcile;

import io.dsfleet.agent.runtime.OwnedContainer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Stops the runtime refused, backed off as every failure is ({@link Failures}, key {@code
 * stop/ID}: 10 s doubling to 5 min): a container whose stop failed is not stopped again before
 * its back-off is over, by a pod's worker (its kills wait) or a teardown (the pod's teardown waits
 * whole, its sandbox with it). Docker 20.10 refuses a stop at once when its AppArmor profile
 * denies the signal ("cannot kill container: permission denied"), and after its 10 s wait for one
 * whose process does not die (a process in D state on a hung NFS mount); before 2026-12-06 the
 * refused stop was tried again by the pass that the end of the work woke at once, and that pass
 * stopped it again: about 300 stops and 1,000 lines in the journal a second, for as long as it
 * lasted. Pure: the executor records the failures.
 */
final class FailedStops {
  private FailedStops() {}

  /** The key under which a container's refused stop backs off. */
  static String key(String containerId) {
    return PREFIX + containerId;
  }

  /**
   * Forgets the refused stops of containers that no longer run ({@code owned}: a full list of the node's), removed by hand
   * or ended by themselves: no stop of theirs is planned again, and a failure kept for good made every pass of the node a
   * full one (Reconciler's quiet passes wait for no failure to be recorded) until 2026-12-06.
   */
  static void forgetGone(Failures failures, List<OwnedContainer> owned) {
    java.util.Set<String> running = new java.util.HashSet<>();
    owned.stream().filter(OwnedContainer::running).forEach(c -> running.add(key(c.id())));
    failures.forgetIf(k -> k.startsWith(PREFIX) && !running.contains(k));
  }

  private static final String PREFIX = "stop/";

  /** The refused stop {@code c} waits out, if its back-off is not over. */
  static Optional<Failures.Failure> waiting(OwnedContainer c, Failures failures, Instant now) {
    return failures.get(key(c.id())).filter(f -> f.active(now));
  }

  /** The actions with each kill of a container whose stop backs off made a wait for the end of its back-off. */
  static List<PodPlanner.Action> held(List<PodPlanner.Action> actions, Failures failures, Instant now) {
    List<PodPlanner.Action> out = null;
    for (int i = 0; i < actions.size(); i++) {
      if (actions.get(i) instanceof PodPlanner.Kill k) {
        Optional<Failures.Failure> f = waiting(k.container(), failures, now);
        if (f.isPresent()) {
          out = out == null ? new ArrayList<>(actions) : out;
          out.set(i, new PodPlanner.Wait(k.container().container(), f.get().retryAt(), f.get().reason(),
              "back-off stopping " + k.container().info().name() + ": " + f.get().message()));
        }
      }
    }
    return out == null ? actions : List.copyOf(out);
  }

  /** Whether any of these kills waits for its container's back-off (a teardown then waits whole). */
  static boolean anyWaiting(List<PodPlanner.Action> kills, Failures failures, Instant now) {
    return kills.stream().anyMatch(a -> a instanceof PodPlanner.Kill k && waiting(k.container(), failures, now).isPresent());
  }
}
