package io.dsfleet.agent.runtime;

/** The runtime (e.g. dockerd) did not answer; the caller retries later. */
public final class RuntimeUnavailableException extends RuntimeException {
  public RuntimeUnavailableException(String message, Throwable cause) {
    super(message, cause);
  }
}
