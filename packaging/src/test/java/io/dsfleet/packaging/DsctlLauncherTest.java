package io.dsfleet.packaging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.dsfleet.common.testing.FreePorts;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * bin/dsctl's class-data archive (docs/dsctl.md, "Start-up"), against a real coordinator: a call
 * that finds none runs as it is while a `dsctl version` beside it writes the archive, which the
 * next call maps; a version that cannot reach the coordinator keeps nothing and says why; no
 * archive where anyone else could have put one; a directory with a space in its name.
 */
class DsctlLauncherTest {
  static Process coordinator;
  static Path coordinatorDir;
  static String address;
  @TempDir Path tmp;

  @BeforeAll
  static void startCoordinator() throws Exception {
    coordinatorDir = Files.createTempDirectory("dsctl-launcher-test");
    address = "127.0.0.1:" + FreePorts.pick();
    coordinator = new ProcessBuilder("java", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-jar",
        PackagingTest.ROOT.resolve("coordinator/target/ds-coordinator.jar").toString(), "serve", "--listen", address, "--data-dir",
        coordinatorDir.resolve("data").toString(), "--config", coordinatorDir.resolve("none.yaml").toString())
        .redirectErrorStream(true).redirectOutput(coordinatorDir.resolve("coordinator.log").toFile()).start();
    Path admin = coordinatorDir.resolve("data/pki/admin.pem");
    Awaitility.await("the coordinator's admin credential").atMost(Duration.ofSeconds(60)).until(() -> Files.exists(admin));
    // and its port: the credential is written before the server listens (ci-86, a loaded machine: the first dsctl call
    // came in between and was refused)
    int port = Integer.parseInt(address.substring(address.lastIndexOf(':') + 1));
    Awaitility.await("the coordinator's port").atMost(Duration.ofSeconds(60)).until(() -> {
      try (java.net.Socket s = new java.net.Socket("127.0.0.1", port)) {
        return true;
      } catch (java.io.IOException e) {
        return false;
      }
    });
  }

  @AfterAll
  static void stopCoordinator() throws Exception {
    coordinator.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
    PackagingTest.run(Map.of(), "rm", "-rf", coordinatorDir.toString());
  }

  record Call(int exit, String out, String err) {}

  /** bin/dsctl with the test coordinator's address and admin credential, and the environment given. */
  static ProcessBuilder launcher(Map<String, String> env, String... args) {
    List<String> cmd = new ArrayList<>(List.of("sh", PackagingTest.ROOT.resolve("bin/dsctl").toString()));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.environment().putAll(Map.of("DSCTL_COORDINATOR", address, "DSCTL_CREDENTIALS", coordinatorDir.resolve("data/pki/admin.pem").toString()));
    pb.environment().remove("XDG_CACHE_HOME"); // the test's directories, never the user's cache
    pb.environment().putAll(env);
    return pb;
  }

  /** A dsctl call to its end, stdout and stderr apart. */
  static Call dsctl(Map<String, String> env, String... args) throws Exception {
    ProcessBuilder pb = launcher(env, args);
    File err = File.createTempFile("dsctl", ".err");
    try {
      Process p = pb.redirectError(err).start();
      String out = new String(p.getInputStream().readAllBytes());
      assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("dsctl ended").isTrue();
      return new Call(p.exitValue(), out, Files.readString(err.toPath()));
    } finally {
      Files.deleteIfExists(err.toPath());
    }
  }

  static Map<String, String> in(Path cds) {
    return Map.of("DSCTL_CDS_DIR", cds.toString());
  }

