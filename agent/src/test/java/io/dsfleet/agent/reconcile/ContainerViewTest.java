package io.dsfleet.agent.reconcile;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.agent.runtime.ContainerInfo;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** What a pass asks Docker for: a few changed containers inspected, a burst of them listed in one call. */
class ContainerViewTest {
  private final List<String> calls = new ArrayList<>();

  private List<ContainerInfo> look(ContainerView view) {
    return view.get(Instant.EPOCH, () -> {
      calls.add("list");
      return List.of();
    }, id -> {
      calls.add("inspect " + id);
      return Optional.empty();
    });
  }

  @Test
  void aFewChangedContainersAreInspectedAndABurstIsListedOnce() {
    ContainerView view = new ContainerView(Duration.ofMinutes(10));
    view.watching(true);
    look(view);
    assertThat(calls).as("the first pass lists").containsExactly("list");

    calls.clear();
    view.changed("a");
    view.changed("b");
    look(view);
    assertThat(calls).as("two changed: each inspected").containsExactlyInAnyOrder("inspect a", "inspect b");

    calls.clear();
    look(view);
    assertThat(calls).as("nothing changed: no call").isEmpty();

    calls.clear();
    for (int i = 0; i < 30; i++) {
      view.changed("c" + i);
    }
    look(view);
    assertThat(calls).as("a burst of 30: one list, no inspect").containsExactly("list");
    calls.clear();
    look(view);
    assertThat(calls).as("the list saw them all").isEmpty();
  }
}
