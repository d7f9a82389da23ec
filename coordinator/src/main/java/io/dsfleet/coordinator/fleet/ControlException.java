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
    return answered(io.grpc.Status.fromCode(code).withDescription(getMessage()));
  }

  /**
   * In the trailers of every status the coordinator itself ends a control call with: an UNAVAILABLE
   * it sends (its store refused a write) is an answer, not a coordinator dsctl cannot reach.
   */
  public static final io.grpc.Metadata.Key<String> ANSWERED = io.grpc.Metadata.Key.of("dsfleet-answered", io.grpc.Metadata.ASCII_STRING_MARSHALLER);

  /** {@code status} as the coordinator's own answer (marked {@link #ANSWERED}). */
  public static io.grpc.StatusRuntimeException answered(io.grpc.Status status) {
    io.grpc.Metadata trailers = new io.grpc.Metadata();
    trailers.put(ANSWERED, "1");
    return status.asRuntimeException(trailers);
  }
}
