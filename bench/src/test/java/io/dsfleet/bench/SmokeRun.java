package io.dsfleet.bench;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;

/** What a benchmark's smoke run has: a work directory and what the benchmark printed. */
abstract class SmokeRun {
  @TempDir Path work;
  final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
  final PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);

  String printed() {
    return bytes.toString(StandardCharsets.UTF_8);
  }

  static void assumeDocker() {
    assumeTrue(Procs.run(List.of("docker", "info")).exit() == 0, "skipped: no Docker daemon (scripts/test starts one)");
  }
}
