package io.dsfleet.coordinator.grpc;

import static io.dsfleet.coordinator.grpc.ControlViews.configView;
import static io.dsfleet.coordinator.grpc.ControlViews.dsView;
import static io.dsfleet.coordinator.grpc.ControlViews.nodeView;
import static io.dsfleet.coordinator.grpc.ControlViews.ns;

import io.dsfleet.coordinator.fleet.ControlException;
import io.dsfleet.coordinator.fleet.Events;
import io.dsfleet.coordinator.fleet.Fleet;
import io.dsfleet.coordinator.fleet.FleetView.DsSnapshot;
import io.dsfleet.coordinator.fleet.FleetView.NodeSnapshot;
import io.dsfleet.coordinator.security.Caller;
import io.dsfleet.coordinator.store.Store.StoredObject;
import io.dsfleet.proto.v1.*;
import io.grpc.Status;
import java.util.List;

/**
 * dsctl's reads ({@link ControlServiceImpl}'s get, describe and rollout history): each on fresh
 * state (a replica's leadership confirmed first), answered from the fleet's views; nothing is
 * changed. A refusal is a {@link ControlException} the service answers with.
 */
final class ControlReads {
  private final Fleet fleet;
  private final io.dsfleet.coordinator.replication.Replica replica;

  /** @param replica this coordinator as a replica of a group; null for a single coordinator */
  ControlReads(Fleet fleet, io.dsfleet.coordinator.replication.Replica replica) {
    this.fleet = fleet;
    this.replica = replica;
  }

  GetResponse get(GetRequest req) {
    fresh();
    GetResponse.Builder b = GetResponse.newBuilder();
    switch (req.getKind()) {
      case DAEMON_SET -> {
        if (!req.getName().isEmpty()) {
          b.addDaemonSets(dsView(fleet.daemonSet(ns(req.getNamespace()), req.getName())));
        } else {
          fleet.daemonSets().stream().filter(d -> req.getAllNamespaces() || d.namespace().equals(ns(req.getNamespace())))
              .forEach(d -> b.addDaemonSets(dsView(d)));
        }
      }
      case NODE -> {
        if (!req.getName().isEmpty()) {
          b.addNodes(nodeView(fleet.node(req.getName(), true)));
        } else {
          fleet.nodes().forEach(n -> b.addNodes(nodeView(n)));
        }
      }
      case POD -> b.addAllPods(pods(req.getAllNamespaces() ? null : ns(req.getNamespace()), req.getName(), null))
          .addAllPods(PodViews.released(fleet, req.getAllNamespaces() ? null : ns(req.getNamespace()), req.getName()));
      case CONFIG_MAP, SECRET -> {
        String kind = req.getKind() == ObjectKind.CONFIG_MAP ? "ConfigMap" : "Secret";
        List<StoredObject> found = fleet.configs(kind).stream()
            .filter(o -> req.getAllNamespaces() || o.namespace().equals(ns(req.getNamespace())))
            .filter(o -> req.getName().isEmpty() || o.name().equals(req.getName())).toList();
        if (!req.getName().isEmpty() && found.isEmpty()) {
          throw new ControlException(Status.Code.NOT_FOUND, kind.toLowerCase() + "s \"" + req.getName() + "\" not found in namespace " + ns(req.getNamespace()));
        }
        if (req.getShowSecrets() && Caller.current().kind() == Caller.Kind.VIEWER) {
          throw new ControlException(Status.Code.PERMISSION_DENIED, "a read-only credential cannot show secret values");
        }
        found.forEach(o -> b.addConfigs(configView(o, req.getShowSecrets())));
      }
      default -> throw new ControlException(Status.Code.INVALID_ARGUMENT, "kind is required");
    }
    return b.build();
  }

  DescribeResponse describe(DescribeRequest req) {
    fresh();
    DescribeResponse.Builder b = DescribeResponse.newBuilder();
    if (req.getKind() == ObjectKind.DAEMON_SET) {
      DsSnapshot d = fleet.daemonSet(ns(req.getNamespace()), req.getName());
      b.setDaemonSet(dsView(d));
      String key = Fleet.key(d.namespace(), d.name());
      for (NodeSnapshot n : fleet.nodes()) {
        var v = n.verdicts().get(key);
        boolean placed = v != null && v.shouldRun();
        b.addPlacements(Placement.newBuilder().setNodeName(n.name()).setPlaced(placed)
            .setReason(v == null || v.reason() == null ? "" : v.reason()
                + (v.shouldContinueRunning() && n.desired().stream().anyMatch(p -> p.dsKey().equals(key)) ? " (misscheduled: existing pod kept)" : "")));
      }
      b.addAllPods(pods(d.namespace(), null, d.name()));
      events(Events.dsKey(d.namespace(), d.name()), b);
    } else if (req.getKind() == ObjectKind.NODE) {
      NodeSnapshot n = fleet.node(req.getName(), true);
      b.setNode(nodeView(n));
      b.addAllPods(pods(null, null, null).stream().filter(p -> p.getNodeName().equals(n.name())).toList());
      b.addAllPods(PodViews.released(fleet, null, null).stream().filter(p -> p.getNodeName().equals(n.name())).toList());
      events(Events.nodeKey(n.name()), b);
    } else {
      throw new ControlException(Status.Code.INVALID_ARGUMENT, "describe takes ds or node");
    }
    return b.build();
  }

  private void events(String key, DescribeResponse.Builder b) {
    for (Events.Event e : fleet.events(key)) {
      b.addEvents(Event.newBuilder().setAtMillis(e.atMillis()).setType(e.type()).setReason(e.reason()).setMessage(e.message()));
    }
  }

  RolloutHistoryResponse rolloutHistory(RolloutHistoryRequest req) {
    fresh();
    DsSnapshot d = fleet.daemonSet(ns(req.getNamespace()), req.getName());
    RolloutHistoryResponse.Builder b = RolloutHistoryResponse.newBuilder();
    d.revisions().forEach(r -> b.addRevisions(RevisionView.newBuilder().setRevision(r.revision()).setTemplateHash(r.hash())
        .setChangeCause(r.changeCause() == null ? "" : r.changeCause()).setCreatedAtMillis(r.createdAtMillis())));
    return b.build();
  }

  /**
   * Before a read that must see every acknowledged write: a replica confirms with a majority
   * that it still leads (a deposed leader that does not know it yet must not answer from memory).
   */
  void fresh() {
    if (replica != null) {
      replica.confirmLeadership();
    }
  }

  private List<PodView> pods(String namespace, String podName, String dsName) {
    return PodViews.of(fleet, namespace, podName, dsName);
  }
}
