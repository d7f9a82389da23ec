package io.dsfleet.coordinator.kubeapi;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dsfleet.common.Json;
import io.dsfleet.common.model.Container;
import io.dsfleet.common.model.PodSpec;
import io.dsfleet.common.model.Taint;
import io.dsfleet.coordinator.cli.GetCommand;
import io.dsfleet.coordinator.cli.Table;
import io.dsfleet.coordinator.fleet.FleetView.DsSnapshot;
import io.dsfleet.coordinator.fleet.FleetView.NodeSnapshot;
import io.dsfleet.proto.v1.ContainerStatus;
import io.dsfleet.proto.v1.PodStatus;
import io.dsfleet.proto.v1.PodView;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.stream.Collectors;

/**
 * The fleet's objects as the Kubernetes API shows them: apps/v1 DaemonSets (the stored manifest,
 * its metadata as the API server sets it, the status counters of updateDaemonSetStatus), v1 Nodes
 * (the agent's labels, taints, address and version; one Ready condition), their meta.k8s.io/v1
 * Tables with kubectl's columns, and Status errors. Pure: from the fleet's snapshots.
 */
final class KubeObjects {
  private KubeObjects() {}

  static ObjectNode daemonSet(DsSnapshot d) {
    ObjectNode o = Json.mapper().valueToTree(d.ds());
    o.put("apiVersion", "apps/v1").put("kind", "DaemonSet");
    ObjectNode meta = o.with("metadata");
    meta.put("namespace", d.namespace()).put("uid", uid("daemonset", d.namespace(), d.name(), d.createdAtMillis()))
        .put("resourceVersion", String.valueOf(d.resourceVersion())).put("generation", d.generation())
        .put("creationTimestamp", timestamp(d.createdAtMillis()));
    ManagedFields.show(o);
    var s = d.status();
    o.putObject("status").put("currentNumberScheduled", s.current()).put("desiredNumberScheduled", s.desired())
        .put("numberMisscheduled", s.misscheduled()).put("numberReady", s.ready()).put("updatedNumberScheduled", s.updated())
        .put("numberAvailable", s.available()).put("numberUnavailable", s.unavailable()).put("observedGeneration", d.observedGeneration());
    return o;
  }

  static ObjectNode node(NodeSnapshot n) {
    ObjectNode o = Json.mapper().createObjectNode().put("apiVersion", "v1").put("kind", "Node");
    ObjectNode meta = o.putObject("metadata").put("name", n.name()).put("uid", uid("node", "", n.name(), n.joinedAt().toEpochMilli()))
        .put("creationTimestamp", timestamp(n.joinedAt().toEpochMilli()));
    ObjectNode labels = meta.putObject("labels");
    new TreeMap<>(n.labels()).forEach(labels::put);
    ObjectNode spec = o.putObject("spec");
    if (n.unschedulable()) {
      spec.put("unschedulable", true);
    }
    if (!n.taints().isEmpty()) {
      ArrayNode taints = spec.putArray("taints");
      for (Taint t : n.taints()) {
        ObjectNode tn = taints.addObject().put("key", t.key()).put("effect", t.effect());
        if (!t.value().isEmpty()) {
          tn.put("value", t.value());
        }
      }
    }
    ObjectNode status = o.putObject("status");
    String heartbeat = n.lastHeartbeat() == null ? null : timestamp(n.lastHeartbeat().toEpochMilli());
    ObjectNode ready = status.putArray("conditions").addObject().put("type", "Ready").put("status", n.ready() ? "True" : "False")
        .put("reason", n.ready() ? "AgentReady" : "AgentNotReady")
        .put("message", n.ready() ? "ds-agent is posting ready status" : n.notReadyReason());
    if (heartbeat != null) {
      ready.put("lastHeartbeatTime", heartbeat);
    }
    ArrayNode addresses = status.putArray("addresses");
    n.info().getAddressesList().forEach(a -> addresses.addObject().put("type", "InternalIP").put("address", a));
    addresses.addObject().put("type", "Hostname").put("address", n.name());
    if (n.info().getCpuMillis() > 0 && n.info().getMemoryBytes() > 0) {
      // what the agent counted (its processors, the host's memory); kubectl describe node divides its pods' requests by
      // them, and printed -9223372036854775808% of nothing before 2026-12-06
      ObjectNode capacity = status.putObject("capacity").put("cpu", n.info().getCpuMillis() % 1000 == 0
          ? String.valueOf(n.info().getCpuMillis() / 1000) : n.info().getCpuMillis() + "m")
          .put("memory", n.info().getMemoryBytes() / 1024 + "Ki");
      status.set("allocatable", capacity.deepCopy());
    }
    status.putObject("nodeInfo").put("kubeletVersion", version(n)).put("operatingSystem", n.info().getOs())
        .put("architecture", n.info().getArch()).put("containerRuntimeVersion", "docker");
    return o;
  }

