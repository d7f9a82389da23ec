package io.dsfleet.coordinator.kubeapi;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.dsfleet.common.Json;
import org.junit.jupiter.api.Test;

/** What kubectl auth can-i is told is what the API then does, asked as a path or as the reviews themselves. */
class KubeReviewsTest {
  static final KubeApi.Who VIEWER = new KubeApi.Who("viewer", false, "1");
  static final KubeApi.Who ADMIN = new KubeApi.Who("admin", true, "2");

  static JsonNode path(KubeApi.Who who, String verb, String path) {
    return KubeReviews.answer(KubeReviews.ACCESS, who, Json.read("{\"spec\":{\"nonResourceAttributes\":{\"path\":\"" + path
        + "\",\"verb\":\"" + verb + "\"}}}", JsonNode.class)).path("status");
  }

  static JsonNode resource(KubeApi.Who who, String verb, String group, String resource) {
    return KubeReviews.answer(KubeReviews.ACCESS, who, Json.read("{\"spec\":{\"resourceAttributes\":{\"verb\":\"" + verb
        + "\",\"group\":\"" + group + "\",\"resource\":\"" + resource + "\"}}}", JsonNode.class)).path("status");
  }

  /** A resource's path matched /api/*, served to everyone: a viewer was told yes for a GET of Secrets, which is 403. */
  @Test
  void aResourcesPathIsAnsweredAsTheResource() {
    assertThat(path(VIEWER, "get", "/api/v1/secrets").path("allowed").asBoolean()).as("viewer: GET /api/v1/secrets").isFalse();
    assertThat(path(VIEWER, "get", "/api/v1/namespaces/ops/secrets/s").path("reason").asText()).contains("does not read secrets");
    assertThat(path(ADMIN, "get", "/api/v1/namespaces/ops/secrets/s").path("allowed").asBoolean()).isTrue();
    assertThat(path(VIEWER, "get", "/apis/apps/v1/namespaces/ops/daemonsets").path("allowed").asBoolean()).isTrue();
    assertThat(path(VIEWER, "get", "/api/v1/namespaces/ops/pods/p/log").path("allowed").asBoolean()).isTrue();
    assertThat(path(ADMIN, "delete", "/apis/apps/v1/namespaces/ops/daemonsets/d").path("allowed").asBoolean()).isFalse();
    assertThat(path(VIEWER, "get", "/version").path("allowed").asBoolean()).isTrue();
    assertThat(path(VIEWER, "get", "/apis/apps").path("allowed").asBoolean()).isTrue();
  }

  /** Every credential creates the reviews (the API answers them to a viewer too): can-i said no, and --list left them out. */
  @Test
  void everyCredentialMayCreateTheReviews() {
    assertThat(resource(VIEWER, "create", "authorization.k8s.io", "selfsubjectaccessreviews").path("allowed").asBoolean()).isTrue();
    assertThat(resource(VIEWER, "create", "authorization.k8s.io", "selfsubjectrulesreviews").path("allowed").asBoolean()).isTrue();
    assertThat(resource(VIEWER, "create", "authentication.k8s.io", "selfsubjectreviews").path("allowed").asBoolean()).isTrue();
    assertThat(resource(VIEWER, "delete", "authorization.k8s.io", "selfsubjectaccessreviews").path("allowed").asBoolean()).isFalse();
    assertThat(resource(VIEWER, "create", "apps", "daemonsets").path("allowed").asBoolean()).isFalse();
    JsonNode rules = KubeReviews.answer(KubeReviews.RULES, VIEWER, null).path("status").path("resourceRules");
    assertThat(rules.toString()).contains("{\"verbs\":[\"create\"],\"apiGroups\":[\"authorization.k8s.io\"],\"resources\":"
        + "[\"selfsubjectaccessreviews\"]}");
  }
}
