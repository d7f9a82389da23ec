package io.dsfleet.coordinator.fleet;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import io.dsfleet.common.manifest.Names;
import io.dsfleet.common.model.Taint;
import io.dsfleet.proto.v1.NodeInfo;
import io.grpc.Status;
import java.time.Instant;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The rules of what a node says of itself, with no state of their own: what no agent may report
 * ({@link #requireAdmissible}), its taints timed by the coordinator ({@link #stamped}), a node's
 * name, and its info as stored (printed, parsed, its taints that are not taints dropped at load).
 * {@link NodeRegistry} admits and joins by them, {@link NodeEntry} stores and loads by them.
 */
final class NodeInfoRules {
  /** NodeRegistry's: a stored taint dropped at load is logged under the name it always was. */
  private static final Logger log = LoggerFactory.getLogger(NodeRegistry.class);

  private NodeInfoRules() {}

  /**
   * Label keys only an admin sets (with dsctl): an agent that reports one is refused, so a label a
   * DaemonSet selects on under this prefix proves an admin chose the node. Kubernetes reserves
   * {@code node-restriction.kubernetes.io/} for the same purpose (NodeRestriction admission).
   */
  static final List<String> RESERVED_PREFIXES = List.of("node-restriction.dsfleet.io/", "node-restriction.kubernetes.io/");

  /**
   * The node's info without the fields protobuf does not know (its own and its taints'): kept, they
   * went with the node into every listing of the fleet's nodes, and before 2026-12-07 one node's
   * join of 4 MiB of them (by token, or again with its certificate) put {@code dsctl get nodes}'s
   * answer over the 4 MiB a client takes, for every admin (ReportMemoryTest).
   */
  static NodeInfo known(NodeInfo info) {
    if (info.getUnknownFields().asMap().isEmpty() && info.getTaintsList().stream().allMatch(t -> t.getUnknownFields().asMap().isEmpty())) {
      return info;
    }
    NodeInfo.Builder b = info.toBuilder().setUnknownFields(com.google.protobuf.UnknownFieldSet.getDefaultInstance()).clearTaints();
    info.getTaintsList().forEach(t -> b.addTaints(t.toBuilder().setUnknownFields(com.google.protobuf.UnknownFieldSet.getDefaultInstance())));
    return b.build();
  }

  /**
   * Refuses what no agent may report: an invalid name, labels and taints that are not Kubernetes
   * labels and taints, a label or taint under a reserved prefix, and fields past a size that a real node never needs
   * (an agent version, addresses, OS names are copied into events and views).
   */
  static void requireAdmissible(NodeInfo info) {
    requireName(info.getName());
    if (info.getLabelsCount() > 64 || info.getTaintsCount() > 32 || info.getAddressesCount() > 16) {
      throw new ControlException(Status.Code.INVALID_ARGUMENT, "node " + info.getName() + " reports " + info.getLabelsCount()
          + " labels, " + info.getTaintsCount() + " taints and " + info.getAddressesCount() + " addresses; at most 64, 32 and 16");
    }
    for (var e : info.getLabelsMap().entrySet()) {
      String bad = Names.label(e.getKey(), e.getValue());
      if (bad != null) {
        throw new ControlException(Status.Code.INVALID_ARGUMENT, "node " + info.getName() + ": invalid label " + e.getKey() + ": " + bad);
      }
      if (reserved(e.getKey())) {
        throw new ControlException(Status.Code.INVALID_ARGUMENT, "label " + e.getKey() + " is reserved for admins (" + e.getKey()
            .substring(0, e.getKey().indexOf('/') + 1) + "): set it with dsctl label node " + info.getName()
            + ", not in the agent's configuration");
      }
    }
    for (var t : info.getTaintsList()) {
      String notATaint = notATaint(t); // one would fail every view and plan of the fleet that meets it
      if (notATaint != null) {
        throw new ControlException(Status.Code.INVALID_ARGUMENT, "node " + info.getName() + ": " + notATaint);
      }
      if (reserved(t.getKey())) {
        throw new ControlException(Status.Code.INVALID_ARGUMENT, "taint " + t.getKey() + " is reserved for admins: set it with"
            + " dsctl taint node " + info.getName());
      }
    }
    List<String> shortFields = new java.util.ArrayList<>(List.of(info.getAgentVersion(), info.getOs(), info.getArch()));
    shortFields.addAll(info.getAddressesList());
    if (shortFields.stream().anyMatch(f -> f.length() > 64)) {
      throw new ControlException(Status.Code.INVALID_ARGUMENT, "node " + info.getName() + ": agent version, OS, architecture"
          + " and addresses are at most 64 characters each");
    }
    // shown in get nodes, describe, events and the Kubernetes API: printable ASCII only (no terminal
    // escapes, no text that reads otherwise than it is)
    if (shortFields.stream().anyMatch(f -> !f.chars().allMatch(c -> c > 0x20 && c < 0x7f))) {
      throw new ControlException(Status.Code.INVALID_ARGUMENT, "node " + info.getName() + ": agent version, OS, architecture"
          + " and addresses are printable ASCII without spaces");
    }
  }

  /**
   * The node as admitted, its taints timed by the coordinator: the time an agent sends is not taken
   * (it feeds NoExecute tolerationSeconds: a node must not date its own taints).
   */
  static NodeInfo stamped(NodeInfo info, Instant now) {
    return stamped(info, now, NodeInfo.getDefaultInstance());
  }

  /** As {@link #stamped(NodeInfo, Instant)}, a taint {@code before} had already keeping its time (the same agent admitted again). */
  static NodeInfo stamped(NodeInfo info, Instant now, NodeInfo before) {
    NodeInfo.Builder b = info.toBuilder().clearTaints();
    for (var t : info.getTaintsList()) {
      long at = before.getTaintsList().stream().filter(o -> o.getKey().equals(t.getKey()) && o.getValue().equals(t.getValue())
          && o.getEffect().equals(t.getEffect())).mapToLong(o -> o.getTimeAddedMillis()).findFirst().orElse(now.toEpochMilli());
      b.addTaints(t.toBuilder().setTimeAddedMillis(at));
    }
    return b.build();
  }

  private static boolean reserved(String key) {
    return RESERVED_PREFIXES.stream().anyMatch(key::startsWith);
  }

  /** @throws ControlException INVALID_ARGUMENT unless the name is a valid node name (an RFC 1123 subdomain) */
  static void requireName(String name) {
    String bad = Names.dns1123Subdomain(name == null ? "" : name);
    if (name == null || name.isEmpty() || bad != null) {
      throw new ControlException(Status.Code.INVALID_ARGUMENT, "node name \"" + name + "\" is invalid: "
          + (bad == null ? "Required value" : bad));
    }
  }

  static String printInfo(NodeInfo info) {
    try {
      return JsonFormat.printer().omittingInsignificantWhitespace().print(info);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * The node as stored, without taints that are not taints: before 2026-12-05 a join's taints were
   * not checked, and one with an effect of its own failed every view and plan of the fleet that met
   * it, the coordinator's start among them. Such a taint is dropped at load, and said so.
   */
  static NodeInfo withValidTaints(String name, NodeInfo info) {
    List<io.dsfleet.proto.v1.Taint> valid = info.getTaintsList().stream().filter(t -> {
      String notATaint = notATaint(t);
      if (notATaint != null) {
        log.warn("node {}: a stored taint is not a taint and is dropped ({}); it stays so until the node is admitted again",
            name, notATaint);
      }
      return notATaint == null;
    }).toList();
    return valid.size() == info.getTaintsCount() ? info : info.toBuilder().clearTaints().addAllTaints(valid).build();
  }

  /** What makes an agent's taint not a taint ({@link Taint#checked}), bounded for a log or an answer; null for a taint. */
  private static String notATaint(io.dsfleet.proto.v1.Taint t) {
    try {
      Taint.checked(t.getKey(), t.getValue(), t.getEffect());
      return null;
    } catch (IllegalArgumentException e) {
      return AgentText.bounded(e.getMessage(), 300);
    }
  }

  static NodeInfo parseInfo(String json) {
    try {
      NodeInfo.Builder b = NodeInfo.newBuilder();
      JsonFormat.parser().merge(json, b);
      return b.build();
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("stored node info is not valid: " + e.getMessage(), e);
    }
  }
}
