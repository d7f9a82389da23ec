package io.dsfleet.agent.pod;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** localhostProfile resolves inside the agent's profile directory only. */
class SeccompProfilesTest {
  @TempDir Path tmp;

  @Test
  void aProfileIsReadFromTheDirectoryAndNowhereElse() throws Exception {
    Path dir = Files.createDirectories(tmp.resolve("seccomp"));
    Files.writeString(Files.createDirectories(dir.resolve("team")).resolve("p.json"), "{\"defaultAction\":\"SCMP_ACT_ALLOW\"}");
    Files.writeString(tmp.resolve("secret"), "host secret");
    Files.createSymbolicLink(dir.resolve("link.json"), tmp.resolve("secret"));
    assertThat(SeccompProfiles.read(dir, "team/p.json")).contains("SCMP_ACT_ALLOW");
    for (String bad : new String[] {"../secret", "/etc/shadow", "team/../../secret", "link.json", "missing.json", ""}) {
      assertThatThrownBy(() -> SeccompProfiles.read(dir, bad)).as(bad).isInstanceOfSatisfying(PodConfigError.class,
          e -> assertThat(e.reason()).isEqualTo("CreateContainerConfigError")).hasMessageNotContaining("host secret");
    }
  }
}
