package io.dsfleet.agent.session;

import io.dsfleet.common.OwnerOnlyFiles;
import io.dsfleet.common.tls.JoinToken;
import io.dsfleet.common.tls.Pki;
import io.dsfleet.common.tls.Tls;
import io.grpc.ChannelCredentials;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Instant;

/**
 * The node's identity towards the coordinator, in {@code <state-dir>/pki/} (0700; files 0600):
 * its certificate and key ({@code node.pem}; the key is made here and never sent anywhere) and
 * the fleet CA ({@code ca.crt}).
 *
 * <p>Without a certificate the agent holds a join token: it connects trusting only a coordinator
 * whose chain carries the CA the token pins, so a fake coordinator is refused before the token
 * is sent, and trades the token and a certificate request for its certificate. From then on every
 * connection is mutual TLS against the CA. {@link #insecure()} is plaintext, chosen explicitly.
 */
public final class NodeCredentials {
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(NodeCredentials.class);
  static final String BUNDLE = "node.pem";
  private final Path dir;
  private final String nodeName;
  private final JoinToken token;
  private final Clock clock;
  private X509Certificate cert;
  private PrivateKey key;
  private X509Certificate ca;
  private KeyPair pending;
  /**
   * The certificate was refused (UNAUTHENTICATED): the next try joins with the token instead; set
   * back by {@link #takeBack} when the token does not admit the node either. The certificate stays,
   * on disk too, until the token gives a new one ({@link #accept}).
   */
  private boolean setAside;

  /** The monotonic clock ({@code System::nanoTime}), which times the certificate's life too ({@link #dueForRenewal}). */
  private final java.util.function.LongSupplier nanoTime;
  /**
   * When the certificate held began its life, on {@link #nanoTime}: when it was accepted, or, for one
   * loaded at the start, then less its age by the wall clock at that start; null with none.
   */
  private Long acceptedNanos;

  private NodeCredentials(Path dir, String nodeName, JoinToken token, Clock clock, java.util.function.LongSupplier nanoTime) {
    this.dir = dir;
    this.clock = clock;
    this.nanoTime = nanoTime;
    this.nodeName = nodeName;
    this.token = token;
    if (dir != null) {
      load();
    }
  }

  /**
   * Reads {@code node.pem} (certificate and key in one file, replaced in one rename), or the
   * {@code node.crt}/{@code node.key} pair of older agents. A key that does not match its
   * certificate counts as no certificate: the node joins again with its token.
   */
  /** Why the credentials found on disk are not used (a damaged file, a key of another certificate), or null. */
  private String unusable;

  private void load() {
    Path bundle = dir.resolve(BUNDLE);
    Path legacy = dir.resolve("node.crt");
    if (!Files.exists(dir.resolve("ca.crt")) || !Files.exists(bundle) && !Files.exists(legacy)) {
      return;
    }
    Path certFile = Files.exists(bundle) ? bundle : legacy;
    Path keyFile = Files.exists(bundle) ? bundle : dir.resolve("node.key");
    Path caFile = dir.resolve("ca.crt");
    Path reading = certFile;
    try {
      X509Certificate c = Pki.certificate(OwnerOnlyFiles.read(certFile));
      reading = keyFile;
      PrivateKey k = Pki.privateKey(OwnerOnlyFiles.read(keyFile));
      if (!Pki.isKeyOf(k, c)) {
        unusable = "the node key in " + keyFile + " does not match its certificate";
        log.error("{}; ignoring both (a join token is needed to join again)", unusable);
        return;
      }
      reading = caFile;
      X509Certificate fleetCa = Pki.certificate(OwnerOnlyFiles.read(caFile));
      cert = c;
      key = k;
      ca = fleetCa;
      // its age so far as the wall clock says now, and from here on the monotonic clock's: a wall
      // clock set back later no longer puts its renewal off (before helper-166 only a certificate
      // accepted since the start was so timed, and most agents have restarted since their last renewal)
      long age = Math.max(0, Math.min(lifeMillis(c), clock.millis() - (c.getNotBefore().getTime() + Pki.CLOCK_SKEW.toMillis())));
      acceptedNanos = nanoTime.getAsLong() - age * 1_000_000;
    } catch (RuntimeException e) {
      // each file named: a damaged CA file read "cannot read the node certificate" (helper-75)
      unusable = "cannot read " + reading + ": " + e.getMessage();
      log.error("{}; the node's credentials are not used: a join token is needed to join again", unusable);
    }
  }

  public static NodeCredentials insecure() {
    return new NodeCredentials(null, null, null, Clock.systemUTC(), System::nanoTime);
  }

