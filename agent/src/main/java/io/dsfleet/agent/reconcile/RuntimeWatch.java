package io.dsfleet.agent.reconcile;

import io.dsfleet.agent.reconcile.Reconciler.RuntimeCondition;
import io.dsfleet.agent.runtime.ContainerRuntime;
import io.dsfleet.agent.runtime.RuntimeUnavailableException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether the container runtime answers, as the node reports it, and the following of its events
 * (the kubelet's PLEG): each event marks the {@link ContainerView} stale and wakes a pass.
 */
final class RuntimeWatch {
  // its lines under the Reconciler's name, as before they moved here: a level set for that logger still covers them
  private static final Logger log = LoggerFactory.getLogger(Reconciler.class);

  private final String node;
  private final ContainerRuntime runtime;
  private final ContainerView view;
  private final PodWork busy;
  private final Runnable wakeUp;
  private final Clock clock;
  private volatile RuntimeCondition condition = new RuntimeCondition(false, "");
  private volatile Runnable onCondition = () -> { };

  /** @param wakeUp makes a full pass due now (the reconciler's) */
  RuntimeWatch(String node, ContainerRuntime runtime, ContainerView view, PodWork busy, Runnable wakeUp, Clock clock) {
    this.node = node;
    this.clock = clock;
    this.runtime = runtime;
    this.view = view;
    this.busy = busy;
    this.wakeUp = wakeUp;
  }

  /** Called when the runtime goes away or comes back (the node reports it at once). */
  void onCondition(Runnable listener) {
    this.onCondition = listener;
  }

  RuntimeCondition condition() {
    return condition;
  }

  void reachable() {
    if (condition.down()) {
      log.info("container runtime reachable again; reconciling");
      condition = new RuntimeCondition(false, "");
      onCondition.run();
    }
  }

  /** Any call that found the runtime gone says so at once (a dockerd restart can be over between two passes). */
  void unreachable(RuntimeException e) {
    if (!condition.down()) {
      log.warn("container runtime unreachable, pods keep running; retrying: {}", e.getMessage());
      condition = new RuntimeCondition(true, e.getMessage());
      onCondition.run();
    }
  }

  /**
   * Follows the runtime's events for this node: each one wakes a pass that inspects the container
   * it names again, in the last list (one that names none: a list), so a container that died is
   * restarted and reported now, not at the next relist; except an event of a pod whose worker is
   * at work (mostly the echo of its own create and start, while Docker starts the container): it
   * only marks its container changed; the worker's end wakes a pass (it ends once an app container
   * it started runs), and any pass looks (within a second: no pass is quiet while a pod is worked
   * on). While the stream runs, a pass looks only after an event or the agent's own work ({@link
   * ContainerView}), and lists at least every {@code relist} for anything the stream missed (the
   * kubelet's PLEG relist); the passes in between (probes, back-off timers) work from the last look. The stream ending means the runtime went
   * away: the node says so at once, every pass lists again, and the watch is taken up again with
   * back-off; a stream taken up again starts with a list (events may have been missed meanwhile).
   */
  void watch(ScheduledExecutorService scheduler) {
    watch(scheduler, 0);
  }

  private void watch(ScheduledExecutorService scheduler, int failures) {
    if (scheduler.isShutdown()) {
      return;
    }
    try {
      // following before the stream opens: a stream that ends at once leaves it off (its end comes after)
      view.watching(true);
      Instant opened = clock.instant();
      runtime.watch(node, event -> {
        if (event.id() == null) {
          view.changed();
        } else {
          view.changed(event.id()); // the next pass inspects this container alone
        }
        // a pod whose worker is at it hears of its own create and start: the worker's end wakes a pass, which looks
        if (event.podKey() == null || !busy.underWay(event.podKey())) {
          wakeUp.run();
        }
      }, t -> {
        view.watching(false);
        // the runtime gone ends the stream, but so does a stream quiet for longer than the
        // transport waits for a byte (10 minutes): only a runtime that does not answer is down
        int inARow = EventStreamRetries.afterEnd(failures, Duration.between(opened, clock.instant()));
        long delay = EventStreamRetries.delaySeconds(inARow);
        try {
          runtime.ping();
          if (inARow <= 1) { // the next ones of a streak at debug: a stream Docker refuses ends every try
            log.info("the container runtime's event stream ended ({}); the runtime answers: following its events again in {} s",
                String.valueOf(t.getMessage()).strip(), delay);
          } else {
            log.debug("the container runtime's event stream ended ({} in a row); following its events again in {} s", inARow, delay);
          }
        } catch (RuntimeException e) {
          unreachable(new RuntimeUnavailableException("the container runtime's event stream ended: " + t.getMessage(), t));
        }
        wakeUp.run();
        scheduler.schedule(() -> watch(scheduler, inARow), delay, TimeUnit.SECONDS);
      });
      wakeUp.run(); // a pass now: it lists, and finds out whether the runtime is back
    } catch (RuntimeException e) {
      view.watching(false);
      unreachable(e);
      scheduler.schedule(() -> watch(scheduler, failures + 1), EventStreamRetries.delaySeconds(failures + 1), TimeUnit.SECONDS);
    }
  }
}
