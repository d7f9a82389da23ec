package io.dsfleet.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;

class AgentBenchCallsTest {
  @Test
  void callsPerMinuteAreTheDifferenceOverTheWindow() {
    assertThat(AgentBench.perMinute(Map.of("GET containers/json", 10L), Map.of("GET containers/json", 40L, "GET _ping", 1L), 30_000))
        .containsExactlyInAnyOrderEntriesOf(Map.of("GET containers/json", 60.0, "GET _ping", 2.0));
    assertThat(AgentBench.calls(Map.of("GET containers/json", 60.0, "GET containers/{id}/json", 1200.0)))
        .isEqualTo("1260 (GET containers/{id}/json 1200, GET containers/json 60)");
  }
}
