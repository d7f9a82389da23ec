package io.dsfleet.coordinator.fleet;

/** A refused request: a gRPC status code and a description naming what is wrong. Nothing was changed. */
public final class ControlException extends RuntimeException {
  private final io.grpc.Status.Code code;
  private final boolean writeRefused;

  public ControlException(io.grpc.Status.Code code, String message) {
    this(code, message, false);
  }

  /** @param writeRefused the store refused a write and wrote nothing of it (not a write whose outcome is unknown) */
  public ControlException(io.grpc.Status.Code code, String message, boolean writeRefused) {
    super(message);
    this.code = code;
    this.writeRefused = writeRefused;
  }

  /** Whether the store refused the request's write and wrote nothing of it. */
  public boolean writeRefused() {
    return writeRefused;
  }

  public io.grpc.Status.Code code() {
    return code;
  }

  public io.grpc.StatusRuntimeException toStatus() {
    return io.grpc.Status.fromCode(code).withDescription(getMessage()).asRuntimeException();
  }
}
