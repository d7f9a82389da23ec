package io.dsfleet.coordinator.security;

import io.grpc.Context;
import io.grpc.ForwardingServerCall;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerStreamTracer;
import io.grpc.Status;
import java.time.Duration;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * A call the coordinator has answered and closed is reset when its client has not taken the
 * answer {@link #LIMIT} later. What gRPC sends waits in the connection's buffers (off the heap)
 * until the client's HTTP/2 window lets it go, and a client may open its streams with a window of
 * nothing and answer every ping: before helper-192 a viewer's 64 {@code Get}s of a 900 KB
 * ConfigMap on each of 4 connections held 254 MiB of the coordinator's direct memory for as long
 * as it liked (1,024 connections an address may open; direct memory is as large as the heap, and
 * once it is spent no connection, an agent's neither, can send), {@code UnreadAnswersTest}.
 * dsctl gives a whole request 30 s by default. The reset is the one gRPC makes of a call whose
 * deadline passed: its context cancelled with DEADLINE_EXCEEDED. An interceptor sees only a context
 * that cannot be cancelled; {@link #tracers} gives each call one, under gRPC's own, that can.
 */
public final class UnreadAnswers implements ServerInterceptor {
  static final Duration LIMIT = Duration.ofSeconds(30);
  private static final Context.Key<Context.CancellableContext> RESETTABLE = Context.key("dsfleet-resettable");

  private final ScheduledExecutorService timer;

  public UnreadAnswers(ScheduledExecutorService timer) {
    this.timer = timer;
  }

  /** Add to the server's stream tracers: it gives each call the context the reset cancels. */
  public ServerStreamTracer.Factory tracers() {
    return new ServerStreamTracer.Factory() {
      @Override
      public ServerStreamTracer newServerStreamTracer(String fullMethodName, Metadata headers) {
        return new ServerStreamTracer() {
          @Override
          public Context filterContext(Context context) {
            Context.CancellableContext resettable = context.withCancellation();
            return resettable.withValue(RESETTABLE, resettable);
          }
        };
      }
    };
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    Context.CancellableContext context = RESETTABLE.get();
    if (context == null) {
      throw new IllegalStateException("UnreadAnswers' interceptor needs its stream tracers on the server");
    }
    Watched<Q, R> watched = new Watched<>(call, context);
    return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(next.startCall(watched, headers)) {
      @Override
      public void onComplete() {
        watched.taken();
        super.onComplete();
      }

      @Override
      public void onCancel() {
        watched.taken();
        super.onCancel();
      }
    };
  }

  /** The call, whose close starts the wait for the client to take what is left; the call's end stops it. */
  private final class Watched<Q, R> extends ForwardingServerCall.SimpleForwardingServerCall<Q, R> {
    private final Context.CancellableContext context;
    private boolean ended;
    private ScheduledFuture<?> reset;

    Watched(ServerCall<Q, R> call, Context.CancellableContext context) {
      super(call);
      this.context = context;
    }

    @Override
    public void close(Status status, Metadata trailers) {
      super.close(status, trailers);
      synchronized (this) {
        if (!ended && reset == null) {
          reset = timer.schedule(() -> context.cancel(Status.DEADLINE_EXCEEDED.withDescription("the client took no answer "
              + LIMIT.toSeconds() + " s after it was ready").asRuntimeException()), LIMIT.toMillis(), TimeUnit.MILLISECONDS);
        }
      }
    }

    synchronized void taken() {
      ended = true;
      if (reset != null) {
        reset.cancel(false);
      }
    }
  }
}
