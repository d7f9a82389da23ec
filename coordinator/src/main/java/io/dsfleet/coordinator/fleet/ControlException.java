package io.dsfleet.coordinator.fleet;

/** A refused request: a gRPC status code and a description naming what is wrong. Nothing was changed. */
public final class ControlException extends RuntimeException {
  private final io.grpc.Status.Code code;

  public ControlException(io.grpc.Status.Code code, String message) {
    super(message);
    this.code = code;
  }

  public io.grpc.Status.Code code() {
    return code;
  }

  public io.grpc.StatusRuntimeException toStatus() {
    return io.grpc.Status.fromCode(code).withDescription(getMessage()).asRuntimeException();
  }
}
