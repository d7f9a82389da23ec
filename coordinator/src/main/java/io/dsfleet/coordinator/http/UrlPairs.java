package io.dsfleet.coordinator.http;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/**
 * The name=value pairs of a query string or a form's body (application/x-www-form-urlencoded),
 * decoded, for the coordinator's HTTP listeners (the dashboard, the Kubernetes API). A pair with a
 * malformed %-escape is left out rather than failing the request.
 */
public final class UrlPairs {
  private UrlPairs() {}

  /** @param text the raw (still encoded) text; null or empty for none */
  public static Map<String, String> parse(String text) {
    Map<String, String> out = new HashMap<>();
    if (text == null || text.isEmpty()) {
      return out;
    }
    for (String kv : text.split("&")) {
      int eq = kv.indexOf('=');
      if (eq > 0) {
        try {
          out.put(URLDecoder.decode(kv.substring(0, eq), StandardCharsets.UTF_8), URLDecoder.decode(kv.substring(eq + 1), StandardCharsets.UTF_8));
        } catch (IllegalArgumentException malformed) {
          // a malformed %-escape: not a field
        }
      }
    }
    return out;
  }
}
