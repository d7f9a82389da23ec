package io.dsfleet.common.manifest;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;

/**
 * The 30 real DaemonSet manifests live in ../shared/manifests beside the repository (other
 * projects' files, not copied into ours). Tests that read them are skipped, saying so, where that
 * folder does not exist.
 */
public final class SharedManifests {
  private SharedManifests() {}

  public static Path dir() {
    String configured = System.getProperty("dsfleet.shared.dir");
    Path dir = configured != null ? Path.of(configured, "manifests") : Path.of("..", "..", "shared", "manifests");
    Assumptions.assumeTrue(Files.isDirectory(dir),
        "skipped: the 30 real manifests are read from ../shared/manifests, which does not exist here (" + dir.toAbsolutePath() + ")");
    return dir;
  }
}
