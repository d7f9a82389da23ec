package io.dsfleet.coordinator;

import io.grpc.BindableService;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.InputStream;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A request that does not decode as its message type is the caller's fault: the call ends
 * INVALID_ARGUMENT naming the method, instead of gRPC's UNKNOWN "application error" with a stack
 * trace in the coordinator's log for every such request (a log flood anyone can cause). One
 * warning at most every 10 s says how many there were.
 *
 * <p>gRPC decodes a message and hands it to the call's listener on one thread, in one statement;
 * the marshaller notes a failure for that thread and returns a placeholder, and the listener,
 * seeing the note, closes the call instead of passing the placeholder on.
 */
final class StrictDecoding {
  private static final Logger log = LoggerFactory.getLogger(StrictDecoding.class);
  private static final ThreadLocal<Status> FAILED = new ThreadLocal<>();
  private static final AtomicLong refused = new AtomicLong();
  private static final Throttle warnings = new Throttle(Duration.ofSeconds(10));

  private StrictDecoding() {}

  static ServerServiceDefinition of(BindableService service) {
    ServerServiceDefinition def = service.bindService();
    ServerServiceDefinition.Builder b = ServerServiceDefinition.builder(def.getServiceDescriptor().getName());
    for (ServerMethodDefinition<?, ?> m : def.getMethods()) {
      b.addMethod(strict(m));
    }
    return b.build();
  }

  private static <Q, R> ServerMethodDefinition<Q, R> strict(ServerMethodDefinition<Q, R> m) {
    MethodDescriptor<Q, R> d = m.getMethodDescriptor();
    MethodDescriptor.Marshaller<Q> requests = d.getRequestMarshaller();
    Q placeholder = requests.parse(InputStream.nullInputStream()); // the default instance of the message type
    MethodDescriptor.Marshaller<Q> noting = new MethodDescriptor.Marshaller<>() {
      @Override
      public InputStream stream(Q value) {
        return requests.stream(value);
      }

      @Override
      public Q parse(InputStream in) {
        FAILED.remove(); // only this message's failure may reach the listener that takes it
        try {
          return requests.parse(in);
        } catch (StatusRuntimeException e) {
          FAILED.set(Status.INVALID_ARGUMENT.withDescription("the request to " + d.getFullMethodName() + " does not decode as "
              + d.getFullMethodName().substring(d.getFullMethodName().indexOf('/') + 1) + "'s message type"));
          return placeholder;
        }
      }
    };
    ServerCallHandler<Q, R> handler = m.getServerCallHandler();
    ServerCallHandler<Q, R> checking = (call, headers) -> new Listener<>(handler.startCall(call, headers), call);
    return ServerMethodDefinition.create(d.toBuilder().setRequestMarshaller(noting).build(), checking);
  }

  /** Passes calls on until a message fails to decode; then closes the call and drops what the client still sends. */
  private static final class Listener<Q, R> extends ForwardingServerCallListener.SimpleForwardingServerCallListener<Q> {
    private final ServerCall<Q, R> call;
    private boolean refusedCall;

    Listener(ServerCall.Listener<Q> delegate, ServerCall<Q, R> call) {
      super(delegate);
      this.call = call;
    }

    @Override
    public void onMessage(Q message) {
      Status failed = FAILED.get();
      if (failed != null) {
        FAILED.remove();
        if (!refusedCall) {
          refusedCall = true;
          call.close(failed, new Metadata());
          warn(failed);
        }
        return;
      }
      if (!refusedCall) {
        super.onMessage(message);
      }
    }

    @Override
    public void onHalfClose() {
      if (!refusedCall) {
        super.onHalfClose();
      }
    }
  }

  private static void warn(Status failed) {
    long n = refused.incrementAndGet();
    if (warnings.due()) {
      log.warn("refused {} undecodable request(s) so far; the last: {}", n, failed.getDescription());
    }
  }
}
