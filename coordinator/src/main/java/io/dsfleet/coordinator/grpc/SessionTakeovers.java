package io.dsfleet.coordinator.grpc;

import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * How often a node's session may be replaced while it is open. A session that opens for a node
 * whose session is still open replaces it (an agent restarted, or back from a network partition,
 * before the coordinator saw its old connection end), and needs to at once; two holders of one
 * node certificate (a copy of {@code pki/node.pem}) did so in turns as fast as they could
 * reconnect, about 250 a second on a 2-core machine, each a session set up, three rebuilds of
 * every watcher's view and the node's whole desired set, while the real agent's pods were reported
 * and unreported in turn and nothing told an operator. A token bucket per node: {@link #BURST}
 * replacements at once, then one every {@link #REFILL}; a session over that is refused
 * ({@link Refusal}) before anything of it reaches the fleet. A session that opens while none of its
 * node is open (the first, one after the old one ended, every agent after a coordinator restart)
 * is never counted or refused.
 *
 * <p>Read and written on the transport threads, without the fleet's lock: each node's entry
 * changes under the map's lock of its key only.
 */
final class SessionTakeovers {
  /** Replacements a node's session may have at once: an agent's restart, a partition healing, a renewal's reconnect between. */
  static final int BURST = 2;
  /** One more replacement allowed each this long. */
  static final Duration REFILL = Duration.ofSeconds(5);
  /** The node's Warning event and the log's warning about its replacements, at most once this long. */
  static final Duration WARN_EVERY = Duration.ofMinutes(1);

  /** A session refused: try again after {@code retryAfter}; {@code warning} is the text to tell the operator now, or null. */
  record Refusal(Duration retryAfter, String warning) {
    /** RESOURCE_EXHAUSTED saying why, with the wait in a {@code google.rpc.RetryInfo} (which the agent's back-off honours). */
    io.grpc.StatusRuntimeException toException(String node) {
      long millis = Math.max(1, retryAfter.toMillis());
      String text = "node " + node + "'s session was replaced by another too often (" + BURST + " at once, then one every "
          + REFILL.toSeconds() + " s: does another agent hold this node's certificate?); try again in " + millis + " ms";
      return io.grpc.protobuf.StatusProto.toStatusRuntimeException(com.google.rpc.Status.newBuilder()
          .setCode(io.grpc.Status.Code.RESOURCE_EXHAUSTED.value()).setMessage(text)
          .addDetails(com.google.protobuf.Any.pack(com.google.rpc.RetryInfo.newBuilder().setRetryDelay(com.google.protobuf.Duration.newBuilder()
              .setSeconds(millis / 1000).setNanos((int) (millis % 1000) * 1_000_000)).build())).build());
    }
  }

  private static final class Node {
    Object open;
    int tokens = BURST;
    long stampNanos;
    /** When the last warning was told; 0 with {@link #warned} false: never. */
    long warnedNanos;
    boolean warned;
    int replaced;
    int refused;
  }

  private final LongSupplier nanoTime;
  private final ConcurrentHashMap<String, Node> nodes = new ConcurrentHashMap<>();

  SessionTakeovers(LongSupplier nanoTime) {
    this.nanoTime = nanoTime;
  }

  /**
   * Session {@code session} opens for {@code node}: it is the node's open session from now on,
   * or, when it would replace one over the node's allowance, refused (it is not recorded).
   *
   * @return null when it may open
   */
  Refusal open(String node, Object session) {
    long now = nanoTime.getAsLong();
    Refusal[] refusal = new Refusal[1];
    nodes.compute(node, (k, n) -> {
      if (n == null) {
        n = new Node();
        n.stampNanos = now;
      }
      refill(n, now);
      if (n.open != null && n.open != session) {
        if (n.tokens == 0) {
          n.refused++;
          long wait = REFILL.toNanos() - (now - n.stampNanos);
          refusal[0] = new Refusal(Duration.ofNanos(Math.max(wait, 0)), warning(k, n, now));
          return n;
        }
        n.tokens--;
        n.replaced++;
      }
      n.open = session;
      return n;
    });
    return refusal[0];
  }

  /** The node's session {@code session} ended (a newer one that replaced it stays open). */
  void ended(String node, Object session) {
    long now = nanoTime.getAsLong();
    nodes.computeIfPresent(node, (k, n) -> {
      if (n.open == session) {
        n.open = null;
      }
      refill(n, now);
      // nothing left to remember: its allowance is whole and its last warning old (a node removed leaves no entry)
      boolean quiet = !n.warned || now - n.warnedNanos >= WARN_EVERY.toNanos();
      return n.open == null && n.tokens == BURST && quiet ? null : n;
    });
  }

  private static void refill(Node n, long now) {
    if (n.tokens >= BURST) {
      n.stampNanos = now;
      return;
    }
    long grown = (now - n.stampNanos) / REFILL.toNanos();
    if (grown > 0) {
      n.tokens = (int) Math.min(BURST, n.tokens + grown);
      n.stampNanos = n.tokens >= BURST ? now : n.stampNanos + grown * REFILL.toNanos();
    }
  }

  /** The text of a warning due now (the first refusal, then once each {@link #WARN_EVERY}), or null. */
  private static String warning(String node, Node n, long now) {
    if (n.warned && now - n.warnedNanos < WARN_EVERY.toNanos()) {
      return null;
    }
    String text = "sessions of node " + node + " replaced one another " + n.replaced + " times"
        + (n.warned ? " since the last warning" : "") + " and " + n.refused + " more were refused: two agents hold its"
        + " certificate (a copy of its pki/node.pem, or a second agent given the node's name)? A session may replace the"
        + " node's open one " + BURST + " times at once, then once every " + REFILL.toSeconds() + " s. To shut a copy out, give the"
        + " node's agent a token made with dsctl token create --node " + node + " (its admission revokes every certificate of the node)";
    n.warned = true;
    n.warnedNanos = now;
    n.replaced = 0;
    n.refused = 0;
    return text;
  }
}
