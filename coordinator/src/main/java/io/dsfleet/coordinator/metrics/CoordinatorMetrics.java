package io.dsfleet.coordinator.metrics;

import io.dsfleet.coordinator.CoordinatorServer;
import io.dsfleet.coordinator.fleet.Fleet;
import io.dsfleet.coordinator.replication.Replica;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.List;

/**
 * The coordinator's Prometheus metrics (docs/operations.md lists each). What the fleet holds
 * (DaemonSets, nodes) is read from its view when Prometheus scrapes ({@link FleetSeries}: one view
 * a collection, at most one collection a second), so it costs nothing between scrapes; what
 * happens (joins, passes, commits, calls) is counted where it happens, in the instruments below,
 * one set per process.
 */
public final class CoordinatorMetrics {
  private CoordinatorMetrics() {}

  /**
   * How long one rendering of {@code /metrics} serves the scrapes that ask for the same (the fleet's
   * series are collected once for that time too: {@link FleetSeries#REUSE}).
   */
  public static final java.time.Duration SHARED_FOR = FleetSeries.REUSE;

  /** Buckets for work that takes milliseconds and must not take seconds. */
  private static final double[] FAST = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

  public static final Counter NODE_JOINS = Counter.builder().name("dsfleet_node_joins_total")
      .help("Nodes that became members of the fleet (admitted with a join token, or registered on an insecure coordinator)")
      .withoutExemplars().build();
  public static final Counter NODE_REMOVALS = Counter.builder().name("dsfleet_node_removals_total")
      .help("Nodes that stopped being members, by reason: left (the agent left), removed (dsctl node rm), expired (NotReady"
          + " longer than nodeGcAfter)")
      .labelNames("reason").withoutExemplars().build();
  public static final Counter DESIRED_SETS_SENT = Counter.builder().name("dsfleet_desired_sets_sent_total")
      .help("Desired sets sent to agents (a node's set changed, or its session opened and it did not hold the set)")
      .withoutExemplars().build();
  public static final Counter DESIRED_SETS_HELD = Counter.builder().name("dsfleet_desired_sets_held_total")
      .help("Sessions opened by an agent that held the set it would have been sent (the same digest): none sent")
      .withoutExemplars().build();
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
    r.register(DESIRED_SETS_SENT);
    r.register(DESIRED_SETS_HELD);
    r.register(CONTROLLER_PASS);
    r.register(STORE_COMMIT);
    r.register(GrpcMetrics.HANDLED);
    r.register(GrpcMetrics.HANDLING);
    io.dsfleet.common.BuildIdentity.of(CoordinatorServer.class).register(r);
    fleetSeries(r, server::fleet, clock, System::nanoTime);
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
    r.register(io.prometheus.metrics.core.metrics.CounterWithCallback.builder().name("dsfleet_grpc_connections_closed_unserved")
        .help("Connections to the gRPC port closed before any work: refused at a cap, or their client gone before their first read")
        .labelNames("reason").callback(cb -> {
          cb.call(server.connections().refused(), "refused");
          cb.call(server.connections().abandoned(), "abandoned");
        }).build());
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

  /** The series of the fleet {@code fleet} gives (null: this coordinator serves none): its DaemonSets and nodes ({@link FleetSeries}). */
  static void fleetSeries(PrometheusRegistry r, java.util.function.Supplier<Fleet> fleet, java.time.Clock clock,
      java.util.function.LongSupplier nanoTime) {
    r.register(new FleetSeries(fleet, clock, nanoTime));
  }
}
