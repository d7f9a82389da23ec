package io.dsfleet.coordinator.metrics;

import io.dsfleet.coordinator.fleet.Fleet;
import io.dsfleet.coordinator.fleet.FleetView.DsSnapshot;
import io.dsfleet.coordinator.fleet.FleetView.NodeCondition;
import io.dsfleet.coordinator.fleet.RolloutState;
import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot.GaugeDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricMetadata;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import java.util.function.ToDoubleFunction;

/**
 * The fleet's series (its DaemonSets and nodes: 4 a node, 80,000 at 20,000 nodes), collected for
 * every family from one read of the fleet, one collection at a time, and served again to the
 * scrapes of the next {@link #REUSE}. The DaemonSets' status comes from the fleet's view (built
 * under its lock when the fleet changed, as `dsctl get ds` reads it); the nodes' conditions are
 * read without the lock. A family read the fleet each (16 reads a scrape, the node families
 * building the view again with every node's snapshot under the fleet's lock, about 30 ms at 20,000
 * nodes, and families of different moments), every scrape collected its own (with the text, about
 * 170 ms of a core and 87 MiB at 20,000 nodes: docs/benchmarks.md), and whoever reaches the port
 * could scrape in a loop from several connections and keep the cores busy and the lock taken. Each node's label sets are made once
 * and kept while it is a member, as kube-state-metrics keeps each object's series.
 */
final class FleetSeries implements MultiCollector {
  /** How long a collection serves: as long as the lease sweep that rebuilds the DaemonSets' view takes to come round. */
  static final Duration REUSE = Duration.ofSeconds(1);

  private final Supplier<Fleet> fleet;
  private final Clock clock;
  private final LongSupplier nanoTime;
  /** Held while collecting: a scrape that comes meanwhile waits for that collection and serves it. */
  private final Object collecting = new Object();
  private MetricSnapshots last;
  private long lastAtNanos;
  /** Each node's label sets, by name: made when the node is first seen. */
  private Map<String, NodeLabels> nodeLabels = new HashMap<>();

  private record NodeLabels(Labels readyTrue, Labels readyFalse, Labels node) {
    NodeLabels(String name) {
      this(Labels.of("node", name, "condition", "Ready", "status", "true"),
          Labels.of("node", name, "condition", "Ready", "status", "false"), Labels.of("node", name));
    }
  }

  /**
   * @param fleet the fleet served (null while this coordinator serves none)
   * @param clock what heartbeat ages are counted against (the coordinator's, the one its leases run on)
   * @param nanoTime the monotonic clock {@link #REUSE} is counted on
   */
  FleetSeries(Supplier<Fleet> fleet, Clock clock, LongSupplier nanoTime) {
    this.fleet = fleet;
    this.clock = clock;
    this.nanoTime = nanoTime;
  }

  /** The nodes whose label sets are kept: the members of the last collection. */
  int nodesWithLabelSets() {
    synchronized (collecting) {
      return nodeLabels.size();
    }
  }

  @Override
  public MetricSnapshots collect() {
    synchronized (collecting) {
      long now = nanoTime.getAsLong();
      if (last == null || now - lastAtNanos >= REUSE.toNanos()) {
        Fleet f = fleet.get();
        last = f == null ? collect(List.of(), null) : collect(f.daemonSets(), f.nodeConditions());
        lastAtNanos = now;
      }
      return last;
    }
  }

  /** @param nodes null: this coordinator serves no fleet (a replica that does not lead) */
  private MetricSnapshots collect(List<DsSnapshot> daemonSets, List<NodeCondition> nodes) {
    List<MetricSnapshot> families = new ArrayList<>(16);
    daemonSets(families, daemonSets);
    nodes(families, nodes == null ? List.of() : nodes, nodes != null);
    return new MetricSnapshots(families);
  }

  private static void ds(List<MetricSnapshot> families, List<DsSnapshot> daemonSets, String name, String help,
      ToDoubleFunction<DsSnapshot> value) {
    List<GaugeDataPointSnapshot> points = new ArrayList<>(daemonSets.size());
    for (DsSnapshot d : daemonSets) {
      points.add(new GaugeDataPointSnapshot(value.applyAsDouble(d), Labels.of("namespace", d.namespace(), "daemonset", d.name()), null));
    }
    families.add(new GaugeSnapshot(new MetricMetadata(name, help), points));
  }

