package io.dsfleet.agent;

import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

/**
 * A test class on the real daemon: each test gets a {@link DockerHarness} of its own, with its
 * state in {@code tmp/state}, closed after it (a subclass's own set-up runs after the harness is
 * made, its own tear-down before it is closed).
 */
abstract class OnDocker {
  @TempDir Path tmp;
  DockerHarness h;

  @BeforeEach
  void startHarness() {
    h = new DockerHarness(tmp.resolve("state"));
  }

  @AfterEach
  void closeHarness() {
    h.close();
  }
}
