package io.dsfleet.coordinator.metrics;

import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * What one scrape of the fleet's series costs at 10,000 and 20,000 nodes (docs/benchmarks.md, "3.
 * Fleet scale"): run by hand, {@code -Ddsfleet.measure=true}; it prints, it asserts nothing.
 */
@EnabledIfSystemProperty(named = "dsfleet.measure", matches = "true")
class ScrapeCostMeasurement {
  @TempDir Path dir;

  @Test
  void tenThousand() throws Exception {
    measure(10_000);
  }

  @Test
  void twentyThousand() throws Exception {
    measure(20_000);
  }

  /** The exposition of a small fleet, written to the file {@code dsfleet.measure.dump} names: to compare two builds' output. */
  @Test
  void dump() throws Exception {
    try (LargeFleet f = new LargeFleet(dir, 250, 3)) {
      f.clock.advance(java.time.Duration.ofMillis(2500));
      PrometheusRegistry r = new PrometheusRegistry();
      CoordinatorMetrics.fleetSeries(r, () -> f.fleet, f.clock, f.clock::nanos);
      try (var out = java.nio.file.Files.newOutputStream(Path.of(System.getProperty("dsfleet.measure.dump", "/dev/null")))) {
        PrometheusTextFormatWriter.create().write(out, r.scrape());
      }
    }
  }

  /**
   * Four clients scrape /metrics in a loop (gzip, as Prometheus asks) for 10 s at 20,000 nodes while
   * a lease sweep runs every second: the process's CPU, the scrapes answered, and the longest wait
   * for the fleet's lock meanwhile.
   */
  @Test
  void aLoopOfScrapes() throws Exception {
    try (LargeFleet f = new LargeFleet(dir, 20_000, 3)) {
      PrometheusRegistry r = new PrometheusRegistry();
      CoordinatorMetrics.fleetSeries(r, () -> f.fleet, f.clock, System::nanoTime);
      var endpoint = io.dsfleet.common.metrics.MetricsEndpoint.start(java.net.InetSocketAddress.createUnresolved("127.0.0.1", 0), r,
          io.dsfleet.common.JdkHttpServers.threads("metrics"), CoordinatorMetrics.SHARED_FOR);
      try {
        var client = java.net.http.HttpClient.newHttpClient();
        var request = java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + endpoint.port() + "/metrics"))
            .header("Accept-Encoding", "gzip").build();
        client.send(request, java.net.http.HttpResponse.BodyHandlers.discarding()); // classes loaded
        AtomicBoolean running = new AtomicBoolean(true);
        AtomicLong scrapes = new AtomicLong();
        AtomicLong worstWait = new AtomicLong();
        java.util.List<Thread> threads = new java.util.ArrayList<>();
        for (int i = 0; i < 4; i++) {
          threads.add(new Thread(() -> {
            while (running.get()) {
              try {
                client.send(request, java.net.http.HttpResponse.BodyHandlers.discarding());
                scrapes.incrementAndGet();
              } catch (Exception e) {
                throw new IllegalStateException(e);
              }
            }
          }));
        }
        threads.add(new Thread(() -> { // a lease sweep a second, and what a report waits for the lock meanwhile
          long nextSweep = System.nanoTime();
          while (running.get()) {
            if (System.nanoTime() >= nextSweep) {
              f.clock.advance(java.time.Duration.ofSeconds(1));
              f.fleet.tick();
              nextSweep += 1_000_000_000L;
            }
            long t0 = System.nanoTime();
            f.fleet.batch(() -> {});
            worstWait.accumulateAndGet(System.nanoTime() - t0, Math::max);
            try {
              Thread.sleep(5);
            } catch (InterruptedException e) {
              return;
            }
          }
        }));
        var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        long cpu0 = os.getProcessCpuTime();
        long t0 = System.nanoTime();
        threads.forEach(Thread::start);
        Thread.sleep(10_000);
        running.set(false);
        for (Thread t : threads) {
          t.join();
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        System.out.printf("LOOP scrapes=%d in %.1fs processCpu=%.2f cores worstLockWait=%.1fms%n", scrapes.get(), seconds,
            (os.getProcessCpuTime() - cpu0) / 1e9 / seconds, worstWait.get() / 1e6);
      } finally {
        endpoint.close();
      }
    }
  }

  private void measure(int nodes) throws Exception {
    try (LargeFleet f = new LargeFleet(dir, nodes, 3)) {
      PrometheusRegistry r = new PrometheusRegistry();
      CoordinatorMetrics.fleetSeries(r, () -> f.fleet, f.clock, f.clock::nanos);
      var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
      for (int round = 0; round < 8; round++) {
        f.fleet.tick(); // a lease sweep: the views' version moves, as it does every second
        f.clock.advance(FleetSeries.REUSE); // and the last collection is too old to serve
        AtomicBoolean scraping = new AtomicBoolean(true);
        AtomicLong worstWait = new AtomicLong();
        Thread prober = new Thread(() -> { // what a report or an apply waits for the fleet's lock meanwhile
          while (scraping.get()) {
            long t0 = System.nanoTime();
            f.fleet.batch(() -> {});
            worstWait.accumulateAndGet(System.nanoTime() - t0, Math::max);
            Thread.onSpinWait();
          }
        });
        prober.start();
        long cpu0 = threads.getCurrentThreadCpuTime();
        long alloc0 = threads.getCurrentThreadAllocatedBytes();
        long t0 = System.nanoTime();
        var snapshots = r.scrape();
        long collected = System.nanoTime() - t0;
        long collectCpu = threads.getCurrentThreadCpuTime() - cpu0;
        long collectAlloc = threads.getCurrentThreadAllocatedBytes() - alloc0;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrometheusTextFormatWriter.create().write(out, snapshots);
        long wall = System.nanoTime() - t0;
        long cpu = threads.getCurrentThreadCpuTime() - cpu0;
        long alloc = threads.getCurrentThreadAllocatedBytes() - alloc0;
        scraping.set(false);
        prober.join();
        long series = snapshots.stream().mapToLong(s -> s.getDataPoints().size()).sum();
        f.fleet.tick();
        long b0 = System.nanoTime();
        f.fleet.daemonSets();
        long b1 = System.nanoTime();
        f.fleet.nodes();
        long b2 = System.nanoTime();
        long g0 = threads.getCurrentThreadCpuTime();
        ByteArrayOutputStream gz = new ByteArrayOutputStream();
        try (var z = new java.util.zip.GZIPOutputStream(gz)) {
          out.writeTo(z);
        }
        long gzipCpu = threads.getCurrentThreadCpuTime() - g0;
        System.out.printf("VIEW nodes=%d dsOnly=%.1fms withNodes=%.1fms collect=%.1fms collectCpu=%.1fms collectAlloc=%.1fMiB"
            + " gzipCpu=%.1fms gzipBytes=%d%n", nodes, (b1 - b0) / 1e6, (b2 - b1) / 1e6, collected / 1e6, collectCpu / 1e6,
            collectAlloc / 1048576.0, gzipCpu / 1e6, gz.size());
        System.out.printf("SCRAPE nodes=%d round=%d wall=%.1fms cpu=%.1fms alloc=%.1fMiB bytes=%d series=%d worstLockWait=%.1fms%n",
            nodes, round, wall / 1e6, cpu / 1e6, alloc / 1048576.0, out.size(), series, worstWait.get() / 1e6);
      }
    }
  }
}
