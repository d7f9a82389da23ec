package io.dsfleet.coordinator.security;

import io.grpc.ForwardingServerCall;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.Status;

/**
 * A server call that another thread may close (a timer, a leadership change): its methods are
 * serialized, and nothing is sent once it is closed. {@link #onClosed} runs once, at the close.
 */
public class ClosableCall<Q, R> extends ForwardingServerCall.SimpleForwardingServerCall<Q, R> {
  private boolean closed;

  public ClosableCall(ServerCall<Q, R> call) {
    super(call);
  }

  /** Called once, inside the close, whoever closes the call. */
  protected void onClosed() {
  }

  @Override
  public synchronized void sendHeaders(Metadata headers) {
    if (!closed) {
      super.sendHeaders(headers);
    }
  }

  @Override
  public synchronized void sendMessage(R message) {
    if (!closed) {
      super.sendMessage(message);
    }
  }

  @Override
  public synchronized void close(Status status, Metadata trailers) {
    if (!closed) {
      closed = true;
      onClosed();
      super.close(status, trailers);
    }
  }
}
