package io.dsfleet.bench;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Benchmark 4, agent footprint: one ds-agent process with the systemd unit's JVM flags on this
 * host's Docker daemon, against a local coordinator. Start to Ready (process start until the
 * coordinator has the node Ready), then RSS, CPU and Docker API calls idle (no pods) and with 10
 * pods (10 DaemonSets), each after a settle period, over a window. An agent with a class list
 * beside its jar has its class-data archive made first (timed apart, once per install). The
 * agent reaches Docker through a {@link DockerCallCounter}. Several agent jars (e.g. an older build's) are measured one after the
 * other in one run, each with a coordinator and a node name of its own.
 */
final class AgentBench {
  /**
   * @param callsIdle and {@code callsPods}: Docker API calls per minute, by kind
   * @param calls every Docker API call of the agent over the whole run, by kind
   */
  record Result(String jar, double archiveMs, double startToReadyMs, double idleRssMib, double idleCpu, Map<String, Double> callsIdle,
      double podsRssMib, double podsCpu, Map<String, Double> callsPods, int pods, Map<String, Long> calls) {}

  static Result run(Path jar, long windowMs, int pods, Path work, PrintStream out) throws Exception {
    Path dir = work.resolve("agent-" + Math.abs(jar.toString().hashCode()));
    try (LocalFleet fleet = new LocalFleet(dir).startCoordinator();
        DockerCallCounter counter = new DockerCallCounter(dir.resolve("docker.sock"), Path.of("/var/run/docker.sock"))) {
      // the class-data archive the launcher makes on an agent's first start (once per jar and Java), made first and timed
      // apart: start to Ready is then what every later start takes
      long a0 = System.nanoTime();
      List<String> version = fleet.agentLauncher(jar);
      version.add("--version");
      Process made = Procs.spawn(version, dir.resolve("archive.log"), fleet.agentEnvironment());
      if (!made.waitFor(120, java.util.concurrent.TimeUnit.SECONDS)) {
        made.destroyForcibly();
        throw new IllegalStateException("the agent's launcher did not make its class-data archive in 120 s: " + dir.resolve("archive.log"));
      }
      double archiveMs = java.nio.file.Files.exists(dir.resolve("agent.jsa")) ? (System.nanoTime() - a0) / 1e6 : Double.NaN;
      long t0 = System.nanoTime();
      fleet.startAgent(jar, "--docker-host", "unix://" + counter.socket());
      LocalFleet.await("the node Ready", 120, fleet::nodeReady);
      double startMs = (System.nanoTime() - t0) / 1e6;
      long pid = fleet.agent.pid();
      Thread.sleep(Math.min(5000, windowMs));
      Map<String, Long> c0 = counter.counts();
      var threads0 = Procs.threadCpu(pid);
      double idleCpu = Procs.cpuPercent(pid, windowMs);
      String idleThreads = Procs.busiestThreads(threads0, Procs.threadCpu(pid), 6);
      Map<String, Double> callsIdle = perMinute(c0, counter.counts(), windowMs);
      double idleRss = Procs.rssMib(pid);
      out.printf("agent %s: Ready %.1f s after start; idle RSS %.0f MiB, CPU %.2f %% (busiest threads: %s), Docker calls/min %s%n", jar,
          startMs / 1000, idleRss, idleCpu, idleThreads, callsIdle);
      for (int i = 0; i < pods; i++) {
        fleet.apply(LocalFleet.daemonSet("bench-pod-" + i, "local/busybox:1", ""));
      }
      LocalFleet.await(pods + " pods running", 300, () -> runningPods(fleet) >= pods);
      Thread.sleep(Math.min(5000, windowMs));
      c0 = counter.counts();
      threads0 = Procs.threadCpu(pid);
      double podsCpu = Procs.cpuPercent(pid, windowMs);
      String podsThreads = Procs.busiestThreads(threads0, Procs.threadCpu(pid), 6);
      Map<String, Double> callsPods = perMinute(c0, counter.counts(), windowMs);
      double podsRss = Procs.rssMib(pid);
      out.printf("agent %s: with %d pods RSS %.0f MiB, CPU %.2f %% (busiest threads: %s), Docker calls/min %s%n", jar, pods, podsRss,
          podsCpu, podsThreads, callsPods);
      return new Result(jar.toString(), archiveMs, startMs, idleRss, idleCpu, callsIdle, podsRss, podsCpu, callsPods, pods, counter.counts());
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
