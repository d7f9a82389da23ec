package io.dsfleet.agent.state;

import io.dsfleet.common.OwnerOnlyFiles;
import io.dsfleet.common.SecretBox;
import io.dsfleet.proto.v1.DesiredState;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's state directory (owner-only, 0700): the last desired set the coordinator sent
 * ({@code desired.pb}, 0600 since it carries Secrets, and sealed with AES-GCM under the key in
 * {@code state.key} beside it, so a copy of the state file alone holds no Secret in the clear), written
 * atomically and synced, so the agent keeps running its pods while the coordinator is unreachable
 * and across its own restarts. A file an older agent wrote in the clear is read, and sealed at the
 * next write.
 *
 * <p>A state file that cannot be read never stops the agent (no crash loop): it is moved aside
 * to {@code desired.pb.corrupt}, and the agent starts as if it had none, which leaves every
 * running pod alone until a coordinator sends the node's desired set. A file sealed with another
 * key (the key was lost) is such a file. A file the disk does not give (an I/O error, three tries)
 * is not damaged: it stays where it is for the next start (helper-82: a passing disk error had
 * moved it aside, and the agent's next start without a coordinator had nothing to run); nor is a
 * key the disk does not give ({@link #key}).
 *
 * <p>Not final: a test stands a slow disk in for its writes.
 */
public class LocalState {
  private static final Logger log = LoggerFactory.getLogger(LocalState.class);
  private static final String CONTEXT = "ds-agent desired.pb";
  private final Path dir;
  /** The state file's key once read or made ({@link #key}); null until then. Under this object's lock. */
  private SecretBox box;
  /** The desired set on disk, as last read or written here; null: none. */
  private volatile DesiredState written;

  public LocalState(Path dir) {
    this.dir = OwnerOnlyFiles.directory(dir);
  }

  /**
   * The state file's key, read (or made, when there is none) at its first use and tried again at
   * each use until it is: a key the disk does not give (an I/O error in each of {@link
   * #READ_ATTEMPTS} reads {@link #READ_RETRY_MILLIS} ms apart), or cannot make (a disk gone
   * read-only), leaves the key and the state file in place: the set on disk is not read at this
   * start (running pods are left alone until a coordinator answers), and no set is written until
   * the key is there (the session tries again every few seconds and tells the coordinator why).
   * Before 2026-12-06 the key was read when the agent started, and an I/O error there stopped it
   * at every start, no retry, while its pods ran on unwatched (a failure-injection review).
   *
   * @throws IllegalStateException naming the key file and the disk's error
   */
  private synchronized SecretBox key() {
    if (box != null) {
      return box;
    }
    Path keyFile = dir.resolve("state.key");
    RuntimeException failed = null;
    for (int attempt = 0; attempt < READ_ATTEMPTS; attempt++) {
      if (attempt > 0) {
        pause(READ_RETRY_MILLIS);
      }
      try {
        box = stateKey(keyFile);
        return box;
      } catch (UncheckedIOException e) {
        failed = e;
      }
    }
    throw new IllegalStateException("the state key " + keyFile + " cannot be read or made (" + failed.getMessage() + "; " + READ_ATTEMPTS
        + " tries): no desired set is read or written until it can; the key and the state file are left in place");
  }

  /**
   * The state file's key; a damaged one (not 32 bytes of base64) is moved aside to {@code
   * state.key.corrupt} and a new one made, so the agent starts (the state file sealed under the
   * old key is then unreadable, and moved aside as any such file). Before 2026-12-05 a damaged key
   * stopped the agent at every start (helper-75).
   */
  private static SecretBox stateKey(Path keyFile) {
    try {
      return SecretBox.loadOrCreate(keyFile);
    } catch (IllegalStateException damaged) {
      Path aside = keyFile.resolveSibling(keyFile.getFileName() + ".corrupt");
      log.error("{}; moved it to {} and made a new key: the last desired set, sealed under the old one, cannot be read", damaged.getMessage(),
          aside);
      try {
        Files.move(keyFile, aside, StandardCopyOption.REPLACE_EXISTING);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot move the damaged key " + keyFile + " aside: " + e.getMessage(), e);
      }
      return SecretBox.loadOrCreate(keyFile);
    }
  }

  public Path dir() {
    return dir;
  }

  public Optional<DesiredState> loadDesired() {
    Path f = dir.resolve("desired.pb");
    if (!Files.exists(f)) {
      return Optional.empty();
    }
    byte[] sealed = null;
    IOException readFailed = null;
    for (int attempt = 0; sealed == null && attempt < READ_ATTEMPTS; attempt++) {
      try {
        sealed = read(f);
      } catch (IOException e) {
        readFailed = e;
        pause(READ_RETRY_MILLIS);
      }
    }
    if (sealed == null) { // the disk did not give the file (EIO): it is not damaged, so it stays for the next start to read
      log.error("cannot read the last desired set {} ({}, {} tries); left in place; running pods are left alone until a coordinator"
          + " answers", f, readFailed.getMessage(), READ_ATTEMPTS);
      return Optional.empty();
    }
    SecretBox box;
    try {
      box = key();
    } catch (IllegalStateException e) {
      log.error("{}; the last desired set {} is not read at this start; running pods are left alone until a coordinator answers",
          e.getMessage(), f);
      return Optional.empty();
    }
    try {
      written = DesiredState.parseFrom(box.open(sealed, CONTEXT));
      return Optional.of(written);
    } catch (IOException | IllegalStateException e) {
      Path aside = dir.resolve("desired.pb.corrupt");
      log.error("cannot read the last desired set {} ({}); moved it to {}; running pods are left alone until a coordinator answers",
          f, e.getMessage(), aside);
      try {
        Files.move(f, aside, StandardCopyOption.REPLACE_EXISTING);
      } catch (IOException moveFailed) {
        log.error("cannot move {} aside: {}", f, moveFailed.getMessage());
      }
      return Optional.empty();
    }
  }

  /**
   * Writes the desired set (atomically, synced). Under this object's lock, as {@link #clear} is: a
   * clear waits for a write under way (a stalled disk's included) and so always comes after it; a
   * node that left never finds its old set back on disk.
   */
  public synchronized void saveDesired(DesiredState state) {
    if (cleared) { // a write that waited out the session's close (a disk stalled for longer) never undoes the leave
      throw new IllegalStateException("the node left the fleet: no desired set is written any more");
    }
    write(dir.resolve("desired.pb"), key().seal(state.toByteArray(), CONTEXT));
    written = state;
  }

  /** Reads of the state file before a failing disk counts as not giving it. */
  static final int READ_ATTEMPTS = 3;
  static final long READ_RETRY_MILLIS = 200;

  /** Where the desired set is read (a test's disk fails here). */
  byte[] read(Path file) throws IOException {
    return OwnerOnlyFiles.readAll(file); // in slices: a set of 4 MiB read whole took 4 MiB of the unit's 16 MiB of direct memory
  }

  /** The wait before a read is tried again (a test's disk fails without it). */
  void pause(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Where the desired set and the left mark are written (a test's disk stalls here). */
  void write(Path file, byte[] data) {
    OwnerOnlyFiles.write(file, data);
  }

  /** Pods released by an orphan delete: their containers run on, unmanaged ({@link OrphansFile}: lines that are neither a pod name nor "namespace/name" are dropped). */
  public Set<String> loadOrphans() {
    Path f = dir.resolve("orphans");
    try {
      if (!Files.exists(f)) {
        return new TreeSet<>();
      }
      return new TreeSet<>(OrphansFile.parse(Files.readAllLines(f)));
    } catch (IOException e) {
      log.error("cannot read {}: {}", f, e.getMessage());
      return new TreeSet<>();
    }
  }

  /**
   * The pods released here: the orphans file's, and those of the last desired set (a coordinator
   * since 2026-12-05 sends them in every set), so a lost or unreadable file does not turn them into
   * pods to remove (helper-75: a file moved away, and the agent removed a released pod at its start).
   */
  public Set<String> released() {
    Set<String> pods = loadOrphans();
    loadDesired().ifPresent(d -> io.dsfleet.common.ReleasedPods.of(d).stream().filter(io.dsfleet.common.ReleasedPods::valid).forEach(pods::add));
    return pods;
  }

  public void saveOrphans(Set<String> pods) {
    OwnerOnlyFiles.write(dir.resolve("orphans"), OrphansFile.format(pods));
  }

  /** Set by {@link #clear}: this process writes no desired set after it. */
  private boolean cleared;

  /** Forgets the desired set and records that the node left the fleet (a second leave is then a no-op). */
  public synchronized void clear() {
    cleared = true;
    try {
      Files.deleteIfExists(dir.resolve("desired.pb"));
      written = null;
      write(dir.resolve("left"), new byte[0]);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The desired set on disk as this process last read or wrote it (none read yet, none written, or cleared: empty). */
  public Optional<DesiredState> written() {
    return Optional.ofNullable(written);
  }

  /** Whether the node left the fleet from here (and has not run since). */
  public boolean left() {
    return Files.exists(dir.resolve("left"));
  }

  /** The agent runs again: it joins, so it has not left. */
  public void joining() {
    try {
      Files.deleteIfExists(dir.resolve("left"));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
