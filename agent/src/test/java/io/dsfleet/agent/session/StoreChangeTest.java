package io.dsfleet.agent.session;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.proto.v1.DesiredPod;
import io.dsfleet.proto.v1.DesiredState;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Which pods a desired set from another coordinator store releases instead of removing ({@link StoreChange}). */
class StoreChangeTest {
  static DesiredState set(String store, String... pods) {
    DesiredState.Builder b = DesiredState.newBuilder().setStoreId(store);
    for (String p : pods) {
      b.addPods(DesiredPod.newBuilder().setNamespace("ops").setPodName(p));
    }
    return b.build();
  }

  static Stream<Arguments> rows() {
    return Stream.of(
        Arguments.of("the same store: its drops are removals", set("a", "x", "y"), set("a", "x"), Set.of(), List.of()),
        Arguments.of("another store: what it drops is released", set("a", "x", "y"), set("b", "x"), Set.of(), List.of("ops/y")),
        Arguments.of("another store's empty set: every pod released", set("a", "x", "y"), set("b"), Set.of(), List.of("ops/x", "ops/y")),
        Arguments.of("an older coordinator names no store: nothing compared", set("a", "x"), set(""), Set.of(), List.of()),
        Arguments.of("a last set that names none: nothing compared", set("", "x"), set("b"), Set.of(), List.of()),
        Arguments.of("no last set: nothing compared", null, set("b"), Set.of(), List.of()),
        Arguments.of("released already (by key or by name): not again", set("a", "x", "y", "z"), set("b"), Set.of("ops/x", "y"),
            List.of("ops/z")),
        Arguments.of("a pod of the same name in another namespace is another pod", set("a", "x"),
            DesiredState.newBuilder().setStoreId("b").addPods(DesiredPod.newBuilder().setNamespace("web").setPodName("x")).build(), Set.of(),
            List.of("ops/x")));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("rows")
  void dropped(String name, DesiredState last, DesiredState next, Set<String> released, List<String> expected) {
    assertThat(StoreChange.dropped(last, next, released)).containsExactlyElementsOf(expected);
  }
}
