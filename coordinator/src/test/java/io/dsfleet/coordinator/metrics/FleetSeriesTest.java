package io.dsfleet.coordinator.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.coordinator.fleet.Fleet;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fleet's series come from one read of the fleet a collection, one collection at a time, served
 * again for a second: a scrape in a loop, or many at once, cannot keep a core busy (nor the fleet's
 * lock taken) with collections of a large fleet.
 */
class FleetSeriesTest {
  @TempDir Path dir;

  /** The fleet, counting its reads (each one a view of the fleet, built under its lock when it changed). */
  private static final class Reads implements Supplier<Fleet> {
    final Fleet fleet;
    final AtomicInteger count = new AtomicInteger();
    volatile CountDownLatch holdFirst;
    final CountDownLatch firstRead = new CountDownLatch(1);

    Reads(Fleet fleet) {
      this.fleet = fleet;
    }

    @Override
    public Fleet get() {
      if (count.incrementAndGet() == 1 && holdFirst != null) {
        firstRead.countDown();
        try {
          holdFirst.await(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      return fleet;
    }
  }

  private static double value(MetricSnapshots s, String name, String node) {
    return s.stream().filter(m -> m.getMetadata().getPrometheusName().equals(name)).findFirst().map(m -> ((GaugeSnapshot) m)
        .getDataPoints().stream().filter(p -> p.getLabels().get("node").equals(node)).findFirst().orElseThrow().getValue())
        .orElseThrow();
  }

  @Test
  void everyFamilyOfAScrapeComesFromOneReadOfTheFleet() {
    try (LargeFleet f = new LargeFleet(dir, 20, 2)) {
      Reads reads = new Reads(f.fleet);
      PrometheusRegistry r = new PrometheusRegistry();
      CoordinatorMetrics.fleetSeries(r, reads, f.clock, f.clock::nanos);
      MetricSnapshots s = r.scrape();
      assertThat(s.stream().mapToInt(m -> m.getDataPoints().size()).sum()).as("12 DaemonSet families of 2, 2 of the count, 4 a node")
          .isEqualTo(12 * 2 + 2 + 4 * 20);
      assertThat(reads.count).as("reads of the fleet for the scrape's 16 families").hasValue(1);
    }
  }

  @Test
  void aScrapeWithinASecondOfACollectionServesItAndALaterOneCollectsAgain() {
    try (LargeFleet f = new LargeFleet(dir, 20, 1)) {
      Reads reads = new Reads(f.fleet);
      PrometheusRegistry r = new PrometheusRegistry();
      CoordinatorMetrics.fleetSeries(r, reads, f.clock, f.clock::nanos);
      assertThat(value(r.scrape(), "dsfleet_node_spec_unschedulable", "node-3")).isZero();
      f.fleet.cordon("node-3", true);
      f.clock.advance(FleetSeries.REUSE.minusMillis(1));
      assertThat(value(r.scrape(), "dsfleet_node_spec_unschedulable", "node-3")).as("the last collection, served again").isZero();
      assertThat(reads.count).hasValue(1);
      f.clock.advance(Duration.ofMillis(1));
      assertThat(value(r.scrape(), "dsfleet_node_spec_unschedulable", "node-3")).as("a second on: collected again").isEqualTo(1);
      assertThat(reads.count).hasValue(2);
    }
  }

  @Test
  void scrapesThatComeWhileOneCollectsWaitForItAndServeItsCollection() throws Exception {
    try (LargeFleet f = new LargeFleet(dir, 20, 1)) {
      Reads reads = new Reads(f.fleet);
      reads.holdFirst = new CountDownLatch(1);
      PrometheusRegistry r = new PrometheusRegistry();
      CoordinatorMetrics.fleetSeries(r, reads, f.clock, f.clock::nanos);
      List<MetricSnapshots> results = java.util.Collections.synchronizedList(new ArrayList<>());
      Thread first = new Thread(() -> results.add(r.scrape()));
      first.start();
      assertThat(reads.firstRead.await(10, TimeUnit.SECONDS)).as("the first scrape reads the fleet").isTrue();
      List<Thread> others = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        Thread t = new Thread(() -> results.add(r.scrape()));
        others.add(t);
        t.start();
      }
      try {
        // each has come to the collection (waits for it) or is done: nothing else keeps them
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> others.stream()
            .allMatch(t -> t.getState() == Thread.State.BLOCKED || t.getState() == Thread.State.WAITING
                || t.getState() == Thread.State.TERMINATED));
        assertThat(reads.count).as("reads while the first scrape collects").hasValue(1);
      } finally {
        reads.holdFirst.countDown();
      }
      first.join(10_000);
      for (Thread t : others) {
        t.join(10_000);
      }
      assertThat(results).hasSize(5);
      assertThat(reads.count).as("reads for five scrapes at once").hasValue(1);
      for (MetricSnapshots s : results) {
        assertThat(value(s, "dsfleet_node_heartbeat_age_seconds", "node-7")).as("each serves the collection").isZero();
      }
    }
  }

