package io.dsfleet.coordinator.plan;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Which released pod of a node a DaemonSet adopts there: one it names so on that node, in its namespace, a first name first. */
class ReleasedPodNamesTest {
  static final DsInfo AGENT = PlannerTest.ds("agent", null, null); // ops/agent
  static final String FIRST = PodNames.name("agent", "node-a", 0);
  static final String SALT_1 = PodNames.name("agent", "node-a", 1);

  static Stream<Arguments> rows() {
    return Stream.of(
        Arguments.of("none released", List.of(), null),
        Arguments.of("its surge name", List.of("ops/" + FIRST + PodNames.SURGE), FIRST + PodNames.SURGE),
        Arguments.of("another salt", List.of("ops/" + SALT_1), SALT_1),
        Arguments.of("a first name before a surge name", List.of("ops/" + FIRST + PodNames.SURGE, "ops/" + SALT_1), SALT_1),
        Arguments.of("of two first names, the lowest", List.of("ops/" + FIRST, "ops/" + SALT_1),
            FIRST.compareTo(SALT_1) < 0 ? FIRST : SALT_1),
        Arguments.of("another namespace's pod of the same name", List.of("web/" + FIRST + PodNames.SURGE), null),
        Arguments.of("a name alone (released before 2026-12-05): any namespace", List.of(FIRST + PodNames.SURGE), FIRST + PodNames.SURGE),
        Arguments.of("another node's name", List.of("ops/" + PodNames.name("agent", "node-b", 0)), null),
        Arguments.of("another DaemonSet's", List.of("ops/" + PodNames.name("agent-x", "node-a", 0)), null));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("rows")
  void adopts(String name, List<String> released, String expected) {
    Map<String, String> got = ReleasedPodNames.byDaemonSet(released, List.of(AGENT), "node-a");
    assertThat(got.get(AGENT.key())).isEqualTo(expected);
  }
}
