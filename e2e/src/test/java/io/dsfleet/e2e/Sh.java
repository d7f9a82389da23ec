package io.dsfleet.e2e;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs a command to completion and returns its output; a failure names the command, exit code and output. */
final class Sh {
  private Sh() {}

  record Result(int exit, String out) {}

  static Result run(List<String> cmd) {
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      byte[] out = p.getInputStream().readAllBytes();
      if (!p.waitFor(120, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IllegalStateException("timed out: " + String.join(" ", cmd));
      }
      return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new IllegalStateException("cannot run " + cmd + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted: " + cmd, e);
    }
  }

  /** Runs and requires exit code 0. */
  static String ok(String... cmd) {
    Result r = run(List.of(cmd));
    if (r.exit() != 0) {
      throw new IllegalStateException(String.join(" ", cmd) + " exited " + r.exit() + ": " + r.out().strip());
    }
    return r.out();
  }

  /** Runs through sh -c, ignoring the exit code (cleanup). */
  static String quiet(String script) {
    return run(List.of("sh", "-c", script)).out();
  }
}