  /**
   * Nodes join and leave for weeks: a node that left has no series from the next collection on and
   * its label sets are not kept (the cache holds the members only); a deleted DaemonSet's series go
   * the same way.
   */
  @Test
  void aNodeThatLeftAndADeletedDaemonSetHaveNoSeriesAndNothingKept() {
    try (LargeFleet f = new LargeFleet(dir, 20, 2)) {
      FleetSeries series = new FleetSeries(() -> f.fleet, f.clock, f.clock::nanos);
      PrometheusRegistry r = new PrometheusRegistry();
      r.register(series);
      assertThat(nodes(r.scrape(), "dsfleet_node_spec_unschedulable")).hasSize(20);
      assertThat(series.nodesWithLabelSets()).isEqualTo(20);
      for (int round = 0; round < 3; round++) { // churn: five leave, five others join, each round
        for (int i = 0; i < 5; i++) {
          f.fleet.removeNode("node-" + (round * 5 + i));
          f.fleet.join(io.dsfleet.coordinator.grpc.FakeAgent.info("new-" + round + "-" + i, java.util.Map.of()), "", true);
        }
        f.clock.advance(FleetSeries.REUSE);
        MetricSnapshots s = r.scrape();
        for (String family : List.of("dsfleet_node_status_condition", "dsfleet_node_spec_unschedulable", "dsfleet_node_heartbeat_age_seconds")) {
          assertThat(nodes(s, family)).as(family).doesNotContain("node-" + (round * 5)).contains("new-" + round + "-0")
              .hasSize(family.equals("dsfleet_node_status_condition") ? 40 : 20);
        }
        assertThat(series.nodesWithLabelSets()).as("label sets kept after round %d", round).isEqualTo(20);
      }
      var gone = f.fleet.daemonSets().get(1);
      f.fleet.deleteDaemonSet(gone.namespace(), gone.name(), true);
      f.clock.advance(FleetSeries.REUSE);
      MetricSnapshots s = r.scrape();
      assertThat(s.stream().filter(m -> m.getMetadata().getPrometheusName().startsWith("dsfleet_daemonset_"))
          .flatMap(m -> m.getDataPoints().stream()).map(p -> p.getLabels().get("daemonset")).distinct()).containsExactly(f.fleet.daemonSets().get(0).name()).doesNotContain(gone.name());
    }
  }

  private static List<String> nodes(MetricSnapshots s, String family) {
    return s.stream().filter(m -> m.getMetadata().getPrometheusName().equals(family)).flatMap(m -> m.getDataPoints().stream())
        .map(p -> p.getLabels().get("node")).toList();
  }

