package io.dsfleet.coordinator.cli;

import io.dsfleet.coordinator.grpc.CoordinatorFixture;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

/** A test class that drives dsctl's command line against a real coordinator of its own (a fixture per test, plaintext). */
abstract class DsctlOnFixture {
  @TempDir Path dir;
  CoordinatorFixture c;

  @BeforeEach
  void start() throws Exception {
    c = new CoordinatorFixture(dir.resolve("data"));
  }

  @AfterEach
  void stop() {
    c.close();
  }

  /** dsctl with {@code args}, then this coordinator's address (--insecure). */
  DsctlRun.Result dsctl(String... args) {
    java.util.List<String> all = new java.util.ArrayList<>(java.util.List.of(args));
    all.addAll(java.util.List.of("--coordinator", "127.0.0.1:" + c.server.port(), "--insecure"));
    return DsctlRun.run(all);
  }
}
