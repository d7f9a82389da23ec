package io.dsfleet.coordinator.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.common.BuildIdentity;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A set's digest names the coordinator's build, so that an upgrade sends every node its set again (another build may
 * encode the same decision otherwise). Builds whose names do not tell them apart ("+unknown": no .git or no git where
 * it was built; "-dirty") are told apart by their jars' contents.
 */
class UnnamedBuildsTest {
  @TempDir Path dir;

  static final List<Object> FINGERPRINT = List.of("default/agent/agent-n0@1a2b3c4d5e", List.of());

  Path jar(String name, String classBytes) throws IOException {
    Path jar = dir.resolve(name);
    try (OutputStream out = Files.newOutputStream(jar); ZipOutputStream z = new ZipOutputStream(out)) {
      z.putNextEntry(new ZipEntry("io/dsfleet/coordinator/fleet/Dispatcher.class"));
      z.write(classBytes.getBytes(java.nio.charset.StandardCharsets.UTF_8));
      z.closeEntry();
    }
    return jar;
  }

  String digest(String implementationVersion, Path jar) {
    return SetDigest.of(SetDigest.build(BuildIdentity.parse(implementationVersion), jar), "store", FINGERPRINT);
  }

  @Test
  void twoBuildsOfOneNameButOtherCodeGiveOtherDigests() throws IOException {
    Path before = jar("before.jar", "the code before");
    Path after = jar("after.jar", "the code after: a field added to a pod");
    for (String unnamed : List.of("0.1.0-SNAPSHOT+unknown", "0.1.0-SNAPSHOT+1a2b3c4d5e6f-dirty")) {
      assertThat(digest(unnamed, after)).as(unnamed + ": an upgrade sends the set again").isNotEqualTo(digest(unnamed, before));
      assertThat(digest(unnamed, jar("copy.jar", "the code before"))).as(unnamed + ": a restart of the same build, from a copy")
          .isEqualTo(digest(unnamed, before));
    }
    assertThat(digest("0.1.0-SNAPSHOT+1a2b3c4d5e6f", after)).as("a build named by its commit: its name alone")
        .isEqualTo(digest("0.1.0-SNAPSHOT+1a2b3c4d5e6f", before));
    assertThat(SetDigest.build(BuildIdentity.parse(null), dir)).as("classes outside a jar (tests)").isEqualTo("dev");
  }
}
