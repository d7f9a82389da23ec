package io.dsfleet.coordinator.metrics;

import io.dsfleet.coordinator.CoordinatorServer;
import io.dsfleet.coordinator.fleet.Fleet;
import io.dsfleet.coordinator.fleet.FleetView.DsSnapshot;
import io.dsfleet.coordinator.fleet.FleetView.NodeSnapshot;
import io.dsfleet.coordinator.plan.DsStatus;
import io.dsfleet.coordinator.replication.Replica;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.time.Instant;
import java.util.List;
import java.util.function.ToDoubleFunction;

/**
 * The coordinator's Prometheus metrics (docs/operations.md lists each). What the fleet holds
 * (DaemonSets, nodes) is read from its view when Prometheus scrapes, so a scrape costs nothing
 * between scrapes; what happens (joins, passes, commits, calls) is counted where it happens, in the
 * instruments below, one set per process.
 */
public final class CoordinatorMetrics {
  private CoordinatorMetrics() {}

  /** Buckets for work that takes milliseconds and must not take seconds. */
  private static final double[] FAST = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

  public static final Counter NODE_JOINS = Counter.builder().name("dsfleet_node_joins_total")
      .help("Nodes that became members of the fleet (admitted with a join token, or registered on an insecure coordinator)")
      .withoutExemplars().build();
  public static final Counter NODE_REMOVALS = Counter.builder().name("dsfleet_node_removals_total")
      .help("Nodes that stopped being members, by reason: left (the agent left), removed (dsctl node rm), expired (NotReady"
          + " longer than nodeGcAfter)")
      .labelNames("reason").withoutExemplars().build();
  public static final Histogram CONTROLLER_PASS = Histogram.builder().name("dsfleet_controller_pass_duration_seconds")
      .help("Rollout controller passes (every DaemonSet over every node), seconds").classicOnly().classicUpperBounds(FAST)
      .withoutExemplars().build();
  public static final Histogram STORE_COMMIT = Histogram.builder().name("dsfleet_store_commit_duration_seconds")
      .help("Transactions of the embedded store, from the first write to the commit on disk (fsync), seconds").classicOnly()
      .classicUpperBounds(FAST).withoutExemplars().build();

  static {
    for (String reason : List.of("left", "removed", "expired")) {
      NODE_REMOVALS.labelValues(reason); // every reason exported from the start, at 0: rate() and alerts see the first one
    }
  }

  /** The registry a coordinator serves: the instruments above and the fleet as {@code server} sees it when scraped. */
  /** @param clock what heartbeat ages are counted against (the coordinator's, the one its leases run on) */
  public static PrometheusRegistry registry(CoordinatorServer server, java.time.Clock clock) {
    PrometheusRegistry r = new PrometheusRegistry();
    r.register(NODE_JOINS);
    r.register(NODE_REMOVALS);
    r.register(CONTROLLER_PASS);
    r.register(STORE_COMMIT);
    r.register(GrpcMetrics.HANDLED);
    r.register(GrpcMetrics.HANDLING);
    daemonSets(r, server);
    nodes(r, server, clock);
    r.register(GaugeWithCallback.builder().name("dsfleet_session_queue_depth")
        .help("Agent session messages (pod reports, acks, session changes) waiting for the fleet's lock")
        .callback(cb -> cb.call(server.queuedSessionMessages())).build());
    r.register(GaugeWithCallback.builder().name("dsfleet_controller_pass_pending")
        .help("1 while a change waits for a rollout pass")
        .callback(cb -> {
          Fleet f = server.fleet();
          cb.call(f != null && f.rolloutPassWaiting() ? 1 : 0);
        }).build());
    r.register(GaugeWithCallback.builder().name("dsfleet_grpc_connections")
        .help("Open connections to the coordinator's gRPC port (agents hold one each)")
        .callback(cb -> cb.call(server.connections().open())).build());
    r.register(GaugeWithCallback.builder().name("dsfleet_coordinator_leader")
        .help("1 on the coordinator serving the fleet: a single coordinator, or the leader of a replicated group")
        .callback(cb -> cb.call(server.fleet() != null ? 1 : 0)).build());
    Replica replica = server.replica();
    r.register(GaugeWithCallback.builder().name("dsfleet_replica_term")
        .help("The Raft term this replica knows (0: a single coordinator, no group)")
        .callback(cb -> raft(cb, replica, Replica::currentTerm)).build());
    r.register(GaugeWithCallback.builder().name("dsfleet_replica_last_applied_index")
        .help("The last Raft log entry this replica applied to its store (0: a single coordinator)")
        .callback(cb -> raft(cb, replica, Replica::lastAppliedIndex)).build());
    return r;
  }

  /** A figure of the replica's Raft server; none while that server is down (it stopped, or is starting). */
  private static void raft(GaugeWithCallback.Callback cb, Replica replica, java.util.function.ToLongFunction<Replica> figure) {
    if (replica == null) {
      cb.call(0);
      return;
    }
    long value;
    try {
      value = figure.applyAsLong(replica);
    } catch (RuntimeException e) {
      return;
    }
    cb.call(value);
  }

  /** A DaemonSet gauge named as kube-state-metrics names it (kube_ -> dsfleet_). */
  private static void dsGauge(PrometheusRegistry r, CoordinatorServer server, String name, String help, ToDoubleFunction<DsSnapshot> value) {
    r.register(GaugeWithCallback.builder().name(name).help(help).labelNames("namespace", "daemonset").callback(cb -> {
      for (DsSnapshot d : daemonSets(server)) {
        cb.call(value.applyAsDouble(d), d.namespace(), d.name());
      }
    }).build());
  }

