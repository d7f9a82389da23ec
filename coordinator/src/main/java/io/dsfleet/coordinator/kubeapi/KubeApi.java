package io.dsfleet.coordinator.kubeapi;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsExchange;
import com.sun.net.httpserver.HttpsParameters;
import com.sun.net.httpserver.HttpsServer;
import io.dsfleet.common.Json;
import io.dsfleet.common.match.LabelSelectors;
import io.dsfleet.common.tls.Pki;
import io.dsfleet.coordinator.fleet.ControlException;
import io.dsfleet.coordinator.fleet.Fleet;
import io.dsfleet.coordinator.grpc.LogRelay;
import io.dsfleet.coordinator.security.Authority;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Supplier;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLPeerUnverifiedException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The part of the Kubernetes API that kubectl needs to read a dsfleet fleet (docs/kubectl.md):
 * discovery, apps/v1 daemonsets and v1 nodes, list and get, as JSON or as the Tables kubectl asks
 * for. HTTPS with the coordinator's serving certificate, and a client certificate asked for: the
 * fleet's admin and viewer credentials (a kubeconfig from `dsctl kubeconfig`), revoked ones
 * refused. Every write is refused (405) for now: the fleet changes through dsctl.
 */
public final class KubeApi implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(KubeApi.class);
  /** The Kubernetes version whose API this imitates (kubectl warns beyond one minor version of skew). */
  static final String KUBE_MINOR = "32";

  private final HttpServer server;
  private final ExecutorService threads;
  private final Supplier<Fleet> fleet;
  private final Supplier<Authority> authority;
  private final boolean insecure;
  private final Clock clock;
  private final String version;
  private final LogRelay logs;

  /**
   * @param fleet the fleet this coordinator serves now (null on a replica that does not lead)
   * @param chain the serving certificate chain, CA last; null: plain HTTP, every caller an admin (--insecure)
   */
  public KubeApi(InetSocketAddress at, Supplier<Fleet> fleet, Supplier<Authority> authority, LogRelay logs, X509Certificate[] chain,
      PrivateKey key, Clock clock, String version) throws IOException {
    this.fleet = fleet;
    this.logs = logs;
    this.authority = authority;
    this.insecure = chain == null;
    this.clock = clock;
    this.version = version;
    io.dsfleet.common.metrics.MetricsEndpoint.limitSlowClients();
    InetSocketAddress bind = new InetSocketAddress(at.getHostString(), at.getPort()); // resolved (a setting's address is not)
    if (insecure) {
      server = HttpServer.create(bind, 64);
    } else {
      HttpsServer https = HttpsServer.create(bind, 64);
      SSLContext tls = io.dsfleet.coordinator.security.ServingTls.context(chain, key, chain[chain.length - 1]);
      https.setHttpsConfigurator(new HttpsConfigurator(tls) {
        @Override
        public void configure(HttpsParameters p) {
          var params = tls.getDefaultSSLParameters();
          params.setWantClientAuth(true); // asked for; a caller without one is refused with a Status kubectl prints (401)
          p.setSSLParameters(params);
        }
      });
      server = https;
    }
    // the JDK's server shakes hands and reads requests on these threads too (10 s at most each: limitSlowClients)
    threads = Executors.newFixedThreadPool(16, r -> {
      Thread t = new Thread(r, "kube-api");
      t.setDaemon(true);
      return t;
    });
    server.setExecutor(threads);
    server.createContext("/", this::handle);
    server.start();
    log.info("Kubernetes API (reads) on {}://{}:{}/ (a kubeconfig: dsctl kubeconfig)", insecure ? "http" : "https", at.getHostString(),
        port());
    if (insecure) {
      log.warn("INSECURE: the Kubernetes API on {}:{} is plain HTTP without credentials (--insecure): anyone who can reach it reads"
          + " the fleet", at.getHostString(), port());
    }
  }

  public int port() {
    return server.getAddress().getPort();
  }

  private void handle(HttpExchange x) throws IOException {
    try {
      ObjectNode refused = refusal(x);
      if (refused != null) {
        send(x, refused);
        return;
      }
      if (!x.getRequestMethod().equals("GET")) {
        send(x, KubeObjects.status(405, "MethodNotAllowed", "the dsfleet coordinator serves reads of the Kubernetes API only so far: "
            + x.getRequestMethod() + " is not served; change the fleet with dsctl (apply, delete, label, taint, cordon, rollout)"));
        return;
      }
      if ("true".equals(param(x, "watch")) || "1".equals(param(x, "watch"))) {
        send(x, KubeObjects.status(405, "MethodNotAllowed", "watch is not served yet by the dsfleet coordinator: use dsctl get or"
            + " dsctl rollout status -w"));
        return;
      }
      var log = LOG_PATH.matcher(x.getRequestURI().getRawPath());
      if (log.matches()) {
        podLog(x, URLDecoder.decode(log.group(1), StandardCharsets.UTF_8), URLDecoder.decode(log.group(2), StandardCharsets.UTF_8));
        return;
      }
      String selector = param(x, "labelSelector");
      ObjectNode body = route(x.getRequestURI().getRawPath(), wantsTable(x), selector == null ? null : SelectorQuery.parse(selector),
          FieldQuery.parse(param(x, "fieldSelector")));
      if (body == null) {
        send(x, KubeObjects.status(404, "NotFound", "the server could not find the requested resource"));
      } else {
        send(x, KubeObjects.rowObjects(body, param(x, "includeObject")));
      }
    } catch (ControlException e) {
      send(x, switch (e.code()) {
        case NOT_FOUND -> KubeObjects.status(404, "NotFound", e.getMessage());
        case UNAVAILABLE -> KubeObjects.status(503, "ServiceUnavailable", e.getMessage());
        default -> KubeObjects.status(400, "BadRequest", e.getMessage());
      });
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      send(x, KubeObjects.status(503, "ServiceUnavailable", "the coordinator is stopping"));
    } catch (RuntimeException e) {
      log.warn("Kubernetes API request {} failed", x.getRequestURI(), e);
      send(x, KubeObjects.status(500, "InternalError", "internal error (the coordinator's log has it)"));
    } finally {
      x.close();
    }
  }

  /**
   * Why this caller is refused, as the Status to answer; null to go on. An admin or a viewer of the
   * fleet reads; nodes and replicas do not. An insecure coordinator takes anyone, but only
   * requests addressed to an IP address or localhost (a page served under another name cannot
   * reach it through DNS rebinding).
   */
  private ObjectNode refusal(HttpExchange x) {
    if (insecure) {
      return addressedByIp(x.getRequestHeaders().getFirst("Host")) ? null
          : KubeObjects.status(403, "Forbidden", "an insecure coordinator answers requests to an IP address or localhost only");
    }
    Authority ca = authority.get();
    if (ca == null) {
      return KubeObjects.status(503, "ServiceUnavailable", "this coordinator replica does not serve now: use the leader");
    }
    X509Certificate cert;
    try {
      cert = (X509Certificate) ((HttpsExchange) x).getSSLSession().getPeerCertificates()[0];
    } catch (SSLPeerUnverifiedException e) {
      return KubeObjects.status(401, "Unauthorized", "a client certificate of the fleet is needed (dsctl kubeconfig writes a kubeconfig"
          + " with one)");
    }
    Pki.Subject who = Pki.subject(cert);
    if (ca.revoked(Pki.serialHex(cert), who.role(), who.name())) {
      return KubeObjects.status(401, "Unauthorized", "credential " + who.name() + " was revoked");
    }
    if (!who.role().equals(Pki.ADMINS) && !who.role().equals(Pki.VIEWERS)) {
      return KubeObjects.status(403, "Forbidden", who.name() + " (" + who.role() + ") may not use the Kubernetes API: it is for"
          + " dsctl's admin and viewer credentials");
    }
    return null;
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

  /** The answer to a GET of this path; null: not served (404). */
  private ObjectNode route(String rawPath, boolean table, io.dsfleet.common.model.LabelSelector selector, FieldQuery fields) {
    List<String> p = Arrays.stream(rawPath.split("/")).filter(s -> !s.isEmpty())
        .map(s -> URLDecoder.decode(s, StandardCharsets.UTF_8)).toList();
    String path = "/" + String.join("/", p);
    switch (path) {
      case "/version" -> {
        return Json.mapper().createObjectNode().put("major", "1").put("minor", KUBE_MINOR)
            .put("gitVersion", "v1." + KUBE_MINOR + ".0-dsfleet." + version).put("platform", "linux/amd64");
      }
      case "/api" -> {
        ObjectNode o = Json.mapper().createObjectNode().put("kind", "APIVersions");
        o.putArray("versions").add("v1");
        o.putArray("serverAddressByClientCIDRs");
        return o;
      }
      case "/apis" -> {
        ObjectNode o = Json.mapper().createObjectNode().put("kind", "APIGroupList").put("apiVersion", "v1");
        o.putArray("groups").add(appsGroup());
        return o;
      }
      case "/apis/apps" -> {
        return appsGroup();
      }
      case "/api/v1" -> {
        return resources("v1", resource("nodes", "Node", false, List.of("no")), resource("namespaces", "Namespace", false, List.of("ns")),
            resource("pods", "Pod", true, List.of("po")));
      }
      case "/apis/apps/v1" -> {
        return resources("apps/v1", resource("daemonsets", "DaemonSet", true, List.of("ds")));
      }
      default -> {
        // below
      }
    }
    Fleet f = fleet.get();
    if (f == null) {
      throw new ControlException(io.grpc.Status.Code.UNAVAILABLE, "this coordinator replica does not lead now: use the leader");
    }
    long now = clock.millis();
    if (p.size() >= 3 && p.get(0).equals("api") && p.get(1).equals("v1") && p.get(2).equals("nodes") && p.size() <= 4) {
      if (p.size() == 4) {
        var n = f.node(p.get(3), false);
        if (n == null) {
          throw new ControlException(io.grpc.Status.Code.NOT_FOUND, "nodes \"" + p.get(3) + "\" not found");
        }
        return table ? KubeObjects.nodeTable(List.of(n), f.viewVersion(), now) : KubeObjects.node(n);
      }
      var nodes = f.nodes().stream().filter(n -> selector == null || LabelSelectors.matches(selector, n.labels()))
          .filter(n -> fields.matches(n.name(), "")).toList();
      return table ? KubeObjects.nodeTable(nodes, f.viewVersion(), now)
          : KubeObjects.list("v1", "NodeList", nodes.stream().map(KubeObjects::node).toList(), f.viewVersion());
    }
    if (p.size() >= 3 && p.size() <= 4 && p.get(0).equals("api") && p.get(1).equals("v1") && p.get(2).equals("namespaces")) {
      // namespaces are implicit in dsfleet: every name exists; a list names those in use
      if (p.size() == 4) {
        return table ? KubeObjects.namespaceTable(List.of(p.get(3)), f.viewVersion()) : KubeObjects.namespace(p.get(3));
      }
      var names = new java.util.TreeSet<>(List.of("default"));
      f.daemonSets().forEach(d -> names.add(d.namespace()));
      return table ? KubeObjects.namespaceTable(List.copyOf(names), f.viewVersion())
          : KubeObjects.list("v1", "NamespaceList", names.stream().map(KubeObjects::namespace).toList(), f.viewVersion());
    }
    if (p.size() == 3 && p.get(0).equals("api") && p.get(1).equals("v1") && p.get(2).equals("pods")) {
      return pods(f, null, null, table, selector, fields, now);
    }
    if (p.size() >= 5 && p.size() <= 6 && p.get(0).equals("api") && p.get(1).equals("v1") && p.get(2).equals("namespaces")
        && p.get(4).equals("pods")) {
      if (p.size() == 6 && !table) {
        ObjectNode list = pods(f, p.get(3), p.get(5), false, null, FieldQuery.ALL, now);
        if (list.withArray("items").isEmpty()) {
          throw new ControlException(io.grpc.Status.Code.NOT_FOUND, "pods \"" + p.get(5) + "\" not found");
        }
        return (ObjectNode) list.withArray("items").get(0);
      }
      return pods(f, p.get(3), p.size() == 6 ? p.get(5) : null, table, selector, fields, now);
    }
    if (p.size() >= 4 && p.get(0).equals("apis") && p.get(1).equals("apps") && p.get(2).equals("v1")) {
      if (p.size() == 4 && p.get(3).equals("daemonsets")) {
        return daemonSets(f, null, table, selector, fields, now);
      }
      if (p.size() == 6 && p.get(3).equals("namespaces") && p.get(5).equals("daemonsets")) {
        return daemonSets(f, p.get(4), table, selector, fields, now);
      }
      if (p.size() == 7 && p.get(3).equals("namespaces") && p.get(5).equals("daemonsets")) {
        var d = f.daemonSets().stream().filter(o -> o.namespace().equals(p.get(4)) && o.name().equals(p.get(6))).findFirst()
            .orElseThrow(() -> new ControlException(io.grpc.Status.Code.NOT_FOUND, "daemonsets.apps \"" + p.get(6) + "\" not found"));
        return table ? KubeObjects.daemonSetTable(List.of(d), f.viewVersion(), now) : KubeObjects.daemonSet(d);
      }
    }
    return null;
  }

  private static ObjectNode daemonSets(Fleet f, String namespace, boolean table, io.dsfleet.common.model.LabelSelector selector,
      FieldQuery fields, long now) {
    var all = f.daemonSets().stream().filter(d -> namespace == null || d.namespace().equals(namespace))
        .filter(d -> selector == null || LabelSelectors.matches(selector, labels(d))).filter(d -> fields.matches(d.name(), d.namespace()))
        .toList();
    return table ? KubeObjects.daemonSetTable(all, f.viewVersion(), now)
        : KubeObjects.list("apps/v1", "DaemonSetList", all.stream().map(KubeObjects::daemonSet).toList(), f.viewVersion());
  }

  private static final java.util.regex.Pattern LOG_PATH = java.util.regex.Pattern.compile("/api/v1/namespaces/([^/]+)/pods/([^/]+)/log/?");

  /**
   * kubectl logs POD [-c C] [--tail N] [-p]: the pod's log from its agent, read whole, as text.
   * Following (-f) is not served yet: the JDK's server cuts a response after 30 s.
   */
  private void podLog(HttpExchange x, String namespace, String pod) throws IOException, InterruptedException {
    if ("true".equals(param(x, "follow"))) {
      send(x, KubeObjects.status(400, "BadRequest", "kubectl logs -f is not served yet by the dsfleet coordinator: use dsctl logs -f"));
      return;
    }
    Fleet f = fleet.get();
    if (f == null) {
      throw new ControlException(io.grpc.Status.Code.UNAVAILABLE, "this coordinator replica does not lead now: use the leader");
    }
    var found = io.dsfleet.coordinator.grpc.PodViews.of(f, namespace, pod, null);
    if (found.isEmpty()) {
      throw new ControlException(io.grpc.Status.Code.NOT_FOUND, "pods \"" + pod + "\" not found");
    }
    var v = found.get(0);
    int tail;
    try {
      tail = param(x, "tailLines") == null ? 0 : Integer.parseInt(param(x, "tailLines"));
    } catch (NumberFormatException e) {
      throw new ControlException(io.grpc.Status.Code.INVALID_ARGUMENT, "tailLines must be a number: " + param(x, "tailLines"));
    }
    List<String> lines = logs.read(f, io.dsfleet.proto.v1.LogsRequest.newBuilder().setNamespace(namespace)
        .setDaemonSet(v.getStatus().getDaemonSet()).setNodeName(v.getNodeName()).setContainer(java.util.Objects.requireNonNullElse(
            param(x, "container"), "")).setTailLines(tail).setPrevious("true".equals(param(x, "previous"))).build(), java.time.Duration.ofSeconds(10));
    byte[] body = lines.stream().map(l -> l + "\n").collect(java.util.stream.Collectors.joining()).getBytes(StandardCharsets.UTF_8);
    x.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
    x.getResponseHeaders().set("Cache-Control", "no-store");
    x.sendResponseHeaders(200, body.length == 0 ? -1 : body.length);
    x.getResponseBody().write(body);
  }

  /** Pods: read-only, what the agents run (and desired pods not reported yet, Pending). */
  private static ObjectNode pods(Fleet f, String namespace, String name, boolean table, io.dsfleet.common.model.LabelSelector selector,
      FieldQuery fields, long now) {
    java.util.Map<String, io.dsfleet.coordinator.fleet.FleetView.DsSnapshot> byKey = new java.util.HashMap<>();
    f.daemonSets().forEach(d -> byKey.put(Fleet.key(d.namespace(), d.name()), d));
    List<io.dsfleet.proto.v1.PodView> views = new java.util.ArrayList<>();
    List<ObjectNode> items = new java.util.ArrayList<>();
    for (var v : io.dsfleet.coordinator.grpc.PodViews.of(f, namespace, name, null)) {
      ObjectNode pod = KubeObjects.pod(v, byKey.get(Fleet.key(v.getStatus().getNamespace(), v.getStatus().getDaemonSet())));
      java.util.Map<String, String> labels = new java.util.HashMap<>();
      pod.path("metadata").path("labels").fields().forEachRemaining(e -> labels.put(e.getKey(), e.getValue().asText()));
      if ((selector == null || LabelSelectors.matches(selector, labels)) && fields.matches(v.getStatus().getPodName(), v.getStatus().getNamespace())) {
        views.add(v);
        items.add(pod);
      }
    }
    if (name != null && views.isEmpty()) {
      throw new ControlException(io.grpc.Status.Code.NOT_FOUND, "pods \"" + name + "\" not found");
    }
    return table ? KubeObjects.podTable(views, items, f.viewVersion(), now) : KubeObjects.list("v1", "PodList", items, f.viewVersion());
  }

  private static java.util.Map<String, String> labels(io.dsfleet.coordinator.fleet.FleetView.DsSnapshot d) {
    var meta = d.ds().metadata();
    return meta == null || meta.labels() == null ? java.util.Map.of() : meta.labels();
  }

  /** A query parameter, decoded; null when absent. */
  private static String param(HttpExchange x, String name) {
    return io.dsfleet.coordinator.http.UrlPairs.parse(x.getRequestURI().getRawQuery()).get(name);
  }

  private static ObjectNode appsGroup() {
    ObjectNode g = Json.mapper().createObjectNode().put("kind", "APIGroup").put("apiVersion", "v1").put("name", "apps");
    ObjectNode v1 = Json.mapper().createObjectNode().put("groupVersion", "apps/v1").put("version", "v1");
    g.putArray("versions").add(v1);
    g.set("preferredVersion", v1.deepCopy());
    return g;
  }

  private static ObjectNode resources(String groupVersion, ObjectNode... served) {
    ObjectNode o = Json.mapper().createObjectNode().put("kind", "APIResourceList").put("apiVersion", "v1").put("groupVersion", groupVersion);
    o.putArray("resources").addAll(List.of(served));
    return o;
  }

  private static ObjectNode resource(String name, String kind, boolean namespaced, List<String> shortNames) {
    ObjectNode r = Json.mapper().createObjectNode().put("name", name).put("singularName", kind.toLowerCase(java.util.Locale.ROOT))
        .put("namespaced", namespaced).put("kind", kind);
    r.putArray("verbs").add("get").add("list");
    if (kind.equals("DaemonSet") || kind.equals("Pod")) {
      r.putArray("categories").add("all"); // kubectl get all
    }
    var s = r.putArray("shortNames");
    shortNames.forEach(s::add);
    return r;
  }

  /** kubectl get asks for a meta.k8s.io Table first; -o yaml and -o json ask for the object. */
  private static boolean wantsTable(HttpExchange x) {
    String accept = String.join(",", x.getRequestHeaders().getOrDefault("Accept", List.of()));
    return accept.contains("as=Table") && accept.contains("g=meta.k8s.io");
  }


  private static void send(HttpExchange x, ObjectNode body) throws IOException {
    int code = body.path("kind").asText().equals("Status") ? body.path("code").asInt(500) : 200;
    byte[] b = Json.mapper().writeValueAsBytes(body);
    x.getResponseHeaders().set("Content-Type", "application/json");
    x.getResponseHeaders().set("Cache-Control", "no-store");
    if (x.getRequestMethod().equals("HEAD")) {
      x.sendResponseHeaders(code, -1); // a HEAD's answer has no body
      return;
    }
    x.sendResponseHeaders(code, b.length);
    x.getResponseBody().write(b);
  }

  @Override
  public void close() {
    server.stop(0);
    threads.shutdownNow();
  }
}
