package io.dsfleet.bench;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Benchmark 4, agent footprint: one ds-agent process with the systemd unit's JVM flags on this
 * host's Docker daemon, against a local coordinator. Start to Ready (process start until the
 * coordinator has the node Ready), then RSS, CPU and Docker API calls idle (no pods) and with 10
 * pods (10 DaemonSets), each after a settle period, over a window. An agent with a class list
 * beside its jar has its class-data archive made first (timed apart, once per install). The
 * agent reaches Docker through a counting proxy ({@code io.dsfleet.agent.DockerCalls}, of the agent's tests). Several agent jars (e.g. an older build's) are measured side by
 * side in one run, each with a coordinator and a node name of its own, over the same windows.
 */
final class AgentBench {
  /**
   * @param callsIdle and {@code callsPods}: Docker API calls per minute, by kind
   * @param calls every Docker API call of the agent over the whole run, by kind
   */
  record Result(String jar, double archiveMs, double startToReadyMs, double idleRssMib, double idleCpu, Map<String, Double> callsIdle,
      double podsRssMib, double podsCpu, Map<String, Double> callsPods, int pods, Map<String, Long> calls) {}

  /** One agent under measurement: its own coordinator, Docker call counter and process. */
  private static final class Measured implements AutoCloseable {
    final Path jar;
    final LocalFleet fleet;
    final io.dsfleet.agent.DockerCalls counter;
    double archiveMs = Double.NaN;
    double startMs;
    long pid;

    Measured(Path jar, Path dir) throws Exception {
      this.jar = jar;
      this.fleet = new LocalFleet(dir);
      io.dsfleet.agent.DockerCalls c;
      try {
        fleet.startCoordinator();
        c = new io.dsfleet.agent.DockerCalls(dir.resolve("docker.sock"), "unix:///var/run/docker.sock");
      } catch (Exception | Error e) {
        fleet.close();
        throw e;
      }
      this.counter = c;
    }

    /** Makes the class-data archive (timed apart: what the first start after an install adds), then starts the agent until its node is Ready. */
    void start() throws Exception {
      long a0 = System.nanoTime();
      List<String> version = fleet.agentLauncher(jar);
      version.add("--version");
      Path dir = fleet.dir;
      fleet.agentArchive = dir.resolve("agent.jsa"); // its own: the making is timed
      Process made = Procs.spawn(version, dir.resolve("archive.log"), fleet.agentEnvironment());
      if (!made.waitFor(120, java.util.concurrent.TimeUnit.SECONDS)) {
        made.destroyForcibly();
        throw new IllegalStateException("the agent's launcher did not make its class-data archive in 120 s: " + dir.resolve("archive.log"));
      }
      archiveMs = java.nio.file.Files.exists(dir.resolve("agent.jsa")) ? (System.nanoTime() - a0) / 1e6 : Double.NaN;
      long t0 = System.nanoTime();
      fleet.startAgent(jar, "--docker-host", counter.dockerHost());
      LocalFleet.await("the node Ready", 120, fleet::nodeReady);
      startMs = (System.nanoTime() - t0) / 1e6;
      pid = fleet.agent.pid();
    }

    @Override
    public void close() throws Exception {
      try (counter) {
        fleet.close();
      }
    }
  }

  /** What one window saw of one agent. */
  private record Seen(double rssMib, double cpuPercent, String threads, Map<String, Double> calls) {}

  /**
   * One window over every agent at once: their CPU, busiest threads and Docker calls from its start
   * to its end, their RSS at its end. Side by side, so that what else the machine did meanwhile
   * weighs on every agent alike (measured one after the other, whichever agent came second used
   * 1.8-3.5 times the idle CPU of the first, whichever build it was: docs/benchmarks.md).
   */
  private static List<Seen> window(List<Measured> all, long windowMs) throws InterruptedException {
    List<Map<String, Long>> calls0 = new ArrayList<>();
    List<Map<String, Procs.ThreadCpu>> threads0 = new ArrayList<>();
    List<Long> cpu0 = new ArrayList<>();
    for (Measured m : all) {
      calls0.add(m.counter.counts());
      threads0.add(Procs.threadCpu(m.pid));
      cpu0.add(Procs.cpuMillis(m.pid));
    }
    long t0 = System.nanoTime();
    Thread.sleep(windowMs);
    double wall = (System.nanoTime() - t0) / 1e6;
    List<Seen> out = new ArrayList<>();
    for (int i = 0; i < all.size(); i++) {
      Measured m = all.get(i);
      double cpu = 100.0 * (Procs.cpuMillis(m.pid) - cpu0.get(i)) / wall;
      out.add(new Seen(Procs.rssMib(m.pid), cpu, Procs.busiestThreads(threads0.get(i), Procs.threadCpu(m.pid), 6),
          perMinute(calls0.get(i), m.counter.counts(), windowMs)));
    }
    return out;
  }

