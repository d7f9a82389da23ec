package io.dsfleet.coordinator.kubeapi;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsExchange;
import com.sun.net.httpserver.HttpsParameters;
import com.sun.net.httpserver.HttpsServer;
import io.dsfleet.common.Json;
import io.dsfleet.common.match.LabelSelectors;
import io.dsfleet.common.tls.CertificateAuthority;
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
import java.util.function.Supplier;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLPeerUnverifiedException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The part of the Kubernetes API that kubectl needs for a dsfleet fleet (docs/kubectl.md):
 * discovery and OpenAPI v3, apps/v1 daemonsets and controllerrevisions, v1 nodes, pods (read-only),
 * configmaps and secrets; list, get and watch, as JSON or as the Tables kubectl asks for; writes
 * through the fleet's own apply ({@link KubeWrites}). HTTPS with the coordinator's serving
 * certificate, and a client certificate asked for: the fleet's admin credentials write, viewers
 * read (secrets aside), revoked ones are refused.
 */
public final class KubeApi implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(KubeApi.class);
  /** The Kubernetes version whose API this imitates (kubectl warns beyond one minor version of skew). */
  static final String KUBE_MINOR = "32";

  private final HttpServer server;
  private final ExecutorService threads;
  /**
   * Requests of known callers answered at once, as by the 32 threads before 2026-12-05 (16 of
   * them watches at most), 10 of one credential; taken after the credential is checked, so callers
   * without one cannot hold them (a review's 32 POSTs announcing bodies they never sent held every
   * turn 10-15 s, and a viewer's 32 log requests to a node that does not answer would have).
   */
  static final int ANSWERING = 16 + KubeWatch.MAX_WATCHES;
  /** A credential's share of them: its watches (6 at most) and a few more. */
  static final int ANSWERING_PER_CREDENTIAL = 10;
  private final io.dsfleet.coordinator.http.Turns answering = new io.dsfleet.coordinator.http.Turns(ANSWERING, ANSWERING_PER_CREDENTIAL);
  private final Supplier<Fleet> fleet;
  private final Supplier<Authority> authority;
  private final boolean insecure;
  private final LogRelay logs;
  private final Clock clock;
  // a watch's window is counted on the HTTP server's monotonic time (its deadlines: ExchangeDeadlines), not the fleet's clock
  private final KubeWatch watches = new KubeWatch(() -> System.nanoTime() / 1_000_000);
  private final KubeReads reads;

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
    this.reads = new KubeReads(fleet, clock, version);
    io.dsfleet.common.JdkHttpServers.limitClients();
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
    // the JDK's server shakes hands and reads requests on these threads too (10 s at most each: limitClients),
    // and each watch holds one while it lasts (30 minutes at most): one a connection being served
    threads = io.dsfleet.common.JdkHttpServers.threads("kube-api");
    server.setExecutor(threads);
    io.dsfleet.common.JdkHttpServers.context(server, "/", this::handle); // an exchange its deadline cut is forgotten
    server.start();
    log.info("Kubernetes API on {}://{}:{}/ (a kubeconfig: dsctl kubeconfig)", insecure ? "http" : "https", at.getHostString(),
        port());
    if (insecure) {
      log.warn("INSECURE: the Kubernetes API on {}:{} is plain HTTP without credentials (--insecure): anyone who can reach it"
          + " changes the fleet", at.getHostString(), port());
    }
  }

  public int port() {
    return server.getAddress().getPort();
  }

  /** Watches open under a credential ("viewer/NAME", "admin/NAME"), for tests. */
  int watchesOf(String who) {
    return watches.watching(who);
  }

  /**
   * Who is calling: a credential's name, whether it may write (an admin's, or anyone on an insecure
   * coordinator), and its certificate's serial ("" on an insecure coordinator).
   */
  record Who(String name, boolean admin, String serial) {
    /** The caller's credential, its role and name ("admin/NAME", "viewer/NAME"): a viewer named as an admin is another one. */
    String credential() {
      return (admin ? "admin/" : "viewer/") + name;
    }
  }

  private void handle(HttpExchange x) throws IOException {
    try {
      KubeRequests.refuseBrowsers(x);
      Who who = caller(x);
      KubeRequests.refuseImpersonation(x, who);
      // answered a few at a time once the caller is known (one without a credential holds only its own thread);
      // a credential is its role and name: a viewer named as an admin is another one, with a share of its own
      String credential = who.credential();
      io.dsfleet.coordinator.http.Turns.Turn turn = answering.take(credential);
      if (turn == null) {
        throw KubeWrites.KubeError.of(429, "TooManyRequests", "the Kubernetes API is " + answering.refusal(credential));
      }
      try (turn) {
        String method = x.getRequestMethod();
        List<String> p = Arrays.stream(x.getRequestURI().getRawPath().split("/")).filter(s -> !s.isEmpty())
            .map(s -> URLDecoder.decode(s, StandardCharsets.UTF_8)).toList();
        if (method.equals("POST") && KubeReviews.isReview(String.join("/", p))) {
          send(x, KubeReviews.answer(String.join("/", p), who, body(x)), 201); // a viewer's too: it changes nothing
        } else if (method.equals("GET") || method.equals("HEAD")) {
          read(x, who, p);
        } else if (List.of("POST", "PUT", "PATCH", "DELETE").contains(method)) {
          write(x, who, method, Target.parse(p));
        } else {
          send(x, KubeObjects.status(405, "MethodNotAllowed", method + " is not served"));
        }
      }
    } catch (KubeWrites.KubeError e) {
      send(x, e.status);
    } catch (ControlException e) {
      send(x, switch (e.code()) {
        case NOT_FOUND -> KubeObjects.status(404, "NotFound", e.getMessage());
        case UNAVAILABLE -> KubeObjects.status(503, "ServiceUnavailable", e.getMessage());
        case PERMISSION_DENIED -> KubeObjects.status(403, "Forbidden", e.getMessage());
        case RESOURCE_EXHAUSTED -> KubeObjects.status(429, "TooManyRequests", e.getMessage());
        case FAILED_PRECONDITION, ALREADY_EXISTS, ABORTED -> KubeObjects.status(409, "Conflict", e.getMessage());
        default -> KubeObjects.status(400, "BadRequest", e.getMessage());
      });
    } catch (io.dsfleet.coordinator.store.StoreException e) {
      send(x, KubeObjects.status(503, "ServiceUnavailable", e.told()));
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

  private void read(HttpExchange x, Who who, List<String> p) throws IOException, InterruptedException {
    Target t = Target.parse(p);
    if (t != null && t.resource().equals("secrets") && !who.admin()) {
      throw forbidden(who, "get", t, "a viewer's credential does not read secrets (as Kubernetes' view role)");
    }
    if (t != null && t.resource().equals("pods") && "log".equals(t.sub()) && t.namespace() != null) {
      KubeLogs.answer(x, fleetOrFail(), logs, t.namespace(), t.name(), watches, who.credential(), end -> {
        Authority ca = authority.get();
        return ca == null ? () -> { } : ca.onRevoke(who.serial(), end);
      });
      return;
    }
    String accept = String.join(",", x.getRequestHeaders().getOrDefault("Accept", List.of()));
    if ((p.equals(List.of("api")) || p.equals(List.of("apis"))) && accept.contains("g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList")) {
      byte[] b = Json.mapper().writeValueAsBytes(KubeReads.aggregated(p.get(0).equals("api")));
      x.getResponseHeaders().set("Content-Type", KubeReads.AGGREGATED);
      x.getResponseHeaders().set("Cache-Control", "no-store");
      x.sendResponseHeaders(200, x.getRequestMethod().equals("HEAD") ? -1 : b.length);
      if (!x.getRequestMethod().equals("HEAD")) {
        x.getResponseBody().write(b);
      }
      return;
    }
    String selectorText = param(x, "labelSelector");
    var selector = selectorText == null ? null : SelectorQuery.parse(selectorText);
    FieldQuery fields = FieldQuery.parse(param(x, "fieldSelector"));
    boolean table = wantsTable(x);
    if ("true".equals(param(x, "watch")) || "1".equals(param(x, "watch"))) {
      if (x.getRequestMethod().equals("HEAD")) { // a stream: a HEAD of it would be answered with a length, each a warning of the JDK's server
        send(x, KubeObjects.status(405, "MethodNotAllowed", "a watch is a GET"));
        return;
      }
      if (t == null || t.name() != null || t.sub() != null || !KubeWatch.WATCHABLE.contains(t.group() + "/" + t.resource())) {
        send(x, KubeObjects.status(405, "MethodNotAllowed", "watch is served on lists (daemonsets, nodes, pods, configmaps, secrets,"
            + " controllerrevisions)"));
        return;
      }
      // a watch list (client-go's WatchListClient) is refused as by an API server without the WatchList feature, which
      // clients fall back from to a list and a watch; before 2026-12-06 it was ignored, and a stream ended without the
      // bookmark that marks the initial events' end, which such a client waits for
      if (param(x, "sendInitialEvents") != null || param(x, "resourceVersionMatch") != null) {
        String field = param(x, "sendInitialEvents") != null ? "sendInitialEvents" : "resourceVersionMatch";
        throw KubeWrites.KubeError.of(422, "Invalid", "ListOptions.meta.k8s.io \"\" is invalid: " + field + ": Forbidden: " + field
            + " is forbidden for watch: the dsfleet coordinator does not serve the WatchList feature (list, then watch from the"
            + " list's resourceVersion)");
      }
      long timeout;
      try {
        timeout = param(x, "timeoutSeconds") == null ? 0 : Long.parseLong(param(x, "timeoutSeconds"));
      } catch (NumberFormatException e) {
        throw new ControlException(io.grpc.Status.Code.INVALID_ARGUMENT, "timeoutSeconds must be a number");
      }
      Fleet at = fleetOrFail();
      String query = query(x, table);
      watches.serve(x, who.credential(), query, () -> fleet.get() == at
          ? watches.shared(query, at::viewVersion, () -> reads.route(p, table, selector, fields)) : null, at::viewVersion, at::watch,
          param(x, "resourceVersion"), timeout,
          param(x, "includeObject"), "true".equals(param(x, "allowWatchBookmarks")), end -> {
            Authority ca = authority.get();
            return ca == null ? () -> { } : ca.onRevoke(who.serial(), end);
          });
      return;
    }
    if (t != null && param(x, "continue") != null && !param(x, "continue").isEmpty()) {
      // every list is answered whole, with no continue token: one sent was not this coordinator's (it was not read before
      // 2026-12-06, and a pager asking for the rest got the whole list again)
      throw KubeWrites.KubeError.of(400, "BadRequest", "continue key is not valid: the dsfleet coordinator answers every list whole"
          + " and gives no continue token");
    }
    ReadVersion version = t == null ? null : ReadVersion.of(param(x, "resourceVersion"), param(x, "resourceVersionMatch"), t.name() == null);
    ObjectNode body = reads.route(p, table, selector, fields);
    if (version != null && body != null) {
      version.check(body, fleetOrFail()::viewVersion);
    }
    if (body == null) {
      send(x, KubeObjects.status(404, "NotFound", "the server could not find the requested resource"));
      return;
    }
    if (t != null && t.name() == null && (body.has("items") || body.has("rows"))) {
      // a watch from this list's version starts from what it answered
      watches.remember(query(x, table), body.path("metadata").path("resourceVersion").asLong(), body);
    }
    send(x, KubeObjects.rowObjects(body, param(x, "includeObject")));
  }

  /** What a list is, for a watch from its version: its path, selectors, and whether it is a Table. */
  private static String query(HttpExchange x, boolean table) {
    return x.getRequestURI().getRawPath() + "?" + param(x, "labelSelector") + "&" + param(x, "fieldSelector") + (table ? "&table" : "");
  }

  /** POST, PUT, PATCH, DELETE: an admin's; see {@link KubeWrites}. */
  private void write(HttpExchange x, Who who, String method, Target t) throws IOException {
    if (t == null) {
      send(x, KubeObjects.status(404, "NotFound", "the server could not find the requested resource"));
      return;
    }
    String verb = switch (method) {
      case "POST" -> "create";
      case "PUT" -> "update";
      case "PATCH" -> "patch";
      default -> "delete";
    };
    if (!who.admin()) {
      throw forbidden(who, verb, t, "viewer credentials are read-only");
    }
    if (t.resource().equals("pods") && t.group().isEmpty() && method.equals("DELETE") && t.name() != null && t.sub() == null
        && t.namespace() != null) {
      send(x, PodDeletes.delete(x, fleetOrFail(), clock, t), 200);
      return;
    }
    KubeWrites.Kind kind = KubeWrites.Kind.of(t.resource());
    boolean nodePatch = t.resource().equals("nodes") && t.group().isEmpty() && method.equals("PATCH") && t.name() != null
        && t.sub() == null;
    if (!nodePatch && (kind == null || !kind.group.equals(t.group()) || t.sub() != null || t.namespace() == null
        || (method.equals("POST") == (t.name() != null)))) {
      send(x, KubeObjects.status(405, "MethodNotAllowed", refusedWrite(method, t)));
      return;
    }
    boolean dryRun = dryRunAsked(x, null);
    KubeWrites writes = new KubeWrites(fleetOrFail(), clock);
    String manager = manager(x);
    JsonNode body = method.equals("DELETE") ? null : body(x);
    if ((method.equals("PUT") || method.equals("PATCH") || method.equals("POST")) && body == null) {
      throw KubeWrites.KubeError.of(400, "BadRequest", "the request has no body");
    }
    if (nodePatch) {
      send(x, NodePatches.patch(fleetOrFail(), t.name(), x.getRequestHeaders().getFirst("Content-Type"), body, dryRun), 200);
      return;
    }
    switch (method) {
      case "DELETE" -> {
        JsonNode options = DeleteOptions.checked(body(x));
        String propagation = DeleteOptions.propagation(param(x, "propagationPolicy"), param(x, "orphanDependents"), options);
        send(x, writes.delete(kind, t.namespace(), t.name(), propagation, options == null ? null : options.get("preconditions"),
            dryRunAsked(x, options)), 200);
      }
      case "POST" -> reply(x, writes.create(kind, t.namespace(), body, dryRun, manager));
      case "PUT" -> reply(x, writes.replace(kind, t.namespace(), t.name(), body, dryRun, manager));
      default -> reply(x, writes.patch(kind, t.namespace(), t.name(), x.getRequestHeaders().getFirst("Content-Type"), body, dryRun,
          manager, "true".equals(param(x, "force"))));
    }
  }

  /** Whether the request asks for a dry run: its dryRun query parameter, or its DeleteOptions' (null: none). */
  static boolean dryRunAsked(HttpExchange x, JsonNode deleteOptions) {
    return dryRun(param(x, "dryRun") == null ? null : Json.mapper().getNodeFactory().textNode(param(x, "dryRun")))
        || deleteOptions != null && deleteOptions.has("dryRun") && dryRun(deleteOptions.get("dryRun"));
  }

  /** A dryRun value: none, or All (a query parameter, or DeleteOptions' list); anything else refused, as Kubernetes does. */
  private static boolean dryRun(JsonNode value) {
    if (value == null || value.isNull() || (value.isArray() && value.isEmpty())) {
      return false;
    }
    if ((value.isTextual() && value.asText().equals("All")) || (value.isArray() && value.size() == 1 && value.get(0).asText().equals("All"))) {
      return true;
    }
    throw KubeWrites.KubeError.of(400, "BadRequest", "dryRun: Unsupported value: " + value + ": supported values: \"All\"");
  }

  /**
   * Who a write's fields are recorded as set by: the fieldManager kubectl names (kubectl,
   * kubectl-client-side-apply, kubectl-label, ...), or the client's program as its User-Agent
   * names it; null when neither (a server-side apply then is refused: it must name one).
   */
  private static String manager(HttpExchange x) {
    String named = param(x, "fieldManager");
    if (named != null) {
      if (named.length() > 128 || !named.matches("[\\x20-\\x7e]+")) {
        throw KubeWrites.KubeError.of(422, "Invalid", "fieldManager: Invalid value: at most 128 printable characters");
      }
      return named;
    }
    if ("application/apply-patch+yaml".equals(String.valueOf(x.getRequestHeaders().getFirst("Content-Type")).split(";")[0].trim())) {
      return null;
    }
    String agent = x.getRequestHeaders().getFirst("User-Agent");
    String program = agent == null ? "" : agent.split("[/ ]")[0];
    return program.matches("[A-Za-z0-9._-]{1,128}") ? program : "unknown";
  }

  private static void reply(HttpExchange x, KubeWrites.Written w) throws IOException {
    for (String warning : w.warnings()) {
      x.getResponseHeaders().add("Warning", "299 - \"" + warning.replace("\\", "\\\\").replace("\"", "\\\"") + "\"");
    }
    send(x, w.object(), w.created() ? 201 : 200);
  }

  /** Why a write of this kind is not served. */
  private static String refusedWrite(String method, Target t) {
    return switch (t.resource()) {
      case "pods" -> "pods are the DaemonSets': change the DaemonSet (kubectl delete pod replaces one)";
      case "nodes" -> "nodes join with ds-agent and leave with dsctl node remove; kubectl label, taint and cordon patch them";
      case "controllerrevisions" -> "revisions are kept by the coordinator: kubectl rollout undo restores one";
      case "namespaces" -> "namespaces are implicit in dsfleet: every name exists";
      default -> "scale".equals(t.sub()) ? "a DaemonSet runs one pod on each node that matches it: it has no replicas to scale"
          : t.sub() != null ? t.sub() + " is computed by the coordinator"
          : method + " is not served on " + (t.name() == null ? "a list" : "one object") + " of " + t.resource()
              + " (the fleet serves DaemonSets, ConfigMaps and Secrets; Deployments and other kinds are not part of dsfleet)";
    };
  }

  /** 403 as the API server words one: kubectl prints it as "Error from server (Forbidden): ...". */
  private static KubeWrites.KubeError forbidden(Who who, String verb, Target t, String why) {
    String what = t.resource() + (t.group().isEmpty() ? "" : "." + t.group()) + (t.name() == null ? "" : " \"" + t.name() + "\"");
    return KubeWrites.KubeError.of(403, "Forbidden", what + " is forbidden: User \"" + who.name() + "\" cannot " + verb + " resource \""
        + t.resource() + "\" in API group \"" + t.group() + "\"" + (t.namespace() == null ? "" : " in the namespace \"" + t.namespace()
        + "\"") + ": " + why);
  }

  /** A request's body as JSON (YAML too), at most 3 MiB as the API server takes; null when empty. */
  static JsonNode body(HttpExchange x) throws IOException {
    byte[] b = x.getRequestBody().readNBytes(MAX_BODY + 1);
    if (b.length > MAX_BODY) {
      throw KubeWrites.KubeError.of(413, "RequestEntityTooLarge", "the request is larger than " + (MAX_BODY >> 20) + " MiB");
    }
    if (b.length == 0) {
      return null;
    }
    String type = String.valueOf(x.getRequestHeaders().getFirst("Content-Type"));
    if (type.contains("protobuf")) {
      return KubeProtobuf.read(b); // kubectl's typed commands (create configmap, create secret)
    }
    try {
      // a key given twice: refused with fieldValidation=Strict (what kubectl apply and create ask for), as the API
      // server refuses it; otherwise the last one, as its default (Warn) keeps it (kubectl patch asks for nothing)
      String query = x.getRequestURI().getRawQuery();
      boolean strict = query != null && java.util.Arrays.asList(query.split("&")).contains("fieldValidation=Strict");
      var reader = (type.contains("yaml") ? Json.yamlMapper() : Json.mapper()).reader();
      return (strict ? reader.withFeatures(com.fasterxml.jackson.core.JsonParser.Feature.STRICT_DUPLICATE_DETECTION) : reader).readTree(b);
    } catch (IOException e) {
      throw KubeWrites.KubeError.of(400, "BadRequest", "the request body cannot be read as " + (type.contains("yaml") ? "YAML" : "JSON")
          + ": " + (e instanceof com.fasterxml.jackson.core.JsonProcessingException j ? j.getOriginalMessage() : e.getMessage()));
    }
  }

  private static final int MAX_BODY = 3 << 20;

  private Fleet fleetOrFail() {
    return KubeReads.leading(fleet);
  }

  /**
   * Who the caller is; refused (the Status to answer) unless an admin or a viewer of the fleet.
   * An insecure coordinator takes anyone as an admin, but only requests addressed to an IP address
   * or localhost (a page served under another name cannot reach it through DNS rebinding).
   */
  private Who caller(HttpExchange x) {
    if (insecure) {
      if (!KubeRequests.addressedByIp(x.getRequestHeaders().getFirst("Host"))) {
        throw KubeWrites.KubeError.of(403, "Forbidden", "an insecure coordinator answers requests to an IP address or localhost only");
      }
      return new Who("insecure", true, "");
    }
    Authority ca = authority.get();
    if (ca == null) {
      throw KubeWrites.KubeError.of(503, "ServiceUnavailable", "this coordinator replica does not serve now: use the leader");
    }
    X509Certificate cert;
    try {
      cert = (X509Certificate) ((HttpsExchange) x).getSSLSession().getPeerCertificates()[0];
    } catch (SSLPeerUnverifiedException e) {
      throw KubeWrites.KubeError.of(401, "Unauthorized", "a client certificate of the fleet is needed (dsctl kubeconfig writes a"
          + " kubeconfig with one)");
    }
    Pki.Subject who = CertificateAuthority.subject(cert);
    if (ca.revoked(Pki.serialHex(cert), who.role(), who.name())) {
      throw KubeWrites.KubeError.of(401, "Unauthorized", "credential " + who.name() + " was revoked");
    }
    if (!who.role().equals(Pki.ADMINS) && !who.role().equals(Pki.VIEWERS)) {
      throw KubeWrites.KubeError.of(403, "Forbidden", who.name() + " (" + who.role() + ") may not use the Kubernetes API: it is for"
          + " dsctl's admin and viewer credentials");
    }
    return new Who(who.name(), who.role().equals(Pki.ADMINS), Pki.serialHex(cert));
  }

  /** A query parameter, decoded; null when absent. */
  static String param(HttpExchange x, String name) {
    return io.dsfleet.coordinator.http.UrlPairs.parse(x.getRequestURI().getRawQuery()).get(name);
  }

  /** kubectl get asks for a meta.k8s.io Table first; -o yaml and -o json ask for the object. */
  private static boolean wantsTable(HttpExchange x) {
    String accept = String.join(",", x.getRequestHeaders().getOrDefault("Accept", List.of()));
    return accept.contains("as=Table") && accept.contains("g=meta.k8s.io");
  }


  static void send(HttpExchange x, ObjectNode body) throws IOException {
    send(x, body, body.path("kind").asText().equals("Status") ? body.path("code").asInt(500) : 200);
  }

  private static void send(HttpExchange x, ObjectNode body, int code) throws IOException {
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
