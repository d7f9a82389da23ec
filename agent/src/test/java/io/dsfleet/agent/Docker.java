package io.dsfleet.agent;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** The docker CLI against the harness's daemon, for what tests do beside the agent; every call has a deadline. */
public final class Docker {
  private Docker() {}

  /** A finished command: its exit code and its output (stdout and stderr). */
  public record Result(int exit, String out) {}

  public static Result cli(Map<String, String> env, String... args) {
    List<String> cmd = new ArrayList<>(List.of("docker", "-H", DockerHarness.DOCKER_HOST));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().putAll(env);
    try {
      Process p = pb.start();
      CompletableFuture<String> out = CompletableFuture.supplyAsync(() -> {
        try {
          return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
          return "";
        }
      });
      if (!p.waitFor(120, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new AssertionError("timed out after 120 s: " + cmd);
      }
      return new Result(p.exitValue(), out.get(10, TimeUnit.SECONDS));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (Exception e) {
      throw new AssertionError(cmd + ": " + e, e);
    }
  }
}
