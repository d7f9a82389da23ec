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
      failures(n.name, n.reported.put(p.getPodName(), p), p);
    }
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
   * container's waiting reason, when it changes; the agent's report repeats, the event does not.
   */
  private void failures(String node, PodStatus before, PodStatus now) {
    String ds = Events.dsKey(now.getNamespace(), now.getDaemonSet());
    if (!now.getReason().isEmpty() && (before == null || !before.getReason().equals(now.getReason()))) {
      String message = "pod " + now.getPodName() + " on " + node + ": " + now.getMessage();
      events.record(ds, "Warning", now.getReason(), message);
      events.record(Events.nodeKey(node), "Warning", now.getReason(), message);
    }
    for (var c : now.getContainersList()) {
      if (!c.getState().equals("waiting") || STARTING.contains(c.getReason())) {
        continue;
      }
      var was = before == null ? null
          : before.getContainersList().stream().filter(x -> x.getName().equals(c.getName())).findFirst().orElse(null);
      if (was != null && was.getState().equals("waiting") && was.getReason().equals(c.getReason())) {
        continue;
      }
      String message = "pod " + now.getPodName() + " on " + node + ", container " + c.getName() + ": " + c.getMessage();
      events.record(ds, "Warning", c.getReason(), message);
      events.record(Events.nodeKey(node), "Warning", c.getReason(), message);
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
