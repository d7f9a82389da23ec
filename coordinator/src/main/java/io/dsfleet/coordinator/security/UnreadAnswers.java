package io.dsfleet.coordinator.security;

import com.google.protobuf.MessageLite;
import io.grpc.Context;
import io.grpc.ForwardingServerCall;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerStreamTracer;
import io.grpc.Status;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Answers the coordinator has given that their clients have not taken: at most {@link #BUDGET}
 * bytes of one credential's wait at once (an answer beyond is refused RESOURCE_EXHAUSTED), and each
 * call's for {@link #LIMIT} after the call closed (then its stream is reset). What gRPC sends
 * waits in the connection's buffers (off the heap) until the client's HTTP/2 window lets it go,
 * and a client may open its streams with a window of nothing and answer every ping: before
 * helper-192 a viewer's 64 {@code Get}s of a 900 KB ConfigMap on each of 4 connections held 254 MiB
 * of the coordinator's direct memory for as long as it liked (64 calls a connection, 1,024
 * connections an address; direct memory is as large as the heap, and once it is spent no
 * connection, an agent's neither, can send), {@code UnreadAnswersTest}. dsctl gives a whole
 * request 30 s by default, and reads one answer of at most a message (4 MiB) at a time.
 *
 * <p>Counted by credential (a node's, an admin's or a viewer's: the same role and name), for unary
 * calls: a streaming call sends only while its client takes (gRPC's onReady), and holds at most its
 * last message beyond. An answer over the budget is not sent: the call ends RESOURCE_EXHAUSTED.
 * Calls without a certificate are not counted (a join's answer is a certificate, its refusal a
 * status; a budget they shared would let anyone refuse every join). The reset is the one gRPC
 * makes of a call whose deadline passed: its context cancelled with DEADLINE_EXCEEDED. An
 * interceptor sees only a context that cannot be cancelled; {@link #tracers} gives each call one,
 * under gRPC's own, that can. Runs after {@link AuthInterceptor}, which names the caller.
 */
public final class UnreadAnswers implements ServerInterceptor {
  static final Duration LIMIT = Duration.ofSeconds(30);
  static final long BUDGET = 64L << 20;
  private static final Context.Key<Context.CancellableContext> RESETTABLE = Context.key("dsfleet-resettable");

  private final ScheduledExecutorService timer;
  /** Bytes of answers not yet taken, by credential. */
  private final Map<String, Long> waiting = new HashMap<>();

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
    Caller caller = Caller.current();
    boolean counted = call.getMethodDescriptor().getType() == MethodDescriptor.MethodType.UNARY
        && caller.kind() != Caller.Kind.ANONYMOUS && caller.kind() != Caller.Kind.INSECURE;
    Watched<Q, R> watched = new Watched<>(call, context, counted ? caller.toString() : null);
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

  /** Counts an answer of the credential's as waiting; false, counting nothing, when it would take it over {@link #BUDGET}. */
  private boolean reserve(String credential, long bytes) {
    synchronized (waiting) {
      long held = waiting.getOrDefault(credential, 0L);
      if (held + bytes > BUDGET) {
        return false;
      }
      waiting.put(credential, held + bytes);
      return true;
    }
  }

  private void release(String credential, long bytes) {
    synchronized (waiting) {
      waiting.computeIfPresent(credential, (k, held) -> held == bytes ? null : held - bytes);
    }
  }

  /**
   * The call: its answer counted against its credential's budget (a unary call's, with a credential)
   * or refused over it, its close starting the wait for the client to take what is left; its end
   * stops both.
   */
  private final class Watched<Q, R> extends ForwardingServerCall.SimpleForwardingServerCall<Q, R> {
    private final Context.CancellableContext context;
    private final String credential;
    private long reserved;
    private boolean refused;
    private boolean ended;
    private ScheduledFuture<?> reset;

    Watched(ServerCall<Q, R> call, Context.CancellableContext context, String credential) {
      super(call);
      this.context = context;
      this.credential = credential;
    }

    @Override
    public void sendMessage(R message) {
      if (credential != null) {
        long bytes = message instanceof MessageLite m ? m.getSerializedSize() : 0;
        synchronized (this) {
          if (ended || !reserve(credential, bytes)) {
            refused = true;
            return;
          }
          reserved += bytes;
        }
      }
      super.sendMessage(message);
    }

    @Override
    public void close(Status status, Metadata trailers) {
      boolean over;
      synchronized (this) {
        over = refused;
      }
      super.close(over ? Status.RESOURCE_EXHAUSTED.withDescription("answers of " + (BUDGET >> 20) + " MiB wait for the clients of "
          + credential + " to take them: read them, or wait up to " + LIMIT.toSeconds() + " s") : status, over ? new Metadata() : trailers);
      synchronized (this) {
        if (!ended && reset == null) {
          reset = timer.schedule(() -> context.cancel(Status.DEADLINE_EXCEEDED.withDescription("the client took no answer "
              + LIMIT.toSeconds() + " s after it was ready").asRuntimeException()), LIMIT.toMillis(), TimeUnit.MILLISECONDS);
        }
      }
    }

    synchronized void taken() {
      if (ended) {
        return;
      }
      ended = true;
      if (reset != null) {
        reset.cancel(false);
      }
      if (reserved > 0) {
        release(credential, reserved);
      }
    }
  }
}