  /** The VERSION column: the agent's, as kubelets show theirs. */
  private static String version(NodeSnapshot n) {
    return n.info().getAgentVersion();
  }

  /**
   * A pod as the Kubernetes API shows one, read-only: the DaemonSet's pod on its node, its labels
   * and spec those of the template of the revision it runs (with the revision's
   * controller-revision-hash, as Kubernetes labels a DaemonSet's pods), owned by the DaemonSet, and
   * its status from the agent's last report (Pending until the first). A revision no longer kept:
   * its containers as the agent reports them. Before 2026-12-06 the labels and containers (names and
   * images only) were the DaemonSet's current template's: during a rollout a pod not yet moved
   * showed the new image, and kubectl describe node counted no pod's requests.
   */
  static ObjectNode pod(PodView v, DsSnapshot d) {
    return pod(v, d, new java.util.HashMap<>());
  }

  /** @param templates the templates read so far, by DaemonSet and revision (a list of many pods reads each once) */
  static ObjectNode pod(PodView v, DsSnapshot d, Map<String, JsonNode> templates) {
    PodStatus s = v.getStatus();
    ObjectNode o = Json.mapper().createObjectNode().put("apiVersion", "v1").put("kind", "Pod");
    long created = s.getCreatedAtMillis() != 0 ? s.getCreatedAtMillis() : s.getStartedAtMillis();
    ObjectNode meta = o.putObject("metadata").put("name", s.getPodName()).put("namespace", s.getNamespace())
        .put("uid", uid("pod", s.getNamespace(), s.getPodName(), 0));
    if (created != 0) {
      meta.put("creationTimestamp", timestamp(created));
    }
    ObjectNode labels = meta.putObject("labels");
    var revision = d == null ? null : d.revisions().stream().filter(r -> r.revision() == v.getRevision()).findFirst().orElse(null);
    JsonNode template = revision == null ? null : templates.computeIfAbsent(d.namespace() + "/" + d.name() + "#" + revision.revision(),
        k -> Json.read(revision.templateJson(), JsonNode.class));
    if (template != null) {
      TreeMap<String, String> sorted = new TreeMap<>();
      template.path("metadata").path("labels").fields().forEachRemaining(e -> sorted.put(e.getKey(), e.getValue().asText()));
      sorted.forEach(labels::put);
      labels.put("controller-revision-hash", revision.hash());
    } else if (d != null && d.ds().spec().template().metadata() != null && d.ds().spec().template().metadata().labels() != null) {
      // the selector's labels are in every template (a selector does not change): the pod is selected as before
      new TreeMap<>(d.ds().spec().template().metadata().labels()).forEach(labels::put);
    }
    labels.put("pod-template-generation", String.valueOf(v.getRevision()));
    if (d != null) {
      meta.putArray("ownerReferences").addObject().put("apiVersion", "apps/v1").put("kind", "DaemonSet").put("name", d.name())
          .put("uid", uid("daemonset", d.namespace(), d.name(), d.createdAtMillis())).put("controller", true)
          .put("blockOwnerDeletion", true);
    }
    // the template's fields are shared by the pods of its revision, read-only (a copy each was about 58 KiB of nodes a pod
    // of a template with 20 KiB of environment, 578 MiB for a list of 10,000: KubePodListMemoryTest); the pod's own spec
    // object takes its nodeName
    ObjectNode spec = template != null && template.path("spec").isObject() ? o.putObject("spec").setAll((ObjectNode) template.get("spec"))
        : o.putObject("spec");
    spec.put("nodeName", v.getNodeName());
    if (template == null) {
      ArrayNode containers = spec.putArray("containers");
      s.getContainersList().stream().filter(c -> !c.getInit()).forEach(c -> containers.addObject().put("name", c.getName())
          .put("image", c.getImage()));
    }
    // a pod being stopped is Running, as Kubernetes shows one being deleted (PodStops adds its deletionTimestamp): Terminating,
    // served as its phase before 2026-12-07, is none of Kubernetes' five, and clients reading phase saw what Kubernetes never sends
    String phase = v.getPending() || s.getPhase().isEmpty() ? "Pending"
        : s.getPhase().equals(PodStops.TERMINATING) ? "Running" : s.getPhase();
    ObjectNode status = o.putObject("status").put("phase", phase);
    if (!s.getReason().isEmpty()) {
      status.put("reason", s.getReason()).put("message", s.getMessage());
    }
    status.putArray("conditions").addObject().put("type", "Ready").put("status", s.getReady() ? "True" : "False");
    if (s.getStartedAtMillis() != 0) {
      status.put("startTime", timestamp(s.getStartedAtMillis()));
    }
    ArrayNode statuses = status.putArray("containerStatuses");
    for (ContainerStatus c : s.getContainersList()) {
      if (c.getInit()) {
        continue;
      }
      ObjectNode cs = statuses.addObject().put("name", c.getName()).put("image", c.getImage()).put("ready", c.getReady())
          .put("restartCount", c.getRestartCount()).put("containerID", c.getContainerId().isEmpty() ? "" : "docker://" + c.getContainerId());
      ObjectNode state = cs.putObject("state");
      switch (c.getState()) {
        case "running" -> state.putObject("running").put("startedAt", timestamp(c.getStartedAtMillis()));
        case "terminated" -> state.putObject("terminated").put("exitCode", c.getExitCode()).put("reason", c.getReason());
        default -> state.putObject("waiting").put("reason", c.getReason()).put("message", c.getMessage());
      }
    }
    return o;
  }

