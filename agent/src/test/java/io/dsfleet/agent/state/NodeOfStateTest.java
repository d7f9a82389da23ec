package io.dsfleet.agent.state;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.dsfleet.proto.v1.DesiredPod;
import io.dsfleet.proto.v1.DesiredState;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The node a state directory is kept for refuses another name only while the directory holds
 * something of that node's: a desired set (its pods' containers may run), a damaged one moved
 * aside, or released pods. A directory that never got a set (the first start's join failed: no
 * coordinator yet, a wrong token) runs under the name the operator then gives, as the kubelet
 * registers whatever name it is given: it held nothing, yet it refused every start under any other
 * name until a leave as the first one (a restart every 5 s, exit 2).
 */
class NodeOfStateTest {
  @TempDir Path dir;

  @Test
  void aDirectoryThatNeverGotADesiredSetTakesTheNameGivenNext() throws Exception {
    LocalState state = new LocalState(dir);
    NodeOfState.claim(state, "ip-10-0-0-5"); // the first start, as the hostname; its join failed
    NodeOfState.claim(state, "web-17"); // the operator names the node, and starts it again
    assertThat(Files.readString(dir.resolve("node")).strip()).isEqualTo("web-17");
  }

  @Test
  void aDirectoryHoldingANodesDesiredSetRefusesAnotherName() {
    LocalState state = new LocalState(dir);
    NodeOfState.claim(state, "web-17");
    state.saveDesired(DesiredState.newBuilder().setVersion(3).addPods(DesiredPod.newBuilder().setPodName("p")).build());
    assertThatThrownBy(() -> NodeOfState.claim(state, "web-18")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("node web-17's");
  }

  @Test
  void aDirectoryHoldingADamagedSetOrReleasedPodsRefusesAnotherName() throws Exception {
    LocalState state = new LocalState(dir);
    NodeOfState.claim(state, "web-17");
    Files.writeString(dir.resolve("desired.pb.corrupt"), "damaged");
    assertThatThrownBy(() -> NodeOfState.claim(state, "web-18")).isInstanceOf(IllegalArgumentException.class);
    Files.delete(dir.resolve("desired.pb.corrupt"));
    state.saveOrphans(java.util.Set.of("ops/agent-abcde"));
    assertThatThrownBy(() -> NodeOfState.claim(state, "web-18")).isInstanceOf(IllegalArgumentException.class);
  }
}
