package io.dsfleet.agent.state;

import io.dsfleet.common.OwnerOnlyFiles;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's starts in a row that ended early, counted in {@code STATE_DIR/quick-starts} (0600):
 * each start adds one, a start that has run {@link #SETTLED} sets it back to 0, and a start that
 * ends in the JVM's orderly shutdown (SIGTERM from {@code systemctl stop|restart}, a reboot or an
 * upgrade; SIGINT; the agent's exit 0, its node removed) takes its one back: only starts that end
 * otherwise count (out of memory, which the unit's {@code -XX:+ExitOnOutOfMemoryError} ends with no
 * shutdown hook run; SIGKILL; a crash of the JVM; an exception out of the agent's start, exit 1). Until a review of 2026-12-07 (helper-180) stopped starts
 * counted too: three {@code systemctl restart}s within a minute each, during a coordinator outage,
 * had the next start leave the saved set aside, and a pod's container that then died was not
 * restarted until a coordinator answered. After {@link
 * #LIMIT} such starts the next one does not act on the saved desired set: it leaves every running
 * pod alone until a coordinator's set arrives (as an agent without a saved set), so the set that
 * mends the node (the DaemonSet deleted, an undo) reaches it, rather than the agent failing on what
 * the saved set makes it do (out of memory at every start) before its session has opened. Before
 * 2026-12-07 nothing counted, and a saved set that made the agent fail at each start made it fail
 * for good, the coordinator's next set never taken (helper-178). A count the disk does not give
 * (none yet, damaged, unreadable) is 0; one it does not take is not counted, never a failed start.
 */
public final class QuickStarts {
  private static final Logger log = LoggerFactory.getLogger(QuickStarts.class);
  /** Starts in a row that ended before they settled, after which the next one leaves the saved set aside. */
  public static final int LIMIT = 3;
  /** How long a start runs to have settled: out of memory on a set comes within seconds of taking it. */
  public static final Duration SETTLED = Duration.ofSeconds(60);
  /** The agent's command ended with an error (an exception out of its start): its start counts. */
  private static volatile boolean failed;
  private final Path file;
  /** The count this start found, what a stop puts back; -1 before {@link #begin}. */
  private int before = -1;
  private boolean settled;
  private boolean leaveSavedSet;

  public QuickStarts(Path stateDir) {
    this.file = stateDir.resolve("quick-starts");
  }

  /**
   * The agent's start: counts it ({@link #begin}) and takes it back at the JVM's orderly shutdown
   * ({@link #stopped}, a shutdown hook); {@link #leaveSavedSet} says what {@link #begin} did.
   */
  public static QuickStarts counted(Path stateDir) {
    QuickStarts q = new QuickStarts(stateDir);
    q.leaveSavedSet = q.begin();
    Runtime.getRuntime().addShutdownHook(new Thread(q::stopped, "quick-starts"));
    return q;
  }

  /** True when the {@link #LIMIT} starts before this one all ended early (see {@link #counted}). */
  public boolean leaveSavedSet() {
    return leaveSavedSet;
  }

  /**
   * Whether this start leaves the saved set {@code d} aside ({@link #leaveSavedSet}), saying so in
   * the journal: running containers are then left alone until a coordinator sends the node's set.
   */
  public boolean leavesAside(io.dsfleet.proto.v1.DesiredState d, Path stateDir) {
    if (leaveSavedSet) {
      log.error("the last {} starts each ended within {} s, not stopped: not acting on the last desired set (version {}, {} pods) from {},"
          + " in case it is what ended them (out of memory?); running containers are left alone until a coordinator sends the node's set",
          LIMIT, SETTLED.toSeconds(), d.getVersion(), d.getPodsCount(), stateDir);
    }
    return leaveSavedSet;
  }

  /** Counts this start: true when the {@link #LIMIT} starts before it all ended before they settled. */
  public synchronized boolean begin() {
    before = read();
    write(before + 1);
    return before >= LIMIT;
  }

  /** This start has run {@link #SETTLED}: the count is 0 again. */
  public synchronized void settled() {
    settled = true;
    write(0);
  }

  /** The agent's command ends with {@code code} and its JVM shuts down: a start that ends so, not 0, counts. */
  public static void exiting(int code) {
    failed = code != 0;
  }

  /** This start ends in an orderly shutdown: unless the agent failed ({@link #exiting}), it does not count. */
  public synchronized void stopped() {
    if (before >= 0 && !settled && !failed) {
      write(before);
    }
  }

  private int read() {
    if (!Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
      return 0;
    }
    try {
      return Math.max(0, Integer.parseInt(OwnerOnlyFiles.readSmall(file, 16).strip()));
    } catch (RuntimeException e) { // damaged, unreadable
      log.warn("cannot read {} ({}): counting this start as the first", file, e.getMessage());
      return 0;
    }
  }

  private void write(int count) {
    try {
      OwnerOnlyFiles.write(file, count + "\n");
    } catch (RuntimeException e) { // a disk gone read-only: the start goes on, uncounted
      log.warn("cannot write {}: {}", file, e.getMessage());
    }
  }
}
