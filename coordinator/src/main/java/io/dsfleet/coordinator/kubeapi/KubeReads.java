package io.dsfleet.coordinator.kubeapi;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dsfleet.common.Json;
import io.dsfleet.common.match.LabelSelectors;
import io.dsfleet.coordinator.fleet.ControlException;
import io.dsfleet.coordinator.fleet.Fleet;
import java.time.Clock;
import java.util.List;
import java.util.function.Supplier;

/**
 * What a GET of the Kubernetes API answers (docs/kubectl.md): discovery, OpenAPI, and the fleet's
 * objects, one or a list (label and field selectors applied), as JSON or as a Table.
 */
final class KubeReads {
  private final Supplier<Fleet> fleet;
  private final Clock clock;
  private final String version;
  private final PodStops stops;

  KubeReads(Supplier<Fleet> fleet, Clock clock, String version) {
    this.fleet = fleet;
    this.clock = clock;
    this.version = version;
    this.stops = new PodStops(clock);
  }

  private Fleet fleetOrFail() {
    return leading(fleet);
  }

  /** The fleet this coordinator serves; UNAVAILABLE on a replica that does not lead. */
  static Fleet leading(Supplier<Fleet> fleet) {
    Fleet f = fleet.get();
    if (f == null) {
      throw new ControlException(io.grpc.Status.Code.UNAVAILABLE, "this coordinator replica does not lead now: use the leader");
    }
    return f;
  }