  /**
   * A pod's node's address (its agent's first) as its hostIP, as the kubelet reports it; and as its
   * podIP too when it runs in the host's network (a pod of its own network has an address the
   * coordinator does not know). kubectl describe pod printed "Node: node-a/" and no IP before
   * 2026-12-06.
   */
  static void hostIp(ObjectNode pod, String ip) {
    if (ip == null || pod.path("status").path("phase").asText().equals("Pending")) {
      return;
    }
    ObjectNode status = pod.with("status").put("hostIP", ip);
    status.putArray("hostIPs").addObject().put("ip", ip);
    if (pod.path("spec").path("hostNetwork").asBoolean(false)) {
      status.put("podIP", ip).putArray("podIPs").addObject().put("ip", ip);
    }
  }

  /** kubectl get pods: NAME READY STATUS RESTARTS AGE (-o wide: IP NODE NOMINATED NODE READINESS GATES). */
  static ObjectNode podTable(List<PodView> pods, List<ObjectNode> items, long resourceVersion, long now) {
    ObjectNode t = table(resourceVersion, column("Name", "string", "name", 0), column("Ready", "string", "", 0),
        column("Status", "string", "", 0), column("Restarts", "string", "", 0), column("Age", "string", "", 0),
        column("IP", "string", "", 1), column("Node", "string", "", 1), column("Nominated Node", "string", "", 1),
        column("Readiness Gates", "string", "", 1));
    ArrayNode rows = t.putArray("rows");
    for (int i = 0; i < pods.size(); i++) {
      PodView v = pods.get(i);
      PodStatus s = v.getStatus();
      long ready = s.getContainersList().stream().filter(c -> !c.getInit() && c.getReady()).count();
      long total = s.getContainersList().stream().filter(c -> !c.getInit()).count();
      int restarts = s.getContainersList().stream().mapToInt(ContainerStatus::getRestartCount).sum();
      long created = s.getCreatedAtMillis() != 0 ? s.getCreatedAtMillis() : s.getStartedAtMillis();
      row(rows, items.get(i)).add(s.getPodName()).add(ready + "/" + total).add(GetCommand.podStatus(v)).add(String.valueOf(restarts))
          .add(Table.age(created, now)).add(items.get(i).path("status").path("podIP").asText("<none>")).add(v.getNodeName())
          .add("<none>").add("<none>");
    }
    return t;
  }

