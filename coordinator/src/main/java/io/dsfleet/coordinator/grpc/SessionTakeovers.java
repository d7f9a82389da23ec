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
 * is never counted as one. Every session a node opens counts against a second bucket,
 * {@link #OPEN_BURST} at once and then one a second: one holder of a node certificate (root on
 * the node, or any name a join token admits) opening a session and ending it, never replacing
 * one, had the same cost about 700 times a second, and an agent opens one when it starts and
 * then after back-offs of 0.25 s and more, doubling, or once its session lasted 10 s.
 *
 * <p>Read and written on the transport threads, without the fleet's lock: each node's entry
 * changes under the map's lock of its key only.
 */
final class SessionTakeovers {
  /** Replacements a node's session may have at once: an agent's restart, a partition healing, a renewal's reconnect between. */
  static final int BURST = 2;
  /** One more replacement allowed each this long. */
  static final Duration REFILL = Duration.ofSeconds(5);
  /** Sessions a node may open at once, replacing one or not. */
  static final int OPEN_BURST = 10;
  /** One more session allowed each this long. */
  static final Duration OPEN_REFILL = Duration.ofSeconds(1);
  /** The node's Warning event and the log's warning about its replacements, at most once this long. */
  static final Duration WARN_EVERY = Duration.ofMinutes(1);

  /**
   * A session refused: {@code why} it was, to try again after {@code retryAfter}; {@code warning}
   * is the text to tell the operator now (a Warning event on the node and the log), or null;
   * {@code logOnly} when it goes to the log alone.
   */
  record Refusal(String why, Duration retryAfter, String warning, boolean logOnly) {
    /** RESOURCE_EXHAUSTED saying why, with the wait in a {@code google.rpc.RetryInfo} (which the agent's back-off honours). */
    io.grpc.StatusRuntimeException toException() {
      long millis = Math.max(1, retryAfter.toMillis());
      String text = why + "; try again in " + millis + " ms";
      return io.grpc.protobuf.StatusProto.toStatusRuntimeException(com.google.rpc.Status.newBuilder()
          .setCode(io.grpc.Status.Code.RESOURCE_EXHAUSTED.value()).setMessage(text)
          .addDetails(com.google.protobuf.Any.pack(com.google.rpc.RetryInfo.newBuilder().setRetryDelay(com.google.protobuf.Duration.newBuilder()
              .setSeconds(millis / 1000).setNanos((int) (millis % 1000) * 1_000_000)).build())).build());
    }
  }

  private static final class Node {
    Object open;
    final TokenBucket replacements;
    final TokenBucket opens;
    /** When the last warning was told; meaningless while {@link #warned} is false. */
    long warnedNanos;
    boolean warned;
    int replaced;
    int refused;
    /** When the log last said the node opens sessions too often; meaningless while {@link #loggedOpens} is false. */
    long loggedOpensNanos;
    boolean loggedOpens;

    Node(long now) {
      replacements = new TokenBucket(BURST, REFILL, now);
      opens = new TokenBucket(OPEN_BURST, OPEN_REFILL, now);
    }
  }

  private final LongSupplier nanoTime;
  private final ConcurrentHashMap<String, Node> nodes = new ConcurrentHashMap<>();

  SessionTakeovers(LongSupplier nanoTime) {
    this.nanoTime = nanoTime;
  }

  /**
   * Session {@code session} opens for {@code node}: it is the node's open session from now on,
   * or, when it would replace one over the node's allowance or open over the node's, refused (it
   * is not recorded, and counts against neither).
   *
   * @return null when it may open
   */
  Refusal open(String node, Object session) {
    long now = nanoTime.getAsLong();
    Refusal[] refusal = new Refusal[1];
    nodes.compute(node, (k, n) -> {
      if (n == null) {
        n = new Node(now);
      }
      n.replacements.refill(now);
      n.opens.refill(now);
      boolean replaces = n.open != null && n.open != session;
      if (replaces && n.replacements.tokens == 0) {
        n.refused++;
        refusal[0] = new Refusal("node " + k + "'s session was replaced by another too often (" + BURST + " at once, then one every "
            + REFILL.toSeconds() + " s: does another agent hold this node's certificate?)", n.replacements.untilNext(now), warning(k, n, now), false);
        return n;
      }
      if (n.opens.tokens == 0) {
        boolean log = !n.loggedOpens || now - n.loggedOpensNanos >= WARN_EVERY.toNanos();
        if (log) {
          n.loggedOpens = true;
          n.loggedOpensNanos = now;
        }
        String why = "node " + k + " opens sessions too often (" + OPEN_BURST + " at once, then one every " + OPEN_REFILL.toSeconds() + " s)";
        refusal[0] = new Refusal(why, n.opens.untilNext(now), log ? why + "; refused until then, told once a minute" : null, true);
        return n;
      }
      n.opens.tokens--;
      if (replaces) {
        n.replacements.tokens--;
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
      return forgettable(n, now) ? null : n;
    });
    if (endings.incrementAndGet() % SWEEP_EVERY == 0) {
      // a session that ended with its node's allowance short stays, to be counted against, until it has grown
      // whole; the node may never open another (removed, renamed), so now and then every such entry is looked at
      nodes.forEach((k, n) -> nodes.computeIfPresent(k, (key, m) -> forgettable(m, now) ? null : m));
    }
  }

  /** Entries are looked at all together once this many sessions ended: the map holds open sessions and recent history only. */
  static final int SWEEP_EVERY = 1024;
  private final java.util.concurrent.atomic.AtomicLong endings = new java.util.concurrent.atomic.AtomicLong();

  /** Nothing left to remember of the node: no session open, its allowances whole, its last warnings old. */
  private static boolean forgettable(Node n, long now) {
    n.replacements.refill(now);
    n.opens.refill(now);
    boolean quiet = (!n.warned || now - n.warnedNanos >= WARN_EVERY.toNanos())
        && (!n.loggedOpens || now - n.loggedOpensNanos >= WARN_EVERY.toNanos());
    return n.open == null && n.replacements.full() && n.opens.full() && quiet;
  }

  /** Nodes remembered (tests). */
  int remembered() {
    return nodes.size();
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
