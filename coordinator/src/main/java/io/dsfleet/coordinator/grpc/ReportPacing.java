package io.dsfleet.coordinator.grpc;

import io.grpc.stub.ServerCallStreamObserver;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * How fast a session's pod reports, and its heartbeats that change the node's condition, are
 * read: {@link #BURST} at once, then one each {@link #EVERY}. Each is applied under the fleet's
 * lock: a report of 256 pods with their texts at their bounds (4 MiB) in about 10 ms of the session
 * worker, a condition's change with the node planned again and its desired set sent. A node
 * sending them as fast as it could (root on one, or any name a join token admits) had the worker
 * apply them back to back, the fleet's lock held about half the time with such reports; one report
 * waiting a session, and 128 messages, bounded only what waited, not how many were applied. One
 * over the allowance is not refused: the session reads its next message only when the allowance
 * has grown again (gRPC flow control), so what the node sends waits on its side of the connection,
 * in order, and nothing is dropped. An agent reports when its pods change, a report whose pods are
 * still changing held up to 250 ms for the next, and its condition changes when its container
 * runtime stops or comes back: ten at once and ten a second leave it unpaced. The pace is kept on
 * the JVM's monotonic clock, as the timer that resumes a session runs on it.
 */
final class ReportPacing implements AutoCloseable {
  static final int BURST = 10;
  static final Duration EVERY = Duration.ofMillis(100);
  /** {@link #EVERY}, for the sessions opened from now on; shorter in tests that wait for a paced flood to fill a session's queue. */
  private static volatile Duration every = EVERY;

  /** Paces the sessions opened from now on every {@code interval} ({@link #EVERY} otherwise): a seam for tests. */
  static void paceEvery(Duration interval) {
    every = interval;
  }

  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(
      io.dsfleet.common.DaemonThreads.named("coordinator-report-pacing"));

  /** The reads of one session, which from now on asks for each message itself. Call in the service method. */
  Reads reads(ServerCallStreamObserver<?> call) {
    call.disableAutoRequest();
    Reads reads = new Reads(call);
    call.request(1);
    return reads;
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }

  /** One session's allowance of reports and condition changes. */
  final class Reads {
    private final ServerCallStreamObserver<?> call;
    private final TokenBucket allowance = new TokenBucket(BURST, every, System.nanoTime());

    private Reads(ServerCallStreamObserver<?> call) {
      this.call = call;
    }

    /**
     * A message was handled: the next is read now, or, after one that counts ({@code paced}: a
     * report, a condition's change) over the allowance (read on credit: it is already handled),
     * once the allowance has grown by the one it took.
     */
    synchronized void handled(boolean paced) {
      if (!paced) {
        request();
        return;
      }
      long now = System.nanoTime();
      allowance.refill(now);
      allowance.tokens--;
      if (allowance.tokens >= 0) {
        request();
        return;
      }
      try {
        timer.schedule(this::request, allowance.untilNext(now).toNanos(), TimeUnit.NANOSECONDS);
      } catch (java.util.concurrent.RejectedExecutionException closed) {
        // no longer serving: the session ends with the server
      }
    }

    private void request() {
      try {
        call.request(1);
      } catch (RuntimeException ended) {
        // the call ended meanwhile: nothing more to read
      }
    }
  }
}
