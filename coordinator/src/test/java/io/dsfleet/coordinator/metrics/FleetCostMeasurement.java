package io.dsfleet.coordinator.metrics;

import io.dsfleet.coordinator.plan.PodAssignment;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the lease sweep a second costs at 10,000 nodes when nothing changes, with 1 and with 10
 * DaemonSets (the clock standing still: no lease runs out, no time moves a rollout), what a node's
 * report costs, what a read of the DaemonSets' status costs after one, what a rollout pass with
 * nothing to move costs, and how long the fleet takes to load from its
 * store (docs/benchmarks.md, "3. Fleet scale"): run by hand, {@code -Ddsfleet.measure=true}; it
 * prints, it asserts nothing.
 */
@EnabledIfSystemProperty(named = "dsfleet.measure", matches = "true")
class FleetCostMeasurement {
  @TempDir Path dir;

  @Test
  void oneDaemonSet() throws Exception {
    measure(1);
  }

  @Test
  void tenDaemonSets() throws Exception {
    measure(10);
  }

  /**
   * What the DaemonSets' status costs a read after a change (a `rollout status`, `dsctl get ds`, the
   * bench's polls): the view rebuilt under the lock after one node's report (its pods Ready, then
   * not), each node running every DaemonSet's pod, Ready; the reports' own cost taken out.
   */
  @Test
  void statusAfterAChange() throws Exception {
    for (int daemonSets : new int[] {1, 10}) {
      try (LargeFleet f = new LargeFleet(dir.resolve("status" + daemonSets), 10_000, daemonSets)) {
        readsAfterReports(f, reportAllReady(f), "10,000 nodes, " + daemonSets + " DaemonSets");
      }
    }
  }

  /**
   * As {@link #statusAfterAChange} with one DaemonSet after a rolling update that moved every node
   * (maxUnavailable 100 %): a rollout's moved nodes stay moved until the next one.
   */
  @Test
  void statusAfterAChangeOnceEveryNodeMoved() throws Exception {
    try (LargeFleet f = new LargeFleet(dir.resolve("moved"), 10_000, 1)) {
      reportAllReady(f);
      var tree = io.dsfleet.common.manifest.Fixtures.baseTree();
      io.dsfleet.common.manifest.Fixtures.with(tree, "metadata.name", "agent-0");
      io.dsfleet.common.manifest.Fixtures.with(tree, "spec.template.spec.containers[0].image", "local/busybox:2");
      io.dsfleet.common.manifest.Fixtures.with(tree, "spec.updateStrategy", "{type: RollingUpdate, rollingUpdate: {maxUnavailable: 100%}}");
      f.fleet.apply(io.dsfleet.common.Json.canonical(tree), "test", false);
      f.fleet.rolloutPass();
      var desired = reportAllReady(f);
      f.fleet.rolloutPass();
      System.out.printf("moved: %d nodes, updated %d%n", f.fleet.daemonSets().get(0).rollout().moving().size(),
          f.fleet.daemonSets().get(0).status().updated());
      readsAfterReports(f, desired, "10,000 nodes moved by a rollout");
    }
  }

  /** Every node reports every DaemonSet's pod it is told to run, Ready; returns what each is told. */
  private static Map<String, List<PodAssignment>> reportAllReady(LargeFleet f) {
    Map<String, List<PodAssignment>> desired = new HashMap<>();
    f.fleet.nodes().forEach(n -> desired.put(n.name(), n.desired()));
    desired.keySet().forEach(node -> report(f, desired, node, true));
    return desired;
  }

  /**
   * Four rounds of 50 reports each followed by a read of the first DaemonSet's status, the cost of 50
   * reports alone taken out: what a read after a change costs ({@code what} names the fleet).
   */
  private static void readsAfterReports(LargeFleet f, Map<String, List<PodAssignment>> desired, String what) {
    for (int round = 0; round < 4; round++) {
      int n = 50;
      long t0 = System.nanoTime();
      int available = 0;
      for (int i = 0; i < n; i++) {
        report(f, desired, "node-" + i, round % 2 == 1);
        available = f.fleet.daemonSets().get(0).status().available();
      }
      long t1 = System.nanoTime();
      for (int i = 0; i < n; i++) {
        report(f, desired, "node-" + (n + i), round % 2 == 1);
      }
      long t2 = System.nanoTime();
      System.out.printf("%s (%d available): the status read after a report %.3f ms%n", what, available, ((t1 - t0) - (t2 - t1)) / 1e6 / n);
    }
  }

