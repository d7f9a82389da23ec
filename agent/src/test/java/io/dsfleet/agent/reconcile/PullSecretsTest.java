package io.dsfleet.agent.reconcile;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.agent.pod.PodContext;
import io.dsfleet.common.manifest.Fixtures;
import io.dsfleet.common.model.DaemonSet;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** imagePullSecrets: the dockerconfigjson entry for the image's registry becomes the pull's credentials. */
class PullSecretsTest {
  static final String CONFIG = """
      {"auths": {"registry.example.com:5000": {"auth": "%s"},
                 "https://index.docker.io/v1/": {"username": "hub", "password": "hubpw"}}}"""
      .formatted(Base64.getEncoder().encodeToString("alice:s3cret".getBytes(StandardCharsets.UTF_8)));

  static Map<String, String> auth(String image, String secretName) {
    DaemonSet ds = (DaemonSet) Fixtures.parse(Fixtures.with(Fixtures.baseTree(), "spec.template.spec.imagePullSecrets", "[{name: regcred}]")).get(0).object();
    PodContext ctx = new PodContext("n", "127.0.0.1", "ops", "agent", "p", "h", null, ds.spec().template(), Map.of(),
        Map.of(secretName, Map.of(".dockerconfigjson", CONFIG.getBytes(StandardCharsets.UTF_8))), Map.of(), Path.of("/tmp"));
    return PullSecrets.auth(ctx, ds.spec().template().spec(), image);
  }

  @Test
  void theRegistrysEntryIsUsedWithItsAuthDecoded() {
    assertThat(auth("registry.example.com:5000/team/app:1.2", "regcred"))
        .containsEntry("username", "alice").containsEntry("password", "s3cret").containsEntry("serveraddress", "registry.example.com:5000");
  }

  @Test
  void dockerHubImagesUseTheIndexEntry() {
    assertThat(auth("library/nginx:1.25", "regcred")).containsEntry("username", "hub").containsEntry("password", "hubpw");
    assertThat(PullSecrets.registry("nginx")).isEqualTo("docker.io");
    assertThat(PullSecrets.registry("localhost/app")).isEqualTo("localhost");
  }

  @Test
  void noMatchingRegistryOrSecretMeansAnAnonymousPull() {
    assertThat(auth("quay.io/x/y:1", "regcred")).isNull();
    assertThat(auth("registry.example.com:5000/a:1", "other-secret")).isNull();
  }
}
