package io.dsfleet.coordinator.security;

import io.dsfleet.common.Sha256;
import io.dsfleet.common.tls.JoinToken;
import io.dsfleet.coordinator.fleet.ControlException;
import io.dsfleet.coordinator.store.Store;
import io.dsfleet.coordinator.store.Store.StoredToken;
import io.grpc.Status;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The fleet's join tokens: made, listed, revoked, checked and counted. Only their secrets' hashes
 * are kept. Not thread-safe: the {@link Authority} calls it under its monitor, as a join's token
 * check and the certificate it admits are one step.
 */
final class JoinTokens {
  private static final Logger log = LoggerFactory.getLogger(JoinTokens.class);
  private final Store store;
  private final Clock clock;
  /** The fleet CA's hash, which every token of this fleet carries. */
  private final String caHash;
  private final Map<String, StoredToken> tokens = new LinkedHashMap<>();

  /** Expiry on the wall clock and, against a step back, the monotonic one. */
  private final TokenExpiry expiry;

  JoinTokens(Store store, Clock clock, String caHash) {
    this(store, clock, System::nanoTime, caHash);
  }

  /** @param nanoTime the monotonic clock ({@code System::nanoTime}; a fake one in tests) */
  JoinTokens(Store store, Clock clock, java.util.function.LongSupplier nanoTime, String caHash) {
    this.store = store;
    this.clock = clock;
    this.caHash = caHash;
    this.expiry = new TokenExpiry(clock, nanoTime);
    for (StoredToken t : store.tokens()) {
      tokens.put(t.id(), t);
      expiry.known(t);
    }
  }

  /** A new token; see {@link Authority#createToken(Duration, String, String, int)}. */
  JoinToken create(Duration ttl, String description, String node, int maxUses) {
    requirePositive(ttl);
    if (maxUses < 0) {
      throw new ControlException(Status.Code.INVALID_ARGUMENT, "a token's maximum uses must be 0 (unlimited) or more");
    }
    if (!node.isEmpty()) {
      io.dsfleet.coordinator.fleet.Fleet.requireName(node);
      maxUses = maxUses == 0 ? 1 : maxUses; // a token for one node is single use unless the admin asks for more
    }
    JoinToken token = store(description, ttl, node, maxUses);
    log.warn("security: join token {} created ({}{})", token.id(), node.isEmpty() ? "any new node" : "node " + node,
        maxUses == 0 ? "" : ", " + maxUses + " use(s)");
    return token;
  }

  /** The token scope that marks a replica's join token: a node name never contains '/'. */
  static String replicaScope(String id) {
    return "replica/" + id;
  }

  /** A single-use token for the coordinator replica {@code id}. */
  JoinToken createReplica(String id, Duration ttl) {
    requirePositive(ttl);
    JoinToken token = store("coordinator replica " + id, ttl, replicaScope(id), 1);
    log.warn("security: join token {} created for coordinator replica {}", token.id(), id);
    return token;
  }

  private static void requirePositive(Duration ttl) {
    if (ttl.isNegative() || ttl.isZero()) {
      throw new ControlException(Status.Code.INVALID_ARGUMENT, "a token's time to live must be positive");
    }
  }

  private JoinToken store(String description, Duration ttl, String scope, int maxUses) {
    JoinToken token = JoinToken.create(caHash);
    long now = clock.millis();
    StoredToken t = new StoredToken(token.id(), Sha256.hex(token.secret()), description, now, now + ttl.toMillis(), 0, 0, scope, maxUses);
    store.putToken(t);
    tokens.put(t.id(), t);
    expiry.known(t);
    return token;
  }

