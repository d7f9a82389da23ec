package io.dsfleet.coordinator.security;

import io.dsfleet.common.OwnerOnlyFiles;
import io.dsfleet.common.tls.CertificateAuthority;
import io.dsfleet.common.tls.Pki;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The coordinator's key material in {@code <data-dir>/pki/} (directory 0700, files 0600): the fleet
 * CA ({@code ca.crt}, {@code ca.key}) and the serving certificate ({@code server.crt},
 * {@code server.key}). Made on first use; the serving certificate is made again at start when a
 * third of its life is left, when it is not valid yet (made while the clock ran ahead), or when the
 * names it must carry changed.
 */
public final class CoordinatorPki {
  private static final Logger log = LoggerFactory.getLogger(CoordinatorPki.class);
  static final Duration CA_VALIDITY = Duration.ofDays(3650);
  static final Duration SERVER_VALIDITY = Duration.ofDays(365);

  private final Path dir;
  private final X509Certificate ca;
  private final PrivateKey caKey;
  private final X509Certificate serverCert;
  private final PrivateKey serverKey;
  private final boolean created;

  private CoordinatorPki(Path dir, X509Certificate ca, PrivateKey caKey, X509Certificate serverCert, PrivateKey serverKey,
      boolean created) {
    this.dir = dir;
    this.ca = ca;
    this.caKey = caKey;
    this.serverCert = serverCert;
    this.serverKey = serverKey;
    this.created = created;
  }

  /**
   * @param sans extra names and addresses for the serving certificate (clients verify the fixed
   *     name {@link Pki#SERVER_NAME}, so these only matter to other TLS clients)
   * @return a CA made here is written only by {@link #keepCa()}, once the first credentials are
   */
  static CoordinatorPki loadOrCreate(Path dataDir, List<String> sans) {
    return load(dataDir, sans, true);
  }

  /**
   * @param mayCreateCa false for a replica of a group: the CA comes from the group (ds-coordinator
   *     join) or from `init` on its first replica, never made anew here
   */
  public static CoordinatorPki load(Path dataDir, List<String> sans, boolean mayCreateCa) {
    return load(dataDir, sans, mayCreateCa, Instant.now());
  }

  /**
   * A time before this code was written: a clock that reads earlier is wrong for certain (a host
   * booted with its real-time clock at 1970, before NTP set it), and what the CA made with it would
   * be valid only then: a fleet CA of 1970 to 1980 at a first start, which no agent could ever trust.
   */
  static final Instant CLOCK_FLOOR = Instant.parse("2026-12-01T00:00:00Z");

  /** As {@link #load(Path, List, boolean)}, with this host's clock reading {@code now} (tests: a clock that is wrong). */
  static CoordinatorPki load(Path dataDir, List<String> sans, boolean mayCreateCa, Instant now) {
    if (now.isBefore(CLOCK_FLOOR)) {
      throw new IllegalStateException("this host's clock reads " + now + ", before this coordinator was made (" + CLOCK_FLOOR
          + "): no certificate is made or read with it (a CA or serving certificate made now would be valid only then); set the"
          + " clock (NTP: ds-coordinator.service starts after time-sync.target) and start again");
    }
    Path dir = OwnerOnlyFiles.directory(dataDir.resolve("pki"));
    boolean created = false;
    X509Certificate ca;
    PrivateKey caKey;
    if (!mayCreateCa && !Files.exists(dir.resolve("ca.crt"))) {
      throw new IllegalStateException("no fleet CA in " + dir + ": a replica gets it with `ds-coordinator join --token`"
          + " (a token from `dsctl replica add`), or from `ds-coordinator init` on the group's first replica");
    }
    if (Files.exists(dir.resolve("ca.crt"))) {
      ca = readPem(dir.resolve("ca.crt"), "the fleet CA's certificate", Pki::certificate,
          "Put it back from the backup of pki/ (or from the last certificate of any credential file, admin.pem among them)");
      caKey = readPem(dir.resolve("ca.key"), "the fleet CA's key", CertificateAuthority::privateKey,
          "Put it back from the backup of pki/: no other copy of it is made");
      if (!Pki.isKeyOf(caKey, ca)) {
        // a partial restore of pki/ (one file from another backup, another fleet's): before helper-151
        // the start went on and signed every certificate it issued with a key no holder of ca.crt verifies
        throw new IllegalStateException(dir.resolve("ca.key") + " is not the key of " + dir.resolve("ca.crt") + " (the fleet CA's"
            + " certificate, sha256 " + Pki.fingerprint(ca) + "): one of them came from another backup of pki/ or another fleet, and"
            + " what this CA issued with it would be refused by every node; nothing made. Put back both from the same backup of pki/"
            + " (ca.crt is also the last certificate of any credential file, admin.pem among them)");
      }
    } else {
      // not written yet: ca.crt is what says a data directory has its fleet (init, serve), so it
      // is written last, once the first credentials are (keepCa), and a start killed before then
      // makes the fleet again rather than leave it without an admin credential
      KeyPair keys = Pki.newKeyPair();
      ca = CertificateAuthority.newCa(keys, "dsfleet CA", CA_VALIDITY);
      caKey = keys.getPrivate();
      created = true;
    }
    Set<String> names = new LinkedHashSet<>(List.of(Pki.SERVER_NAME, "localhost", "127.0.0.1"));
    names.addAll(sans);
    X509Certificate server = null;
    PrivateKey serverKey = null;
    if (Files.exists(dir.resolve("server.crt"))) {
      try {
        server = readPem(dir.resolve("server.crt"), "a certificate", Pki::certificate, "");
        serverKey = readPem(dir.resolve("server.key"), "a private key", CertificateAuthority::privateKey, "");
      } catch (IllegalStateException | java.io.UncheckedIOException damaged) {
        // the serving certificate is the CA's to make again: one a disk emptied or tore is not the end of the fleet
        log.warn("renewing the serving certificate: {}", damaged.getMessage());
        server = null;
      }
      // one valid only from a time still to come was made while this host's clock ran ahead (booted
      // before NTP stepped it back): every client refuses it, and a third of its life is left long
      // after now, so it was never due (helper-163)
      if (server != null && (Pki.dueForRenewal(server, now) || server.getNotBefore().toInstant().isAfter(now)
          || !sans(server).containsAll(names) || !signedBy(server, ca)
          || !Pki.isKeyOf(serverKey, server))) { // a start killed between a renewal's key and certificate
        log.info("renewing the serving certificate (due, made while the clock ran ahead, names changed, another CA, or a key that is not its own)");
        server = null;
      }
    }
    if (server == null) {
      KeyPair keys = Pki.newKeyPair();
      server = CertificateAuthority.issue(ca, caKey, keys.getPublic(), new Pki.Subject(Pki.SERVER_NAME, "dsfleet"), Pki.Purpose.SERVER,
          List.copyOf(names), SERVER_VALIDITY, now); // the time it was judged due at, not a second read of the clock
      serverKey = keys.getPrivate();
      OwnerOnlyFiles.write(dir.resolve("server.key"), Pki.pem(serverKey));
      OwnerOnlyFiles.write(dir.resolve("server.crt"), Pki.pem(server));
    }
    return new CoordinatorPki(dir, ca, caKey, server, serverKey, created);
  }