  /**
   * @param joinToken null when the node already has its certificate
   * @throws IllegalArgumentException for a malformed token
   */
  public static NodeCredentials tls(Path stateDir, String nodeName, String joinToken, Clock clock) {
    return tls(stateDir, nodeName, joinToken, clock, System::nanoTime);
  }

  /** As {@link #tls(Path, String, String, Clock)}, with the monotonic clock ({@code System::nanoTime}; a fake one in tests). */
  public static NodeCredentials tls(Path stateDir, String nodeName, String joinToken, Clock clock, java.util.function.LongSupplier nanoTime) {
    return new NodeCredentials(OwnerOnlyFiles.directory(stateDir.resolve("pki")), nodeName,
        joinToken == null || joinToken.isBlank() ? null : JoinToken.parse(joinToken), clock, nanoTime);
  }

  public boolean isInsecure() {
    return dir == null;
  }

  /** Whether the node has a certificate that has not expired, and that is not set aside for a join with the token. */
  public synchronized boolean hasCertificate() {
    return cert != null && !setAside && cert.getNotAfter().toInstant().isAfter(clock.instant());
  }

  /**
   * The coordinator refused the certificate: the next try joins with the token, and the certificate
   * is kept (in memory and in {@code node.pem}) until the token gives a new one. A refusal says what
   * the coordinator's store holds now, which a restore from an older backup or a start on the wrong
   * data directory (the fleet's CA copied there) changes back once the operator puts the right store
   * back: until 2026-12-06 the certificate was deleted at the first refusal, and every agent with a
   * join token was then locked out of the right store (its token refused: the node a member), each
   * needing a token an admin made for its name.
   */
  public synchronized void setAside() {
    setAside = true;
  }

  /** The token did not admit the node: its certificate, if one was set aside, is tried again at the next try. Returns whether one was. */
  public synchronized boolean takeBack() {
    boolean was = setAside && cert != null && cert.getNotAfter().toInstant().isAfter(clock.instant());
    setAside = false;
    return was;
  }

  public synchronized boolean hasToken() {
    return token != null;
  }

  public synchronized X509Certificate certificate() {
    return cert;
  }

  /** The mutual TLS of the certificate held now ({@link #mutualFor}), its context made once for every connection. */
  private ChannelCredentials mutual;
  private X509Certificate mutualFor;

  /** What to connect with now: plaintext, mutual TLS with the certificate, or the token's pinned CA. */
  public synchronized ChannelCredentials channelCredentials(Transport transport) {
    if (isInsecure()) {
      return transport.plaintext();
    }
    if (hasCertificate()) {
      if (mutualFor != cert) {
        // made once per certificate: the agent makes a channel for every reconnect try after a
        // lost connection (docs/agent.md, "Session")
        mutual = transport.tls(Pki.SERVER_NAME, Tls.clientKey(key, cert), Tls.fleetTrust(ca));
        mutualFor = cert;
      }
      return mutual;
    }
    if (token == null) {
      String why = unusable != null ? "the node's credentials cannot be used (" + unusable + ")"
          : cert != null && !setAside ? expiredHere() : "no node certificate in " + dir;
      throw new IllegalStateException(why + " and no join token: set joinToken"
          + " (--join-token, DS_AGENT_JOIN_TOKEN or the config file) to join the fleet");
    }
    return transport.tls(Pki.SERVER_NAME, null, Tls.pinnedTrust(token.caHash()));
  }

  /**
   * Why a certificate this node holds is not presented: it expired by this host's clock, which may
   * be what is wrong (booted years ahead, before NTP set it): the coordinator judges the certificate
   * on its own clock, and the certificate is used again once this one is right. Before helper-163 the
   * agent said it had no certificate.
   */
  public synchronized String expiredHere() {
    return "the node certificate in " + dir + " expired at " + cert.getNotAfter().toInstant() + " by this host's clock (now "
        + clock.instant() + "; if that clock is wrong, set it right: the certificate is used again at the next try)";
  }

  /** Whether the node holds a certificate that this host's clock says has expired (not one set aside). */
  public synchronized boolean expiredByThisClock() {
    return cert != null && !setAside && !cert.getNotAfter().toInstant().isAfter(clock.instant());
  }

  public synchronized String joinToken() {
    return token.text();
  }

  /** A new key (kept here until its certificate arrives) and a request for a certificate of this node's name. */
  public synchronized String newRequest() {
    pending = Pki.newKeyPair();
    return Pki.csr(pending, nodeName, Pki.NODES);
  }