  /** A stored ConfigMap or Secret as the API shows it (a Secret's data base64, as stored). */
  static ObjectNode config(io.dsfleet.coordinator.store.Store.StoredObject o) {
    ObjectNode obj = (ObjectNode) Json.read(o.json(), com.fasterxml.jackson.databind.JsonNode.class);
    obj.with("metadata").put("namespace", o.namespace()).put("uid", uid(o.kind().toLowerCase(java.util.Locale.ROOT), o.namespace(),
        o.name(), o.createdAtMillis())).put("resourceVersion", String.valueOf(o.resourceVersion()))
        .put("creationTimestamp", timestamp(o.createdAtMillis()));
    ManagedFields.show(obj);
    return obj;
  }

  /** kubectl get configmaps: NAME DATA AGE; secrets: NAME TYPE DATA AGE. */
  static ObjectNode configTable(List<io.dsfleet.coordinator.store.Store.StoredObject> all, boolean secrets, long resourceVersion, long now) {
    ObjectNode t = secrets
        ? table(resourceVersion, column("Name", "string", "name", 0), column("Type", "string", "", 0), column("Data", "string", "", 0),
            column("Age", "string", "", 0))
        : table(resourceVersion, column("Name", "string", "name", 0), column("Data", "string", "", 0), column("Age", "string", "", 0));
    ArrayNode rows = t.putArray("rows");
    for (var o : all) {
      ObjectNode obj = config(o);
      ArrayNode cells = row(rows, obj).add(o.name());
      if (secrets) {
        cells.add(obj.path("type").asText("Opaque"));
      }
      cells.add(obj.path("data").size() + obj.path("binaryData").size()).add(Table.age(o.createdAtMillis(), now));
    }
    return t;
  }

  /**
   * A kept revision of a DaemonSet as Kubernetes keeps one, an apps/v1 ControllerRevision: owned
   * by the DaemonSet, labelled with its selector's labels and the template hash, its data the
   * patch that restores its template (what `kubectl rollout undo` sends back), its change cause.
   */
  static ObjectNode revision(DsSnapshot d, io.dsfleet.coordinator.store.Store.StoredRevision r) {
    ObjectNode o = Json.mapper().createObjectNode().put("apiVersion", "apps/v1").put("kind", "ControllerRevision");
    ObjectNode meta = o.putObject("metadata").put("name", d.name() + "-" + r.hash()).put("namespace", d.namespace())
        .put("uid", uid("controllerrevision", d.namespace(), d.name() + "-" + r.hash(), r.createdAtMillis()))
        .put("resourceVersion", String.valueOf(d.resourceVersion())).put("creationTimestamp", timestamp(r.createdAtMillis()));
    ObjectNode labels = meta.putObject("labels");
    var selector = d.ds().spec().selector();
    if (selector != null && selector.matchLabels() != null) {
      new TreeMap<>(selector.matchLabels()).forEach(labels::put);
    }
    labels.put("controller-revision-hash", r.hash());
    if (r.changeCause() != null) {
      meta.putObject("annotations").put("kubernetes.io/change-cause", r.changeCause());
    }
    meta.putArray("ownerReferences").addObject().put("apiVersion", "apps/v1").put("kind", "DaemonSet").put("name", d.name())
        .put("uid", uid("daemonset", d.namespace(), d.name(), d.createdAtMillis())).put("controller", true).put("blockOwnerDeletion", true);
    ObjectNode template = (ObjectNode) Json.read(r.templateJson(), com.fasterxml.jackson.databind.JsonNode.class);
    template.put("$patch", "replace");
    o.putObject("data").putObject("spec").set("template", template);
    o.put("revision", r.revision());
    return o;
  }

