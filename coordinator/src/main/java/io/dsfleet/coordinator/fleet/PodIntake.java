package io.dsfleet.coordinator.fleet;

import io.dsfleet.coordinator.plan.ObservedPod;
import io.dsfleet.coordinator.store.Store;
import io.dsfleet.proto.v1.PodStatus;
import io.dsfleet.proto.v1.PodStatusReport;
import io.grpc.Status;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Pod status from the agents (memory only: agents report everything again when they reconnect),
 * and their acknowledgements of desired sets. A node's first report after its session opens lets
 * the coordinator send it anything: until then it does not know what runs there.
 */
final class PodIntake {
  private final FleetState state;
  private final Store store;
  private final Dispatcher dispatcher;
  private final Events events;

  PodIntake(FleetState state, Store store, Dispatcher dispatcher, Events events) {
    this.state = state;
    this.store = store;
    this.dispatcher = dispatcher;
    this.events = events;
  }

  /** Waiting reasons of a container on its way up: not failures. */
  private static final java.util.Set<String> STARTING = java.util.Set.of("", "ContainerCreating", "PodInitializing");

  /** Takes a node's pod report; returns whether it changed what the planner reads (then the node is planned again). */
  boolean report(String nodeName, PodStatusReport report, Instant now) {
    NodeEntry n = state.nodes.get(nodeName);
    if (n == null) {
      throw new ControlException(Status.Code.NOT_FOUND, "node " + nodeName + " is not a member; join first");
    }
    if (report.getFull()) {
      n.reported.clear();
    }
    for (String gone : report.getRemovedPodNamesList()) {
      n.reported.remove(gone);
    }
    for (PodStatus p : report.getPodsList()) {
      n.reported.put(p.getPodName(), p);
      failures(n, p);
    }
    n.failureEvents.keySet().removeIf(k -> !n.reported.containsKey(k.substring(0, k.indexOf('/'))));
    Map<String, List<ObservedPod>> observed = new HashMap<>();
    for (PodStatus p : n.reported.values()) {
      String dsKey = FleetState.key(p.getNamespace(), p.getDaemonSet());
      observed.computeIfAbsent(dsKey, x -> new ArrayList<>()).add(new ObservedPod(dsKey, p.getPodName(), p.getTemplateHash(),
          p.getReady(), p.getReadySinceMillis() == 0 ? null : Instant.ofEpochMilli(p.getReadySinceMillis())));
      state.podNames.reported(dsKey, n.name, p.getPodName());
    }
    if (observed.equals(n.observed) && !n.awaitingReport) {
      return false; // nothing the planner reads changed
    }
    n.observed.clear();
    n.observed.putAll(observed);
    n.awaitingReport = false;
    dispatcher.replanAndPush(n, now);
    return true;
  }

  /**
   * A pod that starts failing, or fails otherwise than it did, is an event of its DaemonSet and its
   * node (Kubernetes' BackOff, Failed, FailedCreatePodSandBox ...): the pod's reason, and each
   * container's waiting reason, once until it changes. A crash loop is one event, not one a crash
   * (each object keeps only its last events); a container that became Ready again may fail anew.
   */
  private void failures(NodeEntry n, PodStatus p) {
    String ds = Events.dsKey(p.getNamespace(), p.getDaemonSet());
    String podKey = p.getPodName() + "/";
    if (p.getReason().isEmpty()) {
      n.failureEvents.remove(podKey);
    } else if (!p.getReason().equals(n.failureEvents.put(podKey, p.getReason()))) {
      String message = "pod " + p.getPodName() + " on " + n.name + ": " + p.getMessage();
      events.record(ds, "Warning", p.getReason(), message);
      events.record(Events.nodeKey(n.name), "Warning", p.getReason(), message);
    }
    for (var c : p.getContainersList()) {
      String key = podKey + c.getName();
      if (c.getReady()) {
        n.failureEvents.remove(key);
      } else if (c.getState().equals("waiting") && !STARTING.contains(c.getReason())
          && !c.getReason().equals(n.failureEvents.put(key, c.getReason()))) {
        String message = "pod " + p.getPodName() + " on " + n.name + ", container " + c.getName() + ": " + c.getMessage();
        events.record(ds, "Warning", c.getReason(), message);
        events.record(Events.nodeKey(n.name), "Warning", c.getReason(), message);
      }
    }
  }

  /** The node applied a desired set: orphans it carried are now the node's to keep, and forgotten here. */
  void acked(String nodeName, long version) {
    NodeEntry n = state.nodes.get(nodeName);
    if (n != null && !n.orphans.isEmpty() && n.orphansSentInVersion > 0 && version >= n.orphansSentInVersion) {
      store.deleteOrphans(n.name, List.copyOf(n.orphans));
      n.orphans.clear();
      n.orphansSentInVersion = 0;
    }
  }
}
