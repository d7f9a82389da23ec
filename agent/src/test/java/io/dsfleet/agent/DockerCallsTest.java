package io.dsfleet.agent;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class DockerCallsTest {
  @Test
  void requestLinesAreCountedByKindWithIdsAndQueriesLeftOut() {
    assertThat(DockerCalls.kind("GET /v1.41/containers/json?all=1&filters=%7B%7D HTTP/1.1\r")).isEqualTo("GET containers/json");
    assertThat(DockerCalls.kind("GET /v1.41/containers/0123456789abcdef0123/json HTTP/1.1\r")).isEqualTo("GET containers/{id}/json");
    assertThat(DockerCalls.kind("POST /containers/dsf_web-abc_default_main_0_1a2b3c/start HTTP/1.1\r")).isEqualTo("POST containers/{id}/start");
    assertThat(DockerCalls.kind("GET /_ping HTTP/1.0")).isEqualTo("GET _ping");
    assertThat(DockerCalls.kind("{\"Image\":\"x\",\"Cmd\":[\"GET / HTTP/1.1\"]}")).as("a JSON body").isNull();
    assertThat(DockerCalls.kind("Host: docker")).as("a header").isNull();
  }
}