  /** kubectl get controllerrevisions: NAME CONTROLLER REVISION AGE. */
  static ObjectNode revisionTable(List<ObjectNode> revisions, long resourceVersion, long now) {
    ObjectNode t = table(resourceVersion, column("Name", "string", "name", 0), column("Controller", "string", "", 0),
        column("Revision", "integer", "", 0), column("Age", "string", "", 0));
    ArrayNode rows = t.putArray("rows");
    for (ObjectNode r : revisions) {
      var meta = r.path("metadata");
      row(rows, r).add(meta.path("name").asText()).add("daemonset.apps/" + meta.path("ownerReferences").path(0).path("name").asText())
          .add(r.path("revision").asLong()).add(Table.age(Instant.parse(meta.path("creationTimestamp").asText()).toEpochMilli(), now));
    }
    return t;
  }

  /**
   * A fleet event as a v1 Event: of a DaemonSet (in its namespace) or of a node (in "default", as
   * Kubernetes keeps node events), named after its object and when it was recorded.
   */
  static ObjectNode event(io.dsfleet.coordinator.fleet.Events.Recorded r, String involvedUid) {
    boolean node = r.object().startsWith("node/");
    String[] parts = r.object().split("/");
    String namespace = node ? "default" : parts[1];
    String name = parts[parts.length - 1];
    var e = r.event();
    String id = io.dsfleet.common.Sha256.hex(r.object() + "/" + e.atMillis() + "/" + e.reason() + "/" + e.message()).substring(0, 16);
    ObjectNode o = Json.mapper().createObjectNode().put("apiVersion", "v1").put("kind", "Event");
    o.putObject("metadata").put("name", name + "." + id).put("namespace", namespace).put("uid", uid("event", namespace, name + "." + id, 0))
        .put("creationTimestamp", timestamp(e.atMillis()));
    ObjectNode involved = o.putObject("involvedObject").put("kind", node ? "Node" : "DaemonSet").put("name", name)
        .put("apiVersion", node ? "v1" : "apps/v1").put("uid", involvedUid);
    if (!node) {
      involved.put("namespace", namespace);
    }
    o.put("reason", e.reason()).put("message", e.message()).put("type", e.type()).put("count", 1)
        .put("firstTimestamp", timestamp(e.atMillis())).put("lastTimestamp", timestamp(e.atMillis()))
        .put("reportingComponent", "ds-coordinator");
    o.putObject("source").put("component", "ds-coordinator");
    return o;
  }

  /** kubectl get events: LAST SEEN TYPE REASON OBJECT MESSAGE. */
  static ObjectNode eventTable(List<ObjectNode> events, long resourceVersion, long now) {
    ObjectNode t = table(resourceVersion, column("Last Seen", "string", "", 0), column("Type", "string", "", 0),
        column("Reason", "string", "", 0), column("Object", "string", "", 0), column("Message", "string", "", 0));
    ArrayNode rows = t.putArray("rows");
    for (ObjectNode e : events) {
      JsonNode involved = e.path("involvedObject");
      row(rows, e).add(Table.age(Instant.parse(e.path("lastTimestamp").asText()).toEpochMilli(), now)).add(e.path("type").asText())
          .add(e.path("reason").asText()).add(involved.path("kind").asText().toLowerCase(java.util.Locale.ROOT) + "/"
              + involved.path("name").asText()).add(e.path("message").asText());
    }
    return t;
  }

