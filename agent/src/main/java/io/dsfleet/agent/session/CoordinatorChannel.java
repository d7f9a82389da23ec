package io.dsfleet.agent.session;

import io.dsfleet.common.tls.Pki;
import io.grpc.ConnectivityState;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.function.BooleanSupplier;

/**
 * The session's one gRPC channel and which coordinator it goes to: the configured addresses in
 * turn, or the leader a replica named. Made when first needed, with the session's current
 * credentials; dropped when they change, when the session moves to another coordinator, and after
 * a lost connection. A leaf lock: nothing here calls out while holding it but gRPC's own
 * non-blocking channel calls.
 */
final class CoordinatorChannel {
  private final List<String> coordinators;
  private final NodeCredentials credentials;
  private final BooleanSupplier closed;
  private ManagedChannel channel;
  private int coordinatorIndex;
  /** The leader a coordinator replica named when it refused to serve; tried before the configured list. */
  private String leaderHint;
  /** Where gRPC runs the channel's callbacks; null: gRPC's own pool. */
  private Executor callbacks;
  private Transport transport = Transport.OKHTTP;

  CoordinatorChannel(List<String> coordinators, NodeCredentials credentials, BooleanSupplier closed) {
    this.coordinators = List.copyOf(coordinators);
    this.credentials = credentials;
    this.closed = closed;
  }

  /** See {@link CoordinatorSession#callbacksOn}. */
  synchronized void callbacksOn(Executor executor) {
    if (channel != null) {
      throw new IllegalStateException("callbacksOn after the session's channel was made: call it before start()");
    }
    this.callbacks = executor;
  }

  /** See {@link CoordinatorSession#over}. */
  synchronized void over(Transport transport) {
    if (channel != null) {
      throw new IllegalStateException("over after the session's channel was made: call it before start()");
    }
    this.transport = transport;
  }

  /** The channel, made now if there is none; refused once the session is closed. */
  synchronized ManagedChannel get() {
    if (closed.getAsBoolean()) {
      throw new IllegalStateException("the session is closed");
    }
    if (channel == null) {
      ManagedChannelBuilder<?> b = transport.channel(target(), credentials.channelCredentials(transport));
      if (!credentials.isInsecure()) {
        b.overrideAuthority(Pki.SERVER_NAME);
      }
      if (callbacks != null) {
        b.executor(callbacks);
      }
      channel = b.build();
    }
    return channel;
  }

  synchronized String target() {
    return leaderHint != null ? leaderHint : coordinators.get(coordinatorIndex % coordinators.size());
  }

  /** Drops the channel so the next call connects with the current credentials. */
  synchronized void reset() {
    if (channel != null) {
      channel.shutdownNow();
      channel = null;
    }
  }

  /**
   * Whether a try reuses the channel: only while its connection is up (a session that ended on a
   * live connection reopens on it, no new handshake for a coordinator that may be busy with a
   * fleet's). A channel whose connection is lost is dropped, and the next try connects once, at
   * once, on a new one. A lost channel kept between tries waits out gRPC's own connect back-off (up
   * to 2 minutes after a long outage) and fails every try meanwhile; with that back-off reset before
   * each try (or the channel made idle), gRPC also reconnected on its own between tries: 2-3
   * connections a try (OutageReconnectTest), 3,600 a second from 5,000 simulated agents 10-15 s
   * into an outage (docs/benchmarks.md). So the agent's back-off alone decides when it connects,
   * and a coordinator back from an outage hears from it within Reconnects.MAX_DELAY and
   * CONNECT_TIMEOUT (15 s), well inside the Reconnects.longestReturn() its restart grace allows.
   */
  synchronized void dropLostConnection() {
    if (channel != null && channel.getState(false) != ConnectivityState.READY) {
      reset();
    }
  }

  /**
   * Leaves a named leader for the configured list, or moves on to the next configured coordinator
   * (with several). Whether the next try goes to another address: false with one address and no
   * leader named.
   */
  synchronized boolean nextCoordinator() {
    if (leaderHint != null) {
      leaderHint = null;
      reset();
      return true;
    }
    if (coordinators.size() > 1) {
      reset();
      coordinatorIndex++;
      return true;
    }
    return false;
  }

  /** Goes to the leader a replica named, unless already there. */
  synchronized void toLeader(String leader) {
    if (!leader.equals(target())) {
      reset();
      leaderHint = leader;
    }
  }
}