  /** Uses up a checked token for the replica {@code id}, written at once; refused for another scope or when used up. */
  StoredToken useForReplica(StoredToken t, String id) {
    if (!t.node().equals(replicaScope(id))) {
      throw new ControlException(Status.Code.PERMISSION_DENIED, "join token " + t.id() + " does not admit coordinator replica " + id
          + " (make one with dsctl replica add " + id + ")");
    }
    if (t.uses() >= t.maxUses()) {
      throw new ControlException(Status.Code.UNAUTHENTICATED, "join token " + t.id() + " is used up");
    }
    StoredToken used = t.withUses(t.uses() + 1);
    store.putToken(used);
    tokens.put(t.id(), used);
    return used;
  }

  List<StoredToken> list() {
    return List.copyOf(tokens.values());
  }

  StoredToken revoke(String id) {
    StoredToken t = tokens.get(id);
    if (t == null) {
      throw new ControlException(Status.Code.NOT_FOUND, "join token " + id + " not found");
    }
    if (t.revokedMillis() == 0) {
      t = t.revokedAt(clock.millis());
      store.putToken(t);
      tokens.put(id, t);
      log.warn("security: join token {} revoked", id);
    }
    return t;
  }

  /** A token's text read; UNAUTHENTICATED when it is none. Needs no monitor: anyone may send one. */
  static JoinToken parse(String text) {
    try {
      return JoinToken.parse(text);
    } catch (IllegalArgumentException e) {
      throw new ControlException(Status.Code.UNAUTHENTICATED, e.getMessage());
    }
  }

  static void requireScope(StoredToken t, String nodeName) {
    if (!t.node().isEmpty() && !t.node().equals(nodeName)) {
      throw new ControlException(Status.Code.PERMISSION_DENIED, "join token " + t.id() + " admits only node " + t.node()
          + ", not " + nodeName);
    }
  }

  static void requireUnused(StoredToken t) {
    if (t.maxUses() > 0 && t.uses() >= t.maxUses()) {
      throw new ControlException(Status.Code.UNAUTHENTICATED, "join token " + t.id() + " is used up (" + t.uses() + " of "
          + t.maxUses() + " joins)");
    }
  }

  /** Whether the token has expired by either of this coordinator's clocks ({@link TokenExpiry}). */
  boolean expired(StoredToken t) {
    return expiry.expired(t);
  }

  /** Checks a presented token; UNAUTHENTICATED naming why (never echoing the secret). */
  StoredToken check(JoinToken token) {
    if (!token.caHash().equals(caHash)) {
      throw new ControlException(Status.Code.UNAUTHENTICATED, "the join token is for another fleet (its CA hash differs)");
    }
    StoredToken t = tokens.get(token.id());
    if (t == null || !Sha256.matches(token.secret(), t.secretHash())) {
      throw new ControlException(Status.Code.UNAUTHENTICATED, "join token " + token.id() + " is not valid");
    }
    if (t.revokedMillis() != 0) {
      throw new ControlException(Status.Code.UNAUTHENTICATED, "join token " + t.id() + " was revoked");
    }
    if (expiry.expired(t)) {
      boolean steppedBack = clock.millis() < t.expiresMillis();
      throw new ControlException(Status.Code.UNAUTHENTICATED, "join token " + t.id() + " expired"
          + (steppedBack ? " (its time to live ran out; this coordinator's clock was stepped back since, and reads before its expiry "
              + Instant.ofEpochMilli(t.expiresMillis()) + ")" : " at " + Instant.ofEpochMilli(t.expiresMillis())));
    }
    return t;
  }

  /**
   * Counts a join's use of a token in memory; the node's registration writes it with the node
   * ({@link Store#admitNode}), so a crash between the two neither burns a single-use token nor lets
   * it admit a second node.
   */
  Store.TokenUse countUse(StoredToken t) {
    StoredToken used = t.withUses(t.uses() + 1);
    tokens.put(t.id(), used);
    return new Store.TokenUse(t.id(), used.uses());
  }

  /** Takes back a use counted for a node that could not be registered (helper-78). */
  void giveBack(String tokenId) {
    StoredToken t = tokens.get(tokenId);
    if (t != null && t.uses() > 0) {
      tokens.put(t.id(), t.withUses(t.uses() - 1));
    }
  }
}
