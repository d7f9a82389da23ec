package io.dsfleet.packaging;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * bin/dsctl's class-data archive (docs/dsctl.md, "Start-up"): written by the first call that
 * succeeds, mapped by the next, never from a directory others can write to, made again for a new jar. Offline calls
 * only: the launcher is the same whatever the verb.
 */
class DsctlLauncherTest {
  @TempDir Path tmp;
  Path lib;
  Path cds;
  final String manifest = PackagingTest.ROOT.resolve("examples/node-metrics.yaml").toString();

  @BeforeEach
  void copyTheJar() throws Exception {
    // a jar of the test's own, whose time it may change
    lib = Files.createDirectory(tmp.resolve("lib"));
    Files.copy(PackagingTest.ROOT.resolve("coordinator/target/ds-coordinator.jar"), lib.resolve("ds-coordinator.jar"));
    cds = tmp.resolve("cache/dsfleet");
  }

  PackagingTest.Result dsctl(Map<String, String> extra, String... args) throws Exception {
    Map<String, String> env = new HashMap<>(Map.of("DSFLEET_LIB", lib.toString(), "DSCTL_CDS_DIR", cds.toString()));
    env.putAll(extra);
    String[] cmd = Stream.concat(Stream.of("sh", PackagingTest.ROOT.resolve("bin/dsctl").toString()), Stream.of(args)).toArray(String[]::new);
    return PackagingTest.run(env, cmd);
  }

  List<Path> archives() throws Exception {
    if (!Files.isDirectory(cds)) {
      return List.of();
    }
    try (Stream<Path> s = Files.list(cds)) {
      return s.sorted().toList();
    }
  }

  @Test
  void theFirstCallWritesTheArchiveQuietlyAndTheNextMapsIt() throws Exception {
    PackagingTest.Result plain = dsctl(Map.of("DSCTL_CDS_DIR", "off"), "validate", "-f", manifest);
    assertThat(plain.exit()).as(plain.out()).isZero();
    assertThat(archives()).as("DSCTL_CDS_DIR=off writes nothing").isEmpty();

    PackagingTest.Result first = dsctl(Map.of(), "validate", "-f", manifest);
    assertThat(first.exit()).isZero();
    assertThat(first.out()).as("the archive's dump says nothing: the output is dsctl's alone").isEqualTo(plain.out());
    assertThat(archives()).singleElement().satisfies(a -> assertThat(a.getFileName().toString()).matches("dsctl-[0-9]+\\.jsa"));
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(cds))).isEqualTo("rwx------");

    Path loaded = tmp.resolve("class-load.log");
    PackagingTest.Result second = dsctl(Map.of("DSCTL_JAVA_OPTS", "-XX:+UseSerialGC -Xlog:class+load=info:file=" + loaded), "validate", "-f", manifest);
    assertThat(second.out()).isEqualTo(plain.out());
    assertThat(Files.readString(loaded)).as("dsctl's own classes come from the archive")
        .contains("io.dsfleet.coordinator.cli.Dsctl source: shared objects file (top)");
  }

  @Test
  void aCallThatFailsKeepsNoArchive() throws Exception {
    PackagingTest.Result r = dsctl(Map.of(), "validate", "-f", tmp.resolve("missing.yaml").toString());
    assertThat(r.exit()).as(r.out()).isEqualTo(2);
    assertThat(archives()).isEmpty();
    assertThat(dsctl(Map.of(), "validate", "-f", manifest).exit()).isZero();
    assertThat(archives()).hasSize(1);
  }

  @Test
  void aNewJarGetsANewArchiveAndTheOldOneGoes() throws Exception {
    assertThat(dsctl(Map.of(), "version", "--client").exit()).isZero();
    Path old = archives().get(0);
    Path jar = lib.resolve("ds-coordinator.jar");
    Files.copy(jar, tmp.resolve("new.jar"));
    Files.move(tmp.resolve("new.jar"), jar, StandardCopyOption.REPLACE_EXISTING);
    Files.setLastModifiedTime(jar, FileTime.fromMillis(Files.getLastModifiedTime(jar).toMillis() + 60_000));
    assertThat(dsctl(Map.of(), "version", "--client").exit()).isZero();
    assertThat(archives()).singleElement().isNotEqualTo(old);
  }

  @Test
  void noArchiveInADirectoryOthersCanWriteTo() throws Exception {
    Files.createDirectories(cds);
    Files.setPosixFilePermissions(cds, PosixFilePermissions.fromString("rwxrwxrwx"));
    PackagingTest.Result r = dsctl(Map.of(), "validate", "-f", manifest);
    assertThat(r.exit()).as(r.out()).isZero();
    assertThat(archives()).isEmpty();
  }
}
