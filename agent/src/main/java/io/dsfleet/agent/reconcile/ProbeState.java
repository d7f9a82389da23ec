package io.dsfleet.agent.reconcile;

import io.dsfleet.common.model.Probe;
import java.time.Duration;
import java.time.Instant;

/**
 * The timing and thresholds of one probe of one container run: due after initialDelaySeconds from
 * the container's start, then every periodSeconds; the result flips to failure after
 * failureThreshold failures in a row and to success after successThreshold successes in a row.
 * Pure (the clock is passed in).
 */
public final class ProbeState {
  private final Probe probe;
  private final Instant containerStarted;
  private Instant lastRun;
  private int successes;
  private int failures;
  private Boolean result;
  private String lastMessage = "";

  public ProbeState(Probe probe, Instant containerStarted) {
    this.probe = probe;
    this.containerStarted = containerStarted;
  }

  public boolean due(Instant now) {
    Instant first = containerStarted.plusSeconds(probe.initialDelaySeconds());
    if (now.isBefore(first)) {
      return false;
    }
    return lastRun == null || !now.isBefore(lastRun.plus(Duration.ofSeconds(probe.periodSeconds())));
  }

  public void started(Instant now) {
    lastRun = now;
  }

  public void record(boolean ok, String message) {
    lastMessage = message;
    if (ok) {
      successes++;
      failures = 0;
      if (successes >= probe.successThreshold()) {
        result = true;
      }
    } else {
      failures++;
      successes = 0;
      if (failures >= probe.failureThreshold()) {
        result = false;
      }
    }
  }

  /** null until the first threshold is reached. */
  public Boolean result() {
    return result;
  }

  public boolean succeeded() {
    return Boolean.TRUE.equals(result);
  }

  public boolean failed() {
    return Boolean.FALSE.equals(result);
  }

  public String lastMessage() {
    return lastMessage;
  }

  public Probe probe() {
    return probe;
  }

  public Instant containerStarted() {
    return containerStarted;
  }
}
