package io.dsfleet.coordinator.kubeapi;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import io.dsfleet.common.Json;
import java.io.IOException;
import java.io.OutputStream;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Semaphore;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * A watch (`?watch=true`: kubectl get -w, rollout status, informers): the objects a list would
 * answer, followed, each change an event (ADDED, MODIFIED, DELETED) on one line of a streamed
 * response. The coordinator keeps no history of its objects: a watch compares what the list answers
 * now with what it answered last, after every change of the fleet's version (looked at four times
 * a second). A watch from the version a list just answered starts with what changed since; from
 * any other version (older, or an object's own) it starts with every object as MODIFIED, so a
 * client never misses the state, at worst sees it twice. Each response lasts at most
 * {@link #WINDOW_SECONDS} (the JDK's server cuts responses after 30 s); clients watch again from
 * the last version they saw, as they do when an API server ends a watch.
 */
final class KubeWatch {
  static final int WINDOW_SECONDS = 25;
  /** Watches at once: each holds one of the listener's threads while it lasts. */
  static final int MAX_WATCHES = 16;
  private static final long POLL_MILLIS = 250;

  private final Semaphore slots = new Semaphore(MAX_WATCHES);

  /**
   * @param list the list response now (a List with items, or a Table with rows whose objects are
   *     still whole); null ends the watch (the coordinator stopped leading)
   * @param version the fleet's version now
   * @param includeObject what a Table row's object is to be (see {@link KubeObjects#rowObjects})
   */
  void serve(HttpExchange x, Supplier<ObjectNode> list, LongSupplier version, String resourceVersion, long timeoutSeconds,
      String includeObject) throws IOException, InterruptedException {
    if (!slots.tryAcquire()) {
      x.getResponseHeaders().set("Retry-After", "5");
      KubeApi.send(x, KubeObjects.status(429, "TooManyRequests", "too many watches at once (" + MAX_WATCHES + "); try again shortly"));
      return;
    }
    try {
      long v = version.getAsLong();
      ObjectNode first = list.get();
      if (first == null) {
        return;
      }
      x.getResponseHeaders().set("Content-Type", "application/json");
      x.getResponseHeaders().set("Cache-Control", "no-store");
      x.sendResponseHeaders(200, 0);
      OutputStream out = x.getResponseBody();
      Map<String, ObjectNode> seen = items(first);
      boolean fromList = resourceVersion != null && resourceVersion.equals(String.valueOf(v));
      if (!fromList) {
        String type = resourceVersion == null || resourceVersion.isEmpty() || resourceVersion.equals("0") ? "ADDED" : "MODIFIED";
        for (ObjectNode item : seen.values()) {
          event(out, type, item, first, includeObject);
        }
        out.flush();
      }
      long window = Math.min(timeoutSeconds <= 0 ? WINDOW_SECONDS : timeoutSeconds, WINDOW_SECONDS) * 1000;
      long end = System.currentTimeMillis() + window;
      while (System.currentTimeMillis() < end) {
        Thread.sleep(POLL_MILLIS);
        long now = version.getAsLong();
        if (now == v) {
          continue;
        }
        v = now;
        ObjectNode next = list.get();
        if (next == null) {
          break;
        }
        Map<String, ObjectNode> current = items(next);
        for (var e : current.entrySet()) {
          ObjectNode before = seen.get(e.getKey());
          if (before == null) {
            event(out, "ADDED", e.getValue(), next, includeObject);
          } else if (!comparable(before).equals(comparable(e.getValue()))) {
            event(out, "MODIFIED", e.getValue(), next, includeObject);
          }
        }
        for (var e : seen.entrySet()) {
          if (!current.containsKey(e.getKey())) {
            event(out, "DELETED", e.getValue(), next, includeObject);
          }
        }
        out.flush();
        seen = current;
      }
    } finally {
      slots.release();
    }
  }

  /** The list's items by namespace/name: a List's objects, a Table's rows (each with its whole object inside). */
  private static Map<String, ObjectNode> items(ObjectNode list) {
    Map<String, ObjectNode> out = new LinkedHashMap<>();
    boolean table = list.path("kind").asText().equals("Table");
    for (JsonNode item : table ? list.path("rows") : list.path("items")) {
      JsonNode meta = table ? item.path("object").path("metadata") : item.path("metadata");
      out.put(meta.path("namespace").asText() + "/" + meta.path("name").asText(), (ObjectNode) item);
    }
    return out;
  }

  /** What a change is judged on: the whole object, without a node's heartbeat time (it moves every few seconds). */
  private static JsonNode comparable(ObjectNode item) {
    ObjectNode whole = item.has("cells") ? (ObjectNode) item.path("object").path(KubeObjects.WHOLE) : item;
    ObjectNode copy = whole.deepCopy();
    for (JsonNode c : copy.path("status").path("conditions")) {
      ((ObjectNode) c).remove("lastHeartbeatTime");
    }
    return copy;
  }

  private static void event(OutputStream out, String type, ObjectNode item, ObjectNode list, String includeObject) throws IOException {
    ObjectNode object;
    if (item.has("cells")) {
      // a Table of this one row, with the columns (kubectl prints the row under the header it printed)
      object = Json.mapper().createObjectNode().put("kind", "Table").put("apiVersion", "meta.k8s.io/v1");
      object.set("metadata", list.path("metadata").deepCopy());
      object.set("columnDefinitions", list.path("columnDefinitions").deepCopy());
      ArrayNode rows = object.putArray("rows");
      rows.add(item.deepCopy());
      KubeObjects.rowObjects(object, includeObject);
    } else {
      object = item;
    }
    ObjectNode e = Json.mapper().createObjectNode().put("type", type);
    e.set("object", object);
    out.write(Json.mapper().writeValueAsBytes(e));
    out.write('\n');
  }
}
