package io.dsfleet.agent.reconcile;

import io.dsfleet.common.model.Probe;
import java.time.Duration;
import java.time.Instant;

/**
 * The timing and thresholds of one probe of one container run: due after initialDelaySeconds from
 * the container's start, then every periodSeconds; the result flips to failure after
 * failureThreshold failures in a row and to success after successThreshold successes in a row.
 * The clock is passed in; thread-safe (probe workers record, the reconcile pass reads).
 */
public final class ProbeState {
  private final Probe probe;
  private final Instant containerStarted;
  /** When the initial delay counts from: the container's start, or the time the wall clock was found stepped back past it. */
  private Instant delayFrom;
  private Instant lastRun;
  private int successes;
  private int failures;
  private Boolean result;
  private Instant since;
  private String lastMessage = "";

  public ProbeState(Probe probe, Instant containerStarted) {
    this.probe = probe;
    this.containerStarted = containerStarted;
    this.delayFrom = containerStarted;
  }

  public synchronized boolean due(Instant now) {
    if (lastRun != null) { // past its initial delay; a wall clock stepped back past the last run is not waited out (WallClock)
      return !WallClock.waiting(now, lastRun, lastRun.plus(Duration.ofSeconds(probe.periodSeconds())));
    }
    if (WallClock.steppedBack(now, delayFrom)) {
      delayFrom = now; // the initial delay counts again from here: neither waited out for the step nor cut short
    }
    return !now.isBefore(delayFrom.plusSeconds(probe.initialDelaySeconds()));
  }

  public synchronized void started(Instant now) {
    lastRun = now;
  }

  public synchronized void record(boolean ok, String message, Instant now) {
    lastMessage = message;
    if (ok) {
      successes++;
      failures = 0;
      if (successes >= probe.successThreshold() && !Boolean.TRUE.equals(result)) {
        result = true;
        since = now;
      }
    } else {
      failures++;
      successes = 0;
      if (failures >= probe.failureThreshold() && !Boolean.FALSE.equals(result)) {
        result = false;
        since = now;
      }
    }
  }

  /** When the result last changed (null before the first threshold). */
  public synchronized Instant since() {
    return since;
  }

  /** null until the first threshold is reached. */
  public synchronized Boolean result() {
    return result;
  }

  public synchronized boolean succeeded() {
    return Boolean.TRUE.equals(result);
  }

  public synchronized boolean failed() {
    return Boolean.FALSE.equals(result);
  }

  public synchronized String lastMessage() {
    return lastMessage;
  }

  public Probe probe() {
    return probe;
  }

  public Instant containerStarted() {
    return containerStarted;
  }
}