  /**
   * A file of pki/ read as what it must be. One that does not parse (emptied or torn by a disk or
   * a file system's repair; this process writes each in one synced rename) is refused naming it,
   * with {@code remedy}: before 2026-12-06 the start ended in a stack trace that named no file
   * ("no PEM private key found"), also for the serving certificate, which is now made again
   * (helper-139).
   */
  private static <T> T readPem(Path file, String what, java.util.function.Function<String, T> parse, String remedy) {
    String text = OwnerOnlyFiles.read(file); // a file that cannot be read is named by the read
    try {
      return parse.apply(text);
    } catch (RuntimeException e) {
      throw new IllegalStateException(file + " does not hold " + what + " (" + e.getMessage() + "; " + text.length() + " bytes)"
          + (remedy.isEmpty() ? "" : ": the disk or a repair damaged it; nothing made. " + remedy), e);
    }
  }

  private static Set<String> sans(X509Certificate cert) {
    Set<String> out = new LinkedHashSet<>();
    try {
      var all = cert.getSubjectAlternativeNames();
      if (all != null) {
        all.forEach(l -> out.add(String.valueOf(l.get(1))));
      }
    } catch (java.security.cert.CertificateParsingException e) {
      return Set.of();
    }
    return out;
  }

  private static boolean signedBy(X509Certificate cert, X509Certificate ca) {
    try {
      cert.verify(ca.getPublicKey());
      return true;
    } catch (java.security.GeneralSecurityException e) {
      return false;
    }
  }

  /** A replica's certificate for the replication port (both ends of mutual TLS), made at each start. */
  public record ReplicaCredential(X509Certificate certificate, PrivateKey key) {}

  public ReplicaCredential replicaCredential(String id, List<String> sans) {
    KeyPair keys = Pki.newKeyPair();
    X509Certificate cert = CertificateAuthority.issue(ca, caKey, keys.getPublic(), new Pki.Subject(id, Pki.REPLICAS), Pki.Purpose.PEER,
        sans, SERVER_VALIDITY);
    return new ReplicaCredential(cert, keys.getPrivate());
  }

  /**
   * Writes a CA this start made ({@link #created()}), key first, certificate last: the certificate
   * is the mark of a fleet made whole. Called once the first credentials are written
   * ({@code Authority.open}); until then a killed start leaves no {@code ca.crt}, and the next
   * start (or {@code init}) makes the fleet anew, its credentials included.
   */
  void keepCa() {
    if (!created || java.nio.file.Files.exists(dir.resolve("ca.crt"))) {
      return;
    }
    OwnerOnlyFiles.write(dir.resolve("ca.key"), Pki.pem(caKey));
    OwnerOnlyFiles.write(dir.resolve("ca.crt"), Pki.pem(ca));
    log.info("created the fleet CA in {} (sha256 {})", dir, Pki.fingerprint(ca));
  }

  /** Whether this start made the CA (a new fleet). */
  public boolean created() {
    return created;
  }

  public Path dir() {
    return dir;
  }

  public X509Certificate ca() {
    return ca;
  }

  PrivateKey caKey() {
    return caKey;
  }

  public X509Certificate serverCert() {
    return serverCert;
  }

  public PrivateKey serverKey() {
    return serverKey;
  }

  public String caHash() {
    return Pki.fingerprint(ca);
  }

  /** A credential file: the client certificate, its key and the CA, in one PEM bundle (what dsctl reads). */
  public static String bundle(X509Certificate cert, PrivateKey key, X509Certificate ca) {
    return Pki.pem(cert) + Pki.pem(key) + Pki.pem(ca);
  }
}