  /**
   * The node series are read without the fleet's lock: while a rollout pass or an apply holds it,
   * a scrape of a fleet whose DaemonSets' view is current (dsctl and the watches keep it so) is
   * answered. The view with every node's snapshot was built under the lock for the node series.
   */
  @Test
  void aScrapeReadsTheNodesWithoutTheFleetsLock() throws Exception {
    try (LargeFleet f = new LargeFleet(dir, 20, 1)) {
      PrometheusRegistry r = new PrometheusRegistry();
      CoordinatorMetrics.fleetSeries(r, () -> f.fleet, f.clock, f.clock::nanos);
      f.fleet.cordon("node-3", true);
      f.fleet.daemonSets(); // the DaemonSets' view of the fleet as it is now, as `dsctl get ds` reads it
      CountDownLatch held = new CountDownLatch(1);
      CountDownLatch release = new CountDownLatch(1);
      Thread holder = new Thread(() -> f.fleet.batch(() -> {
        held.countDown();
        try {
          release.await(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }));
      holder.start();
      try {
        assertThat(held.await(10, TimeUnit.SECONDS)).isTrue();
        MetricSnapshots s = java.util.concurrent.CompletableFuture.supplyAsync(r::scrape).get(10, TimeUnit.SECONDS); // a timeout: the scrape waited for the lock
        assertThat(value(s, "dsfleet_node_spec_unschedulable", "node-3")).isEqualTo(1);
        assertThat(value(s, "dsfleet_node_heartbeat_age_seconds", "node-3")).isZero();
      } finally {
        release.countDown();
        holder.join(10_000);
      }
    }
  }

  /**
   * A restarted coordinator (or a replica taking the lead) has heard no heartbeat of the nodes it
   * loaded: a node whose agent never comes back is silent since before the start, and its series
   * says at least that long, so DsfleetAgentSilent and the oldest-heartbeats panel find it.
   */
  @Test
  void aNodeSilentSinceBeforeTheCoordinatorStartedHasAHeartbeatAgeOfAtLeastThatLong() {
    try (LargeFleet f = new LargeFleet(dir, 3, 1)) {
      f.clock.advance(Duration.ofSeconds(30));
      Fleet restarted = new Fleet(f.store, f.clock, f.clock::nanos, io.dsfleet.coordinator.grpc.CoordinatorFixture.OPTIONS,
          new java.util.Random(1));
      PrometheusRegistry r = new PrometheusRegistry();
      CoordinatorMetrics.fleetSeries(r, () -> restarted, f.clock, f.clock::nanos);
      f.clock.advance(Duration.ofMinutes(10));
      restarted.heartbeat("node-0", false, "");
      restarted.tick();
      MetricSnapshots s = r.scrape();
      assertThat(value(s, "dsfleet_node_heartbeat_age_seconds", "node-0")).isZero();
      assertThat(nodes(s, "dsfleet_node_heartbeat_age_seconds")).as("every member, heard since the start or not")
          .containsExactly("node-0", "node-1", "node-2");
      assertThat(value(s, "dsfleet_node_heartbeat_age_seconds", "node-2")).as("silent since before the start, 10 minutes ago")
          .isGreaterThanOrEqualTo(600);
    }
  }

  /**
   * A replica that does not lead reports no fleet: no DaemonSet or node series, the count of nodes
   * included, so a rule on the Ready nodes (fewer than so many) is not met by every follower.
   */
  @Test
  void aCoordinatorThatServesNoFleetHasNoFleetSeries() {
    PrometheusRegistry r = new PrometheusRegistry();
    CoordinatorMetrics.fleetSeries(r, () -> null, java.time.Clock.systemUTC(), System::nanoTime);
    assertThat(r.scrape().stream().filter(m -> !m.getDataPoints().isEmpty()).map(m -> m.getMetadata().getPrometheusName()))
        .as("families with a series").isEmpty();
  }

  private static io.dsfleet.coordinator.fleet.FleetView.DsSnapshot ds(int desired, int updated, int available, int misscheduled) {
    return new io.dsfleet.coordinator.fleet.FleetView.DsSnapshot("default", "agent", null, 2, 2, 7, 0, 2, "abcdef0123",
        new io.dsfleet.coordinator.plan.DsStatus(desired, desired, available, updated, available, misscheduled, desired - available),
        List.of(), null, 1, List.of());
  }

  @Test
  void aRolloutCompleteWithAPodLeftOnATaintedNodeIsNotProgressing() {
    assertThat(FleetSeries.progressing(ds(3, 3, 3, 1))).as("every desired node updated and available, one pod misscheduled")
        .isFalse();
    assertThat(FleetSeries.progressing(ds(3, 2, 3, 0))).as("a node still on the old revision").isTrue();
    assertThat(FleetSeries.progressing(ds(3, 3, 2, 0))).as("a node's new pod not yet available").isTrue();
    assertThat(FleetSeries.progressing(ds(3, 3, 3, 0))).isFalse();
  }
}
