package io.dsfleet.coordinator.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.common.manifest.Fixtures;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class ValidateCommandTest {
  @TempDir Path dir;

  record Result(int exit, String out, String err) {}

  static Result run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cl = Dsctl.commandLine();
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    int exit = cl.execute(args);
    return new Result(exit, out.toString(), err.toString());
  }

  @Test
  void validDirectoryExitsZero() throws Exception {
    Files.writeString(dir.resolve("a.yaml"), Fixtures.BASE);
    Files.writeString(dir.resolve("notes.txt"), "not a manifest");
    Result r = run("validate", "-f", dir.toString());
    assertThat(r.exit()).isZero();
    assertThat(r.out()).contains("a.yaml#1 DaemonSet/agent: OK").contains("1 valid, 0 invalid, 0 skipped");
  }

  @Test
  void invalidDocumentExitsOneAndNamesThePath() throws Exception {
    Path f = dir.resolve("bad.yaml");
    Files.writeString(f, Fixtures.BASE.replace("image: local/busybox:1", "image: local/busybox:1\n        restartPolicy: Never"));
    Result r = run("validate", "-f", f.toString());
    assertThat(r.exit()).isEqualTo(1);
    assertThat(r.out()).contains("bad.yaml#1 DaemonSet/agent: INVALID")
        .contains("error: spec.template.spec.containers[0].restartPolicy: not supported");
  }

  /** A 50 MB single-string file is refused at once, before it is read or parsed (it took seconds of parsing before). */
  @Test
  void aFileOverTheSizeLimitIsRefusedAtOnce() throws Exception {
    Path f = dir.resolve("big.yaml");
    Files.writeString(f, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata:\n  blob: " + "x".repeat(50 << 20) + "\n");
    long started = System.nanoTime();
    Result r = run("validate", "-f", f.toString());
    long millis = (System.nanoTime() - started) / 1_000_000;
    assertThat(r.exit()).isEqualTo(2);
    assertThat(r.err()).isEqualTo("error: " + f + " is " + Files.size(f) + " bytes; manifests are limited to 4128768 bytes"
        + " (4 MiB, the coordinator's request limit, less 64 KiB for the rest of the request)\n");
    assertThat(millis).as("milliseconds to refuse it").isLessThan(1000);
  }

  @Test
  void standardInputOverTheSizeLimitIsRefused() {
    java.io.InputStream stdin = System.in;
    try {
      System.setIn(new java.io.ByteArrayInputStream(("v: " + "x".repeat(5 << 20)).getBytes()));
      Result r = run("validate", "-f", "-");
      assertThat(r.exit()).isEqualTo(2);
      assertThat(r.err()).startsWith("error: standard input has more than 4128768 bytes; manifests are limited to 4128768 bytes");
    } finally {
      System.setIn(stdin);
    }
  }

  @Test
  void unreadableInputExitsTwo() {
    Result r = run("validate", "-f", dir.resolve("missing.yaml").toString());
    assertThat(r.exit()).isEqualTo(2);
    assertThat(r.err()).contains("does not exist");
  }

  @Test
  void missingFlagIsUsageError() {
    assertThat(run("validate").exit()).isEqualTo(2);
  }
}
