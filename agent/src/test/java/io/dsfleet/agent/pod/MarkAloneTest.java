package io.dsfleet.agent.pod;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link TemplateMark#markAlone}: a directory kept for the template an agent that marks none moved it to (RolledBackMarks). */
class MarkAloneTest {
  static final String DA = "a".repeat(64);
  static final String DB = "b".repeat(64);
  @TempDir Path pods;

  /**
   * An agent killed while it marks B's directory alone (A's mark there, left by an agent that marks
   * none) leaves a mark of another template than A's: the rollout undone meanwhile (A desired at the
   * next start), A starts with fresh volumes. Before the fix A's mark went first, and a kill before
   * B's left none: a directory that counts as any template's, kept for A with B's files.
   */
  @Test
  void aKillWhileMarkingAloneNeverLeavesTheDirectoryWithoutAMark() throws Exception {
    Path pod = pods.resolve("ops_agent-abcde");
    TemplateMark.mark(pod, "ha", DA);
    RuntimeException kill = new RuntimeException("killed");
    assertThatThrownBy(() -> TemplateMark.markAlone(pod, "hb", DB, () -> {
      throw kill;
    })).isSameAs(kill);
    assertThat(TemplateMark.another(pod, "ha", DA)).as("for A, another template's directory").isTrue();

    TemplateMark.markAlone(pod, "hb", DB); // the next agent's
    assertThat(TemplateMark.another(pod, "hb", DB)).isFalse();
    assertThat(pod.resolve("template-ha")).doesNotExist();
  }

  /** This hash's mark of another digest is replaced in one rename: killed after it, the directory is this template's alone. */
  @Test
  void aMarkOfTheHashWithAnotherDigestIsReplacedInOneRename() throws Exception {
    Path pod = pods.resolve("ops_agent-abcde");
    TemplateMark.mark(pod, "hb", DA);
    TemplateMark.mark(pod, "ha", DA);
    TemplateMark.markAlone(pod, "hb", DB);
    assertThat(Files.readString(pod.resolve("template-hb"))).isEqualTo(DB);
    try (var entries = Files.list(pod)) {
      assertThat(entries.map(p -> p.getFileName().toString())).containsExactly("template-hb");
    }
  }
}
