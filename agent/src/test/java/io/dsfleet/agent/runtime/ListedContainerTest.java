package io.dsfleet.agent.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.dockerjava.api.model.Container;
import org.junit.jupiter.api.Test;

/** What a list of containers shows that a remembered inspect is compared with (Docker's own JSON for GET /containers/json). */
class ListedContainerTest {
  private static Container listed(String json) throws Exception {
    return new ObjectMapper().readValue(json, Container.class);
  }

  @Test
  void theHealthInAListedStatusIsNamedAsAnInspectNamesIt() throws Exception {
    assertThat(DockerAnswers.listedHealth(listed("{\"Status\": \"Up 2 minutes (healthy)\"}"))).isEqualTo("healthy");
    assertThat(DockerAnswers.listedHealth(listed("{\"Status\": \"Up 2 minutes (unhealthy)\"}"))).isEqualTo("unhealthy");
    assertThat(DockerAnswers.listedHealth(listed("{\"Status\": \"Up 3 seconds (health: starting)\"}"))).isEqualTo("starting");
    assertThat(DockerAnswers.listedHealth(listed("{\"Status\": \"Up 2 minutes\"}"))).isNull();
    assertThat(DockerAnswers.listedHealth(listed("{}"))).isNull();
  }

  @Test
  void theListedAddressIsTheLastNetworksAsAnInspectChoosesIt() throws Exception {
    assertThat(DockerAnswers.listedIp(listed("{\"NetworkSettings\": {\"Networks\": {\"bridge\": {\"IPAddress\": \"172.17.0.2\"}}}}")))
        .isEqualTo("172.17.0.2");
    assertThat(DockerAnswers.listedIp(listed("{\"NetworkSettings\": {\"Networks\": {\"a\": {\"IPAddress\": \"10.0.0.2\"},"
        + " \"b\": {\"IPAddress\": \"10.1.0.2\"}}}}"))).isEqualTo("10.1.0.2");
    assertThat(DockerAnswers.listedIp(listed("{\"NetworkSettings\": {\"Networks\": {\"host\": {\"IPAddress\": \"\"}}}}"))).isNull();
    assertThat(DockerAnswers.listedIp(listed("{}"))).isNull();
  }
}