  /** The answer to a GET of this path; null: not served (404). */
  ObjectNode route(List<String> p, boolean table, io.dsfleet.common.model.LabelSelector selector, FieldQuery fields) {
    String path = "/" + String.join("/", p);
    switch (path) {
      case "/version" -> {
        return Json.mapper().createObjectNode().put("major", "1").put("minor", KubeApi.KUBE_MINOR)
            .put("gitVersion", "v1." + KubeApi.KUBE_MINOR + ".0-dsfleet." + version)
            .put("gitCommit", io.dsfleet.common.BuildIdentity.parse(version).commit()).put("platform", "linux/amd64");
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
        return coreResources();
      }
      case "/apis/apps/v1" -> {
        return appsResources();
      }
      case "/openapi/v3" -> {
        return OpenApi.root();
      }
      case "/openapi/v3/api/v1", "/openapi/v3/apis/apps/v1" -> {
        return OpenApi.document(path.substring("/openapi/v3/".length()));
      }
      default -> {
        // below
      }
    }
    if (path.startsWith("/apis/coordination.k8s.io/")) { // kubectl describe node asks for the node's Lease, and prints this
      throw new ControlException(io.grpc.Status.Code.NOT_FOUND, "the dsfleet coordinator keeps no Leases: a node's heartbeat is its"
          + " Ready condition's lastHeartbeatTime");
    }
    Target t = Target.parse(p);
    if (t == null) {
      return null;
    }
    Fleet f = fleetOrFail();
    // the version first: what is read after it is at least as new, so a watch from it misses nothing
    long rv = f.viewVersion();
    long now = clock.millis();
    String ns = t.namespace();
    switch (t.group() + "/" + t.resource()) {
      case "/nodes" -> {
        if (ns != null || t.sub() != null) {
          return null;
        }
        if (t.name() != null) {
          var n = f.node(t.name(), false);
          if (n == null) {
            throw new ControlException(io.grpc.Status.Code.NOT_FOUND, "nodes \"" + t.name() + "\" not found");
          }
          return table ? KubeObjects.nodeTable(List.of(n), rv, now) : KubeObjects.node(n);
        }
        var nodes = f.nodes().stream().filter(n -> selector == null || LabelSelectors.matches(selector, n.labels()))
            .filter(n -> fields.matches(n.name(), "")).toList();
        return table ? KubeObjects.nodeTable(nodes, rv, now)
            : KubeObjects.list("v1", "NodeList", nodes.stream().map(KubeObjects::node).toList(), rv);
      }
      case "/namespaces" -> {
        // namespaces are implicit in dsfleet: every name exists; a list names those in use
        if (ns != null || t.sub() != null) {
          return null;
        }
        if (t.name() != null) {
          return table ? KubeObjects.namespaceTable(List.of(t.name()), rv) : KubeObjects.namespace(t.name());
        }
        var names = new java.util.TreeSet<>(List.of("default"));
        f.daemonSets().forEach(d -> names.add(d.namespace()));
        return table ? KubeObjects.namespaceTable(List.copyOf(names), rv)
            : KubeObjects.list("v1", "NamespaceList", names.stream().map(KubeObjects::namespace).toList(), rv);
      }
      case "/pods" -> {
        if (t.sub() != null) {
          return null;
        }
        if (t.name() != null && !table) {
          ObjectNode list = pods(f, stops, ns, t.name(), false, null, FieldQuery.ALL, now, rv);
          return (ObjectNode) list.withArray("items").get(0);
        }
        return pods(f, stops, ns, t.name(), table, selector, fields, now, rv);
      }
      case "/configmaps", "/secrets" -> {
        if (t.sub() != null) {
          return null;
        }
        boolean secrets = t.resource().equals("secrets");
        String kind = secrets ? "Secret" : "ConfigMap";
        var all = f.configs(kind).stream().filter(o -> ns == null || o.namespace().equals(ns))
            .filter(o -> t.name() == null || o.name().equals(t.name())).filter(o -> fields.matches(o.name(), o.namespace()))
            .filter(o -> selector == null || LabelSelectors.matches(selector, labels(KubeObjects.config(o)))).toList();
        if (t.name() != null && all.isEmpty()) {
          throw new ControlException(io.grpc.Status.Code.NOT_FOUND, t.resource() + " \"" + t.name() + "\" not found");
        }
        if (table) {
          return KubeObjects.configTable(all, secrets, rv, now);
        }
        return t.name() != null ? KubeObjects.config(all.get(0))
            : KubeObjects.list("v1", kind + "List", all.stream().map(KubeObjects::config).toList(), rv);
      }
      case "apps/daemonsets" -> {
        if (t.name() == null) {
          return t.sub() != null ? null : daemonSets(f, ns, table, selector, fields, now, rv);
        }
        if (ns == null || (t.sub() != null && !t.sub().equals("status"))) {
          return null;
        }
        var d = f.daemonSets().stream().filter(o -> o.namespace().equals(ns) && o.name().equals(t.name())).findFirst()
            .orElseThrow(() -> new ControlException(io.grpc.Status.Code.NOT_FOUND, "daemonsets.apps \"" + t.name() + "\" not found"));
        return table ? KubeObjects.daemonSetTable(List.of(d), rv, now) : KubeObjects.daemonSet(d);
      }
      case "/events" -> {
        if (t.sub() != null) {
          return null;
        }
        // Kubernetes keeps a node's events in "default"
        var listing = f.events(k -> ns == null || k.startsWith("ds/" + ns + "/") || (ns.equals("default") && k.startsWith("node/")));
        java.util.Map<String, String> uids = new java.util.HashMap<>();
        f.daemonSets().forEach(d -> uids.put(io.dsfleet.coordinator.fleet.Events.dsKey(d.namespace(), d.name()),
            KubeObjects.uid("daemonset", d.namespace(), d.name(), d.createdAtMillis())));
        f.nodes().forEach(n -> uids.put(io.dsfleet.coordinator.fleet.Events.nodeKey(n.name()),
            KubeObjects.uid("node", "", n.name(), n.joinedAt().toEpochMilli())));
        List<ObjectNode> events = new java.util.ArrayList<>();
        for (var r : listing.events()) {
          ObjectNode e = KubeObjects.event(r, uids.getOrDefault(r.object(), ""));
          JsonNode inv = e.path("involvedObject");
          java.util.Map<String, String> values = java.util.Map.of("metadata.name", e.at("/metadata/name").asText(),
              "metadata.namespace", e.at("/metadata/namespace").asText(), "involvedObject.kind", inv.path("kind").asText(),
              "involvedObject.name", inv.path("name").asText(), "involvedObject.namespace", inv.path("namespace").asText(),
              "involvedObject.uid", inv.path("uid").asText(), "involvedObject.apiVersion", inv.path("apiVersion").asText(),
              "reason", e.path("reason").asText(), "type", e.path("type").asText());
          if (fields.matches(values) && (t.name() == null || t.name().equals(e.at("/metadata/name").asText()))) {
            events.add(e);
          }
        }
        if (t.name() != null && events.isEmpty()) {
          throw new ControlException(io.grpc.Status.Code.NOT_FOUND, "events \"" + t.name() + "\" not found");
        }
        if (table) {
          return KubeObjects.eventTable(events, rv, now);
        }
        return t.name() != null ? events.get(0) : KubeObjects.list("v1", "EventList", events, rv);
      }
      case "apps/controllerrevisions" -> {
        if (t.sub() != null) {
          return null;
        }
        List<ObjectNode> revisions = new java.util.ArrayList<>();
        f.daemonSets().stream().filter(d -> ns == null || d.namespace().equals(ns))
            .forEach(d -> d.revisions().forEach(r -> revisions.add(KubeObjects.revision(d, r))));
        var found = revisions.stream().filter(r -> t.name() == null || r.path("metadata").path("name").asText().equals(t.name()))
            .filter(r -> fields.matches(r.path("metadata").path("name").asText(), r.path("metadata").path("namespace").asText()))
            .filter(r -> selector == null || LabelSelectors.matches(selector, labels(r))).toList();
        if (t.name() != null && found.isEmpty()) {
          throw new ControlException(io.grpc.Status.Code.NOT_FOUND, "controllerrevisions.apps \"" + t.name() + "\" not found");
        }
        if (table) {
          return KubeObjects.revisionTable(found, rv, now);
        }
        return t.name() != null ? found.get(0) : KubeObjects.list("apps/v1", "ControllerRevisionList", found, rv);
      }
      default -> {
        return null;
      }
    }
  }

