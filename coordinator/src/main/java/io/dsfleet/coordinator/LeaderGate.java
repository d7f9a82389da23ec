package io.dsfleet.coordinator;

import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * In front of every call of a replica: while it does not serve (a follower, an election) a call
 * ends at once UNAVAILABLE with the leader's coordinator address in the {@value #LEADER_KEY}
 * trailer (empty during an election), so agents and dsctl move to it. When the replica stops serving,
 * every call it holds (agents' sessions included) ends the same way.
 */
public final class LeaderGate implements ServerInterceptor {
  static final String LEADER_KEY = "dsfleet-leader";
  /** Where the leader serves, in the trailer of a call a replica that does not lead refused (empty during an election). */
  public static final Metadata.Key<String> LEADER = Metadata.Key.of(LEADER_KEY, Metadata.ASCII_STRING_MARSHALLER);

  private final String replicaId;
  private final Supplier<String> leaderAddress;
  private final Set<Gated<?, ?>> open = ConcurrentHashMap.newKeySet();
  private volatile boolean serving;

  LeaderGate(String replicaId, Supplier<String> leaderAddress) {
    this.replicaId = replicaId;
    this.leaderAddress = leaderAddress;
  }

  void open() {
    serving = true;
  }

  /** Stops serving: every open call ends UNAVAILABLE, naming the new leader once one is known. */
  void close() {
    serving = false;
    for (Gated<?, ?> call : open) {
      call.closeUnavailable("replica " + replicaId + " is no longer the leader");
    }
  }

  /** The leader's coordinator address; empty while there is none (an election): clients ask again soon. */
  private Metadata trailers() {
    Metadata m = new Metadata();
    String leader = leaderAddress.get();
    m.put(LEADER, leader == null ? "" : leader);
    return m;
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    if (!serving) {
      String leader = leaderAddress.get();
      call.close(Status.UNAVAILABLE.withDescription("replica " + replicaId + " is not the leader"
          + (leader == null ? " and no leader is elected yet; retry" : "; the leader is at " + leader)), trailers());
      return new ServerCall.Listener<>() {};
    }
    Gated<Q, R> gated = new Gated<>(call);
    open.add(gated);
    if (!serving) { // stopped while registering
      gated.closeUnavailable("replica " + replicaId + " is no longer the leader");
    }
    return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(next.startCall(gated, headers)) {
      @Override
      public void onCancel() {
        open.remove(gated);
        super.onCancel();
      }

      @Override
      public void onComplete() {
        open.remove(gated);
        super.onComplete();
      }
    };
  }

  /** A call the gate can end from another thread. */
  private final class Gated<Q, R> extends io.dsfleet.coordinator.security.ClosableCall<Q, R> {
    Gated(ServerCall<Q, R> call) {
      super(call);
    }

    void closeUnavailable(String why) {
      close(Status.UNAVAILABLE.withDescription(why + "; reconnect"), trailers());
    }

    @Override
    protected void onClosed() {
      open.remove(this);
    }
  }
}