  /**
   * Measures the agents side by side: each is started alone (its archive made, then start to
   * Ready), then one idle window over all of them, then {@code pods} pods each, then one window
   * over all of them again.
   */
  static List<Result> run(List<Path> jars, long windowMs, int pods, Path work, PrintStream out) throws Exception {
    List<Measured> all = new ArrayList<>();
    boolean measured = false;
    try {
      for (Path jar : jars) {
        Measured m = new Measured(jar, work.resolve("agent-" + all.size())); // the same jar twice measures two agents
        all.add(m);
        m.start();
      }
      Thread.sleep(Math.min(5000, windowMs));
      List<Seen> idle = window(all, windowMs);
      for (int i = 0; i < all.size(); i++) {
        Seen s = idle.get(i);
        out.printf("agent %s: Ready %.1f s after start; idle RSS %.1f MiB, CPU %.2f %% (busiest threads: %s), Docker calls/min %s%n",
            all.get(i).jar, all.get(i).startMs / 1000, s.rssMib(), s.cpuPercent(), s.threads(), s.calls());
      }
      for (Measured m : all) {
        for (int i = 0; i < pods; i++) {
          m.fleet.apply(LocalFleet.daemonSet("bench-pod-" + i, "local/busybox:1", ""));
        }
      }
      for (Measured m : all) {
        LocalFleet.await(pods + " pods running", 300, () -> runningPods(m.fleet) >= pods);
      }
      Thread.sleep(Math.min(5000, windowMs));
      List<Seen> loaded = window(all, windowMs);
      List<Result> results = new ArrayList<>();
      for (int i = 0; i < all.size(); i++) {
        Measured m = all.get(i);
        Seen s = loaded.get(i);
        out.printf("agent %s: with %d pods RSS %.1f MiB, CPU %.2f %% (busiest threads: %s), Docker calls/min %s%n", m.jar, pods,
            s.rssMib(), s.cpuPercent(), s.threads(), s.calls());
        Seen d = idle.get(i);
        results.add(new Result(m.jar.toString(), m.archiveMs, m.startMs, d.rssMib(), d.cpuPercent(), d.calls(), s.rssMib(), s.cpuPercent(),
            s.calls(), pods, m.counter.counts()));
      }
      measured = true;
      return results;
    } finally {
      Exception first = null;
      for (Measured m : all) { // every agent's processes and counter, whatever one of them does
        try {
          m.close();
        } catch (Exception e) {
          if (first == null) {
            first = e;
          } else {
            first.addSuppressed(e);
          }
        }
      }
      if (first != null && measured) { // else the measurement's own failure goes up, not a close's
        throw first;
      }
    }
  }

  static Map<String, Double> perMinute(Map<String, Long> before, Map<String, Long> after, long windowMs) {
    Map<String, Double> out = new TreeMap<>();
    after.forEach((k, v) -> {
      long n = v - before.getOrDefault(k, 0L);
      if (n > 0) {
        out.put(k, n * 60_000.0 / windowMs);
      }
    });
    return out;
  }

  private static long runningPods(LocalFleet fleet) {
    return fleet.control().get(io.dsfleet.proto.v1.GetRequest.newBuilder().setKind(io.dsfleet.proto.v1.ObjectKind.POD)
        .setAllNamespaces(true).build()).getPodsList().stream()
        .filter(p -> !p.getPending() && p.getStatus().getPhase().equals("Running") && p.getStatus().getReady()).count();
  }

  static void print(List<Result> results, long windowMs, PrintStream out) {
    String[] headers = new String[results.size() + 2];
    headers[0] = "measure";
    for (int i = 0; i < results.size(); i++) {
      headers[i + 1] = results.get(i).jar();
    }
    headers[headers.length - 1] = "target";
    Table t = new Table("Agent footprint (unit JVM flags: " + String.join(" ", LocalFleet.AGENT_JVM) + "; CPU and Docker calls over "
        + windowMs / 1000 + " s)", headers);
    int pods = results.get(0).pods();
    row(t, results, "class-data archive made (first start only)", r -> Double.isNaN(r.archiveMs()) ? "none" : "%.1f s".formatted(r.archiveMs() / 1000), "-");
    row(t, results, "start to Ready", r -> "%.1f s".formatted(r.startToReadyMs() / 1000), "-");
    row(t, results, "RSS idle (no pods)", r -> "%.0f MiB".formatted(r.idleRssMib()), "<= 80 MiB");
    row(t, results, "CPU idle", r -> "%.2f %% of a core".formatted(r.idleCpu()), "<= 0.3 %");
    row(t, results, "Docker API calls/min idle", r -> calls(r.callsIdle()), "-");
    row(t, results, "RSS with " + pods + " pods", r -> "%.0f MiB".formatted(r.podsRssMib()), "<= 90 MiB");
    row(t, results, "CPU with " + pods + " pods", r -> "%.2f %% of a core".formatted(r.podsCpu()), "<= 0.6 %");
    row(t, results, "Docker API calls/min with " + pods + " pods", r -> calls(r.callsPods()), "-");
    t.print(out);
  }

  private static void row(Table t, List<Result> results, String measure, java.util.function.Function<Result, String> cell, String target) {
    Object[] cells = new Object[results.size() + 2];
    cells[0] = measure;
    for (int i = 0; i < results.size(); i++) {
      cells[i + 1] = cell.apply(results.get(i));
    }
    cells[cells.length - 1] = target;
    t.row(cells);
  }

  /** "1260 (inspect 1200, list 60)": the total, then the kinds by count. */
  static String calls(Map<String, Double> perMinute) {
    double total = perMinute.values().stream().mapToDouble(Double::doubleValue).sum();
    StringBuilder s = new StringBuilder("%.0f".formatted(total));
    List<Map.Entry<String, Double>> kinds = perMinute.entrySet().stream().sorted(Map.Entry.<String, Double>comparingByValue().reversed()).toList();
    if (!kinds.isEmpty()) {
      s.append(" (");
      for (int i = 0; i < kinds.size(); i++) {
        s.append(i == 0 ? "" : ", ").append(kinds.get(i).getKey()).append(' ').append("%.0f".formatted(kinds.get(i).getValue()));
      }
      s.append(')');
    }
    return s.toString();
  }
}
