package io.dsfleet.common.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Child processes in tests, never waited for without a deadline: the output is read on another
 * thread, the process gets a deadline, and one still running then is killed and reported.
 */
public final class Processes {
  private Processes() {}

  /** How a process ended: its exit code and everything it printed (stderr into stdout). */
  public record Result(int exit, String output) {}

  /** Starts the command with stderr merged into stdout and waits for it as {@link #await} does. */
  public static Result run(ProcessBuilder command, Duration deadline) throws IOException, InterruptedException {
    return await(command.redirectErrorStream(true).start(), deadline);
  }

  /**
   * Waits at most {@code deadline} for the process and its output.
   *
   * @throws AssertionError when it is still running then (it is killed first)
   */
  public static Result await(Process p, Duration deadline) throws InterruptedException {
    CompletableFuture<String> out = CompletableFuture.supplyAsync(() -> read(p.getInputStream()));
    if (!p.waitFor(deadline.toMillis(), TimeUnit.MILLISECONDS)) {
      p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      throw new AssertionError("still running after " + deadline + ", killed: " + p.info().commandLine().orElse("a process"));
    }
    try {
      return new Result(p.exitValue(), out.get(10, TimeUnit.SECONDS));
    } catch (ExecutionException | TimeoutException e) {
      throw new AssertionError("its output could not be read within 10 s of its exit: " + e);
    }
  }

  /** Runs a short command that must succeed (mount, mkfifo), within a minute; its output is in the failure. */
  public static void succeed(String... command) throws IOException, InterruptedException {
    Result r = run(new ProcessBuilder(command), Duration.ofMinutes(1));
    if (r.exit() != 0) {
      throw new AssertionError(String.join(" ", command) + " exited " + r.exit() + ": " + r.output());
    }
  }

  /** Kills the process (SIGKILL) and waits at most 30 s for it to be gone. */
  public static void kill(Process p) throws InterruptedException {
    if (!p.destroyForcibly().waitFor(30, TimeUnit.SECONDS)) {
      throw new AssertionError("still running 30 s after SIGKILL: " + p.pid());
    }
  }

  private static String read(InputStream in) {
    try {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
