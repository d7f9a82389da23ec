package io.dsfleet.coordinator.kubeapi;

import com.sun.net.httpserver.HttpExchange;
import java.util.List;

/** What the Kubernetes API refuses or asks of a request before it reads it: web pages' requests, bodies of other types, the Host. */
final class KubeRequests {
  private KubeRequests() {}

  /**
   * Refuses what a web page makes a browser send: kubectl sends neither an Origin nor fetch
   * metadata, and a page's cross-site POST (text/plain, no preflight) must not reach an insecure
   * coordinator's writes.
   */
  static void refuseBrowsers(HttpExchange x) {
    String site = x.getRequestHeaders().getFirst("Sec-Fetch-Site");
    if (x.getRequestHeaders().containsKey("Origin") || (site != null && !site.equals("none") && !site.equals("same-origin"))) {
      throw KubeWrites.KubeError.of(403, "Forbidden", "the Kubernetes API does not answer web pages (a request with an Origin or"
          + " cross-site fetch metadata); use kubectl, or dsctl dashboard for a browser");
    }
    String method = x.getRequestMethod();
    String type = String.valueOf(x.getRequestHeaders().getFirst("Content-Type")).split(";")[0].trim().toLowerCase(java.util.Locale.ROOT);
    if ((method.equals("POST") || method.equals("PUT") || method.equals("PATCH")) && !List.of("application/json", "application/yaml",
        "application/merge-patch+json", "application/json-patch+json", "application/strategic-merge-patch+json",
        "application/apply-patch+yaml", "application/vnd.kubernetes.protobuf").contains(type)) {
      throw KubeWrites.KubeError.of(415, "UnsupportedMediaType", "the body must be JSON or YAML (Content-Type application/json,"
          + " application/yaml or a patch type), not " + type);
    }
  }

  /** A Host header naming an IP address (v4 or [v6]) or localhost. */
  static boolean addressedByIp(String host) {
    if (host == null) {
      return false;
    }
    String h = host.startsWith("[") ? host.substring(1, Math.max(1, host.indexOf(']')))
        : host.contains(":") ? host.substring(0, host.lastIndexOf(':')) : host;
    return h.equalsIgnoreCase("localhost") || h.matches("[0-9.]+") || h.contains(":");
  }
}