  private static java.util.Map<String, String> labels(ObjectNode o) {
    java.util.Map<String, String> labels = new java.util.HashMap<>();
    o.path("metadata").path("labels").fields().forEachRemaining(e -> labels.put(e.getKey(), e.getValue().asText()));
    return labels;
  }

  private static ObjectNode daemonSets(Fleet f, String namespace, boolean table, io.dsfleet.common.model.LabelSelector selector,
      FieldQuery fields, long now, long rv) {
    var all = f.daemonSets().stream().filter(d -> namespace == null || d.namespace().equals(namespace))
        .filter(d -> selector == null || LabelSelectors.matches(selector, labels(d))).filter(d -> fields.matches(d.name(), d.namespace()))
        .toList();
    return table ? KubeObjects.daemonSetTable(all, rv, now)
        : KubeObjects.list("apps/v1", "DaemonSetList", all.stream().map(KubeObjects::daemonSet).toList(), rv);
  }

  /**
   * Pods: read-only, what the agents run (and desired pods not reported yet, Pending); one its
   * agent is stopping as Kubernetes shows one being deleted (PodStops), the field selector
   * applied to that.
   */
  private static ObjectNode pods(Fleet f, PodStops stops, String namespace, String name, boolean table,
      io.dsfleet.common.model.LabelSelector selector, FieldQuery fields, long now, long rv) {
    java.util.Map<String, io.dsfleet.coordinator.fleet.FleetView.DsSnapshot> byKey = new java.util.HashMap<>();
    f.daemonSets().forEach(d -> byKey.put(Fleet.key(d.namespace(), d.name()), d));
    List<io.dsfleet.proto.v1.PodView> views = new java.util.ArrayList<>();
    List<ObjectNode> items = new java.util.ArrayList<>();
    java.util.Map<String, JsonNode> templates = new java.util.HashMap<>(); // each revision's read once, not once a pod
    java.util.Map<String, String> hostIps = new java.util.HashMap<>();
    f.nodes().stream().filter(n -> n.info().getAddressesCount() > 0).forEach(n -> hostIps.put(n.name(), n.info().getAddresses(0)));
    java.util.Set<String> stopping = new java.util.HashSet<>();
    for (var v : io.dsfleet.coordinator.grpc.PodViews.of(f, namespace, name, null)) {
      ObjectNode pod = KubeObjects.pod(v, byKey.get(Fleet.key(v.getStatus().getNamespace(), v.getStatus().getDaemonSet())), templates);
      boolean isStopping = !v.getPending() && v.getStatus().getPhase().equals(PodStops.TERMINATING);
      stops.show(pod, v.getStatus().getNamespace(), v.getStatus().getPodName(), isStopping);
      if (isStopping) {
        stopping.add(v.getStatus().getNamespace() + "/" + v.getStatus().getPodName());
      }
      KubeObjects.hostIp(pod, hostIps.get(v.getNodeName()));
      var values = java.util.Map.of("metadata.name", v.getStatus().getPodName(), "metadata.namespace", v.getStatus().getNamespace(),
          "spec.nodeName", v.getNodeName(), "status.phase", pod.path("status").path("phase").asText());
      if ((selector == null || LabelSelectors.matches(selector, labels(pod))) && fields.matches(values)) {
        views.add(v);
        items.add(pod);
      }
    }
    if (name == null) { // every pod of the namespace read: those stopped and gone are forgotten
      stops.keepOnly(namespace, stopping);
    }
    if (name != null && views.isEmpty()) {
      throw new ControlException(io.grpc.Status.Code.NOT_FOUND, "pods \"" + name + "\" not found");
    }
    return table ? KubeObjects.podTable(views, items, rv, now) : KubeObjects.list("v1", "PodList", items, rv);
  }

  private static java.util.Map<String, String> labels(io.dsfleet.coordinator.fleet.FleetView.DsSnapshot d) {
    var meta = d.ds().metadata();
    return meta == null || meta.labels() == null ? java.util.Map.of() : meta.labels();
  }

