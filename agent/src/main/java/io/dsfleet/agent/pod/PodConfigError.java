package io.dsfleet.agent.pod;

/**
 * A pod cannot be started as configured (a missing ConfigMap key, a hostPath of the wrong type,
 * runAsNonRoot with a root image, ...). Reported as the container's waiting reason; retried.
 */
public final class PodConfigError extends RuntimeException {
  private final String reason;

  public PodConfigError(String reason, String message) {
    super(message);
    this.reason = reason;
  }

  public String reason() {
    return reason;
  }
}
