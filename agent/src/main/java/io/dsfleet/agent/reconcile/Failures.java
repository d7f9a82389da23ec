package io.dsfleet.agent.reconcile;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The back-off manager: every failure that leaves no container behind to time a retry from (an
 * image pull, a container or sandbox the runtime refused to create, a configuration error, a
 * container the runtime cannot remove) is recorded here under its key ("ns/pod/container",
 * "ns/pod/POD", "gc/ID") and retried no earlier than the back-off allows (Kubernetes': 10 s, doubling
 * to 5 min, starting over after ten quiet minutes). A success forgets the key. A pod's sandbox made
 * again (it died) is recorded too ("ns/pod/POD-restart"), so a sandbox that keeps dying is not
 * made again every pass. Crashes of containers that ran are timed from the
 * containers themselves ({@link Backoff}), so that back-off survives agent restarts.
 */
public final class Failures {
  /**
   * One key's failures in a row.
   *
   * @param reason Kubernetes' reason for the failure (ErrImagePull, CreateContainerError, ...)
   * @param count failures in a row
   */
  public record Failure(String reason, String message, int count, Instant at, Instant retryAt) {
    public boolean active(Instant now) {
      // a hold waits whatever the clock says; a back-off is over once the wall clock stepped back past its failure
      return retryAt.equals(Instant.MAX) || WallClock.waiting(now, at, retryAt);
    }

    /** The waiting reason while backing off: a pull that failed more than once is ImagePullBackOff, as the kubelet says. */
    public String waitingReason() {
      return reason.equals("ErrImagePull") && count > 1 ? "ImagePullBackOff" : reason;
    }
  }

  private final Map<String, Failure> failures = new ConcurrentHashMap<>();
  private final Backoff backoff;

  public Failures(Backoff backoff) {
    this.backoff = backoff;
  }

  /** The back-off both failures here and crashed containers ({@link PodPlanner}) are timed by. */
  public Backoff backoff() {
    return backoff;
  }

  public Failure failed(String key, String reason, String message, Instant now) {
    io.dsfleet.agent.metrics.AgentCounters.BACKOFFS.labelValues(reason).inc();
    return failures.compute(key, (k, was) -> {
      // ten quiet minutes after the last retry start the back-off over, as the kubelet's back-off does
      boolean stale = was != null && was.retryAt().isBefore(Instant.MAX.minus(backoff.resetAfter()))
          && now.isAfter(was.retryAt().plus(backoff.resetAfter()));
      int count = was == null || stale ? 1 : was.count() + 1;
      Duration delay = backoff.delay(count - 1);
      return new Failure(reason, message, count, now, now.plus(delay));
    });
  }

  /** {@link #failed}, logged to {@code log} when it is new or its message changed (not at each retry). */
  public Failure failed(String key, String reason, String message, Instant now, org.slf4j.Logger log) {
    Failure was = failures.get(key);
    Failure f = failed(key, reason, message, now);
    if (was == null || !was.message().equals(message)) {
      log.warn("{}: {}: {}", key, reason, message);
    }
    return f;
  }

  /** A failure that holds its key's starts until it is forgotten ({@link #forget}), not for a back-off. */
  public void hold(String key, String reason, String message, Instant now) {
    failures.put(key, new Failure(reason, message, 1, now, Instant.MAX));
  }

  /** A failure that holds its key's starts until {@code until} (a back-off timed by the caller). */
  public void holdUntil(String key, String reason, String message, Instant now, Instant until) {
    failures.put(key, new Failure(reason, message, 1, now, until));
  }

  /** Whether any failure is recorded (a retry is pending, or waits for its back-off). */
  public boolean any() {
    return !failures.isEmpty();
  }

  public void succeeded(String key) {
    failures.remove(key);
  }

  public Optional<Failure> get(String key) {
    return Optional.ofNullable(failures.get(key));
  }

  /** Forgets a pod's failures (it is no longer desired here). */
  public void forgetPod(String podKey) {
    failures.keySet().removeIf(k -> k.startsWith(podKey + "/"));
  }

  public void forget(String key) {
    failures.remove(key);
  }

  /** Forgets the failures whose key {@code gone} says no longer names anything. */
  void forgetIf(java.util.function.Predicate<String> gone) {
    failures.keySet().removeIf(gone);
  }

  /** The key that times how soon a pod's sandbox may be made again after it died. */
  public static String sandboxRestartKey(String podKey) {
    return podKey + "/POD-restart";
  }

  public static String key(String podKey, String container) {
    return podKey + "/" + container;
  }
}
