package io.dsfleet.agent;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The class list bin/ds-agent makes the agent's class-data archive from (cds/ds-agent.classlist,
 * written by scripts/agent-classlist.sh) still names the agent's classes. A class it names that is
 * gone is only left out of the archive (loaded as before), so a few may go; when many have (a
 * dependency upgraded, packages moved), the archive would help little: run the script again.
 */
class AgentClassListTest {
  @org.junit.jupiter.api.Test
  void theClassListNamesClassesTheAgentStillHas() throws Exception {
    List<String> classes = Files.readAllLines(Path.of("cds/ds-agent.classlist")).stream()
        .filter(l -> !l.isBlank() && !l.startsWith("#") && !l.startsWith("@"))
        .map(l -> l.split(" ", 2)[0])
        .toList();
    assertThat(classes).as("what the script exercises: start, session, Docker, probes, logs")
        .contains("io/dsfleet/agent/AgentMain", "io/dsfleet/agent/session/CoordinatorSession", "io/dsfleet/agent/runtime/DockerRuntime",
            "io/dsfleet/agent/reconcile/Prober", "io/dsfleet/common/tls/Pki")
        .hasSizeGreaterThan(3000);
    List<String> gone = classes.stream().filter(c -> ClassLoader.getSystemResource(c + ".class") == null).toList();
    assertThat(gone.size()).as("classes in the list the agent no longer has (run scripts/agent-classlist.sh): " + gone.stream().limit(20).toList())
        .isLessThanOrEqualTo(classes.size() / 50);
  }
}
