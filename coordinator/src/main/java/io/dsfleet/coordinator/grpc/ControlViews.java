package io.dsfleet.coordinator.grpc;

import com.google.protobuf.ByteString;
import io.dsfleet.common.Json;
import io.dsfleet.common.ProtoMapping;
import io.dsfleet.coordinator.fleet.Events;
import io.dsfleet.coordinator.fleet.Fleet;
import io.dsfleet.coordinator.fleet.FleetView.DsSnapshot;
import io.dsfleet.coordinator.fleet.FleetView.NodeSnapshot;
import io.dsfleet.coordinator.store.Store.StoredObject;
import io.dsfleet.proto.v1.ConfigObject;
import io.dsfleet.proto.v1.ConfigView;
import io.dsfleet.proto.v1.DaemonSetStatus;
import io.dsfleet.proto.v1.DaemonSetView;
import io.dsfleet.proto.v1.Event;
import io.dsfleet.proto.v1.EventView;
import io.dsfleet.proto.v1.NodeView;

/** What the operator's API answers with: the fleet's DaemonSets, nodes, configs and events as dsctl reads them. */
final class ControlViews {
  private ControlViews() {}

  /** A request's namespace: "default" when it names none. */
  static String ns(String namespace) {
    return namespace == null || namespace.isEmpty() ? "default" : namespace;
  }

  static DaemonSetView dsView(DsSnapshot d) {
    var s = d.status();
    var pod = d.ds().spec().template().spec();
    return DaemonSetView.newBuilder().setNamespace(d.namespace()).setName(d.name()).setGeneration(d.generation())
        .setRevision(d.revision()).setTemplateHash(d.hash()).setManifestJson(Json.canonical(d.ds()))
        .setCreatedAtMillis(d.createdAtMillis())
        .setNodeSelector(pod.nodeSelector() == null ? "" : String.join(",", pod.nodeSelector().entrySet().stream()
            .map(e -> e.getKey() + "=" + e.getValue()).sorted().toList()))
        .setImages(String.join(",", pod.containers().stream().map(c -> c.image()).toList()))
        .setStatus(DaemonSetStatus.newBuilder().setDesired(s.desired()).setCurrent(s.current()).setReady(s.ready())
            .setUpdated(s.updated()).setAvailable(s.available()).setMisscheduled(s.misscheduled())
            .setUnavailable(s.unavailable()).setObservedGeneration(d.observedGeneration()))
        .setResourceVersion(d.resourceVersion())
        .build();
  }

  static NodeView nodeView(NodeSnapshot n) {
    return NodeView.newBuilder().setInfo(n.info()).setReady(n.ready()).setNotReadyReason(n.notReadyReason()).setUnschedulable(n.unschedulable())
        .setJoinedAtMillis(n.joinedAt().toEpochMilli())
        .setLastHeartbeatMillis(n.lastHeartbeat() == null ? 0 : n.lastHeartbeat().toEpochMilli())
        .putAllAdminLabels(n.adminLabels()).addAllAdminTaints(ProtoMapping.toProto(n.adminTaints()))
        .putAllLabels(n.labels()).addAllTaints(ProtoMapping.toProto(n.taints())).build();
  }

  static ConfigView configView(StoredObject o, boolean showSecrets) {
    ConfigObject object = Fleet.configObject(o);
    if (object.getKind() == ConfigObject.Kind.SECRET && !showSecrets) {
      // keys always; values only when asked for
      ConfigObject.Builder hidden = object.toBuilder().clearData();
      object.getDataMap().keySet().forEach(k -> hidden.putData(k, ByteString.EMPTY));
      object = hidden.build();
    }
    return ConfigView.newBuilder().setObject(object).setCreatedAtMillis(o.createdAtMillis()).setResourceVersion(o.resourceVersion()).build();
  }

  static EventView eventView(Events.Recorded r) {
    Events.Event e = r.event();
    return EventView.newBuilder().setObject(r.object()).setEvent(Event.newBuilder().setAtMillis(e.atMillis()).setType(e.type())
        .setReason(e.reason()).setMessage(e.message())).build();
  }
}
