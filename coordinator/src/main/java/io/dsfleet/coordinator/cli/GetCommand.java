package io.dsfleet.coordinator.cli;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageOrBuilder;
import com.google.protobuf.util.JsonFormat;
import io.dsfleet.common.Json;
import io.dsfleet.proto.v1.*;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** `dsctl get ds|nodes|pods|configmaps|secrets [NAME]`. */
@Command(name = "get", description = "Show DaemonSets, nodes, pods, ConfigMaps or Secrets.")
public final class GetCommand extends ClientCommand {
  @Parameters(index = "0", paramLabel = "TYPE", description = "ds, nodes, pods, configmaps or secrets")
  String type;

  @Parameters(index = "1", arity = "0..1", paramLabel = "NAME")
  String name;

  @Option(names = {"-n", "--namespace"}, defaultValue = "default", description = "Namespace (default ${DEFAULT-VALUE}).")
  String namespace;

  @Option(names = {"-A", "--all-namespaces"}, description = "Every namespace.")
  boolean all;

  @Option(names = {"-o", "--output"}, paramLabel = "wide|yaml|json", description = "Output format.")
  String output;

  @Option(names = "--show-labels", description = "Show node labels.")
  boolean showLabels;

  @Option(names = "--show-secrets", description = "Show Secret values (with -o yaml or json).")
  boolean showSecrets;

