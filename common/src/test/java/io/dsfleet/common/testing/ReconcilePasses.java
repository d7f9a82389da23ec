package io.dsfleet.common.testing;

import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The agent's reconcile passes, as it logs them at debug level ("reconcile pass N done: ...",
 * ", idle" when no pod work is in flight): the barrier of tests that run the agent as a process.
 * After {@link #settle} the agent has looked at what it has and done what it would do about it,
 * so "nothing changed" can be asserted without a fixed sleep.
 */
public final class ReconcilePasses {
  /** The JVM flag that makes an agent log its passes. */
  public static final String DEBUG_FLAG = "-Dorg.slf4j.simpleLogger.log.io.dsfleet.agent.reconcile.Reconciler=debug";
  private static final Pattern PASS = Pattern.compile("reconcile pass (\\d+) done: .*?(, idle)?$", Pattern.MULTILINE);

  private ReconcilePasses() {}

  /** A pass: its number (0: none yet) and whether it ended with no pod work in flight. */
  public record Pass(long number, boolean idle) {}

  /** The last pass in one agent process's log. */
  public static Pass last(String log) {
    Pass last = new Pass(0, false);
    Matcher m = PASS.matcher(log);
    while (m.find()) {
      last = new Pass(Long.parseLong(m.group(1)), m.group(2) != null);
    }
    return last;
  }

  /** Whether a log line is a pass line (left out where logs are shown to people). */
  public static boolean isPass(String line) {
    return PASS.matcher(line).find();
  }

  /**
   * Waits until the log of one agent process shows {@code n} more passes than it does now, the last
   * with no pod work in flight.
   *
   * @throws AssertionError naming what it saw when {@code within} runs out
   */
  public static void settle(Callable<String> log, int n, Duration within) throws Exception {
    long from = last(log.call()).number();
    long deadline = System.nanoTime() + within.toNanos();
    Pass seen;
    do {
      seen = last(log.call());
      if (seen.number() >= from + n && seen.idle()) {
        return;
      }
      Thread.sleep(100);
    } while (System.nanoTime() < deadline);
    throw new AssertionError("the agent did not finish " + n + " more reconcile passes, the last idle, within " + within
        + ": from pass " + from + ", last seen " + seen);
  }
}
