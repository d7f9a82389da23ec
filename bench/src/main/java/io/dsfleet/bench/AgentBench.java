package io.dsfleet.bench;

import java.io.PrintStream;
import java.nio.file.Path;

/**
 * Benchmark 4, agent footprint: one ds-agent process with the systemd unit's JVM flags on this
 * host's Docker daemon, against a local coordinator. Start to Ready (process start until the
 * coordinator has the node Ready), then RSS and CPU idle (no pods) and with 10 pods (10
 * DaemonSets), each after a settle period, CPU averaged over a window.
 */
final class AgentBench {
  record Result(double startToReadyMs, double idleRssMib, double idleCpu, double podsRssMib, double podsCpu, int pods) {}

  static Result run(long windowMs, int pods, Path work, PrintStream out) throws Exception {
    try (LocalFleet fleet = new LocalFleet(work.resolve("agent")).startCoordinator()) {
      long t0 = System.nanoTime();
      fleet.startAgent();
      LocalFleet.await("the node Ready", 120, fleet::nodeReady);
      double startMs = (System.nanoTime() - t0) / 1e6;
      long pid = fleet.agent.pid();
      Thread.sleep(Math.min(5000, windowMs));
      double idleCpu = Procs.cpuPercent(pid, windowMs);
      double idleRss = Procs.rssMib(pid);
      out.printf("agent: Ready %.1f s after start; idle RSS %.0f MiB, CPU %.2f %%%n", startMs / 1000, idleRss, idleCpu);
      for (int i = 0; i < pods; i++) {
        fleet.apply(LocalFleet.daemonSet("bench-pod-" + i, "local/busybox:1", ""));
      }
      LocalFleet.await(pods + " pods running", 300, () -> runningPods(fleet) >= pods);
      Thread.sleep(Math.min(5000, windowMs));
      double podsCpu = Procs.cpuPercent(pid, windowMs);
      double podsRss = Procs.rssMib(pid);
      out.printf("agent: with %d pods RSS %.0f MiB, CPU %.2f %%%n", pods, podsRss, podsCpu);
      return new Result(startMs, idleRss, idleCpu, podsRss, podsCpu, pods);
    }
  }

  private static long runningPods(LocalFleet fleet) {
    return fleet.control().get(io.dsfleet.proto.v1.GetRequest.newBuilder().setKind(io.dsfleet.proto.v1.ObjectKind.POD)
        .setAllNamespaces(true).build()).getPodsList().stream()
        .filter(p -> !p.getPending() && p.getStatus().getPhase().equals("Running") && p.getStatus().getReady()).count();
  }

  static void print(Result r, long windowMs, PrintStream out) {
    Table t = new Table("Agent footprint (unit JVM flags: " + String.join(" ", LocalFleet.AGENT_JVM) + "; CPU over "
        + windowMs / 1000 + " s)", "measure", "value", "target");
    t.row("start to Ready", "%.1f s".formatted(r.startToReadyMs() / 1000), "-");
    t.row("RSS idle (no pods)", "%.0f MiB".formatted(r.idleRssMib()), "<= 80 MiB");
    t.row("CPU idle", "%.2f %% of a core".formatted(r.idleCpu()), "<= 1 %");
    t.row("RSS with " + r.pods() + " pods", "%.0f MiB".formatted(r.podsRssMib()), "-");
    t.row("CPU with " + r.pods() + " pods", "%.2f %% of a core".formatted(r.podsCpu()), "-");
    t.print(out);
  }
}
