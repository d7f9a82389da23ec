package io.dsfleet.agent.state;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.proto.v1.DesiredPod;
import io.dsfleet.proto.v1.DesiredState;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The state directory: what the agent keeps, and that a damaged file never stops it. */
class LocalStateTest {
  @TempDir Path dir;

  @Test
  void theDesiredSetSurvivesARestart() {
    DesiredState d = DesiredState.newBuilder().setVersion(7).addPods(DesiredPod.newBuilder().setPodName("p")).build();
    new LocalState(dir).saveDesired(d);
    assertThat(new LocalState(dir).loadDesired()).contains(d);
  }

  @Test
  void anUnreadableStateFileIsMovedAsideAndTheAgentStartsWithoutOne() throws Exception {
    Files.write(dir.resolve("desired.pb"), new byte[] {(byte) 0xff, 0x01, 0x02, 0x03});
    assertThat(new LocalState(dir).loadDesired()).isEmpty();
    assertThat(dir.resolve("desired.pb")).doesNotExist();
    assertThat(dir.resolve("desired.pb.corrupt")).exists();
    assertThat(new LocalState(dir).loadDesired()).as("and again, at the next start").isEmpty();
  }

  @Test
  void orphanLinesThatAreNotPodNamesAreDropped() throws Exception {
    Files.writeString(dir.resolve("orphans"), "web-abcde\n../../etc\n\nlog-12345\n");
    assertThat(new LocalState(dir).loadOrphans()).isEqualTo(Set.of("web-abcde", "log-12345"));
  }
}
