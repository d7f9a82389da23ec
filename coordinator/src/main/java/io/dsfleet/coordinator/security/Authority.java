package io.dsfleet.coordinator.security;

import io.dsfleet.common.OwnerOnlyFiles;
import io.dsfleet.common.tls.JoinToken;
import io.dsfleet.common.tls.Pki;
import io.dsfleet.coordinator.fleet.ControlException;
import io.dsfleet.coordinator.store.Store;
import io.dsfleet.coordinator.store.Store.IssuedCertificate;
import io.dsfleet.coordinator.store.Store.StoredToken;
import io.grpc.Status;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The fleet CA at work: join tokens (create, list, revoke, check), node certificates for
 * requests whose key stays on the node, credentials for dsctl, and revocation. Every certificate
 * it issues is recorded (serial, name, role, expiry) so revoking a node's certificates is one
 * store write; the revoked serials are kept in memory for the per-call check.
 */
public final class Authority {
  private static final Logger log = LoggerFactory.getLogger(Authority.class);
  public static final Duration DEFAULT_TOKEN_TTL = Duration.ofHours(24);
  static final Duration CREDENTIAL_VALIDITY = Duration.ofDays(365);

  private final CoordinatorPki pki;
  private final Store store;
  private final Clock clock;
  private final Duration nodeCertTtl;
  private final Map<String, StoredToken> tokens = new LinkedHashMap<>();
  private final Set<String> revoked = new HashSet<>();
  private final Map<String, List<String>> serialsByName = new java.util.HashMap<>();

  public Authority(CoordinatorPki pki, Store store, Clock clock, Duration nodeCertTtl) {
    this.pki = pki;
    this.store = store;
    this.clock = clock;
    this.nodeCertTtl = nodeCertTtl;
    store.deleteCertificatesExpiredBefore(clock.millis());
    for (StoredToken t : store.tokens()) {
      tokens.put(t.id(), t);
    }
    for (IssuedCertificate c : store.certificates()) {
      serialsByName.computeIfAbsent(c.role() + "/" + c.name(), k -> new java.util.ArrayList<>()).add(c.serial());
      if (c.revokedMillis() != 0) {
        revoked.add(c.serial());
      }
    }
  }

  /**
   * The fleet CA of a data directory: made on first use (by `serve` or `init`, the one path for
   * both), together with the first credentials ({@link #writeFirstCredentials()}).
   */
  public static Authority open(Path dataDir, List<String> tlsNames, Store store, Clock clock, Duration nodeCertTtl) {
    CoordinatorPki pki = CoordinatorPki.loadOrCreate(dataDir, tlsNames);
    Authority authority = new Authority(pki, store, clock, nodeCertTtl);
    if (pki.created()) {
      authority.writeFirstCredentials();
    }
    return authority;
  }

  public CoordinatorPki pki() {
    return pki;
  }

  /**
   * A new fleet gets its first credentials: {@code admin.pem} and {@code viewer.pem} for dsctl and
   * a join token in {@code join-token}, all owner-only in the pki directory. Nothing is logged but
   * the paths.
   */
  private synchronized void writeFirstCredentials() {
    Path dir = pki.dir();
    OwnerOnlyFiles.write(dir.resolve("admin.pem"), credential("admin", Pki.ADMINS));
    OwnerOnlyFiles.write(dir.resolve("viewer.pem"), credential("viewer", Pki.VIEWERS));
    JoinToken token = createToken(DEFAULT_TOKEN_TTL, "created with the fleet");
    OwnerOnlyFiles.write(dir.resolve("join-token"), token.text() + "\n");
    log.info("wrote dsctl credentials ({}, read-only {}) and a join token valid 24 h ({})",
        dir.resolve("admin.pem"), dir.resolve("viewer.pem"), dir.resolve("join-token"));
  }

  // ---------------------------------------------------------------- join tokens

  public synchronized JoinToken createToken(Duration ttl, String description) {
    if (ttl.isNegative() || ttl.isZero()) {
      throw new ControlException(Status.Code.INVALID_ARGUMENT, "a token's time to live must be positive");
    }
    JoinToken token = JoinToken.create(pki.caHash());
    long now = clock.millis();
    StoredToken t = new StoredToken(token.id(), hash(token.secret()), description, now, now + ttl.toMillis(), 0, 0);
    store.putToken(t);
    tokens.put(t.id(), t);
    return token;
  }

  public synchronized List<StoredToken> tokens() {
    return List.copyOf(tokens.values());
  }

  public synchronized StoredToken revokeToken(String id) {
    StoredToken t = tokens.get(id);
    if (t == null) {
      throw new ControlException(Status.Code.NOT_FOUND, "join token " + id + " not found");
    }
    if (t.revokedMillis() == 0) {
      t = new StoredToken(t.id(), t.secretHash(), t.description(), t.createdMillis(), t.expiresMillis(), clock.millis(), t.uses());
      store.putToken(t);
      tokens.put(id, t);
    }
    return t;
  }