  static List<String> files(Path dir) throws Exception {
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (Stream<Path> s = Files.list(dir)) {
      return s.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  static Path awaitArchive(Path cds) throws Exception {
    Awaitility.await("the archive written beside the first call").atMost(Duration.ofSeconds(60))
        .until(() -> files(cds).stream().anyMatch(f -> f.matches("dsctl-[0-9]+\\.jsa")) && files(cds).stream().noneMatch(f -> f.endsWith(".try")));
    return cds.resolve(files(cds).stream().filter(f -> f.endsWith(".jsa")).findFirst().orElseThrow());
  }

  /**
   * dsctl's JVM flags, logging each JVM's class loads (where from) to a file of its own in
   * {@code logs}: flags are part of the archive's key, so the version beside the first call and
   * the calls after it run with these too.
   */
  static Map<String, String> logging(Path cds, Path logs) throws Exception {
    Files.createDirectories(logs);
    return Map.of("DSCTL_CDS_DIR", cds.toString(), "DSCTL_JAVA_OPTS",
        "-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xlog:class+load=info:file=" + logs + "/classes-%p.log");
  }

  /** What the calls logged, all of it. */
  static String classesLoaded(Path logs) throws Exception {
    StringBuilder all = new StringBuilder();
    for (String f : files(logs)) {
      all.append(Files.readString(logs.resolve(f)));
    }
    return all.toString();
  }

  /** What the last JVM logged. */
  static String lastLoaded(Path logs) throws Exception {
    try (Stream<Path> s = Files.list(logs)) {
      return Files.readString(s.max(java.util.Comparator.comparingLong(p -> p.toFile().lastModified())).orElseThrow());
    }
  }

  @Test
  void theFirstCallRunsAsItIsWhileVersionBesideItWritesTheArchiveThatTheNextMaps() throws Exception {
    Call plain = dsctl(in(Path.of("off")), "get", "nodes", "-o", "json");
    assertThat(plain.exit()).as(plain.err()).isZero();
    Path cds = tmp.resolve("cache/dsfleet");

    Call first = dsctl(in(cds), "get", "nodes", "-o", "json");
    assertThat(first).as("the first call's exit, output and errors are its own").isEqualTo(plain);
    Path archive = awaitArchive(cds);
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(cds))).isEqualTo("rwx------");
    assertThat(dsctl(in(cds), "get", "nodes", "-o", "json")).as("the same output with the archive").isEqualTo(plain);
    assertThat(files(cds)).containsExactly(archive.getFileName().toString());

    Path logs = tmp.resolve("logs");
    Path other = tmp.resolve("other");
    assertThat(dsctl(logging(other, logs), "get", "nodes").exit()).isZero();
    assertThat(classesLoaded(logs)).as("other flags: no archive yet").doesNotContain("shared objects file (top)");
    awaitArchive(other);
    assertThat(dsctl(logging(other, logs), "get", "nodes").exit()).isZero();
    assertThat(classesLoaded(logs)).as("dsctl's own classes, gRPC's and TLS's from the archive that version wrote")
        .contains("io.dsfleet.coordinator.cli.Dsctl source: shared objects file (top)")
        .contains("io.grpc.ManagedChannel source: shared objects file (top)")
        .contains("io.grpc.netty.shaded.io.netty.handler.ssl.SslContext source: shared objects file (top)");

    // an archive someone else could have written to is not mapped
    Path planted = files(other).stream().filter(f -> f.endsWith(".jsa")).map(other::resolve).findFirst().orElseThrow();
    Files.setPosixFilePermissions(planted, PosixFilePermissions.fromString("rw-rw-r--"));
    assertThat(dsctl(logging(other, logs), "get", "nodes").exit()).isZero();
    assertThat(lastLoaded(logs)).contains("io.dsfleet.coordinator.cli.Dsctl source: file:").doesNotContain("(top)");
  }