  /** DaemonSet gauges named as kube-state-metrics names them (kube_ -> dsfleet_). */
  private static void daemonSets(List<MetricSnapshot> f, List<DsSnapshot> d) {
    ds(f, d, "dsfleet_daemonset_status_desired_number_scheduled", "Nodes that should run the DaemonSet's pod", s -> s.status().desired());
    ds(f, d, "dsfleet_daemonset_status_current_number_scheduled", "Nodes running at least one of the DaemonSet's pods"
        + " and that should", s -> s.status().current());
    ds(f, d, "dsfleet_daemonset_status_number_misscheduled", "Nodes running the DaemonSet's pod that should not",
        s -> s.status().misscheduled());
    ds(f, d, "dsfleet_daemonset_status_number_ready", "Nodes that should run the DaemonSet's pod and run it Ready",
        s -> s.status().ready());
    ds(f, d, "dsfleet_daemonset_status_number_available", "Nodes that should run the DaemonSet's pod and run it"
        + " available (Ready for minReadySeconds)", s -> s.status().available());
    ds(f, d, "dsfleet_daemonset_status_number_unavailable", "Nodes that should run the DaemonSet's pod and have none"
        + " available", s -> s.status().unavailable());
    ds(f, d, "dsfleet_daemonset_status_updated_number_scheduled", "Nodes running the DaemonSet's current revision",
        s -> s.status().updated());
    ds(f, d, "dsfleet_daemonset_metadata_generation", "The DaemonSet's generation: moves with every change of its spec",
        DsSnapshot::generation);
    ds(f, d, "dsfleet_daemonset_status_observed_generation", "The generation the controller has acted on",
        DsSnapshot::observedGeneration);
    ds(f, d, "dsfleet_daemonset_rollout_paused", "1 while the rollout is paused with dsctl rollout pause",
        s -> s.rollout() != null && s.rollout().pause() == RolloutState.Pause.USER ? 1 : 0);
    ds(f, d, "dsfleet_daemonset_rollout_failed", "1 while the rollout is stopped by a failure (no progress within"
        + " its deadline) or was rolled back automatically", s -> s.rollout() != null && s.rollout().failedOrRolledBack() ? 1 : 0);
    ds(f, d, "dsfleet_daemonset_rollout_progressing", "1 while nodes still move to the current revision: not paused,"
        + " not failed, and not complete as dsctl rollout status tells it", s -> progressing(s) ? 1 : 0);
  }

  /**
   * Not paused, not failed, and not complete as `rollout status` says: a misscheduled pod does not
   * hold it (before 2026-12-06 it did, so a pod left running on a node tainted NoSchedule, as
   * Kubernetes leaves it, showed its DaemonSet progressing for good).
   */
  static boolean progressing(DsSnapshot d) {
    if (d.rollout() != null && (d.rollout().paused() || d.rollout().failedOrRolledBack())) {
      return false;
    }
    return !d.rolledOut();
  }

  private void nodes(List<MetricSnapshot> families, List<NodeCondition> nodes, boolean served) {
    Map<String, NodeLabels> kept = new HashMap<>(nodes.size() * 2);
    List<GaugeDataPointSnapshot> condition = new ArrayList<>(nodes.size() * 2);
    List<GaugeDataPointSnapshot> unschedulable = new ArrayList<>(nodes.size());
    List<GaugeDataPointSnapshot> heartbeatAge = new ArrayList<>(nodes.size());
    int ready = 0;
    long now = clock.instant().toEpochMilli();
    for (NodeCondition n : nodes) {
      NodeLabels l = nodeLabels.get(n.name());
      if (l == null) {
        l = new NodeLabels(n.name());
      }
      kept.put(n.name(), l);
      ready += n.ready() ? 1 : 0;
      condition.add(new GaugeDataPointSnapshot(n.ready() ? 1 : 0, l.readyTrue(), null));
      condition.add(new GaugeDataPointSnapshot(n.ready() ? 0 : 1, l.readyFalse(), null));
      unschedulable.add(new GaugeDataPointSnapshot(n.unschedulable() ? 1 : 0, l.node(), null));
      Instant beat = n.lastHeartbeat();
      if (beat != null) {
        heartbeatAge.add(new GaugeDataPointSnapshot(Math.max(0, (now - beat.toEpochMilli()) / 1000.0), l.node(), null));
      }
    }
    nodeLabels = kept; // a node that left takes its label sets along
    // a replica that does not lead counts no nodes: until 2026-12-08 it reported 0 Ready, which a rule on the Ready nodes
    // (fewer than so many) took for the fleet's
    families.add(new GaugeSnapshot(new MetricMetadata("dsfleet_nodes", "Member nodes by their Ready condition"), !served ? List.of()
        : List.of(new GaugeDataPointSnapshot(ready, Labels.of("condition", "Ready", "status", "true"), null),
            new GaugeDataPointSnapshot(nodes.size() - ready, Labels.of("condition", "Ready", "status", "false"), null))));
    families.add(new GaugeSnapshot(new MetricMetadata("dsfleet_node_status_condition",
        "A node's Ready condition, as kube-state-metrics' kube_node_status_condition: 1 on the series of its status"), condition));
    families.add(new GaugeSnapshot(new MetricMetadata("dsfleet_node_spec_unschedulable", "1 for a cordoned node (dsctl cordon)"),
        unschedulable));
    families.add(new GaugeSnapshot(new MetricMetadata("dsfleet_node_heartbeat_age_seconds",
        "Seconds since the node's last heartbeat, as of the collection served (a second or two old at most); for a node"
            + " not heard since this coordinator started, at least since the start (or its stored NotReady time)"), heartbeatAge));
  }
}