  /** Checks a presented token; UNAUTHENTICATED naming why (never echoing the secret). */
  private StoredToken check(String text) {
    JoinToken token;
    try {
      token = JoinToken.parse(text);
    } catch (IllegalArgumentException e) {
      throw new ControlException(Status.Code.UNAUTHENTICATED, e.getMessage());
    }
    if (!token.caHash().equals(pki.caHash())) {
      throw new ControlException(Status.Code.UNAUTHENTICATED, "the join token is for another fleet (its CA hash differs)");
    }
    StoredToken t = tokens.get(token.id());
    if (t == null || !MessageDigest.isEqual(t.secretHash().getBytes(StandardCharsets.US_ASCII),
        hash(token.secret()).getBytes(StandardCharsets.US_ASCII))) {
      throw new ControlException(Status.Code.UNAUTHENTICATED, "join token " + token.id() + " is not valid");
    }
    if (t.revokedMillis() != 0) {
      throw new ControlException(Status.Code.UNAUTHENTICATED, "join token " + t.id() + " was revoked");
    }
    if (clock.millis() >= t.expiresMillis()) {
      throw new ControlException(Status.Code.UNAUTHENTICATED, "join token " + t.id() + " expired at "
          + Instant.ofEpochMilli(t.expiresMillis()));
    }
    return t;
  }

  // ---------------------------------------------------------------- certificates

  /** A first join: a valid token and a request for the node's own name give the node its certificate. */
  public synchronized X509Certificate admit(String tokenText, String nodeName, String csrPem) {
    StoredToken t = check(tokenText);
    X509Certificate cert = signNode(nodeName, csrPem);
    StoredToken used = new StoredToken(t.id(), t.secretHash(), t.description(), t.createdMillis(), t.expiresMillis(),
        t.revokedMillis(), t.uses() + 1);
    store.putToken(used);
    tokens.put(t.id(), used);
    log.info("node {} joined with token {}; certificate {} issued", nodeName, t.id(), Pki.serialHex(cert));
    return cert;
  }

  /** A node's new certificate before its current one expires. */
  public synchronized X509Certificate renew(String nodeName, String csrPem) {
    X509Certificate cert = signNode(nodeName, csrPem);
    log.info("node {} renewed its certificate: {}", nodeName, Pki.serialHex(cert));
    return cert;
  }

  private X509Certificate signNode(String nodeName, String csrPem) {
    Pki.Request req;
    try {
      req = Pki.parseCsr(csrPem);
    } catch (IllegalArgumentException e) {
      throw new ControlException(Status.Code.INVALID_ARGUMENT, "certificate request: " + e.getMessage());
    }
    if (!req.subject().name().equals(nodeName)) {
      throw new ControlException(Status.Code.PERMISSION_DENIED, "the certificate request names \"" + req.subject().name()
          + "\", not the node \"" + nodeName + "\"");
    }
    X509Certificate cert = Pki.issue(pki.ca(), pki.caKey(), req.key(), new Pki.Subject(nodeName, Pki.NODES),
        Pki.Purpose.CLIENT, List.of(), nodeCertTtl);
    record(cert, nodeName, Pki.NODES);
    return cert;
  }

  /** A dsctl credential (certificate, key and CA in one PEM bundle). The key is made here. */
  public synchronized String credential(String name, String role) {
    KeyPair keys = Pki.newKeyPair();
    X509Certificate cert = Pki.issue(pki.ca(), pki.caKey(), keys.getPublic(), new Pki.Subject(name, role),
        Pki.Purpose.CLIENT, List.of(), CREDENTIAL_VALIDITY);
    record(cert, name, role);
    return CoordinatorPki.bundle(cert, keys.getPrivate(), pki.ca());
  }

  private void record(X509Certificate cert, String name, String role) {
    String serial = Pki.serialHex(cert);
    store.putCertificate(new IssuedCertificate(serial, name, role, cert.getNotAfter().getTime(), 0));
    serialsByName.computeIfAbsent(role + "/" + name, k -> new java.util.ArrayList<>()).add(serial);
  }

  /** Revokes every certificate issued to the node: a removed node's certificate stops working. */
  public int revokeNode(String nodeName) {
    return revoke(nodeName, Pki.NODES);
  }

  /** Revokes every certificate issued to this name in this role; returns how many. */
  public synchronized int revoke(String name, String role) {
    List<String> serials = serialsByName.getOrDefault(role + "/" + name, List.of());
    long now = clock.millis();
    int n = 0;
    for (IssuedCertificate c : store.certificates()) {
      if (serials.contains(c.serial()) && c.revokedMillis() == 0) {
        store.putCertificate(new IssuedCertificate(c.serial(), c.name(), c.role(), c.notAfterMillis(), now));
        revoked.add(c.serial());
        n++;
      }
    }
    if (n > 0) {
      log.info("revoked {} certificate(s) of {} {}", n, role, name);
    }
    return n;
  }

  /** Whether a certificate was revoked; a certificate the CA never recorded counts as revoked too. */
  public synchronized boolean revoked(String serial, String role, String name) {
    return revoked.contains(serial) || !serialsByName.getOrDefault(role + "/" + name, List.of()).contains(serial);
  }

  private static String hash(String secret) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(secret.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
