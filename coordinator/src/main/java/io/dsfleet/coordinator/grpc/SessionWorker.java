package io.dsfleet.coordinator.grpc;

import io.dsfleet.coordinator.fleet.Fleet;
import java.util.concurrent.LinkedBlockingQueue;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Applies what the agents' sessions change in the fleet (a session opened or ended, pod reports,
 * acks, a heartbeat that changes a node's condition) on one thread, in the order the messages
 * arrived, many under one hold of the fleet's lock. A transport thread only queues them: it never
 * waits for the lock, so while an apply or a rollout pass holds it, heartbeats are still answered
 * and desired sets still written (before, 10,000 agents' transport threads stood in the lock's
 * queue behind a rollout pass, their heartbeats went unanswered and agents reconnected;
 * docs/benchmarks.md). One thread keeps each session's messages in order and costs one lock
 * hand-off per batch instead of one per message.
 */
final class SessionWorker implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(SessionWorker.class);
  /** The longest one batch holds the fleet's lock: control calls and rollout passes get it in between. */
  static final long BATCH_NANOS = 20_000_000;

  private final Fleet fleet;
  private final LinkedBlockingQueue<Runnable> queue = new LinkedBlockingQueue<>();
  private final Thread thread;
  private volatile boolean closed;

  SessionWorker(Fleet fleet) {
    this.fleet = fleet;
    this.thread = new Thread(this::run, "coordinator-sessions");
    thread.setDaemon(true);
    thread.start();
  }

  /** Queues work that runs under the fleet's lock; it handles its own failures (a session ends with them). */
  void submit(Runnable work) {
    queue.add(work);
  }

  /** Messages waiting for the worker. */
  int queued() {
    return queue.size();
  }

  private void run() {
    while (!closed) {
      Runnable first;
      try {
        first = queue.take();
      } catch (InterruptedException e) {
        return;
      }
      fleet.batch(() -> {
        long end = System.nanoTime() + BATCH_NANOS;
        Runnable next = first;
        do {
          runOne(next);
        } while (System.nanoTime() < end && (next = queue.poll()) != null);
      });
    }
  }

  /** One message; nothing it throws stops the worker (every session's messages wait on it). */
  private static void runOne(Runnable work) {
    try {
      work.run();
    } catch (RuntimeException | StackOverflowError e) {
      log.error("applying a session message failed", e);
    } catch (Error e) {
      // out of memory or worse: the worker cannot be trusted to go on; systemd starts the coordinator again
      log.error("applying a session message failed; the coordinator exits", e);
      Runtime.getRuntime().halt(70);
    }
  }

  @Override
  public void close() {
    closed = true;
    thread.interrupt();
  }
}
