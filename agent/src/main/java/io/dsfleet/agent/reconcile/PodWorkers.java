package io.dsfleet.agent.reconcile;

import io.dsfleet.agent.runtime.RuntimeUnavailableException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Hands a pod's work to a thread, never two pieces of one pod's at once ({@link PodWork}: the
 * kubelet's pod workers), and sees it end: the containers listed again, the runtime's condition
 * noted, a pass woken to report what it made.
 */
final class PodWorkers {
  // its lines under the Reconciler's name, as before they moved here: a level set for that logger still covers them
  private static final Logger log = LoggerFactory.getLogger(Reconciler.class);

  /** Pod work: a worker's steps, a teardown, or the removal of a pod's directory. */
  enum Work {
    STEPS, TEARDOWN, DIRECTORY;

    /** A pass as soon as the work is done: it reports the pod's new state now. */
    boolean wakeAfter() {
      return this != DIRECTORY;
    }
  }

  private final PodWork busy;
  private final ContainerView view;
  private final RuntimeWatch runtimeWatch;
  private final Runnable wakeUp;

  /** @param wakeUp makes a full pass due now (the reconciler's) */
  PodWorkers(PodWork busy, ContainerView view, RuntimeWatch runtimeWatch, Runnable wakeUp) {
    this.busy = busy;
    this.view = view;
    this.runtimeWatch = runtimeWatch;
    this.wakeUp = wakeUp;
  }

  void dispatch(String pod, Work kind, ExecutorService on, Runnable work) {
    dispatch(pod, kind, on, work, () -> { });
  }

  /** {@link #dispatch(String, Work, ExecutorService, Runnable)}; {@code ended} runs once the work ended, or at once when none was started. */
  void dispatch(String pod, Work kind, ExecutorService on, Runnable work, Runnable ended) {
    if (!busy.begin(pod, kind == Work.TEARDOWN)) {
      ended.run();
      return;
    }
    try {
      on.execute(() -> {
        try {
          run(pod, kind, work);
        } finally {
          ended.run(); // after the work's marks in the view: a pass that looks from then on sees what the work made
        }
      });
    } catch (RejectedExecutionException e) { // every worker busy (or the agent stopping): a later pass plans it again
      busy.end(pod);
      ended.run();
      log.debug("pod {}: no thread free for its work; a later pass plans it again", pod);
    }
  }

  private void run(String pod, Work kind, Runnable work) {
    boolean done = false;
    try {
      work.run();
      done = true;
    } catch (RuntimeUnavailableException ex) {
      runtimeWatch.unreachable(ex);
    } catch (RuntimeException | StackOverflowError ex) {
      log.error("pod {}: {}", pod, ex.toString(), ex);
    } finally {
      if (!done) { // a call may have touched a container it does not name (TouchingRuntime names those that returned): the next pass lists
        view.changed();
      }
      busy.end(pod);
    }
    if (done && kind.wakeAfter()) {
      wakeUp.run(); // report the new state now; after a failure the next tick retries, never a tight loop
    }
  }
}
