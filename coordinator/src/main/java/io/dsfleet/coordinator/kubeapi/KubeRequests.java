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
    refuseContainerStreams(x);
    String method = x.getRequestMethod();
    String type = String.valueOf(x.getRequestHeaders().getFirst("Content-Type")).split(";")[0].trim().toLowerCase(java.util.Locale.ROOT);
    if ((method.equals("POST") || method.equals("PUT") || method.equals("PATCH")) && !List.of("application/json", "application/yaml",
        "application/merge-patch+json", "application/json-patch+json", "application/strategic-merge-patch+json",
        "application/apply-patch+yaml", "application/vnd.kubernetes.protobuf").contains(type)) {
      throw KubeWrites.KubeError.of(415, "UnsupportedMediaType", "the body must be JSON or YAML (Content-Type application/json,"
          + " application/yaml or a patch type), not " + type);
    }
  }

  /** A pod's subresources that are streams into its containers, by the kubectl command that asks for them. */
  private static final java.util.Map<String, String> CONTAINER_STREAMS = java.util.Map.of("exec", "kubectl exec (and cp)", "attach",
      "kubectl attach", "portforward", "kubectl port-forward", "ephemeralcontainers", "kubectl debug");

  /**
   * kubectl exec, cp, attach, port-forward and debug, refused by name, before the body's type is
   * checked: they send no body but an upgrade to a stream, and before 2026-12-06 were told "the
   * body must be JSON or YAML", as if kubectl had sent a wrong one.
   */
  static void refuseContainerStreams(HttpExchange x) {
    String[] p = x.getRequestURI().getRawPath().split("/");
    // /api/v1/namespaces/NS/pods/NAME/SUB: "" first
    if (p.length == 8 && p[1].equals("api") && p[2].equals("v1") && p[3].equals("namespaces") && p[5].equals("pods")
        && CONTAINER_STREAMS.containsKey(p[7])) {
      throw KubeWrites.KubeError.of(405, "MethodNotAllowed", CONTAINER_STREAMS.get(p[7]) + " is not served by the dsfleet"
          + " coordinator: it does not reach into containers; on the pod's node (kubectl get pod -o wide) docker ps lists them");
    }
  }

  /**
   * Impersonation (kubectl --as, --as-group, --as-uid: Impersonate-* headers) is refused (403, as
   * by an API server where the caller may not impersonate): before 2026-12-06 the headers were not
   * read, and an admin's {@code kubectl --as=viewer delete ds x}, meant to try a viewer's rights,
   * deleted it, while {@code kubectl --as=viewer auth can-i} answered for the admin.
   */
  static void refuseImpersonation(HttpExchange x, KubeApi.Who who) {
    for (String header : x.getRequestHeaders().keySet()) {
      if (header.toLowerCase(java.util.Locale.ROOT).startsWith("impersonate-")) {
        String as = String.valueOf(x.getRequestHeaders().getFirst(header));
        String what = header.equalsIgnoreCase("Impersonate-User") ? "users" : header.equalsIgnoreCase("Impersonate-Group") ? "groups"
            : header.equalsIgnoreCase("Impersonate-Uid") ? "uids" : "userextras";
        throw KubeWrites.KubeError.of(403, "Forbidden", what + " \"" + (as.length() <= 64 ? as : as.substring(0, 64) + "...")
            + "\" is forbidden: User \"" + who.name() + "\" cannot impersonate resource \"" + what + "\" in API group \"\" at the"
            + " cluster scope: the dsfleet coordinator does not serve impersonation (" + header + "); use that credential's own"
            + " kubeconfig (dsctl kubeconfig)");
      }
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
