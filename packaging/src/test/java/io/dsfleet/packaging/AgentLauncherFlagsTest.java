package io.dsfleet.packaging;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent's launcher with the unit's -XX:TrimNativeHeapInterval on a Java that knows it and on
 * one that does not (Java 17 before 17.0.9, which refuses to start on a flag it does not know): a
 * `java` of the test's first on the PATH, which writes down the arguments it is run with and, as
 * the older one, refuses the flag.
 */
class AgentLauncherFlagsTest {
  @TempDir Path tmp;

  static final String TRIM = "-XX:TrimNativeHeapInterval=15000";

  PackagingTest.Result launch(boolean javaKnowsTrim) throws Exception {
    Path bin = Files.createDirectories(tmp.resolve("bin"));
    Path java = bin.resolve("java");
    Files.writeString(java, "#!/bin/sh\n"
        + (javaKnowsTrim ? "" : "for a in \"$@\"; do case \"$a\" in -XX:TrimNativeHeapInterval=*)"
            + " echo \"Unrecognized VM option '${a#-XX:}'\" >&2; exit 1;; esac; done\n")
        + "echo \"$@\" >>" + tmp.resolve("java-runs") + "\n");
    Files.setPosixFilePermissions(java, PosixFilePermissions.fromString("rwx------"));
    Path lib = Files.createDirectories(tmp.resolve("lib"));
    Files.createFile(lib.resolve("ds-agent.jar"));
    return PackagingTest.run(Map.of("PATH", bin + ":" + System.getenv("PATH"), "DSFLEET_LIB", lib.toString(),
        "DS_AGENT_JAVA_OPTS", "-XX:+UseSerialGC " + TRIM + " -Xmx48m", "DS_AGENT_CDS_ARCHIVE", "off"),
        "sh", PackagingTest.ROOT.resolve("bin/ds-agent").toString(), "run", "--config", "/etc/dsfleet/agent.yaml");
  }

  String agentRun() throws Exception {
    return Files.readAllLines(tmp.resolve("java-runs")).stream().filter(l -> l.contains("-jar")).reduce((a, b) -> b).orElseThrow();
  }

  @Test
  void aJavaThatKnowsTheTrimFlagRunsTheAgentWithIt() throws Exception {
    PackagingTest.Result r = launch(true);
    assertThat(r.exit()).as(r.out()).isZero();
    assertThat(agentRun()).contains("-XX:+UseSerialGC " + TRIM + " -Xmx48m -jar ").endsWith(" run --config /etc/dsfleet/agent.yaml");
    assertThat(r.out()).doesNotContain("starting without it");
  }

  @Test
  void aJavaThatDoesNotKnowTheTrimFlagRunsTheAgentWithoutItSayingSo() throws Exception {
    PackagingTest.Result r = launch(false);
    assertThat(r.exit()).as(r.out()).isZero();
    assertThat(agentRun()).doesNotContain("TrimNativeHeapInterval").contains("-XX:+UseSerialGC").contains("-Xmx48m -jar ")
        .endsWith(" run --config /etc/dsfleet/agent.yaml");
    assertThat(r.out()).contains("ds-agent: this Java does not know -XX:TrimNativeHeapInterval (Java 17.0.9 and later do):"
        + " starting without it");
  }
}
