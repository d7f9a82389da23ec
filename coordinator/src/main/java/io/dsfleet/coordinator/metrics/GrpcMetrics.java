package io.dsfleet.coordinator.metrics;

import io.grpc.ForwardingServerCall.SimpleForwardingServerCall;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Histogram;

/**
 * Every call the coordinator ends, by service, method and status code, with how long it took (as
 * go-grpc-prometheus names them, with the dsfleet_ prefix). An agent's session is one call that
 * lasts as long as the agent is connected: its duration is the session's.
 */
public final class GrpcMetrics implements ServerInterceptor {
  static final Counter HANDLED = Counter.builder().name("dsfleet_grpc_server_handled_total")
      .help("gRPC calls the coordinator ended, by service, method, type and status code")
      .labelNames("grpc_service", "grpc_method", "grpc_type", "grpc_code").withoutExemplars().build();
  static final Histogram HANDLING = Histogram.builder().name("dsfleet_grpc_server_handling_seconds")
      .help("How long gRPC calls took until the coordinator ended them, seconds (an agent session: its whole life)")
      .labelNames("grpc_service", "grpc_method", "grpc_type").classicOnly()
      .classicUpperBounds(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60, 600, 3600)
      .withoutExemplars().build();

  /** A status code as gRPC's Go code prints it, as go-grpc-prometheus labels it: DeadlineExceeded, Canceled, OK. */
  static String codeName(Status.Code code) {
    if (code == Status.Code.OK) {
      return "OK";
    }
    if (code == Status.Code.CANCELLED) {
      return "Canceled";
    }
    StringBuilder b = new StringBuilder();
    for (String word : code.name().split("_")) {
      b.append(word.charAt(0)).append(word.substring(1).toLowerCase());
    }
    return b.toString();
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    MethodDescriptor<Q, R> m = call.getMethodDescriptor();
    String service = m.getServiceName() == null ? "" : m.getServiceName();
    String method = m.getBareMethodName() == null ? m.getFullMethodName() : m.getBareMethodName();
    String type = switch (m.getType()) {
      case UNARY -> "unary";
      case CLIENT_STREAMING -> "client_stream";
      case SERVER_STREAMING -> "server_stream";
      case BIDI_STREAMING -> "bidi_stream";
      default -> "unknown";
    };
    long start = System.nanoTime();
    java.util.concurrent.atomic.AtomicBoolean ended = new java.util.concurrent.atomic.AtomicBoolean();
    java.util.function.Consumer<Status.Code> record = code -> {
      if (ended.compareAndSet(false, true)) {
        HANDLED.labelValues(service, method, type, codeName(code)).inc();
        HANDLING.labelValues(service, method, type).observe((System.nanoTime() - start) / 1e9);
      }
    };
    ServerCall.Listener<Q> listener = next.startCall(new SimpleForwardingServerCall<>(call) {
      @Override
      public void close(Status status, Metadata trailers) {
        record.accept(status.getCode());
        super.close(status, trailers);
      }
    }, headers);
    // a call the client cancelled (an agent gone, dsctl interrupted) is never closed by the server
    return new io.grpc.ForwardingServerCallListener.SimpleForwardingServerCallListener<>(listener) {
      @Override
      public void onCancel() {
        record.accept(Status.Code.CANCELLED);
        super.onCancel();
      }
    };
  }
}