  /**
   * Takes the certificate issued for the last request and stores it with its key.
   *
   * @param caPem the CA from the join answer (checked against the token's pin); null when renewing
   * @throws IllegalStateException when the certificate is not for the pending key or the CA is not the pinned one
   */
  public synchronized void accept(String certPem, String caPem) {
    X509Certificate issued = Pki.certificate(certPem);
    if (pending == null || !issued.getPublicKey().equals(pending.getPublic())) {
      throw new IllegalStateException("the coordinator answered with a certificate for another key");
    }
    X509Certificate newCa = ca;
    if (caPem != null && !caPem.isEmpty()) {
      newCa = Pki.certificate(caPem);
      if (token != null && !Pki.fingerprint(newCa).equals(token.caHash())) {
        throw new IllegalStateException("the coordinator sent a CA that is not the one the join token pins");
      }
    }
    // a certificate the CA did not sign, or expired already, would be stored and then refused at
    // every connection: the node would be stranded with it rather than keep what it has (its start
    // is not checked: this host's clock may run behind the coordinator's)
    try {
      issued.verify(newCa.getPublicKey());
    } catch (java.security.GeneralSecurityException e) {
      throw new IllegalStateException("the coordinator answered with a certificate its CA did not sign (" + e.getMessage()
          + "); kept the one this node has", e);
    }
    if (!issued.getNotAfter().toInstant().isAfter(clock.instant())) {
      throw new IllegalStateException("the coordinator answered with a certificate that expired at " + issued.getNotAfter().toInstant()
          + "; kept the one this node has");
    }
    OwnerOnlyFiles.write(dir.resolve("ca.crt"), Pki.pem(newCa));
    // certificate and key in one file, replaced in one rename: a crash leaves the old pair or the new, never a mix
    OwnerOnlyFiles.write(dir.resolve(BUNDLE), certPem.strip() + "\n" + Pki.pem(pending.getPrivate()));
    deleteLegacy();
    cert = issued;
    key = pending.getPrivate();
    ca = newCa;
    pending = null;
    setAside = false;
    acceptedNanos = nanoTime.getAsLong();
  }

  /**
   * Whether a third or less of the certificate's life is left: by the wall clock, or by the monotonic
   * clock since it came (it was made just before), or, for one loaded at the start, since then plus
   * its age by the wall clock at that start: a wall clock set back after it came or after the start
   * (a VM restored from a snapshot, one that runs behind) put the renewal off by the step, past the
   * certificate's end if the step was over a third of its life, and the coordinator then refused it
   * (helper-163; a loaded one, helper-166).
   */
  public synchronized boolean dueForRenewal(Instant now) {
    if (cert == null || setAside) {
      return false;
    }
    if (Pki.dueForRenewal(cert, now)) {
      return true;
    }
    long life = lifeMillis(cert);
    return acceptedNanos != null && (nanoTime.getAsLong() - acceptedNanos) / 1_000_000 >= life - life / 3;
  }

  /** A certificate's life, from when it was made (its start less the backdating) to its end. */
  private static long lifeMillis(X509Certificate c) {
    long end = c.getNotAfter().getTime();
    return end - Math.min(end, c.getNotBefore().getTime() + Pki.CLOCK_SKEW.toMillis());
  }

  /**
   * The secret a Leave must show (docs/security.md): made on first use, kept in
   * {@code <state-dir>/leave-secret} (0600), apart from {@code pki/} so a copy of the node's
   * certificate and key does not carry it. The coordinator keeps only its hash, given at admission.
   * "" on an insecure agent.
   */
  public synchronized String leaveSecret() {
    if (isInsecure()) {
      return "";
    }
    Path f = dir.getParent().resolve("leave-secret");
    if (Files.exists(f)) {
      String s = OwnerOnlyFiles.read(f).strip();
      if (!s.isEmpty()) {
        return s;
      }
    }
    byte[] bytes = new byte[32];
    new java.security.SecureRandom().nextBytes(bytes);
    String s = java.util.HexFormat.of().formatHex(bytes);
    OwnerOnlyFiles.write(f, s + "\n");
    return s;
  }

  /** Hex SHA-256 of {@link #leaveSecret()}, what a join carries; "" on an insecure agent. */
  public String leaveSecretSha256() {
    String s = leaveSecret();
    return s.isEmpty() ? "" : io.dsfleet.common.Sha256.hex(s);
  }

  /** Forgets the certificate (revoked, or the node left): the next join needs a token again. */
  public void forget() {
    if (isInsecure()) {
      return;
    }
    synchronized (this) { // the files outside the lock: a stalled disk holds up no heartbeat asking dueForRenewal
      setAside = false;
      cert = null;
      acceptedNanos = null;
      key = null;
      mutual = null;
      mutualFor = null;
    }
    try {
      Files.deleteIfExists(dir.resolve(BUNDLE));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    deleteLegacy();
  }

  private void deleteLegacy() {
    try {
      Files.deleteIfExists(dir.resolve("node.crt"));
      Files.deleteIfExists(dir.resolve("node.key"));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
