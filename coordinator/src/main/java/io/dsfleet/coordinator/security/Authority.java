package io.dsfleet.coordinator.security;

import io.dsfleet.common.OwnerOnlyFiles;
import io.dsfleet.common.tls.JoinToken;
import io.dsfleet.common.tls.CertificateAuthority;
import io.dsfleet.common.tls.Pki;
import io.dsfleet.coordinator.fleet.ControlException;
import io.dsfleet.coordinator.store.Store;
import io.dsfleet.coordinator.store.Store.IssuedCertificate;
import io.dsfleet.coordinator.store.Store.StoredToken;
import io.grpc.Status;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
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
  /** Guarded by this object's monitor, as everything the CA writes. */
  private final JoinTokens tokens;
  // read without the lock by revoked() on every call (sessions run on the transport threads); written under it
  private final Set<String> revoked = java.util.concurrent.ConcurrentHashMap.newKeySet();
  private final Map<String, List<String>> serialsByName = new java.util.concurrent.ConcurrentHashMap<>();
  /**
   * Every certificate recorded, by serial, as stored (so a join or revocation never reads them all
   * from the store); concurrent, as TLS handshakes read it ({@link #issuedExactly}).
   */
  private final Map<String, IssuedCertificate> issued = new java.util.concurrent.ConcurrentHashMap<>();

  public Authority(CoordinatorPki pki, Store store, Clock clock, Duration nodeCertTtl) {
    this.pki = pki;
    this.store = store;
    this.clock = clock;
    this.nodeCertTtl = nodeCertTtl;
    List<IssuedCertificate> records = store.certificates();
    long horizon = CertificateRecords.deletedBefore(clock.millis(), records);
    if (records.stream().anyMatch(c -> c.notAfterMillis() < horizon)) {
      store.deleteCertificatesExpiredBefore(horizon);
      records = records.stream().filter(c -> c.notAfterMillis() >= horizon).toList();
    }
    this.tokens = new JoinTokens(store, clock, pki.caHash());
    for (IssuedCertificate c : records) {
      serialsByName.computeIfAbsent(c.role() + "/" + c.name(), k -> new java.util.concurrent.CopyOnWriteArrayList<>()).add(c.serial());
      issued.put(c.serial(), c);
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
    if (java.nio.file.Files.notExists(dataDir.resolve("pki").resolve("ca.crt"))) { // before anything is made, the serving certificate too
      CertificateRecords.refuseNewCaOverAFleet(dataDir.resolve("pki"), store.certificates());
    }
    CoordinatorPki pki = CoordinatorPki.loadOrCreate(dataDir, tlsNames);
    Authority authority = new Authority(pki, store, clock, nodeCertTtl);
    if (pki.created()) {
      authority.writeFirstCredentials();
      pki.keepCa(); // last: a start killed before this left no ca.crt, and the next makes the fleet again
    }
    if (CertificateRecords.replaceAsked(pki.dir())) { // once the new CA is kept: asked for one replacement, not for every loss after
      try {
        java.nio.file.Files.delete(pki.dir().resolve(CertificateRecords.REPLACE_CA));
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException("cannot remove " + pki.dir().resolve(CertificateRecords.REPLACE_CA) + " (remove it by hand)", e);
      }
      log.warn(pki.created() ? "security: replaced the fleet's CA as {} asked: every node joins again with a token made for its name"
          : "security: {} removed: pki/ca.crt is there, so the fleet's CA stays (remove ca.crt too to replace it)",
          pki.dir().resolve(CertificateRecords.REPLACE_CA));
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
    return createToken(ttl, description, "", 0);
  }

  /**
   * @param node "" for a token that admits any new name; a name for one that admits only it, also
   *     when the name is a member already (replacing that node's certificate)
   * @param maxUses 0 for any number of joins until it expires
   */
  public synchronized JoinToken createToken(Duration ttl, String description, String node, int maxUses) {
    return tokens.create(ttl, description, node, maxUses);
  }

  /** A single-use token for the coordinator replica {@code id} to join the group with (`dsctl replica add`). */
  public synchronized JoinToken createReplicaToken(String id, Duration ttl) {
    return tokens.createReplica(id, ttl);
  }

  /** What a joining replica gets once its token checks out: the CA with its key. The token is used up. */
  public record ReplicaMaterial(String caPem, String caKeyPem) {}

  public ReplicaMaterial admitReplica(String tokenText, String id) {
    JoinToken token = JoinTokens.parse(tokenText); // not under the monitor: anyone may send one
    synchronized (this) {
      StoredToken used = tokens.useForReplica(tokens.check(token), id);
      log.warn("security: coordinator replica {} admitted with join token {}: it receives the fleet CA and its key", id, used.id());
      return new ReplicaMaterial(Pki.pem(pki.ca()), Pki.pem(pki.caKey()));
    }
  }

  /** The join tokens, each with whether it has expired by this coordinator's clocks (JoinTokens#check's rule). */
  public synchronized List<ListedToken> tokens() {
    return tokens.list().stream().map(t -> new ListedToken(t, tokens.expired(t))).toList();
  }

  public synchronized StoredToken revokeToken(String id) {
    return tokens.revoke(id);
  }

  /**
   * What a join by token presents, read and checked before any lock ({@link #present}): its token
   * and its certificate request, parsed once.
   */
  public record Presented(JoinToken token, String nodeName, CertificateAuthority.Request request) {}

  /**
   * Reads a join's token and certificate request, and refuses a token that admits no one now as
   * {@link #admit} does (malformed, another fleet's, unknown, revoked, expired, scoped to another
   * name, or used up when the join does not prove the leave secret that could make it the retry of
   * a lost answer), which checks it again: a join does this first, before the fleet's lock, which
   * {@link #admit} runs under, and only the token's check holds this one's monitor. Before
   * 2026-12-05 anyone who reached the port took that lock with every Join, a made-up token parsed
   * under it (up to a message's 4 MiB); until 2026-12-06 a token that passed (one used up, one
   * scoped to another name too) had its text parsed again under both locks, and one that admits
   * its request read and its signature checked there, up to 200 ms with a key chosen for it.
   *
   * @param provesLeaveSecret the join carries a leave secret: it may be the same agent again, whose
   *     retry a used-up token still admits ({@link #admit})
   */
  public Presented present(String tokenText, String nodeName, String csrPem, boolean provesLeaveSecret) {
    JoinToken token = JoinTokens.parse(tokenText);
    synchronized (this) {
      StoredToken t = tokens.check(token);
      JoinTokens.requireScope(t, nodeName);
      if (!provesLeaveSecret) {
        JoinTokens.requireUnused(t);
      }
    }
    return new Presented(token, nodeName, request(nodeName, csrPem));
  }

  // ---------------------------------------------------------------- certificates

  /**
   * A node's certificate, the join token that admitted it, and the earlier certificates of the
   * name it revoked (their open calls end with {@link #endStreams}, once the caller's locks are released).
   */
  /**
   * @param counted the token's count of uses with this admission, which the node's registration
   *     stores with the node ({@link Store#admitNode}); null when the admission counted none (the
   *     same agent again)
   */
  /** @param lapsed a member re-admitted because its certificates had all expired ({@link CertificateRecords#lapsed}) */
  public record Admission(X509Certificate certificate, String tokenId, List<String> revoked, Store.TokenUse counted, boolean lapsed) {
    /** What the node's registration stores of its token: the count, or only the token's id (uses 0) when none was counted. */
    public Store.TokenUse tokenUse() {
      return counted != null ? counted : new Store.TokenUse(tokenId, 0);
    }
  }

  /**
   * A join by token: a valid token and a request for the node's own name give the node its
   * certificate. A token admits a name that is not a member ({@code member} false); only a token
   * scoped to the name re-admits a member. Every earlier certificate of the name is revoked: a
   * node collected or removed and admitted again has one valid certificate, the new one.
   * The caller holds whatever makes {@code member} true until the node is registered. The same
   * agent again after its answer was lost ({@code retryOf}: the token that admitted it, presented
   * again) is not a new use: a single-use token, used up by the admission whose answer was lost,
   * let that agent never join again (helper-75). The use is counted here, in memory, and written
   * with the node's record ({@link Store#admitNode}), so a crash between the two neither burns a
   * single-use token nor lets it admit a second node. A join showing the member's own leave secret
   * ({@code ownSecret}) is re-admitted by any valid token once its certificates have all lapsed
   * ({@link CertificateRecords#lapsed}), as the kubelet bootstraps again with its token.
   */
  public synchronized Admission admit(Presented presented, boolean member, String retryOf, boolean ownSecret) {
    String nodeName = presented.nodeName();
    StoredToken t = tokens.check(presented.token());
    JoinTokens.requireScope(t, nodeName);
    boolean lapsed = member && ownSecret && CertificateRecords.lapsed(serialsByName.getOrDefault(Pki.NODES + "/" + nodeName, List.of())
        .stream().map(issued::get).filter(java.util.Objects::nonNull).toList(), clock.millis());
    if (member && t.node().isEmpty() && !lapsed) {
      throw new ControlException(Status.Code.ALREADY_EXISTS, "node " + nodeName + " is already a member of the fleet: it"
          + " re-joins with its own certificate, never with a join token (its own agent also with the token once every"
          + " certificate it was issued has expired). To replace it, remove it (dsctl node rm "
          + nodeName + ") or make a token for it (dsctl token create --node " + nodeName + ")");
    }
    boolean retry = !retryOf.isEmpty() && retryOf.equals(t.id());
    if (!retry) {
      JoinTokens.requireUnused(t);
    }
    List<String> revokedNow = revokeLocked(nodeName, Pki.NODES);
    X509Certificate cert;
    try {
      cert = signNode(nodeName, presented.request(), "join token " + t.id());
    } catch (RuntimeException e) {
      // the new certificate's record refused after the revocations were written: they stay, and
      // the caller's endStreams ends their calls (before 2026-12-06 the list was dropped here)
      unended.addAll(revokedNow);
      throw e;
    }
    Store.TokenUse counted = retry ? null : tokens.countUse(t);
    log.warn("security: node {} {} with join token {}; certificate {} issued", nodeName, lapsed ? "re-admitted (its certificates"
        + " had expired; its leave secret shown)" : member ? "re-admitted" : "admitted", t.id(), Pki.serialHex(cert));
    return new Admission(cert, t.id(), revokedNow, counted, lapsed);
  }

  /**
   * An admission whose node could not be registered (its store write refused, the token's count
   * with it): the use it counted is taken back in memory too, so the agent's retry is not refused
   * as a use of a single-use token (helper-78). The certificate issued is never delivered.
   */
  public synchronized void giveBack(Admission a) {
    if (a.counted() != null) {
      tokens.giveBack(a.tokenId());
    }
  }

  /** How a renewed certificate records the one it was renewed from (its {@code via}). */
  static final String RENEWAL_OF = "renewal of ";

  /** How many renewals a node may make within {@link #RENEWAL_WINDOW} (an agent whose answer was lost tries again). */
  static final int RENEWALS_PER_WINDOW = 3;
  /** The window of {@link #RENEWALS_PER_WINDOW}; a third of a certificate's life when that is shorter. */
  static final java.time.Duration RENEWAL_WINDOW = java.time.Duration.ofHours(1);
  /** The times of each node's renewals within the last window (memory: a restart forgets them). */
  private final Map<String, java.util.Deque<Long>> renewals = new java.util.HashMap<>();

  /**
   * A node's new certificate before its current one ({@code serial}) expires: refused when that
   * one was revoked meanwhile, or the node renewed {@link #RENEWALS_PER_WINDOW} times within the
   * last {@link #RENEWAL_WINDOW}. The certificates the presented one was renewed from (its
   * ancestors) are revoked, and the calls open under them end, so an agent renewing as it should
   * holds two valid ones (the one it renewed with, kept: it may not have stored the new one; and
   * the new one), not one for every renewal of a month; no other branch is revoked (a copy of an
   * older certificate renewing, and renewing what it got, would otherwise lock the agent out).
   */
  public X509Certificate renew(String nodeName, String serial, String csrPem) {
    // read before this one's monitor, which a join waits for under the fleet's lock: a copy of a
    // node's certificate renewing in a loop with requests that fail held it for each one's check
    CertificateAuthority.Request req = request(nodeName, csrPem);
    Renewal r = renewLocked(nodeName, serial, req);
    endStreams(r.superseded());
    return r.certificate();
  }

  private record Renewal(X509Certificate certificate, List<String> superseded) {}

  private synchronized Renewal renewLocked(String nodeName, String serial, CertificateAuthority.Request req) {
    // checked again here, under the lock revocations take: a renewal held open across a revocation
    // (its call began with the certificate still good) gets nothing
    if (revoked(serial, Pki.NODES, nodeName)) {
      throw new ControlException(Status.Code.UNAUTHENTICATED, "the certificate of node " + nodeName
          + " was revoked while this renewal waited (a removed node needs a new join token)");
    }
    // an agent renews once in a third of a certificate's life (or again when it could not keep the
    // new one): more than a few within an hour (a third of the life, if shorter) is a client renewing
    // in a loop, each renewal a stored record; refused for the hour only, long before expiry
    long now = clock.millis();
    long window = Math.min(RENEWAL_WINDOW.toMillis(), nodeCertTtl.toMillis() / 3);
    java.util.Deque<Long> recent = renewals.computeIfAbsent(nodeName, k -> new java.util.ArrayDeque<>());
    while (!recent.isEmpty() && recent.peekFirst() <= now - window) {
      recent.pollFirst();
    }
    if (recent.size() >= RENEWALS_PER_WINDOW) {
      throw new ControlException(Status.Code.RESOURCE_EXHAUSTED, "node " + nodeName + " renewed its certificate " + recent.size()
          + " times within " + java.time.Duration.ofMillis(window) + "; renew again after "
          + java.time.Instant.ofEpochMilli(recent.peekFirst() + window));
    }
    X509Certificate cert = signNode(nodeName, req, RENEWAL_OF + serial);
    recent.addLast(now); // counted once signed: a store that refused the record costs the node no try
    if (renewals.size() > 10_000) {
      renewals.values().removeIf(d -> d.isEmpty() || d.peekLast() <= now - window);
    }
    // the presented certificate's ancestors (what it was renewed from, and so on): never another
    // branch, so a copy of an older certificate renewing (and renewing what it got) never revokes
    // the agent's own line and locks it out
    java.util.Set<String> older = new java.util.HashSet<>();
    IssuedCertificate c = issued.get(serial);
    while (c != null && c.via().startsWith(RENEWAL_OF)) {
      String parent = c.via().substring(RENEWAL_OF.length());
      if (!older.add(parent)) {
        break;
      }
      c = issued.get(parent);
    }
    if (c != null && c.via().equals("renewal")) {
      // renewed before parents were recorded: everything of the node issued before it, as then
      long before = c.issuedMillis();
      for (String other : serialsByName.getOrDefault(Pki.NODES + "/" + nodeName, List.of())) {
        IssuedCertificate o = issued.get(other);
        if (o != null && o.issuedMillis() < before) {
          older.add(other);
        }
      }
    }
    List<String> superseded = revokeOnly(nodeName, Pki.NODES, older);
    log.info("security: node {} renewed its certificate: {}", nodeName, Pki.serialHex(cert));
    return new Renewal(cert, superseded);
  }

  private static CertificateAuthority.Request request(String nodeName, String csrPem) {
    CertificateAuthority.Request req;
    try {
      req = CertificateAuthority.parseCsr(csrPem);
    } catch (IllegalArgumentException e) {
      throw new ControlException(Status.Code.INVALID_ARGUMENT, "certificate request: " + e.getMessage());
    }
    if (!req.subject().name().equals(nodeName)) {
      throw new ControlException(Status.Code.PERMISSION_DENIED, "the certificate request names \"" + req.subject().name()
          + "\", not the node \"" + nodeName + "\"");
    }
    return req;
  }

  private X509Certificate signNode(String nodeName, CertificateAuthority.Request req, String via) {
    X509Certificate cert = CertificateAuthority.issue(pki.ca(), pki.caKey(), req.key(), new Pki.Subject(nodeName, Pki.NODES),
        Pki.Purpose.CLIENT, List.of(), nodeCertTtl);
    record(cert, nodeName, Pki.NODES, via);
    return cert;
  }

  /** A dsctl credential (certificate, key and CA in one PEM bundle). The key is made here. */
  public synchronized String credential(String name, String role) {
    KeyPair keys = Pki.newKeyPair();
    X509Certificate cert = CertificateAuthority.issue(pki.ca(), pki.caKey(), keys.getPublic(), new Pki.Subject(name, role),
        Pki.Purpose.CLIENT, List.of(), CREDENTIAL_VALIDITY);
    record(cert, name, role, "dsctl credential");
    log.warn("security: {} credential {} issued: certificate {}", role, name, Pki.serialHex(cert));
    return CoordinatorPki.bundle(cert, keys.getPrivate(), pki.ca());
  }

  private void record(X509Certificate cert, String name, String role, String via) {
    String serial = Pki.serialHex(cert);
    IssuedCertificate record = new IssuedCertificate(serial, name, role, cert.getNotAfter().getTime(), 0, clock.millis(), via,
        Pki.fingerprint(cert));
    store.putCertificate(record);
    issued.put(serial, record);
    serialsByName.computeIfAbsent(role + "/" + name, k -> new java.util.concurrent.CopyOnWriteArrayList<>()).add(serial);
  }

  /**
   * Revokes every certificate issued to this name in this role and ends the calls open under them
   * ({@link #onRevoke}); returns how many.
   */
  public int revoke(String name, String role) {
    List<String> serials = List.of();
    try {
      serials = revokeKeepingStreams(name, role);
    } finally {
      endStreams(serials); // refused part-way, it still ends the calls of what it did revoke (unended, below)
    }
    return serials.size();
  }

  /**
   * Certificates a revocation revoked (in memory and in the store) before the store refused its
   * next write: the exception took the list their calls would have been ended with, and a retry
   * revokes only the rest, so a call open under one went on for good under a revoked certificate
   * (helper-94). The next {@link #endStreams} ends them too.
   */
  private final Set<String> unended = java.util.concurrent.ConcurrentHashMap.newKeySet();

  /**
   * Revokes as {@link #revoke} does but leaves the calls open under the certificates to the caller,
   * who ends them with {@link #endStreams} once it has said goodbye on them (a removed node's
   * session carries the removal first, so the agent stops its pods instead of joining again).
   */
  public synchronized List<String> revokeKeepingStreams(String name, String role) {
    return revokeLocked(name, role);
  }

  private List<String> revokeLocked(String name, String role) {
    return revokeOnly(name, role, null);
  }

  /** Revokes this name's certificates in this role, only those of {@code only} when it is not null. */
  private List<String> revokeOnly(String name, String role, java.util.Set<String> only) {
    List<String> serials = serialsByName.getOrDefault(role + "/" + name, List.of());
    long now = clock.millis();
    List<String> done = new java.util.ArrayList<>();
    for (String serial : serials) {
      IssuedCertificate c = issued.get(serial);
      if (c != null && c.revokedMillis() == 0 && (only == null || only.contains(serial))) {
        IssuedCertificate r = c.revokedAt(now);
        try {
          store.putCertificate(r);
        } catch (RuntimeException e) {
          unended.addAll(done);
          throw e;
        }
        issued.put(serial, r);
        revoked.add(serial);
        done.add(serial);
      }
    }
    if (!done.isEmpty()) {
      log.warn("security: revoked {} certificate(s) of {} {}", done.size(), role, name);
    }
    return done;
  }

  // ---------------------------------------------------------------- streams open under a certificate

  private final OpenStreams openStreams = new OpenStreams(revoked::contains);

  /**
   * Registers a long-lived call (a session, a log stream, a rollout watch) made with this
   * certificate: {@code cancel} runs, on the revoking thread, when the certificate is revoked (at
   * once, on this thread, when it was revoked between the call's check and this registration).
   * Returns what unregisters it when the call ends. {@code cancel} must be idempotent.
   */
  public Runnable onRevoke(String serial, Runnable cancel) {
    if (serial.isEmpty()) {
      return () -> { };
    }
    return openStreams.register(serial, cancel);
  }

  /** Ends the calls open under these (revoked) certificates. */
  public void endStreams(List<String> serials) {
    List<String> all = new java.util.ArrayList<>(serials);
    for (String serial : List.copyOf(unended)) {
      if (unended.remove(serial)) {
        all.add(serial);
      }
    }
    openStreams.end(all);
  }

  /** The join token that admitted a node and the certificates it holds, for {@code describe node}. */
  public synchronized List<IssuedCertificate> certificatesOf(String name, String role) {
    List<String> serials = serialsByName.getOrDefault(role + "/" + name, List.of());
    return serials.stream().map(issued::get).filter(java.util.Objects::nonNull).toList();
  }

  /**
   * Whether this CA issued exactly this certificate (its recorded SHA-256 matches the DER bytes):
   * then its signature is this CA's without being checked again, which a TLS handshake would
   * otherwise do in Java at about 2 ms of CPU, the most of a reconnect. Revocation and validity are
   * checked apart from this. Lock-free: handshakes call it.
   */
  public boolean issuedExactly(X509Certificate cert) {
    IssuedCertificate c = issued.get(Pki.serialHex(cert));
    return c != null && !c.sha256().isEmpty() && c.sha256().equals(Pki.fingerprint(cert));
  }

  /** Whether a certificate was revoked; a certificate the CA never recorded counts as revoked too. */
  public boolean revoked(String serial, String role, String name) { // lock-free: a signing join must not hold up every call
    return revoked.contains(serial) || !serialsByName.getOrDefault(role + "/" + name, List.of()).contains(serial);
  }

}