  /** A namespace: implicit in dsfleet (any name exists, always Active). */
  static ObjectNode namespace(String name) {
    ObjectNode o = Json.mapper().createObjectNode().put("apiVersion", "v1").put("kind", "Namespace");
    o.putObject("metadata").put("name", name).put("uid", uid("namespace", "", name, 0));
    o.putObject("status").put("phase", "Active");
    return o;
  }

  /** kubectl get ns: NAME STATUS AGE (a namespace has no age here: it exists as long as a name does). */
  static ObjectNode namespaceTable(List<String> names, long resourceVersion) {
    ObjectNode t = table(resourceVersion, column("Name", "string", "name", 0), column("Status", "string", "", 0), column("Age", "string", "", 0));
    ArrayNode rows = t.putArray("rows");
    names.forEach(n -> row(rows, namespace(n)).add(n).add("Active").add("<unknown>"));
    return t;
  }

  /** A list response: the items, and the fleet's version as the list's resourceVersion. */
  static ObjectNode list(String apiVersion, String kind, List<ObjectNode> items, long resourceVersion) {
    ObjectNode o = Json.mapper().createObjectNode().put("apiVersion", apiVersion).put("kind", kind);
    o.putObject("metadata").put("resourceVersion", String.valueOf(resourceVersion));
    o.putArray("items").addAll(items);
    return o;
  }

  /** kubectl get ds: NAME DESIRED CURRENT READY UP-TO-DATE AVAILABLE NODE SELECTOR AGE (-o wide: CONTAINERS IMAGES SELECTOR). */
  static ObjectNode daemonSetTable(List<DsSnapshot> all, long resourceVersion, long now) {
    ObjectNode t = table(resourceVersion, column("Name", "string", "name", 0), column("Desired", "integer", "", 0),
        column("Current", "integer", "", 0), column("Ready", "integer", "", 0), column("Up-to-date", "integer", "", 0),
        column("Available", "integer", "", 0), column("Node Selector", "string", "", 0), column("Age", "string", "", 0),
        column("Containers", "string", "", 1), column("Images", "string", "", 1), column("Selector", "string", "", 1));
    ArrayNode rows = t.putArray("rows");
    for (DsSnapshot d : all) {
      var s = d.status();
      PodSpec pod = d.ds().spec().template().spec();
      Map<String, String> selector = d.ds().spec().selector() == null || d.ds().spec().selector().matchLabels() == null ? Map.of()
          : d.ds().spec().selector().matchLabels();
      ArrayNode cells = row(rows, daemonSet(d));
      cells.add(d.name()).add(s.desired()).add(s.current()).add(s.ready()).add(s.updated()).add(s.available())
          .add(pairs(pod.nodeSelector())).add(Table.age(d.createdAtMillis(), now))
          .add(pod.containers().stream().map(Container::name).collect(Collectors.joining(",")))
          .add(pod.containers().stream().map(Container::image).collect(Collectors.joining(","))).add(pairs(selector));
    }
    return t;
  }

  /** kubectl get nodes: NAME STATUS ROLES AGE VERSION (-o wide: INTERNAL-IP OS-IMAGE). */
  static ObjectNode nodeTable(List<NodeSnapshot> all, long resourceVersion, long now) {
    ObjectNode t = table(resourceVersion, column("Name", "string", "name", 0), column("Status", "string", "", 0),
        column("Roles", "string", "", 0), column("Age", "string", "", 0), column("Version", "string", "", 0),
        column("Internal-IP", "string", "", 1), column("OS-Image", "string", "", 1));
    ArrayNode rows = t.putArray("rows");
    for (NodeSnapshot n : all) {
      String roles = n.labels().keySet().stream().filter(k -> k.startsWith("node-role.kubernetes.io/"))
          .map(k -> k.substring("node-role.kubernetes.io/".length())).sorted().collect(Collectors.joining(","));
      row(rows, node(n)).add(n.name()).add((n.ready() ? "Ready" : "NotReady") + (n.unschedulable() ? ",SchedulingDisabled" : ""))
          .add(roles.isEmpty() ? "<none>" : roles).add(Table.age(n.joinedAt().toEpochMilli(), now)).add(version(n))
          .add(n.info().getAddressesCount() == 0 ? "<none>" : n.info().getAddresses(0)).add(n.info().getOs() + "/" + n.info().getArch());
    }
    return t;
  }

