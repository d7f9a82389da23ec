package io.dsfleet.agent.session;

import io.dsfleet.agent.reconcile.Reconciler;
import io.dsfleet.agent.state.LocalState;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The end of this node's membership: no desired set is acted on or written any more (a write under
 * way is waited for, up to 30 s), the state is cleared and the credentials forgotten, then every
 * owned pod is stopped (each within its grace period, at most 30 s; no reconcile pass plans
 * anything meanwhile) and removed.
 *
 * <p>It runs once. The coordinator's REMOVED and leaving on shutdown both ask for it, and a leave is
 * itself answered with REMOVED on the session: every asker gets the one removal under way, so no
 * pod's preStop hook runs twice, no two clears race for the state directory, and nobody cuts the
 * other's grace periods short.
 */
final class NodeRemoval {
  private static final Logger log = LoggerFactory.getLogger(NodeRemoval.class);
  /** Each pod's grace period is cut to this. */
  static final Duration GRACE = Duration.ofSeconds(30);

  private final Reconciler reconciler;
  private final LocalState state;
  private final NodeCredentials credentials;
  private final StateWrites writes;
  /** How long anyone waits for the removal, from its start: the stopping agent, then its session's close, together. */
  static final Duration WAIT = Duration.ofSeconds(100);

  /** A removal started, and when waiting for it ends. */
  private record Started(CompletableFuture<Void> done, long untilNanos) {}

  private final AtomicReference<Started> removal = new AtomicReference<>();

  NodeRemoval(Reconciler reconciler, LocalState state, NodeCredentials credentials, StateWrites writes) {
    this.reconciler = reconciler;
    this.state = state;
    this.credentials = credentials;
    this.writes = writes;
  }

  boolean started() {
    return removal.get() != null;
  }

  /**
   * Waits for the removal if one started, until {@link #WAIT} after its start (one budget for every
   * waiter, bounding a real wait: the monotonic clock); fails with what ended it, or with that it
   * did not end in time.
   */
  void await() {
    Started started = removal.get();
    if (started == null) {
      return;
    }
    try {
      started.done().get(Math.max(0, started.untilNanos() - System.nanoTime()), TimeUnit.NANOSECONDS);
    } catch (java.util.concurrent.ExecutionException e) {
      throw new IllegalStateException(e.getCause().getMessage(), e.getCause());
    } catch (java.util.concurrent.TimeoutException e) {
      throw new IllegalStateException("the pods were not all stopped and removed within " + WAIT.toSeconds() + " s");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while the pods were removed");
    }
  }

  /** {@link #await}, saying in the log what ended it badly. */
  void awaitQuietly() {
    try {
      await();
    } catch (IllegalStateException e) {
      log.warn("closing with the node's removal unfinished: {}", e.getMessage());
    }
  }

  /**
   * Starts the removal on {@code where}, or returns the one started before; completes when it ends.
   * No desired set is taken from the moment it returns.
   */
  CompletableFuture<Void> start(Executor where) {
    CompletableFuture<Void> mine = new CompletableFuture<>();
    Started first = removal.compareAndExchange(null, new Started(mine, System.nanoTime() + WAIT.toNanos()));
    if (first != null) {
      return first.done();
    }
    // here, not on the executor: a set that arrives after this call is never acted on; one in flight is
    // waited for, and brings no pod back and writes nothing after the clear
    writes.close(30, TimeUnit.SECONDS);
    try {
      where.execute(() -> {
        try {
          // the state first: a removal cut short (the unit's stop timeout, a crash) leaves a node that
          // left, whose next start resumes no pods; `ds-agent leave` then removes what is left. On a
          // thread of its own, waited for up to 5 s: a stalled disk does not hold the pods' stop back.
          CompletableFuture<Void> cleared = CompletableFuture.runAsync(() -> {
            state.clear();
            credentials.forget();
          }, r -> io.dsfleet.common.DaemonThreads.named("node-removal-clear").newThread(r).start());
          RuntimeException clearFailed = null;
          try {
            cleared.get(5, TimeUnit.SECONDS);
          } catch (java.util.concurrent.TimeoutException e) {
            log.warn("the state directory did not answer within 5 s (a stalled disk?); stopping the pods meanwhile");
            cleared.whenComplete((done, failed) -> {
              if (failed != null) {
                log.error("clearing the state directory failed: {}", failed.toString());
              }
            });
          } catch (java.util.concurrent.ExecutionException e) {
            clearFailed = e.getCause() instanceof RuntimeException failure ? failure : new IllegalStateException(e.getCause());
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while the state was cleared");
          }
          reconciler.removeAll(GRACE, log::info);
          if (clearFailed != null) {
            throw clearFailed;
          }
          mine.complete(null);
        } catch (RuntimeException e) {
          log.error("removing this node's pods failed: {}; `ds-agent leave` removes what is left once Docker answers", e.toString());
          mine.completeExceptionally(e);
        }
      });
    } catch (RuntimeException e) { // the executor refused it (shut down)
      mine.completeExceptionally(e);
    }
    return mine;
  }
}
