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
 * each start adds one, and a start that has run {@link #SETTLED} sets it back to 0. After {@link
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
  private final Path file;

  public QuickStarts(Path stateDir) {
    this.file = stateDir.resolve("quick-starts");
  }

  /** Counts this start: true when the {@link #LIMIT} starts before it all ended before they settled. */
  public boolean begin() {
    int before = read();
    write(before + 1);
    return before >= LIMIT;
  }

  /** This start has run {@link #SETTLED}: the count is 0 again. */
  public void settled() {
    write(0);
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