  private static ObjectNode coreResources() {
    return resources("v1", resource("nodes", "Node", false, List.of("no"), WATCH_PATCH),
        resource("namespaces", "Namespace", false, List.of("ns"), READ),
        resource("pods", "Pod", true, List.of("po"), List.of("delete", "get", "list", "watch")), resource("pods/log", "Pod", true, List.of(), List.of("get")),
        resource("configmaps", "ConfigMap", true, List.of("cm"), ALL_VERBS),
        resource("secrets", "Secret", true, List.of(), ALL_VERBS), resource("events", "Event", true, List.of("ev"), READ));
  }

  private static ObjectNode appsResources() {
    return resources("apps/v1", resource("daemonsets", "DaemonSet", true, List.of("ds"), ALL_VERBS),
        resource("daemonsets/status", "DaemonSet", true, List.of(), List.of("get")),
        resource("controllerrevisions", "ControllerRevision", true, List.of(), READ));
  }

  /** Each resource served ("GROUP/RESOURCE", "GROUP/RESOURCE/SUBRESOURCE", the core group "") with its verbs, as discovery names them. */
  static java.util.Map<String, List<String>> served() {
    java.util.Map<String, List<String>> out = new java.util.LinkedHashMap<>();
    for (ObjectNode doc : List.of(coreResources(), appsResources())) {
      String groupVersion = doc.path("groupVersion").asText();
      String group = groupVersion.contains("/") ? groupVersion.substring(0, groupVersion.indexOf('/')) : "";
      for (JsonNode r : doc.path("resources")) {
        List<String> verbs = new java.util.ArrayList<>();
        r.path("verbs").forEach(v -> verbs.add(v.asText()));
        out.put(group + "/" + r.path("name").asText(), List.copyOf(verbs));
      }
    }
    return out;
  }

  /** What a client asking for aggregated discovery is answered with (its Content-Type names the format). */
  static final String AGGREGATED = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

  /**
   * Aggregated discovery (apidiscovery.k8s.io/v2) of /api (the core group) or /apis (apps): every
   * resource of the group in one document, so kubectl learns the API in one request per path.
   * The same resources as the legacy documents.
   */
  static ObjectNode aggregated(boolean core) {
    String group = core ? "" : "apps";
    ObjectNode legacy = core ? coreResources() : appsResources();
    ObjectNode list = Json.mapper().createObjectNode().put("kind", "APIGroupDiscoveryList").put("apiVersion", "apidiscovery.k8s.io/v2");
    list.putObject("metadata");
    ObjectNode item = list.putArray("items").addObject();
    ObjectNode meta = item.putObject("metadata");
    if (!core) {
      meta.put("name", group);
    }
    ObjectNode version = item.putArray("versions").addObject().put("version", "v1").put("freshness", "Current");
    var resources = version.putArray("resources");
    java.util.Map<String, ObjectNode> byName = new java.util.LinkedHashMap<>();
    for (JsonNode r : legacy.path("resources")) {
      String name = r.path("name").asText();
      ObjectNode kind = Json.mapper().createObjectNode().put("group", group).put("version", "v1").put("kind", r.path("kind").asText());
      if (name.contains("/")) {
        ObjectNode sub = byName.get(name.substring(0, name.indexOf('/'))).withArray("subresources").addObject()
            .put("subresource", name.substring(name.indexOf('/') + 1));
        sub.set("responseKind", kind);
        sub.set("verbs", r.path("verbs"));
        continue;
      }
      ObjectNode a = resources.addObject().put("resource", name).put("scope", r.path("namespaced").asBoolean() ? "Namespaced" : "Cluster")
          .put("singularResource", r.path("singularName").asText());
      a.set("responseKind", kind);
      a.set("verbs", r.path("verbs"));
      for (String field : List.of("shortNames", "categories")) {
        if (r.has(field)) {
          a.set(field, r.get(field));
        }
      }
      byName.put(name, a);
    }
    return list;
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

  private static final List<String> READ = List.of("get", "list", "watch");
  private static final List<String> WATCH_PATCH = List.of("get", "list", "watch", "patch");
  private static final List<String> ALL_VERBS = List.of("create", "delete", "get", "list", "patch", "update", "watch");

  private static ObjectNode resource(String name, String kind, boolean namespaced, List<String> shortNames, List<String> verbs) {
    ObjectNode r = Json.mapper().createObjectNode().put("name", name).put("singularName", name.contains("/") ? ""
        : kind.toLowerCase(java.util.Locale.ROOT)).put("namespaced", namespaced).put("kind", kind);
    var v = r.putArray("verbs");
    verbs.forEach(v::add);
    if (name.equals("daemonsets") || name.equals("pods")) {
      r.putArray("categories").add("all"); // kubectl get all
    }
    if (!shortNames.isEmpty()) {
      var s = r.putArray("shortNames");
      shortNames.forEach(s::add);
    }
    return r;
  }
}
