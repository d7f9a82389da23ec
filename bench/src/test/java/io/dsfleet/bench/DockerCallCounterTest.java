package io.dsfleet.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;

class DockerCallCounterTest {
  @Test
  void requestLinesAreCountedByKindWithIdsAndQueriesLeftOut() {
    assertThat(DockerCallCounter.kind("GET /v1.41/containers/json?all=1&filters=%7B%7D HTTP/1.1\r")).isEqualTo("GET containers/json");
    assertThat(DockerCallCounter.kind("GET /v1.41/containers/0123456789abcdef0123/json HTTP/1.1\r")).isEqualTo("GET containers/{id}/json");
    assertThat(DockerCallCounter.kind("POST /containers/dsf_web-abc_default_main_0_1a2b3c/start HTTP/1.1\r")).isEqualTo("POST containers/{id}/start");
    assertThat(DockerCallCounter.kind("GET /_ping HTTP/1.0")).isEqualTo("GET _ping");
    assertThat(DockerCallCounter.kind("{\"Image\":\"x\",\"Cmd\":[\"GET / HTTP/1.1\"]}")).as("a JSON body").isNull();
    assertThat(DockerCallCounter.kind("Host: docker")).as("a header").isNull();
  }

  @Test
  void callsPerMinuteAreTheDifferenceOverTheWindow() {
    assertThat(AgentBench.perMinute(Map.of("GET containers/json", 10L), Map.of("GET containers/json", 40L, "GET _ping", 1L), 30_000))
        .containsExactlyInAnyOrderEntriesOf(Map.of("GET containers/json", 60.0, "GET _ping", 2.0));
    assertThat(AgentBench.calls(Map.of("GET containers/json", 60.0, "GET containers/{id}/json", 1200.0)))
        .isEqualTo("1260 (GET containers/{id}/json 1200, GET containers/json 60)");
  }
}
