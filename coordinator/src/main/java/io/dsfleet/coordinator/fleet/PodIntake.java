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

  PodIntake(FleetState state, Store store, Dispatcher dispatcher) {
    this.state = state;
    this.store = store;
    this.dispatcher = dispatcher;
  }

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
