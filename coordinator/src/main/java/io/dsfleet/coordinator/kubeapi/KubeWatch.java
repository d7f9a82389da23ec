package io.dsfleet.coordinator.kubeapi;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import io.dsfleet.common.Json;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Semaphore;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * A watch (`?watch=true`: kubectl get -w, rollout status, informers): the objects a list would
 * answer, followed, each change an event (ADDED, MODIFIED, DELETED) on one line of a streamed
 * response. The coordinator keeps no history of its objects; it remembers what recent lists
 * answered (per query and version), so a watch from a version a list (or a watch's bookmark)
 * answered starts from exactly that state: what was added, changed and deleted since. A watch from
 * a version it does not remember is 410 Expired, and clients list again (kubectl's informers do).
 * Then it compares what the list answers now with what it answered last when the fleet tells of a
 * change (its watchers: {@code Fleet.watch}), at once after a quiet spell and at most every
 * {@link #PACE_MILLIS} while changes keep coming (a large list's build and comparison are the
 * watch's own work, on its thread), and once a second whatever it was told. Each response lasts the
 * client's {@code timeoutSeconds}, or {@link #WINDOW} without one (`kubectl get -w`), at most that
 * (Kubernetes' API server keeps a watch 30-60 minutes), and ends with a bookmark when the client
 * asked for them, from which it watches on. A client that stops reading loses its watch once a
 * write has waited {@link #WRITE_BOUND} for it (its slot is free again then).
 */
final class KubeWatch {
  /**
   * A watch's length without a {@code timeoutSeconds}, and the most it may ask: Kubernetes' {@code
   * --min-request-timeout}. Until 2026-12-06 every watch ended after 25 s (the JDK's server cut
   * every answer at 30 s), and `kubectl get -w`, which does not watch again, ended with it.
   */
  static final java.time.Duration WINDOW = java.time.Duration.ofMinutes(30);
  /**
   * How long a watch writes nothing before it writes a newline (whitespace between the stream's
   * JSON objects, which kubectl and client-go skip): the JDK's server reads nothing of a connection
   * while it answers, so a client gone from a quiet watch (kubectl get -w ended with Ctrl-C) is
   * noticed only by a write failing, or by the kernel's table of connections ({@link
   * io.dsfleet.coordinator.http.TcpPeers}), looked at before each newline. Before 2026-12-06 such
   * a watch held its slot, its thread and its list until its window's end, 30 minutes; then, until
   * the kernel's table was read too (later that day), a minute or so (the first write after the
   * close may still be taken by the kernel, the next fails); now this long where the table can be
   * read (Linux).
   */
  static final long PROBE_MILLIS = 30_000;
  /** The longest a write of a watch waits for its client to take it (the bound every answer of the API has). */
  static final java.time.Duration WRITE_BOUND = java.time.Duration.ofSeconds(30);
  /** Watches and followed logs ({@link KubeLogFollow}) at once: each holds one of the listener's threads while it lasts. */
  static final int MAX_WATCHES = 16;
  /** Watches and followed logs of one credential at once: one viewer cannot take every slot. */
  static final int PER_CREDENTIAL = 6;
  /** A watch builds and compares its list at most this often (it looked four times a second, told or not, before). */
  static final long PACE_MILLIS = 250;
  /** A watch looks at the fleet's version this often even when nothing told it of a change. */
  static final long SAFETY_MILLIS = 1000;
  /**
   * Lists remembered: at most this many bytes of items in all (a list of more than half of it is
   * remembered as the fact only), this many lists, none older than two minutes.
   */
  private static final long REMEMBERED_BYTES = 64L << 20;
  private static final int REMEMBERED_LISTS = 512;
  private static final long REMEMBERED_MILLIS = 120_000;

  private final LongSupplier millis;
  private final long paceMillis;
  private final long safetyMillis;
  private final java.time.Duration writeBound;
  private final long probeMillis;
  /** The monotonic clock of this API's streams, in milliseconds. */
  long millis() {
    return millis.getAsLong();
  }

  /** How long a stream writes nothing before it looks whether its client is still there ({@link #PROBE_MILLIS} but in a test). */
  long probeMillis() {
    return probeMillis;
  }

  /** How long a write of a stream waits for its client ({@link #WRITE_BOUND} but in a test). */
  java.time.Duration writeBound() {
    return writeBound;
  }

  /** A slot for a stream of {@code who}'s (a watch, a followed log), taken at once, or null when none is free for it. */
  io.dsfleet.coordinator.http.Turns.Turn slot(String who) throws InterruptedException {
    return slots.take(who);
  }

  /** Watch slots: taken at once or not at all; some kept for admins. */
  private final WatchSlots slots = new WatchSlots();
  private final Deque<Snapshot> remembered = new ArrayDeque<>();
  private long rememberedBytes;

  /**
   * What a list answered: its items' JSON by namespace/name (null: too large to keep, only the
   * fact), under the hash of its query (a query of any length costs 32 bytes).
   */
  private record Snapshot(String query, long version, Map<String, byte[]> items, long bytes, long at) {}

  /** @param millis a monotonic clock in milliseconds: windows and the age of remembered lists */
  KubeWatch(LongSupplier millis) {
    this(millis, PACE_MILLIS, SAFETY_MILLIS, WRITE_BOUND);
  }

  /** With other pacing: a test's. */
  KubeWatch(LongSupplier millis, long paceMillis, long safetyMillis) {
    this(millis, paceMillis, safetyMillis, WRITE_BOUND);
  }

  /** With other pacing and another bound on a write: a test's. */
  KubeWatch(LongSupplier millis, long paceMillis, long safetyMillis, java.time.Duration writeBound) {
    this(millis, paceMillis, safetyMillis, writeBound, PROBE_MILLIS);
  }

  /** With other pacing, another bound on a write and another wait before a newline probes a quiet client: a test's. */
  KubeWatch(LongSupplier millis, long paceMillis, long safetyMillis, java.time.Duration writeBound, long probeMillis) {
    this.millis = millis;
    this.paceMillis = paceMillis;
    this.safetyMillis = safetyMillis;
    this.writeBound = writeBound;
    this.probeMillis = probeMillis;
  }

  /** The lists a watch follows. */
  static final java.util.Set<String> WATCHABLE = java.util.Set.of("apps/daemonsets", "apps/controllerrevisions", "/nodes",
      "/pods", "/configmaps", "/secrets", "/events", "/namespaces");

  /**
   * The last list built for each watched query, with the fleet's version it was built at: kept
   * while a watch of the query is open, dropped with its last one (a list of every pod of a large
   * fleet is large as a tree; a review read that up to 32 such lists were kept after their watches ended,
   * each query a viewer varied its selector for).
   */
  private final java.util.Map<String, java.util.Map.Entry<Long, ObjectNode>> watchedLists = new HashMap<>();
  /** Watches open per query (guarded by {@link #watchedLists}). */
  private final java.util.Map<String, Integer> watchesOfQuery = new HashMap<>();

  /**
   * A watched list, built once per version of the fleet for every watch of the same query (the
   * watches only read it): sixteen `rollout status` of one DaemonSet cost one list a change.
   */
  ObjectNode shared(String query, LongSupplier version, Supplier<ObjectNode> build) {
    long v = version.getAsLong(); // before the build: what it reads is at least as new
    synchronized (watchedLists) {
      var hit = watchedLists.get(query);
      if (hit != null && hit.getKey() == v) {
        return hit.getValue();
      }
    }
    ObjectNode list = build.get();
    synchronized (watchedLists) {
      if (watchesOfQuery.containsKey(query)) { // no watch of it open any more: nothing to share with
        watchedLists.put(query, java.util.Map.entry(v, list));
      }
    }
    return list;
  }

  private void watchOpened(String query) {
    synchronized (watchedLists) {
      watchesOfQuery.merge(query, 1, Integer::sum);
    }
  }

  private void watchEnded(String query) {
    synchronized (watchedLists) {
      if (watchesOfQuery.merge(query, -1, (a, b) -> a + b == 0 ? null : a + b) == null) {
        watchedLists.remove(query);
      }
    }
  }

  /** Lists kept for watches to share (for tests). */
  int sharedLists() {
    synchronized (watchedLists) {
      return watchedLists.size();
    }
  }

  private static String key(String query) {
    return io.dsfleet.common.Sha256.hex(query);
  }

  /** Keeps what a list of {@code query} answered at {@code version}, for a watch from that version. */
  synchronized void remember(String query, long version, ObjectNode list) {
    long now = millis.getAsLong();
    String key = key(query);
    for (Snapshot s : remembered) {
      if (s.query().equals(key) && s.version() == version) {
        return;
      }
    }
    Map<String, byte[]> kept = new LinkedHashMap<>();
    long bytes = 256;
    for (var e : items(list).entrySet()) {
      byte[] b = e.getValue().toString().getBytes(java.nio.charset.StandardCharsets.UTF_8);
      bytes += b.length + e.getKey().length() + 64;
      if (bytes > REMEMBERED_BYTES / 2) {
        kept = null;
        bytes = 256;
        break;
      }
      kept.put(e.getKey(), b);
    }
    remembered.addLast(new Snapshot(key, version, kept, bytes, now));
    rememberedBytes += bytes;
    while (!remembered.isEmpty() && (rememberedBytes > REMEMBERED_BYTES || remembered.size() > REMEMBERED_LISTS
        || remembered.peekFirst().at() < now - REMEMBERED_MILLIS)) {
      rememberedBytes -= remembered.removeFirst().bytes();
    }
  }

  private synchronized Snapshot recall(String query, long version) {
    String key = key(query);
    for (Snapshot s : remembered) {
      if (s.query().equals(key) && s.version() == version) {
        return s;
      }
    }
    return null;
  }

  /** Watches open under this credential ("viewer/NAME", "admin/NAME"). */
  int watching(String who) {
    return slots.held(who);
  }

  /**
   * @param who the credential watching (its watches are capped)
   * @param query what the list is (path and selectors): a snapshot of it is found by this
   * @param list the list response now (a List with items, or a Table with rows whose objects are
   *     still whole); null ends the watch (the coordinator stopped leading)
   * @param version the fleet's version now
   * @param follow runs a runnable after each change of the fleet until the runnable it returns runs
   * @param includeObject what a Table row's object is to be (see {@link KubeObjects#rowObjects})
   * @param onRevoke runs a runnable when the credential watching is revoked, until the runnable it
   *     returns runs: the watch then ends within a pace, sending nothing more
   */
  void serve(HttpExchange x, String who, String query, Supplier<ObjectNode> list, LongSupplier version,
      java.util.function.Function<Runnable, Runnable> follow, String resourceVersion, long timeoutSeconds, String includeObject,
      boolean bookmarks, java.util.function.Function<Runnable, Runnable> onRevoke) throws IOException, InterruptedException {
    io.dsfleet.coordinator.http.Turns.Turn slot = slots.take(who);
    if (slot == null) {
      x.getResponseHeaders().set("Retry-After", "5");
      KubeApi.send(x, KubeObjects.status(429, "TooManyRequests", WatchSlots.refusal()));
      return;
    }
    Semaphore moved = new Semaphore(0);
    java.util.concurrent.atomic.AtomicBoolean revoked = new java.util.concurrent.atomic.AtomicBoolean();
    Runnable unfollow = () -> { };
    Runnable unwatch = () -> { };
    watchOpened(query);
    try {
      unwatch = onRevoke.apply(() -> {
        revoked.set(true);
        moved.release();
      });
      unfollow = follow.apply(moved::release); // from before the first list: no change between goes untold
      long v = version.getAsLong();
      ObjectNode first = list.get();
      if (first == null) {
        return;
      }
      Map<String, ObjectNode> seen;
      String initial = null;
      Snapshot s = resourceVersion == null ? null : recallVersion(query, resourceVersion);
      if (resourceVersion == null || resourceVersion.isEmpty() || resourceVersion.equals("0")) {
        seen = Map.of();
        initial = "ADDED";
      } else if (s != null && s.items() != null) {
        seen = new LinkedHashMap<>();
        for (var e : s.items().entrySet()) {
          seen.put(e.getKey(), (ObjectNode) Json.read(new String(e.getValue(), java.nio.charset.StandardCharsets.UTF_8), JsonNode.class));
        }
      } else if (resourceVersion.equals(String.valueOf(v))) {
        seen = items(first); // nothing changed since: the fleet's version moves with every change
      } else if (s != null) {
        seen = Map.of();
        initial = "MODIFIED"; // a list too large to remember: its state again, every object as a change
      } else {
        KubeApi.send(x, KubeObjects.status(410, "Expired", "too old resource version: " + resourceVersion + " (" + v + ")"));
        return;
      }
      if (revoked.get()) {
        KubeApi.send(x, KubeObjects.status(401, "Unauthorized", "the credential this watch was opened with was revoked"));
        return;
      }
      long window = timeoutSeconds <= 0 ? WINDOW.toMillis() : Math.min(timeoutSeconds * 1000, WINDOW.toMillis());
      long end = millis.getAsLong() + window;
      x.getResponseHeaders().set("Content-Type", "application/json");
      x.getResponseHeaders().set("Cache-Control", "no-store");
      io.dsfleet.common.ExchangeDeadlines.extend(writeBound);
      x.sendResponseHeaders(200, 0);
      OutputStream out = new BoundedWrites(x.getResponseBody(), writeBound, () -> java.time.Duration.ofMillis(end - millis.getAsLong()));
      ObjectNode last = first;
      if (initial != null) {
        for (ObjectNode item : items(first).values()) {
          event(out, initial, item, first, includeObject);
        }
        out.flush();
        seen = items(first);
      } else {
        seen = changes(out, seen, first, includeObject);
      }
      long built = millis.getAsLong() - paceMillis;
      long wrote = millis.getAsLong();
      io.dsfleet.coordinator.http.TcpPeers.Look client = new io.dsfleet.coordinator.http.TcpPeers.Look(x.getLocalAddress(),
          x.getRemoteAddress());
      for (long left = window; left > 0; left = end - millis.getAsLong()) {
        boolean told = moved.tryAcquire(Math.min(Math.min(left, safetyMillis), Math.max(1, wrote + probeMillis - millis.getAsLong())),
            java.util.concurrent.TimeUnit.MILLISECONDS);
        moved.drainPermits();
        if (revoked.get()) {
          return; // revoked: the stream ends, kubectl's next request is refused
        }
        if (!told && version.getAsLong() == v && list.get() == null) {
          return; // the safety check: this coordinator stopped leading, and nothing tells of changes any more
        }
        long due = built + paceMillis; // changes keep coming: the list once per pace
        // a change in the window's last pace: one last list when the pace allows (the response runs
        // on by less than a pace, well inside its deadline: the window and a write's bound); nothing changed: the end
        boolean lastPace = due >= end;
        if (lastPace && version.getAsLong() == v) {
          Thread.sleep(Math.max(0, end - millis.getAsLong()));
          break;
        }
        long rest = due - millis.getAsLong();
        if (rest > 0) {
          Thread.sleep(rest);
        }
        long now = version.getAsLong();
        if (revoked.get()) {
          return; // revoked while the pace held the change back
        }
        if (now != v) {
          ObjectNode next = list.get();
          if (next == null) {
            return;
          }
          v = now;
          last = next;
          built = millis.getAsLong();
          seen = changes(out, seen, next, includeObject);
          wrote = built;
        }
        if (lastPace) {
          break;
        }
        if (millis.getAsLong() - wrote >= probeMillis) {
          if (client.gone()) {
            return; // the kernel's table says the client closed or reset the connection
          }
          out.write('\n'); // whitespace the client's JSON decoder skips: a client gone fails the write (the next at the latest)
          out.flush();
          wrote = millis.getAsLong();
        }
      }
      if (bookmarks && !last.path("kind").asText().equals("Table")) {
        // where this watch ended: the next one starts from exactly here
        remember(query, v, last);
        ObjectNode mark = Json.mapper().createObjectNode().put("type", "BOOKMARK");
        mark.putObject("object").put("kind", last.path("kind").asText().replaceFirst("List$", ""))
            .put("apiVersion", last.path("apiVersion").asText()).putObject("metadata").put("resourceVersion", String.valueOf(v));
        out.write(Json.mapper().writeValueAsBytes(mark));
        out.write('\n');
        out.flush();
      }
    } finally {
      unwatch.run();
      unfollow.run();
      watchEnded(query);
      slot.close();
    }
  }

  private Snapshot recallVersion(String query, String resourceVersion) {
    try {
      return recall(query, Long.parseLong(resourceVersion));
    } catch (NumberFormatException e) {
      return null;
    }
  }

  /**
   * Sends what changed from {@code seen} to {@code list}; the items now. An item equal as a tree is
   * unchanged without more: compared as text only when not (a heartbeat's time, a number read back
   * from a remembered list's text): copying and printing every item twice was, for each watch,
   * about 1.8 GiB of allocation a build of a list of 10,000 pods of a template with 20 KiB of
   * environment, now 65 MiB (KubePodListMemoryTest).
   */
  static Map<String, ObjectNode> changes(OutputStream out, Map<String, ObjectNode> seen, ObjectNode list, String includeObject)
      throws IOException {
    Map<String, ObjectNode> current = items(list);
    for (var e : current.entrySet()) {
      ObjectNode before = seen.get(e.getKey());
      if (before == null) {
        event(out, "ADDED", e.getValue(), list, includeObject);
      } else if (!before.equals(e.getValue()) && !comparable(before).toString().equals(comparable(e.getValue()).toString())) {
        event(out, "MODIFIED", e.getValue(), list, includeObject);
      }
    }
    for (var e : seen.entrySet()) {
      if (!current.containsKey(e.getKey())) {
        event(out, "DELETED", e.getValue(), list, includeObject);
      }
    }
    out.flush();
    return current;
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

  /**
   * What a change is judged on: the whole object, without a node's heartbeat time (it moves every
   * few seconds); compared as text, since a remembered list is read back from its text, where a
   * number built as a long is an int (unequal as trees: before 2026-12-06 a watch from a list's
   * version sent every DaemonSet, whose generation is a long, as MODIFIED, and {@code kubectl get
   * ds -w} printed each twice).
   */
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