  @Override
  protected int run(ControlServiceGrpc.ControlServiceBlockingStub control) throws Exception {
    if (output != null && !List.of("wide", "yaml", "json").contains(output)) {
      throw new UsageException("unknown output format \"" + output + "\": use wide, yaml or json");
    }
    ObjectKind kind = Kinds.parse(type);
    GetResponse r = control.get(GetRequest.newBuilder().setKind(kind).setNamespace(namespace).setAllNamespaces(all)
        .setName(name == null ? "" : name).setShowSecrets(showSecrets).build());
    if ("json".equals(output) || "yaml".equals(output)) {
      printStructured(kind, r);
      return 0;
    }
    long now = Dsctl.clock.millis();
    boolean wide = "wide".equals(output);
    Table t;
    switch (kind) {
      case DAEMON_SET -> {
        t = new Table(cols(all, "NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "NODE SELECTOR", "AGE", wide ? "IMAGES" : null, wide ? "REVISION" : null));
        for (DaemonSetView d : r.getDaemonSetsList()) {
          var s = d.getStatus();
          t.row(cells(all, d.getNamespace(), d.getName(), s.getDesired(), s.getCurrent(), s.getReady(), s.getUpdated(), s.getAvailable(),
              d.getNodeSelector().isEmpty() ? "<none>" : d.getNodeSelector(), Table.age(d.getCreatedAtMillis(), now),
              wide ? d.getImages() : null, wide ? d.getRevision() : null));
        }
      }
      case NODE -> {
        t = new Table(cols(false, "NAME", "STATUS", "AGE", "VERSION", wide ? "INTERNAL-IP" : null, wide ? "OS-ARCH" : null,
            wide ? "TAINTS" : null, showLabels ? "LABELS" : null));
        for (NodeView n : r.getNodesList()) {
          String status = (n.getReady() ? "Ready" : "NotReady") + (n.getUnschedulable() ? ",SchedulingDisabled" : "");
          t.row(cells(false, null, n.getInfo().getName(), status, Table.age(n.getJoinedAtMillis(), now), n.getInfo().getAgentVersion(),
              wide ? String.join(",", n.getInfo().getAddressesList()) : null, wide ? n.getInfo().getOs() + "/" + n.getInfo().getArch() : null,
              wide ? (n.getTaintsCount() == 0 ? "<none>" : n.getTaintsList().stream().map(GetCommand::taint).collect(Collectors.joining(","))) : null,
              showLabels ? new TreeMap<>(n.getLabelsMap()).entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).collect(Collectors.joining(",")) : null));
        }
      }
      case POD -> {
        t = new Table(cols(all, "NAME", "READY", "STATUS", "RESTARTS", "AGE", "NODE", "REVISION", wide ? "DAEMONSET" : null));
        for (PodView p : r.getPodsList()) {
          PodStatus s = p.getStatus();
          long readyCount = s.getContainersList().stream().filter(c -> !c.getInit() && c.getReady()).count();
          long total = s.getContainersList().stream().filter(c -> !c.getInit()).count();
          int restarts = s.getContainersList().stream().mapToInt(ContainerStatus::getRestartCount).sum();
          t.row(cells(all, s.getNamespace(), s.getPodName(), readyCount + "/" + total, podStatus(p), restarts,
              Table.age(s.getCreatedAtMillis() != 0 ? s.getCreatedAtMillis() : s.getStartedAtMillis(), now), p.getNodeName(), p.getRevision() == 0 ? "?" : p.getRevision(),
              wide ? s.getDaemonSet() : null));
        }
      }
      default -> {
        boolean secret = kind == ObjectKind.SECRET;
        t = new Table(cols(all, "NAME", secret ? "TYPE" : null, "DATA", "AGE"));
        for (ConfigView c : r.getConfigsList()) {
          t.row(cells(all, c.getObject().getNamespace(), c.getObject().getName(), secret ? c.getObject().getType() : null,
              c.getObject().getDataCount(), Table.age(c.getCreatedAtMillis(), now)));
        }
      }
    }
    if (t.empty()) {
      // nodes belong to no namespace, as in kubectl
      err().println(all || kind == ObjectKind.NODE ? "No resources found" : "No resources found in " + namespace + " namespace.");
    } else {
      t.print(out());
    }
    return 0;
  }

  /**
   * kubectl's pod STATUS: a waiting or terminated reason of a container wins over the pod's reason
   * (a held pod's ImageLabelsUnknown, an eviction's), which wins over the phase (before 2026-12-06 the
   * pod's reason was not shown: a held pod read Running).
   */
  public static String podStatus(PodView p) {
    PodStatus s = p.getStatus();
    for (ContainerStatus c : s.getContainersList()) {
      if (c.getInit() && !c.getState().equals("terminated") && !c.getReason().isEmpty() && !c.getReason().equals("PodInitializing")) {
        return "Init:" + c.getReason();
      }
    }
    for (ContainerStatus c : s.getContainersList()) {
      if (!c.getInit() && !c.getState().equals("running") && !c.getReason().isEmpty()) {
        return c.getReason();
      }
    }
    return p.getPending() ? "Pending" : s.getReason().isEmpty() ? s.getPhase() : s.getReason();
  }

  static String taint(io.dsfleet.proto.v1.Taint t) {
    return t.getKey() + (t.getValue().isEmpty() ? "" : "=" + t.getValue()) + ":" + t.getEffect();
  }

  private static String[] cols(boolean withNamespace, String... names) {
    List<String> out = new ArrayList<>();
    if (withNamespace) {
      out.add("NAMESPACE");
    }
    for (String n : names) {
      if (n != null) {
        out.add(n);
      }
    }
    return out.toArray(String[]::new);
  }

  private static Object[] cells(boolean withNamespace, String namespace, Object... values) {
    List<Object> out = new ArrayList<>();
    if (withNamespace) {
      out.add(namespace);
    }
    for (Object v : values) {
      if (v != null) {
        out.add(v);
      }
    }
    return out.toArray();
  }

  private void printStructured(ObjectKind kind, GetResponse r) throws InvalidProtocolBufferException {
    List<Object> items = new ArrayList<>();
    switch (kind) {
      case DAEMON_SET -> {
        for (DaemonSetView d : r.getDaemonSetsList()) {
          @SuppressWarnings("unchecked")
          Map<String, Object> obj = Json.read(d.getManifestJson(), Map.class);
          @SuppressWarnings("unchecked")
          Map<String, Object> meta = (Map<String, Object>) obj.get("metadata");
          meta.put("generation", d.getGeneration());
          meta.put("resourceVersion", String.valueOf(d.getResourceVersion()));
          obj.put("status", Map.of("desiredNumberScheduled", d.getStatus().getDesired(),
              "currentNumberScheduled", d.getStatus().getCurrent(), "numberReady", d.getStatus().getReady(),
              "updatedNumberScheduled", d.getStatus().getUpdated(), "numberAvailable", d.getStatus().getAvailable(),
              "numberMisscheduled", d.getStatus().getMisscheduled(), "numberUnavailable", d.getStatus().getUnavailable(),
              "observedGeneration", d.getStatus().getObservedGeneration()));
          items.add(obj);
        }
      }
      case NODE -> {
        for (NodeView n : r.getNodesList()) {
          items.add(proto(n));
        }
      }
      case POD -> {
        for (PodView p : r.getPodsList()) {
          items.add(proto(p));
        }
      }
      default -> {
        for (ConfigView c : r.getConfigsList()) {
          var o = c.getObject();
          Map<String, Object> obj = new java.util.LinkedHashMap<>();
          obj.put("apiVersion", "v1");
          obj.put("kind", o.getKind() == ConfigObject.Kind.SECRET ? "Secret" : "ConfigMap");
          obj.put("metadata", Map.of("name", o.getName(), "namespace", o.getNamespace(),
              "resourceVersion", String.valueOf(c.getResourceVersion())));
          Map<String, String> data = new TreeMap<>();
          if (o.getKind() == ConfigObject.Kind.SECRET) {
            obj.put("type", o.getType());
            o.getDataMap().forEach((k, v) -> data.put(k, showSecrets ? java.util.Base64.getEncoder().encodeToString(v.toByteArray()) : "<hidden: an admin credential shows it with --show-secrets>"));
          } else {
            o.getDataMap().forEach((k, v) -> data.put(k, v.toStringUtf8()));
          }
          obj.put("data", data);
          items.add(obj);
        }
      }
    }
    Object doc = name != null && items.size() == 1 ? items.get(0) : Map.of("apiVersion", "v1", "kind", "List", "items", items);
    out().print("json".equals(output) ? Json.pretty(doc) + "\n" : Json.yaml(doc));
    out().flush();
  }

  private static Object proto(MessageOrBuilder m) throws InvalidProtocolBufferException {
    return Json.read(JsonFormat.printer().print(m), Map.class);
  }
}
