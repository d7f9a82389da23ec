package io.dsfleet.packaging;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.jar.JarFile;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Which build each node runs: the jars the packages carry name the commit of the checkout they were
 * built from in their manifests (the root pom's build-commit step), and --version prints it.
 */
class BuildIdentityTest {
  static final Path LIB = PackagingTest.TARGET.resolve("stage/usr/share/dsfleet");

  /**
   * "0.1.0-SNAPSHOT+" and the checkout's commit, 12 hex digits, "-dirty" if tracked files had changes;
   * "+unknown" without .git or without git on the PATH. git is asked as the build asks it, its
   * repository named (GIT_DIR, GIT_WORK_TREE): in a checkout owned by another user (a CI job's
   * workspace mounted into a container that runs as root) git refuses to find the repository from
   * the directory ("detected dubious ownership") but answers the build, whose jars carry the commit.
   */
  static Pattern expected() throws Exception {
    Path root = PackagingTest.ROOT.toAbsolutePath().normalize();
    if (!Files.exists(root.resolve(".git")) || !PackagingTest.has("git")) {
      return Pattern.compile("0\\.1\\.0-SNAPSHOT\\+unknown");
    }
    var r = PackagingTest.run(Map.of("GIT_DIR", root.resolve(".git").toString(), "GIT_WORK_TREE", root.toString()),
        "git", "rev-parse", "--short=12", "HEAD");
    assertThat(r.exit()).as(r.out()).isZero();
    String commit = r.out().strip();
    assertThat(commit).matches("[0-9a-f]{12}");
    // dirty or not as the tree was when built, which may differ from now
    return Pattern.compile("0\\.1\\.0-SNAPSHOT\\+" + commit + "(-dirty)?");
  }

  static String implementationVersion(Path jar) throws Exception {
    try (JarFile j = new JarFile(jar.toFile())) {
      return j.getManifest().getMainAttributes().getValue("Implementation-Version");
    }
  }

  @Test
  void theJarsManifestsCarryTheCommitOfTheCheckout() throws Exception {
    Pattern build = expected();
    assertThat(implementationVersion(LIB.resolve("ds-agent.jar"))).matches(build);
    assertThat(implementationVersion(LIB.resolve("ds-coordinator.jar"))).matches(build);
  }

  @Test
  void versionPrintsTheBuild() throws Exception {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    var agent = PackagingTest.run(Map.of(), java, "-jar", LIB.resolve("ds-agent.jar").toString(), "--version");
    assertThat(agent.exit()).as(agent.out()).isZero();
    assertThat(agent.out()).isEqualTo("ds-agent " + implementationVersion(LIB.resolve("ds-agent.jar")) + "\n").matches("ds-agent " + expected() + "\n");
    var coordinator = PackagingTest.run(Map.of(), java, "-jar", LIB.resolve("ds-coordinator.jar").toString(), "--version");
    assertThat(coordinator.exit()).as(coordinator.out()).isZero();
    assertThat(coordinator.out()).matches("ds-coordinator " + expected() + "\n");
  }
}
