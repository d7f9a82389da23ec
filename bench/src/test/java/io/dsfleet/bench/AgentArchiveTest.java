package io.dsfleet.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent's class-data archive that the fleets of a run share (target/agent-cds, the e2e
 * fleets' too) is made once: a fleet started after another's directory is gone finds it fitting.
 */
class AgentArchiveTest {
  @TempDir Path work;

  @Test
  void aFleetAfterAnotherIsGoneUsesTheArchiveTheFirstMade() throws Exception {
    Path archive = work.resolve("cds/ds-agent.jsa");
    String first = version(work.resolve("first"), archive);
    assertThat(first).as("the first fleet's launcher made the archive").contains("making the class-data archive");
    assertThat(archive).isNotEmptyFile();
    FileTime made = Files.getLastModifiedTime(archive);
    try (Stream<Path> files = Files.walk(work.resolve("first"))) { // the first fleet's directory goes, as a test's does
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
    String second = version(work.resolve("second"), archive);
    assertThat(second).as("the second fleet's launcher found the archive fitting").doesNotContain("making the class-data archive")
        .contains("ds-agent ");
    assertThat(Files.getLastModifiedTime(archive)).as("the same archive, not made again").isEqualTo(made);
  }

  /** The built agent's `--version` through its launcher, as a fleet in {@code dir} starts it on {@code archive}; what it printed. */
  private static String version(Path dir, Path archive) throws Exception {
    LocalFleet fleet = new LocalFleet(dir);
    fleet.agentArchive = archive;
    List<String> cmd = fleet.agentLauncher(LocalFleet.builtAgentJar());
    cmd.add("--version");
    Path log = dir.resolve("version.log");
    Process p = Procs.spawn(cmd, log, fleet.agentEnvironment());
    assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
    String out = Files.readString(log);
    assertThat(p.exitValue()).as(out).isZero();
    return out;
  }
}