  private static List<DsSnapshot> daemonSets(CoordinatorServer server) {
    Fleet f = server.fleet();
    return f == null ? List.of() : f.daemonSets();
  }

  private static List<NodeSnapshot> nodeList(CoordinatorServer server) {
    Fleet f = server.fleet();
    return f == null ? List.of() : f.nodes();
  }

  private static void daemonSets(PrometheusRegistry r, CoordinatorServer server) {
    dsGauge(r, server, "dsfleet_daemonset_status_desired_number_scheduled", "Nodes that should run the DaemonSet's pod",
        d -> status(d).desired());
    dsGauge(r, server, "dsfleet_daemonset_status_current_number_scheduled", "Nodes running at least one of the DaemonSet's pods"
        + " and that should", d -> status(d).current());
    dsGauge(r, server, "dsfleet_daemonset_status_number_misscheduled", "Nodes running the DaemonSet's pod that should not",
        d -> status(d).misscheduled());
    dsGauge(r, server, "dsfleet_daemonset_status_number_ready", "Nodes that should run the DaemonSet's pod and run it Ready",
        d -> status(d).ready());
    dsGauge(r, server, "dsfleet_daemonset_status_number_available", "Nodes that should run the DaemonSet's pod and run it"
        + " available (Ready for minReadySeconds)", d -> status(d).available());
    dsGauge(r, server, "dsfleet_daemonset_status_number_unavailable", "Nodes that should run the DaemonSet's pod and have none"
        + " available", d -> status(d).unavailable());
    dsGauge(r, server, "dsfleet_daemonset_status_updated_number_scheduled", "Nodes running the DaemonSet's current revision",
        d -> status(d).updated());
    dsGauge(r, server, "dsfleet_daemonset_metadata_generation", "The DaemonSet's generation: moves with every change of its spec",
        DsSnapshot::generation);
    dsGauge(r, server, "dsfleet_daemonset_status_observed_generation", "The generation the controller has acted on",
        DsSnapshot::observedGeneration);
    dsGauge(r, server, "dsfleet_daemonset_rollout_paused", "1 while the rollout is paused with dsctl rollout pause",
        d -> d.rollout() != null && d.rollout().pause() == io.dsfleet.coordinator.fleet.RolloutState.Pause.USER ? 1 : 0);
    dsGauge(r, server, "dsfleet_daemonset_rollout_failed", "1 while the rollout is stopped by a failure (no progress within"
        + " its deadline) or was rolled back automatically", d -> d.rollout() != null && d.rollout().failedOrRolledBack() ? 1 : 0);
    dsGauge(r, server, "dsfleet_daemonset_rollout_progressing", "1 while nodes still move to the current revision: not paused,"
        + " not failed, and not every node updated and available", d -> progressing(d) ? 1 : 0);
  }

  private static DsStatus status(DsSnapshot d) {
    return d.status();
  }

  static boolean progressing(DsSnapshot d) {
    if (d.rollout() != null && (d.rollout().paused() || d.rollout().failedOrRolledBack())) {
      return false;
    }
    DsStatus s = d.status();
    return s.updated() < s.desired() || s.available() < s.desired() || s.misscheduled() > 0;
  }

  private static void nodes(PrometheusRegistry r, CoordinatorServer server, java.time.Clock clock) {
    r.register(GaugeWithCallback.builder().name("dsfleet_nodes").help("Member nodes by their Ready condition")
        .labelNames("condition", "status").callback(cb -> {
          int ready = 0;
          int notReady = 0;
          for (NodeSnapshot n : nodeList(server)) {
            if (n.ready()) {
              ready++;
            } else {
              notReady++;
            }
          }
          cb.call(ready, "Ready", "true");
          cb.call(notReady, "Ready", "false");
        }).build());
    r.register(GaugeWithCallback.builder().name("dsfleet_node_status_condition")
        .help("A node's Ready condition, as kube-state-metrics' kube_node_status_condition: 1 on the series of its status")
        .labelNames("node", "condition", "status").callback(cb -> {
          for (NodeSnapshot n : nodeList(server)) {
            cb.call(n.ready() ? 1 : 0, n.name(), "Ready", "true");
            cb.call(n.ready() ? 0 : 1, n.name(), "Ready", "false");
          }
        }).build());
    r.register(GaugeWithCallback.builder().name("dsfleet_node_spec_unschedulable")
        .help("1 for a cordoned node (dsctl cordon)").labelNames("node").callback(cb -> {
          for (NodeSnapshot n : nodeList(server)) {
            cb.call(n.unschedulable() ? 1 : 0, n.name());
          }
        }).build());
    r.register(GaugeWithCallback.builder().name("dsfleet_node_heartbeat_age_seconds")
        .help("Seconds since the node's last heartbeat, as of the last lease sweep (about a second)").labelNames("node")
        .callback(cb -> {
          Instant now = clock.instant();
          for (NodeSnapshot n : nodeList(server)) {
            if (n.lastHeartbeat() != null) {
              cb.call(Math.max(0, (now.toEpochMilli() - n.lastHeartbeat().toEpochMilli()) / 1000.0), n.name());
            }
          }
        }).build());
  }
}