  /**
   * The launcher replaces itself with the call's JVM, on a first call (a version started beside it)
   * as on the next: the process a user or a service manager started is dsctl's, signals reach it
   * and its exit code is the JVM's.
   */
  @Test
  void theCallIsTheLaunchersOwnProcessFirstCallOrNot() throws Exception {
    Path cds = tmp.resolve("cds");
    for (String call : List.of("first", "with the archive")) {
      Process p = launcher(in(cds), "events", "-w").redirectErrorStream(true).redirectOutput(tmp.resolve("events.out").toFile()).start();
      try {
        Path comm = Path.of("/proc/" + p.pid() + "/comm");
        Awaitility.await(call + ": the launcher's process runs java").atMost(Duration.ofSeconds(30))
            .until(() -> Files.readString(comm).strip().equals("java"));
        p.destroy(); // SIGTERM
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).as(call + ": ended by SIGTERM").isTrue();
        assertThat(p.exitValue()).as(call + ": the JVM's exit for SIGTERM (its output: %s)", Files.readString(tmp.resolve("events.out")))
            .isEqualTo(143);
      } finally {
        p.destroyForcibly();
      }
      if (call.equals("first")) {
        awaitArchive(cds);
      }
    }
  }

  @Test
  void anOfflineCommandStartsNoTry() throws Exception {
    Path cds = tmp.resolve("cds");
    for (String[] args : List.of(new String[] {"validate", "-f", PackagingTest.ROOT.resolve("examples/node-metrics.yaml").toString()},
        new String[] {"version", "--client"}, new String[] {"--help"})) {
      Call c = dsctl(in(cds), args);
      assertThat(c.exit()).as(c.err()).isZero();
      assertThat(files(cds)).as("dsctl %s: nothing tried", String.join(" ", args)).isEmpty();
    }
  }

  @Test
  void aVersionThatCannotReachTheCoordinatorKeepsNothingSaysWhyAndWaitsBeforeTryingAgain() throws Exception {
    Path cds = tmp.resolve("cds");
    Map<String, String> env = new HashMap<>(in(cds));
    env.put("DSCTL_COORDINATOR", "127.0.0.1:1"); // nothing listens there
    Call refused = dsctl(env, "get", "nodes");
    assertThat(refused.exit()).isEqualTo(1);
    assertThat(refused.err()).startsWith("error: cannot reach the coordinator at 127.0.0.1:1");
    Awaitility.await("the try's reason").atMost(Duration.ofSeconds(60)).until(() -> files(cds).stream().anyMatch(f -> f.endsWith(".try"))
        && Files.size(cds.resolve(files(cds).stream().filter(f -> f.endsWith(".try")).findFirst().orElseThrow())) > 0);
    String tryFile = files(cds).stream().filter(f -> f.endsWith(".try")).findFirst().orElseThrow();
    assertThat(Files.readString(cds.resolve(tryFile))).startsWith("dsctl version exited 1 at ").endsWith("no archive kept; no other try for 10 minutes\n");
    assertThat(files(cds)).as("no archive, no file left of the dump").containsExactly(tryFile);

    // reachable now, but the try was less than 10 minutes ago: this call runs without one and starts no other
    assertThat(dsctl(in(cds), "get", "nodes").exit()).isZero();
    assertThat(files(cds)).containsExactly(tryFile);
    assertThat(Files.readString(cds.resolve(tryFile))).startsWith("dsctl version exited 1 at ");
  }

  @Test
  void noArchiveWhereAnyoneElseCouldHavePutOne() throws Exception {
    Path open = Files.createDirectory(tmp.resolve("open"));
    Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxrwxrwx"));
    Path shared = Files.createDirectory(tmp.resolve("shared"));
    Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rwxrwxr-x"));
    for (Path cds : List.of(open.resolve("dsfleet"), shared)) {
      Call c = dsctl(in(cds), "get", "nodes");
      assertThat(c.exit()).as(c.err()).isZero();
      assertThat(files(cds)).as("nothing made in %s", cds).isEmpty();
    }
    // root with another user's home (sudo -E): that user could swap the directory under root's feet
    Path home = Files.createDirectory(tmp.resolve("home"));
    assumeTrue(PackagingTest.run(Map.of(), "id", "-u").out().strip().equals("0"), "skipped in part: only root can give a directory to another user");
    assertThat(PackagingTest.run(Map.of(), "chown", "12345", home.toString()).exit()).isZero();
    Call c = dsctl(Map.of("HOME", home.toString(), "DSCTL_CDS_DIR", ""), "get", "nodes");
    assertThat(c.exit()).as(c.err()).isZero();
    assertThat(files(home)).as("nothing made in another user's home").isEmpty();
  }

  @Test
  void aDirectoryWithASpaceInItsName() throws Exception {
    Path cds = tmp.resolve("cache dir/dsfleet");
    Path logs = tmp.resolve("logs");
    assertThat(dsctl(logging(cds, logs), "get", "nodes").exit()).isZero();
    awaitArchive(cds);
    assertThat(dsctl(logging(cds, logs), "get", "nodes").exit()).isZero();
    assertThat(classesLoaded(logs)).contains("io.dsfleet.coordinator.cli.Dsctl source: shared objects file (top)");
  }
}
