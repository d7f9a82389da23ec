package io.dsfleet.coordinator.store;

/** A store operation failed; nothing of it was written. */
public class StoreException extends RuntimeException {
  public StoreException(String message, Throwable cause) {
    super(message, cause);
  }
}
