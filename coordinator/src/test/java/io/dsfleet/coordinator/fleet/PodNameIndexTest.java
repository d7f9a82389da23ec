package io.dsfleet.coordinator.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.common.manifest.Fixtures;
import io.dsfleet.common.manifest.ManifestParser;
import io.dsfleet.common.model.DaemonSet;
import io.dsfleet.coordinator.plan.DsInfo;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Pod names stay unique in a namespace even when two nodes' first choices collide. */
class PodNameIndexTest {
  /** Every node's first choice is the same name; later salts differ by node. */
  final PodNameIndex index = new PodNameIndex((ds, node, salt) -> ds + "-" + (salt == 0 ? "same" : node + salt));
  final DsInfo agent = new DsInfo("ops/agent", (DaemonSet) ManifestParser.parseOne(Fixtures.BASE), 1, "h1");

  @Test
  void aCollidingFirstChoiceTakesTheNextSaltAndEachNodeKeepsItsName() {
    String a = index.name(agent, "a", p -> false);
    String b = index.name(agent, "b", p -> false);
    assertThat(a).isEqualTo("agent-same");
    assertThat(b).isEqualTo("agent-b1");
    assertThat(index.name(agent, "a", p -> false)).isEqualTo(a);
    assertThat(index.name(agent, "b", p -> false)).isEqualTo(b);
  }

  @Test
  void aDeletedPodsNameIsNotGivenAgain() {
    String a = index.name(agent, "a", p -> false);
    String next = index.name(agent, "a", Set.of(a)::contains);
    assertThat(next).isNotEqualTo(a).isEqualTo("agent-a1");
    assertThat(index.name(agent, "a", p -> false)).as("the new name is the node's from now on").isEqualTo(next);
  }

  @Test
  void aReportedNameIsHeldForItsNodeAndFreedWithIt() {
    index.reported("ops/agent", "b", "agent-same");
    assertThat(index.name(agent, "a", p -> false)).isEqualTo("agent-a1");
    index.forgetNode("b");
    index.forgetNode("a");
    assertThat(index.name(agent, "a", p -> false)).isEqualTo("agent-same");
  }

  @Test
  void namesAreHeldPerNamespace() {
    DsInfo other = new DsInfo("dev/agent", agent.ds(), 1, "h1");
    assertThat(index.name(agent, "a", p -> false)).isEqualTo("agent-same");
    assertThat(index.name(other, "b", p -> false)).as("another namespace may use the name").isEqualTo("agent-same");
  }
}
