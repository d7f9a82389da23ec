package io.dsfleet.coordinator.metrics;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the lease sweep a second costs at 10,000 nodes when nothing changes, with 1 and with 10
 * DaemonSets (docs/benchmarks.md, "3. Fleet scale"): run by hand, {@code -Ddsfleet.measure=true};
 * it prints, it asserts nothing. The clock stands still: no lease runs out, no time moves a rollout.
 */
@EnabledIfSystemProperty(named = "dsfleet.measure", matches = "true")
class SweepCostMeasurement {
  @TempDir Path dir;

  @Test
  void oneDaemonSet() throws Exception {
    measure(1);
  }

  @Test
  void tenDaemonSets() throws Exception {
    measure(10);
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
