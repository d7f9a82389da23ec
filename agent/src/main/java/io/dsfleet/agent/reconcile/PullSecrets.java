package io.dsfleet.agent.reconcile;

import com.fasterxml.jackson.databind.JsonNode;
import io.dsfleet.agent.pod.PodContext;
import io.dsfleet.common.Json;
import io.dsfleet.common.model.LocalObjectReference;
import io.dsfleet.common.model.PodSpec;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Map;

/** Registry credentials for an image from the pod's imagePullSecrets (kubernetes.io/dockerconfigjson or dockercfg). */
final class PullSecrets {
  private PullSecrets() {}

  static Map<String, String> auth(PodContext ctx, PodSpec pod, String image) {
    if (pod.imagePullSecrets() == null) {
      return null;
    }
    String registry = registry(image);
    for (LocalObjectReference ref : pod.imagePullSecrets()) {
      Map<String, byte[]> data = ctx.secrets().get(ref.name());
      if (data == null) {
        continue;
      }
      byte[] raw = data.containsKey(".dockerconfigjson") ? data.get(".dockerconfigjson") : data.get(".dockercfg");
      if (raw == null) {
        continue;
      }
      JsonNode root = Json.readUntimed(new String(raw, StandardCharsets.UTF_8), JsonNode.class);
      JsonNode auths = root.has("auths") ? root.get("auths") : root;
      for (var it = auths.fields(); it.hasNext(); ) {
        var e = it.next();
        String host = e.getKey().replaceFirst("^https?://", "").replaceFirst("/.*$", "");
        if (host.equals(registry) || (registry.equals("docker.io") && host.equals("index.docker.io"))) {
          JsonNode a = e.getValue();
          String user = a.path("username").asText("");
          String pass = a.path("password").asText("");
          if (user.isEmpty() && a.has("auth")) {
            String[] up = new String(Base64.getDecoder().decode(a.get("auth").asText()), StandardCharsets.UTF_8).split(":", 2);
            user = up[0];
            pass = up.length > 1 ? up[1] : "";
          }
          return Map.of("username", user, "password", pass, "serveraddress", e.getKey());
        }
      }
    }
    return null;
  }

  /** The registry host of an image reference ("docker.io" when it names none). */
  static String registry(String image) {
    int slash = image.indexOf('/');
    if (slash < 0) {
      return "docker.io";
    }
    String first = image.substring(0, slash);
    return first.contains(".") || first.contains(":") || first.equals("localhost") ? first : "docker.io";
  }
}