  /**
   * What a node's report costs the coordinator (its pods Ready, then not: each replans the node over
   * every DaemonSet and sends its desired set), 10,000 nodes, with 1 and 10 DaemonSets.
   */
  @Test
  void reports() throws Exception {
    for (int daemonSets : new int[] {1, 10}) {
      try (LargeFleet f = new LargeFleet(dir.resolve("reports" + daemonSets), 10_000, daemonSets)) {
        var desired = reportAllReady(f);
        List<Double> micros = new java.util.ArrayList<>();
        for (int round = 0; round < 16; round++) {
          int n = 2_000;
          long t0 = System.nanoTime();
          for (int i = 0; i < n; i++) {
            report(f, desired, "node-" + i, round % 2 == 1);
          }
          micros.add((System.nanoTime() - t0) / 1e3 / n);
        }
        List<Double> last = sortedSecondHalf(micros);
        System.out.printf("10,000 nodes, %d DaemonSets: a report %.1f us (median of the last 8 rounds of 2,000; min %.1f; all: %s)%n", daemonSets,
            (last.get(3) + last.get(4)) / 2, last.get(0), micros.stream().map(m -> String.format("%.0f", m)).toList());
      }
    }
  }

  /** What a rollout pass costs at 10,000 nodes with one DaemonSet rolled out on every node (nothing to move: the resync's pass). */
  @Test
  void passes() throws Exception {
    try (LargeFleet f = new LargeFleet(dir.resolve("passes"), 10_000, 1)) {
      reportAllReady(f);
      List<Double> millis = new java.util.ArrayList<>();
      for (int round = 0; round < 40; round++) {
        f.clock.advance(java.time.Duration.ofMillis(100)); // past the pacing's next pass (four times the last one's walk)
        f.fleet.pause("ops", "agent-0", false); // a resume: a pass is due, which finds nothing to move
        long t0 = System.nanoTime();
        f.fleet.rolloutPass();
        millis.add((System.nanoTime() - t0) / 1e6);
      }
      List<Double> last = sortedSecondHalf(millis);
      System.out.printf("10,000 nodes, 1 DaemonSet rolled out: a rollout pass %.1f ms (median of the last 20 of 40; min %.1f)%n",
          (last.get(9) + last.get(10)) / 2, last.get(0));
    }
  }

  /** The later half of the rounds (the code compiled), sorted: its median and its fastest are what is printed. */
  private static List<Double> sortedSecondHalf(List<Double> rounds) {
    List<Double> last = new java.util.ArrayList<>(rounds.subList(rounds.size() / 2, rounds.size()));
    java.util.Collections.sort(last);
    return last;
  }

  /** How long a coordinator takes to load a fleet of 10,000 nodes and one DaemonSet from its store (a restart's part of it), three times. */
  @Test
  void load() throws Exception {
    try (LargeFleet f = new LargeFleet(dir.resolve("load"), 10_000, 1)) {
      for (int i = 0; i < 3; i++) {
        long t0 = System.nanoTime();
        new io.dsfleet.coordinator.fleet.Fleet(f.store, f.clock, f.clock::nanos, io.dsfleet.coordinator.grpc.CoordinatorFixture.OPTIONS,
            new java.util.Random(1));
        System.out.printf("10,000 nodes and a DaemonSet loaded in %.0f ms%n", (System.nanoTime() - t0) / 1e6);
      }
    }
  }

  private static void report(LargeFleet f, Map<String, List<PodAssignment>> desired, String node, boolean ready) {
    var report = io.dsfleet.proto.v1.PodStatusReport.newBuilder().setFull(true);
    for (var p : desired.get(node)) {
      String[] ns = p.dsKey().split("/", 2);
      report.addPods(io.dsfleet.proto.v1.PodStatus.newBuilder().setNamespace(ns[0]).setDaemonSet(ns[1]).setPodName(p.podName())
          .setTemplateHash(p.hash()).setPhase("Running").setReady(ready).setReadySinceMillis(ready ? f.clock.millis() : 0)
          .setStartedAtMillis(f.clock.millis()));
    }
    f.fleet.reportPods(node, report.build());
  }

  private void measure(int daemonSets) throws Exception {
    try (LargeFleet f = new LargeFleet(dir.resolve("ds" + daemonSets), 10_000, daemonSets)) {
      for (int i = 0; i < 200; i++) {
        f.fleet.tick(); // compiled
      }
      for (int round = 0; round < 3; round++) {
        long passes0 = (long) CoordinatorMetrics.CONTROLLER_PASS.collect().getDataPoints().get(0).getCount();
        long t0 = System.nanoTime();
        int n = 100;
        for (int i = 0; i < n; i++) {
          f.fleet.tick();
        }
        long t1 = System.nanoTime();
        long passes = (long) CoordinatorMetrics.CONTROLLER_PASS.collect().getDataPoints().get(0).getCount() - passes0;
        System.out.printf("10,000 nodes, %d DaemonSets: a sweep %.2f ms on average over %d, %d rollout passes among them%n", daemonSets,
            (t1 - t0) / 1e6 / n, n, passes);
      }
    }
  }
}