  /**
   * A Table's rows as asked: each row's object its metadata (includeObject=Metadata, kubectl's
   * default), the whole object (Object: kubectl asks so to sort by a field), or none (None).
   * Anything else passes as it is.
   */
  static ObjectNode rowObjects(ObjectNode body, String includeObject) {
    if (!body.path("kind").asText().equals("Table")) {
      return body;
    }
    for (var row : body.withArray("rows")) {
      ObjectNode object = (ObjectNode) row.get("object");
      ObjectNode whole = (ObjectNode) object.remove(WHOLE);
      if ("Object".equals(includeObject)) {
        ((ObjectNode) row).set("object", whole);
      } else if ("None".equals(includeObject)) {
        ((ObjectNode) row).remove("object");
      }
    }
    return body;
  }

  /** Where a row keeps its whole object until {@link #rowObjects} decides what goes out. */
  static final String WHOLE = "dsfleet.whole";

  private static ObjectNode table(long resourceVersion, ObjectNode... columns) {
    ObjectNode t = Json.mapper().createObjectNode().put("kind", "Table").put("apiVersion", "meta.k8s.io/v1");
    t.putObject("metadata").put("resourceVersion", String.valueOf(resourceVersion));
    t.putArray("columnDefinitions").addAll(List.of(columns));
    return t;
  }

  private static ObjectNode column(String name, String type, String format, int priority) {
    return Json.mapper().createObjectNode().put("name", name).put("type", type).put("format", format).put("description", "")
        .put("priority", priority);
  }

  /** A row of this item (its object settled by {@link #rowObjects}); its cells to be added. */
  private static ArrayNode row(ArrayNode rows, ObjectNode item) {
    ObjectNode row = rows.addObject();
    ArrayNode cells = row.putArray("cells");
    ObjectNode object = row.putObject("object").put("kind", "PartialObjectMetadata").put("apiVersion", "meta.k8s.io/v1");
    object.set("metadata", item.get("metadata"));
    object.set(WHOLE, item);
    return cells;
  }

  private static String pairs(Map<String, String> m) {
    return m == null || m.isEmpty() ? "<none>"
        : new TreeMap<>(m).entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).collect(Collectors.joining(","));
  }

  /** A Status error as the API server sends it: kubectl prints its message ("Error from server (NotFound): ..."). */
  /** What a successful delete answers (kubectl prints `daemonset.apps "NAME" deleted`). */
  static ObjectNode deleted(String group, String resource, String name, String uid) {
    ObjectNode o = Json.mapper().createObjectNode().put("kind", "Status").put("apiVersion", "v1");
    o.putObject("metadata");
    o.put("status", "Success").putObject("details").put("name", name).put("group", group).put("kind", resource).put("uid", uid);
    return o;
  }

  static ObjectNode status(int code, String reason, String message) {
    ObjectNode o = Json.mapper().createObjectNode().put("kind", "Status").put("apiVersion", "v1");
    o.putObject("metadata");
    return o.put("status", "Failure").put("message", message).put("reason", reason).put("code", code);
  }

  /** RFC 3339 in seconds, as the API server writes times. */
  static String timestamp(long millis) {
    return Instant.ofEpochMilli(millis).truncatedTo(ChronoUnit.SECONDS).toString();
  }

  /** A stable uid: the same object (kind, namespace, name, creation) has the same one across calls and restarts. */
  static String uid(String kind, String namespace, String name, long created) {
    return UUID.nameUUIDFromBytes((kind + "/" + namespace + "/" + name + "/" + created).getBytes(StandardCharsets.UTF_8)).toString();
  }
}
