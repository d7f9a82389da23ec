package io.dsfleet.agent.state;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The count of starts that ended early, after which a start leaves the saved desired set aside (helper-178). */
class QuickStartsTest {
  @TempDir Path dir;

  @Test
  void afterThreeStartsThatNeverSettledTheNextLeavesTheSavedSetAsideUntilOneSettles() {
    assertThat(new QuickStarts(dir).begin()).as("first start").isFalse();
    assertThat(new QuickStarts(dir).begin()).isFalse();
    assertThat(new QuickStarts(dir).begin()).isFalse();
    assertThat(new QuickStarts(dir).begin()).as("three ended early before it").isTrue();
    QuickStarts fifth = new QuickStarts(dir);
    assertThat(fifth.begin()).as("and each one after, until one settles").isTrue();
    fifth.settled();
    assertThat(new QuickStarts(dir).begin()).isFalse();
  }

  @Test
  void aCountTheDiskDoesNotGiveIsZero() throws Exception {
    Files.writeString(dir.resolve("quick-starts"), "garbage");
    assertThat(new QuickStarts(dir).begin()).isFalse();
    Files.writeString(dir.resolve("quick-starts"), "9".repeat(100)); // over what it reads
    assertThat(new QuickStarts(dir).begin()).isFalse();
    assertThat(Files.readString(dir.resolve("quick-starts")).strip()).isEqualTo("1");
  }
}
