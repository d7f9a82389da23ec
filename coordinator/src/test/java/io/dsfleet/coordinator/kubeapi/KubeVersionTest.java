package io.dsfleet.coordinator.kubeapi;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The Kubernetes API's /version names the coordinator's build: its version and commit (io.dsfleet.common.BuildIdentity). */
class KubeVersionTest {
  @Test
  void versionCarriesTheBuildsCommit() {
    var v = new KubeReads(() -> null, java.time.Clock.systemUTC(), "0.1.0-SNAPSHOT+1a2b3c4d5e6f-dirty").route(List.of("version"), false, null, null);
    assertThat(v.path("gitVersion").asText()).isEqualTo("v1." + KubeApi.KUBE_MINOR + ".0-dsfleet.0.1.0-SNAPSHOT+1a2b3c4d5e6f-dirty");
    assertThat(v.path("gitCommit").asText()).isEqualTo("1a2b3c4d5e6f-dirty");
  }
}
