package io.dsfleet.agent.runtime;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The longest executable path runc is given: PATH_MAX less its NUL, the longest execve takes. runc's
 * error for a path it cannot run puts the path twice into one line of its log, and a line over 64
 * KiB hung runc for good (runc 1.1.5 under Docker 20.10), a create and an exec alike, and with it
 * Docker's call, which holds the container's lock: every inspect of the container then waited, and
 * so did every pass of the node. A longer path cannot be run anyway, so it never reaches runc.
 */
public final class ExecutablePaths {
  public static final int MAX_BYTES = 4095;

  private ExecutablePaths() {}

  /** The bytes of a path as runc gets it. */
  public static int bytes(String path) {
    return path.getBytes(StandardCharsets.UTF_8).length;
  }

  /** Why an exec's command cannot be run (its executable too long), or null. */
  static String refused(List<String> command) {
    int n = command.isEmpty() ? 0 : bytes(command.get(0));
    return n > MAX_BYTES ? "the executable is " + n + " bytes long; a path is at most " + MAX_BYTES + " bytes (PATH_MAX), and no longer"
        + " one can be run" : null;
  }
}
