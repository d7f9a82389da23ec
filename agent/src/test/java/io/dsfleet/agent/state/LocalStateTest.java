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
  void theStateFileHoldsNoSecretInTheClearAndAnOlderPlainOneIsStillRead() throws Exception {
    DesiredState d = DesiredState.newBuilder().setVersion(3).addPods(DesiredPod.newBuilder().setPodName("p")
        .setTemplateJson(com.google.protobuf.ByteString.copyFromUtf8("{\"password\":\"hunter2-in-the-clear\"}"))).build();
    new LocalState(dir).saveDesired(d);
    assertThat(new String(Files.readAllBytes(dir.resolve("desired.pb")), java.nio.charset.StandardCharsets.ISO_8859_1))
        .doesNotContain("hunter2-in-the-clear");
    assertThat(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("state.key"))))
        .isEqualTo("rw-------");
    Files.write(dir.resolve("desired.pb"), d.toByteArray()); // as an older agent wrote it
    assertThat(new LocalState(dir).loadDesired()).contains(d);
    new LocalState(dir).saveDesired(d);
    Files.delete(dir.resolve("state.key")); // the key is lost: the file cannot be read, and is moved aside like a damaged one
    assertThat(new LocalState(dir).loadDesired()).isEmpty();
    assertThat(dir.resolve("desired.pb.corrupt")).exists();
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
