package io.dsfleet.agent.session;

import io.dsfleet.proto.v1.AgentMessage;
import io.dsfleet.proto.v1.DesiredState;
import io.dsfleet.proto.v1.DesiredStateAck;
import java.time.Duration;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The desired sets that come down the session ({@link DesiredSets} takes each in and writes it),
 * and their acknowledgements up: a set is acknowledged once on disk, and one the disk refused is
 * written again every {@link #WRITE_RETRY} until it is, then acknowledged. Nothing is written once
 * the session's writes are closed ({@link StateWrites}).
 */
final class DesiredSetIntake {
  // its lines under the session's name, as before they moved here: a level set for that logger still covers them
  private static final Logger log = LoggerFactory.getLogger(CoordinatorSession.class);
  /** How long a desired set the disk refused waits before it is written again. */
  static final Duration WRITE_RETRY = Duration.ofSeconds(5);
  /** {@link #WRITE_RETRY}, shorter in tests that wait out several retries ({@link #writeRetry}). */
  private volatile Duration writeRetry = WRITE_RETRY;
  private final DesiredSets desiredSets;
  private final StateWrites writes;
  private final ScheduledExecutorService scheduler;
  private final Executor work;
  private final Consumer<AgentMessage> send;
  /** Whether a write of a set the disk refused is scheduled. */
  private final AtomicBoolean writingAgain = new AtomicBoolean();

  /**
   * @param work where a write waits for the disk (never the scheduler, whose threads send the heartbeats)
   * @param send sends on the session's open stream, if any
   */
  DesiredSetIntake(DesiredSets desiredSets, StateWrites writes, ScheduledExecutorService scheduler, Executor work, Consumer<AgentMessage> send) {
    this.desiredSets = desiredSets;
    this.writes = writes;
    this.scheduler = scheduler;
    this.work = work;
    this.send = send;
  }

  /** A desired set from the coordinator, on gRPC's callback thread. */
  void take(DesiredState d) {
    if (!writes.begin()) { // closed: nothing more is written; close() waits for a write under way
      return;
    }
    try { // outside the session's lock: heartbeats and reports do not wait for the disk
      if (desiredSets.take(d)) {
        acknowledge(d); // before the write ends: a leave waiting for it closes the stream only after
      } else {
        writeAgainLater(); // acknowledged once written
      }
    } catch (RuntimeException e) {
      log.error("desired set version {} not taken: {}", d.getVersion(), e.toString()); // gRPC's cancel names no cause
      throw e;
    } finally {
      writes.end();
    }
    log.info("desired set version {}: {} pods", d.getVersion(), d.getPodsCount());
  }

  /** Tries the refused set again in {@link #WRITE_RETRY}, and again after that until it is written (or the session closes). */
  private void writeAgainLater() {
    if (writingAgain.compareAndSet(false, true)) {
      scheduler.schedule(() -> work.execute(this::writeAgain), writeRetry.toMillis(), TimeUnit.MILLISECONDS);
    }
  }

  /** Tries a refused set again after {@code every} instead of {@link #WRITE_RETRY} (tests). */
  void writeRetry(Duration every) {
    writeRetry = every;
  }

  private void writeAgain() {
    writingAgain.set(false);
    if (!writes.begin()) { // closed (left, removed): nothing more is written
      return;
    }
    try {
      DesiredState written = desiredSets.writeAgain();
      if (written != null) {
        acknowledge(written);
      } else if (desiredSets.waiting()) {
        writeAgainLater();
      }
    } finally {
      writes.end();
    }
  }

  /** Tells the coordinator the set is on disk (on the session open now, if any: one opened later gets its full set again). */
  private void acknowledge(DesiredState d) {
    send.accept(AgentMessage.newBuilder().setAck(DesiredStateAck.newBuilder().setVersion(d.getVersion())).build());
  }
}
