package io.dsfleet.bench;

import io.dsfleet.proto.v1.NodeView;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * Benchmark 3, fleet scale on one coordinator: the real coordinator process (the unit's JVM flags:
 * serial GC, 1 GiB heap, its store on disk, TLS) and simulated agents ({@link SimulatedAgents}: the
 * agent's session and reconciler code over real gRPC on loopback, in-memory runtime), a few
 * thousand per JVM. Measures first what a join alone costs the coordinator ({@link JoinCheck}, a
 * coordinator of its own), then the time for all to join, the coordinator's CPU and heap at steady
 * heartbeat, a new DaemonSet until every node runs it (latency per node, measured at the agents),
 * a rolling update (maxUnavailable 10 %, instant readiness) until converged, a second new
 * DaemonSet (the coordinator's code now compiled) until every node runs it, and a coordinator
 * SIGKILL and restart until every agent has reconnected, counting nodes marked NotReady.
 */
final class ScaleBench {
  /**
   * The agent's compiler, as its unit runs it (C1 only: -XX:TieredStopAtLevel, systemd/ds-agent.service),
   * for the simulated agents: with C2 as well, their compiler threads took 3 s of the two cores in a
   * first apply at 10,000 nodes (0.5 s with C1 only; docs/benchmarks.md).
   */
  static final List<String> AGENT_COMPILER = LocalFleet.AGENT_JVM.stream().filter(f -> f.startsWith("-XX:TieredStopAtLevel=")).toList();

  /**
   * @param apply the first DaemonSet applied to the fleet (the coordinator's apply code not yet compiled)
   * @param warmApply a second one, after the first and its rolling update
   */
  record Result(int nodes, int replicas, JoinCheck.Result joinsAlone, double joinMs, double joinCpuMsPerNode, double cpuPercent, double jitPercent,
      double withDsCpuPercent, double withDsPasses, double heapMib, double rssMib, Apply apply,
      Apply warmApply, double rollingMs, double rollingCpuMs, double reconnectMs, int maxNotReady, long watchedAfterMs, int maxNotReadyAfter,
      DashboardProbe.Figures dashboard) {}

  /**
   * @param replicas 1: one coordinator; 3 or 5: a group (the leader's CPU and heap are measured, and
   *     the restart is the leader SIGKILLed until every agent is on the new leader)
   * @param tickMillis between the simulated agents' reconcile ticks (the agent's loop: 1 s; on one
   *     machine the whole fleet's passes share the coordinator's cores, which real agents' do not)
   * @param watchAfterMs how long the fleet is still watched for nodes going NotReady once every agent is back after the restart
   */
  static Result run(int nodes, int replicas, int perJvm, long tickMillis, long cpuWindowMs, long watchAfterMs, Path work, Path profile,
      PrintStream out)
      throws Exception {
    // what a join costs the coordinator alone, first, with nothing else running (one coordinator only:
    // a group's leader would add its replication, which the figure of the joins below shows)
    JoinCheck.Result joinsAlone = replicas == 1 ? JoinCheck.run(work, nodes, out) : null;
    Path state = Path.of("/dev/shm", "dsfleet-bench-" + ProcessHandle.current().pid() + "-" + nodes);
    List<Process> sims = new ArrayList<>();
    ConcurrentLinkedQueue<String> lines = new ConcurrentLinkedQueue<>();
    // every simulated agent connects from 127.0.0.1: lift the per-address limit (a real fleet's
    // agents each have their own address) and allow the fleet the room a coordinator's unit has
    int cap = connectionCap(nodes);
    LocalFleet made = new LocalFleet(work.resolve("scale-" + nodes + "-" + replicas))
        .coordinatorConfig("maxConnections: %d%nmaxConnectionsPerAddress: %d%n".formatted(cap, cap));
    if (profile != null) {
      made.coordinatorJvm("-XX:StartFlightRecording=name=bench,settings=profile,maxsize=500m");
    }
    try (LocalFleet fleet = replicas == 1 ? made.startCoordinator() : made.startGroup(replicas)) {
      int jvms = (nodes + perJvm - 1) / perJvm;
      long joinCpu0 = Procs.cpuMillis(fleet.coordinator.pid());
      long t0 = System.nanoTime();
      for (int k = 0; k < jvms; k++) {
        int from = k * perJvm;
        int count = Math.min(perJvm, nodes - from);
        long heapMb = Math.max(256, count / 2L + 128);
        // a fixed heap and a high metaspace threshold: a full collection resizing the heap or
        // triggered by the classes an apply loads stopped all 5,000 simulated agents for ~3 s in the
        // middle of an apply (flight recordings, docs/benchmarks.md)
        List<String> cmd = Procs.jvm();
        cmd.addAll(List.of("-Xms" + heapMb + "m", "-Xmx" + heapMb + "m", "-XX:MetaspaceSize=256m", "-XX:+UseParallelGC"));
        cmd.addAll(AGENT_COMPILER);
        cmd.addAll(List.of("-Dorg.slf4j.simpleLogger.defaultLogLevel=error", "-cp", System.getProperty("java.class.path"),
            SimulatedAgents.class.getName(), String.join(",", fleet.addresses), fleet.joinToken(), "sim-", String.valueOf(from), String.valueOf(count),
            state.resolve("jvm" + k).toString(), String.valueOf(tickMillis)));
        if (profile != null && k == 0) {
          cmd.add(1, "-XX:StartFlightRecording=name=bench,settings=profile,maxsize=500m");
        }
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.appendTo(work.resolve("simulators.log").toFile())).start();
        sims.add(p);
        Thread reader = new Thread(() -> {
          try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream()))) {
            for (String l = r.readLine(); l != null; l = r.readLine()) {
              lines.add(l);
            }
          } catch (java.io.IOException ignored) {
            // the simulator was stopped
          }
        }, "sim-reader-" + k);
        reader.setDaemon(true);
        reader.start();
      }
      LocalFleet.await(nodes + " nodes Ready", 1800, 1000, () -> readyNodes(fleet) == nodes);
      double joinMs = (System.nanoTime() - t0) / 1e6;
      // the coordinator's own CPU over the joins (the simulators' handshakes and keys are theirs), per node
      double joinCpuPerNode = (double) (Procs.cpuMillis(fleet.coordinator.pid()) - joinCpu0) / nodes;
      out.printf("%d nodes: all joined in %.1f s, coordinator CPU %.1f ms per join (the heartbeats and desired sets of the nodes"
          + " already in included)%n", nodes, joinMs / 1000, joinCpuPerNode);

      Thread.sleep(Math.min(10_000, cpuWindowMs));
      long pid = fleet.coordinator.pid();
      var threads0 = Procs.threadCpu(pid);
      double cpu = Procs.cpuPercent(pid, cpuWindowMs);
      // still compiling after the joins: part of the window's CPU, not the heartbeats'
      double jitPercent = 100 * Procs.compilerSeconds(threads0, Procs.threadCpu(pid)) * 1000 / cpuWindowMs;
      double heap = Procs.heapAfterGcMib(pid);
      double rss = Procs.rssMib(pid);
      out.printf("%d nodes: steady heartbeat: coordinator CPU %.1f %% of a core (its JIT compiler threads %.1f %%), heap after GC %.0f MiB,"
          + " RSS %.0f MiB%n", nodes, cpu, jitPercent, heap, rss);

      Apply first = apply(fleet, sims, lines, "scale", nodes);
      out.printf("%d nodes: apply -> every node Running: %s%n", nodes, first);

      double rollGc0 = Procs.gcSeconds(pid);
      // the rollout controller's passes, from the coordinator's metrics (a single coordinator's: a group's leader serves them elsewhere)
      String passes = "dsfleet_controller_pass_duration_seconds";
      double[] passes0 = replicas == 1 ? fleet.coordinatorMetrics(passes + "_count", passes + "_sum") : new double[2];
      long rollCpu0 = Procs.cpuMillis(pid);
      long rollAt = System.currentTimeMillis(); // after the readings above (a metrics scrape at 10,000 nodes takes seconds)
      long r0 = System.nanoTime();
      fleet.apply(LocalFleet.daemonSet("scale", "sim/app:2", "  updateStrategy: {rollingUpdate: {maxUnavailable: 10%}}\n"));
      LocalFleet.await("the rolling update converged", 1800, POLL_MS, () -> fleet.converged("scale"));
      double rollingMs = (System.nanoTime() - r0) / 1e6;
      double rollingCpuMs = Procs.cpuMillis(pid) - rollCpu0;
      double rollingGcS = Procs.gcSeconds(pid) - rollGc0;
      out.printf("%d nodes: rolling update (maxUnavailable 10%%) converged in %.1f s (coordinator CPU %.1f s, stopped for garbage collection"
          + " %.1f s)%n", nodes, rollingMs / 1000, rollingCpuMs / 1000, rollingGcS);
      String passFigures = "";
      if (replicas == 1) {
        double[] passes1 = fleet.coordinatorMetrics(passes + "_count", passes + "_sum");
        double passCount = passes1[0] - passes0[0];
        double passSeconds = passes1[1] - passes0[1];
        passFigures = String.format("; %.0f rollout passes, %.0f ms each on average", passCount, passCount == 0 ? 0 : 1000 * passSeconds / passCount);
      }
      out.printf("%d nodes: rolling update, %s%s%n", nodes, waves(lines, rollAt, nodes / 10), passFigures);

      // the same again with the apply's and the rollout's code compiled (a coordinator that has run
      // for a while): how much of the first apply was the JIT's; removed again, so the restart below
      // finds one DaemonSet as before
      Apply warm = apply(fleet, sims, lines, "scale-warm", nodes);
      out.printf("%d nodes: a second DaemonSet, applied after the first and its rolling update: every node Running: %s%n", nodes, warm);
      fleet.control().delete(io.dsfleet.proto.v1.DeleteRequest.newBuilder().setCascade(true).setKind(io.dsfleet.proto.v1.ObjectKind.DAEMON_SET)
          .setNamespace("default").setName("scale-warm").build());
      LocalFleet.await("the second DaemonSet's pods gone", 600, 1000, () -> fleet.pods("scale-warm").isEmpty());

      // the heartbeats again with the DaemonSet rolled out on every node: what a fleet with work pays all day, its lease
      // sweeps and the rollout passes they ask for (counted from the coordinator's metrics, read outside the window)
      Thread.sleep(Math.min(5_000, cpuWindowMs));
      double[] quiet0 = replicas == 1 ? fleet.coordinatorMetrics(passes + "_count", passes + "_sum") : null;
      double withDsCpu = Procs.cpuPercent(pid, cpuWindowMs);
      double withDsPasses = replicas == 1 ? fleet.coordinatorMetrics(passes + "_count", passes + "_sum")[0] - quiet0[0] : Double.NaN;
      out.printf("%d nodes: steady heartbeat with the DaemonSet on every node: coordinator CPU %.1f %% of a core, %.0f rollout passes in"
          + " the %d s%n", nodes, withDsCpu, withDsPasses, cpuWindowMs / 1000);

      DashboardProbe.Figures dashboard = null;
      if (replicas == 1) {
        dashboard = DashboardProbe.measure(fleet, fleet.dir.resolve("coordinator/pki/ca.crt"), "default", "scale", 20);
        out.printf("%d nodes: dashboard, the DaemonSet's page: %.0f KB, server time p50 %.1f ms, max %.1f ms (round trip p50 %.1f ms);"
            + " its live fragment %.0f KB, server p50 %.1f ms%n", nodes, dashboard.pageBytes() / 1024.0, dashboard.pageServerMs().median(),
            dashboard.pageServerMs().max(), dashboard.pageTotalMs().median(), dashboard.fragmentBytes() / 1024.0,
            dashboard.fragmentServerMs().median());
      }

      if (profile != null) {
        Path jfr = profile.toAbsolutePath().resolve("coordinator-" + nodes + "-" + replicas + ".jfr");
        java.nio.file.Files.createDirectories(jfr.getParent());
        Procs.run(List.of("jcmd", String.valueOf(fleet.coordinator.pid()), "JFR.dump", "name=bench", "filename=" + jfr));
        Path simJfr = jfr.resolveSibling("simulator-" + nodes + "-" + replicas + ".jfr");
        Procs.run(List.of("jcmd", String.valueOf(sims.get(0).pid()), "JFR.dump", "name=bench", "filename=" + simJfr));
        out.printf("%d nodes: flight recordings (start to here) of the coordinator in %s, of the first simulator JVM in %s%n", nodes, jfr,
            simJfr);
      }
      fleet.coordinator.destroyForcibly().waitFor();
      long killedAt = System.currentTimeMillis();
      long k0 = System.nanoTime();
      long simsCpuKilled = simulatorsCpuMillis(sims);
      RestartCpu slices = replicas == 1 ? RestartCpu.start(sims, fleet) : null;
      if (replicas == 1) {
        fleet.startCoordinator();
      } else {
        awaitNewLeader(fleet);
      }
      double servingMs = (System.nanoTime() - k0) / 1e6;
      // where the restart's CPU goes, the coordinator's (a single one's, from its start) and the simulators' (their reconnects):
      // what the two cores did until the bench's admin call was answered, and after it until every agent was back
      long simsCpuServing = simulatorsCpuMillis(sims);
      long coordinatorCpuServing = replicas == 1 ? Procs.cpuMillis(fleet.coordinator.pid()) : 0;
      int[] maxNotReady = {0};
      // how many were back at each poll (seconds from the SIGKILL): where the restart's time goes
      StringBuilder timeline = new StringBuilder();
      StringBuilder connections = new StringBuilder();
      long[] nextMark = {10_000};
      LocalFleet.await("every agent reconnected", 600, 1000, () -> {
        List<NodeView> all = fleet.nodes();
        int notReady = (int) all.stream().filter(n -> !n.getReady()).count();
        maxNotReady[0] = Math.max(maxNotReady[0], notReady);
        long back = all.stream().filter(n -> n.getLastHeartbeatMillis() > killedAt).count();
        long sinceKill = (System.nanoTime() - k0) / 1_000_000;
        if (sinceKill >= nextMark[0] || back == nodes) {
          timeline.append(String.format(" %.0fs:%d", sinceKill / 1000.0, back));
          if (replicas == 1) { // the coordinator's connections then: sessions, handshakes under way, and closes not yet read
            connections.append(String.format(" %.0fs: %s;", sinceKill / 1000.0, Procs.serverConnections(
                io.dsfleet.common.metrics.MetricsEndpoint.parse("the coordinator's address", fleet.addr).getPort())));
          }
          nextMark[0] = (sinceKill / 10_000 + 1) * 10_000;
        }
        return all.size() == nodes && back == nodes;
      });
      double reconnectMs = (System.nanoTime() - k0) / 1e6;
      String sliced = slices == null ? "" : slices.stop();
      long simsCpuBack = simulatorsCpuMillis(sims);
      long coordinatorCpuBack = replicas == 1 ? Procs.cpuMillis(fleet.coordinator.pid()) : 0;
      out.printf("%d nodes: %s: every agent back in %.1f s, nodes NotReady at any poll: %d%n", nodes,
          replicas == 1 ? "coordinator SIGKILLed and restarted" : "the leader of " + replicas + " replicas SIGKILLed", reconnectMs / 1000,
          maxNotReady[0]);
      // a fleet back is not yet a fleet that stays: keep watching (a restart can collapse later,
      // when the reconnect storm is over and the transport settles)
      int maxNotReadyAfter = 0;
      for (long until = System.nanoTime() + watchAfterMs * 1_000_000; System.nanoTime() - until < 0; Thread.sleep(1000)) {
        maxNotReadyAfter = Math.max(maxNotReadyAfter, nodes - readyNodes(fleet));
      }
      out.printf("%d nodes: in the %d s after every agent was back, nodes NotReady (or gone) at any poll: %d%n", nodes, watchAfterMs / 1000,
          maxNotReadyAfter);
      out.printf("%d nodes: restart timeline: %s %.1f s after the SIGKILL%s; nodes back (seconds after it: nodes):%s%n", nodes,
          replicas == 1 ? "the bench's admin call answered" : "a new leader", servingMs / 1000,
          replicas == 1 ? " (the coordinator's log: serving " + servingAfterStart(fleet.dir.resolve("coordinator.log")) + " after its JVM started)" : "",
          timeline);
      if (replicas == 1) {
        out.printf("%d nodes: restart CPU: until the admin call was answered (%.1f s), coordinator %.1f s, simulators %.1f s; then until every"
            + " agent was back (%.1f s more), coordinator %.1f s, simulators %.1f s%n", nodes, servingMs / 1000, coordinatorCpuServing / 1000.0,
            (simsCpuServing - simsCpuKilled) / 1000.0, (reconnectMs - servingMs) / 1000, (coordinatorCpuBack - coordinatorCpuServing) / 1000.0,
            (simsCpuBack - simsCpuServing) / 1000.0);
        out.printf("%d nodes: restart CPU every 5 s from the SIGKILL, %% of a core (coordinator / simulators):%s%n", nodes, sliced);
        // tries that cost the restarted coordinator no handshake: refused at its connection cap, or closed at their first read
        // with their agent gone (docs/benchmarks.md, section 3: the cap filling with abandoned tries tipped slow restarts over)
        String unserved = "dsfleet_grpc_connections_closed_unserved_total{reason=\"";
        double[] closed = fleet.coordinatorMetrics(unserved + "refused\"}", unserved + "abandoned\"}", "dsfleet_desired_sets_sent_total",
            "dsfleet_desired_sets_held_total");
        out.printf("%d nodes: restart connections closed unserved: %.0f refused at the cap, %.0f with their agent gone before the first read%n",
            nodes, closed[0], closed[1]);
        // the returning agents that named the set they held: none sent them (docs/benchmarks.md, section 3)
        out.printf("%d nodes: restart, desired sets: %.0f sent, %.0f sessions opened holding the set they would have been sent%n",
            nodes, closed[2], closed[3]);
        out.printf("%d nodes: restart, the coordinator's port's connections by TCP state (seconds after the SIGKILL):%s%n", nodes, connections);
      }
      return new Result(nodes, replicas, joinsAlone, joinMs, joinCpuPerNode, cpu, jitPercent, withDsCpu, withDsPasses, heap, rss, first, warm, rollingMs, rollingCpuMs, reconnectMs,
          maxNotReady[0], watchAfterMs, maxNotReadyAfter, dashboard);
    } finally {
      for (Process p : sims) {
        p.destroyForcibly().waitFor();
      }
      Procs.run(List.of("rm", "-rf", state.toString()));
    }
  }

  /**
   * A new DaemonSet until every node runs it: per node from the request to the agent's first
   * Running and Ready report ({@code latency}) and to its desired set's arrival ({@code received});
   * the apply call's own time; until the coordinator counts all available; the CPU, garbage
   * collection pauses and JIT compiler threads' CPU of the coordinator and of the simulators meanwhile.
   */
  record Apply(Stats latency, Stats received, double callMs, double allMs, double cpuMs, double simsCpuMs, double gcS, double simsGcS,
      double jitS, double simsJitS) {
    @Override
    public String toString() {
      return String.format("p50 %.0f ms, p99 %.0f ms, max %.0f ms (the apply call took %.0f ms; desired set at the agents p50 %.0f ms,"
          + " p99 %.0f ms; coordinator saw all in %.0f ms, using %.0f ms of CPU; the simulators %.0f ms; stopped for garbage collection:"
          + " coordinator %.1f s, simulators %.1f s; JIT compiler threads' CPU: coordinator %.1f s, simulators %.1f s)", latency.median(),
          latency.percentile(99), latency.max(), callMs, received.median(), received.percentile(99), allMs, cpuMs, simsCpuMs, gcS, simsGcS,
          jitS, simsJitS);
    }
  }

  private static Apply apply(LocalFleet fleet, List<Process> sims, ConcurrentLinkedQueue<String> lines, String name, int nodes) {
    long pid = fleet.coordinator.pid();
    double gc0 = Procs.gcSeconds(pid);
    var threads0 = Procs.threadCpu(pid);
    double simsGc0 = sims.stream().mapToDouble(p -> Procs.gcSeconds(p.pid())).sum();
    List<Map<String, Procs.ThreadCpu>> simsThreads0 = sims.stream().map(p -> Procs.threadCpu(p.pid())).toList();
    long cpu0 = Procs.cpuMillis(pid);
    long simsCpu0 = simulatorsCpuMillis(sims);
    long applyAt = System.currentTimeMillis(); // after the readings above (jstat starts a JVM): the figures run from the request
    long a0 = System.nanoTime();
    fleet.apply(LocalFleet.daemonSet(name, "sim/app:1", ""));
    double callMs = (System.nanoTime() - a0) / 1e6; // stored, every node planned, every set queued to its session
    LocalFleet.await("every node running " + name, 600, POLL_MS, () -> fleet.daemonSet(name).getStatus().getAvailable() == nodes);
    double allMs = (System.nanoTime() - a0) / 1e6;
    double cpuMs = Procs.cpuMillis(pid) - cpu0;
    double simsCpuMs = simulatorsCpuMillis(sims) - simsCpu0;
    double gcS = Procs.gcSeconds(pid) - gc0;
    double jitS = Procs.compilerSeconds(threads0, Procs.threadCpu(pid));
    double simsGcS = sims.stream().mapToDouble(p -> Procs.gcSeconds(p.pid())).sum() - simsGc0;
    double simsJitS = 0;
    for (int i = 0; i < sims.size(); i++) {
      simsJitS += Procs.compilerSeconds(simsThreads0.get(i), Procs.threadCpu(sims.get(i).pid()));
    }
    LocalFleet.await("every agent's report of " + name, 60, POLL_MS,
        () -> lines.stream().filter(l -> l.startsWith("RUNNING " + name + " ")).count() >= nodes);
    return new Apply(since(lines, "RUNNING " + name + " ", applyAt), since(lines, "SEEN " + name + " ", applyAt), callMs, allMs, cpuMs,
        simsCpuMs, gcS, simsGcS, jitS, simsJitS);
  }

  /**
   * The restart's CPU in slices of 5 s from the SIGKILL, sampled every second on a thread of its
   * own: the coordinator's (once its new JVM runs) and the simulators' (their agents reconnecting).
   */
  private static final class RestartCpu {
    private final StringBuilder slices = new StringBuilder();
    private final java.util.concurrent.ScheduledExecutorService timer =
        java.util.concurrent.Executors.newSingleThreadScheduledExecutor(io.dsfleet.common.DaemonThreads.named("restart-cpu"));
    private long sliceStart = System.nanoTime();
    private long sims0;
    private long coordinator0;
    private long coordinatorPid;
    private int slice;

    static RestartCpu start(List<Process> sims, LocalFleet fleet) {
      RestartCpu r = new RestartCpu();
      r.sims0 = simulatorsCpuMillis(sims);
      r.timer.scheduleAtFixedRate(() -> r.sample(sims, fleet), 1, 1, java.util.concurrent.TimeUnit.SECONDS);
      return r;
    }

    private synchronized void sample(List<Process> sims, LocalFleet fleet) {
      long now = System.nanoTime();
      if (now - sliceStart < 4_900_000_000L) {
        return;
      }
      Process c = fleet.coordinator;
      long coordinatorCpu = 0;
      if (c != null && c.isAlive()) {
        try {
          coordinatorCpu = Procs.cpuMillis(c.pid());
        } catch (java.io.UncheckedIOException gone) {
          c = null; // ended between the check and the read
        }
      }
      long pid = c == null ? -1 : c.pid();
      long coordinatorSlice = pid == coordinatorPid ? coordinatorCpu - coordinator0 : coordinatorCpu; // a new JVM counts from its start
      long simsCpu = simulatorsCpuMillis(sims);
      double wallMs = (now - sliceStart) / 1e6;
      slices.append(String.format(" %d-%ds: %.0f/%.0f", slice * 5, slice * 5 + 5, 100 * coordinatorSlice / wallMs, 100 * (simsCpu - sims0) / wallMs));
      slice++;
      sliceStart = now;
      sims0 = simsCpu;
      coordinator0 = coordinatorCpu;
      coordinatorPid = pid;
    }

    synchronized String stop() {
      timer.shutdownNow();
      return slices.toString();
    }
  }

  /** The simulator JVMs' CPU so far, together. */
  private static long simulatorsCpuMillis(List<Process> sims) {
    return sims.stream().mapToLong(p -> Procs.cpuMillis(p.pid())).sum();
  }

  private static final java.util.regex.Pattern SERVING = java.util.regex.Pattern.compile("ds-coordinator serving .*; (\\d+) ms after the JVM started");

  /** From the coordinator's last "ds-coordinator serving" log line: how long its start took, or "unknown". */
  static String servingAfterStart(java.nio.file.Path log) {
    try {
      List<String> lines = java.nio.file.Files.readAllLines(log);
      for (int i = lines.size() - 1; i >= 0; i--) {
        var m = SERVING.matcher(lines.get(i));
        if (m.find()) {
          return String.format("%.1f s", Long.parseLong(m.group(1)) / 1000.0);
        }
      }
    } catch (java.io.IOException | java.io.UncheckedIOException e) {
      return "unknown (" + e.getMessage() + ")";
    }
    return "unknown";
  }

  /**
   * Where a rolling update's time goes, from the simulators' lines after {@code from}: the nodes in
   * the order the new revision reached them, cut into waves of {@code wave}; for each wave, when its
   * first node got the new revision and when its last one ran it Ready (seconds from the apply). The
   * gap from one wave's last Ready to the next wave's first is the coordinator's; inside a wave, the
   * agents' and the sessions'.
   */
  private static String waves(ConcurrentLinkedQueue<String> lines, long from, int wave) {
    Map<String, Long> seen = new HashMap<>();
    Map<String, Long> running = new HashMap<>();
    for (String l : lines) {
      String[] f = l.split(" ");
      if (f.length == 5 && f[1].equals("scale") && Long.parseLong(f[4]) >= from) {
        Map<String, Long> times = f[0].equals("SEEN") ? seen : running; // the simulators print SEEN and RUNNING lines only
        times.merge(f[3], Long.parseLong(f[4]), Math::min);
      }
    }
    List<String> order = new ArrayList<>(seen.keySet());
    order.sort(java.util.Comparator.comparing(seen::get));
    StringBuilder b = new StringBuilder("waves of " + wave + " (new revision at the first node -> last node Ready, s):");
    for (int i = 0; i < order.size(); i += Math.max(1, wave)) {
      List<String> w = order.subList(i, Math.min(order.size(), i + Math.max(1, wave)));
      long last = w.stream().mapToLong(n -> running.getOrDefault(n, Long.MAX_VALUE)).max().orElse(0);
      b.append(String.format(" %.1f->%s", (seen.get(w.get(0)) - from) / 1000.0,
          last == Long.MAX_VALUE ? "?" : String.format("%.1f", (last - from) / 1000.0)));
    }
    return b.toString();
  }

  /** Milliseconds from {@code from} to the times of the simulators' lines with this prefix. */
  private static Stats since(ConcurrentLinkedQueue<String> lines, String prefix, long from) {
    Stats s = new Stats();
    lines.stream().filter(l -> l.startsWith(prefix)).forEach(l -> s.add(Long.parseLong(l.split(" ")[4]) - from));
    return s;
  }

  /** The leader is gone: points the bench at whichever other replica serves first. */
  private static void awaitNewLeader(LocalFleet fleet) {
    List<String> others = fleet.addresses.subList(1, fleet.addresses.size());
    LocalFleet.await("a new leader", 60, 100, () -> {
      for (String a : others) {
        fleet.retarget(a);
        try {
          fleet.control().withDeadlineAfter(1, java.util.concurrent.TimeUnit.SECONDS)
              .version(io.dsfleet.proto.v1.VersionRequest.getDefaultInstance());
          return true;
        } catch (RuntimeException e) {
          // a follower, or still electing
        }
      }
      return false;
    });
  }

  /** How often the bench asks the coordinator: every poll walks the fleet, so it is kept rare (the figures' resolution). */
  static final long POLL_MS = 250;

  private static int readyNodes(LocalFleet fleet) {
    return (int) fleet.nodes().stream().filter(NodeView::getReady).count();
  }

  static void print(List<Result> results, PrintStream out) {
    Table t = new Table("Fleet scale (simulated agents over real gRPC and TLS on loopback; with replicas, the leader's"
        + " CPU and heap, and the restart is the leader SIGKILLed)",
        "nodes", "coordinators", "all joined", "coordinator CPU per join (of the joins alone)", "heartbeat CPU, % of a core (JIT compiler threads); with the DaemonSet rolled out (rollout passes in the window)", "heap after GC", "RSS", "apply -> Running p50 / p99 / max",
        "coordinator CPU for the apply (its JIT compiler threads)", "a second apply, compiled: p50 / p99 / max (coordinator CPU)", "rolling update, maxUnavailable 10 % (coordinator CPU)", "restart / leader loss: all back",
        "NotReady during restart / in the time watched after", "dashboard DaemonSet page: size, server time p50 / max");
    for (Result r : results) {
      t.row(r.nodes(), r.replicas() == 1 ? "1" : r.replicas() + " replicas", "%.1f s".formatted(r.joinMs() / 1000), "%.1f ms (%s)".formatted(r.joinCpuMsPerNode(), r.joinsAlone() == null ? "-" : "%.1f ms, first %d %.1f ms, warm %.1f ms".formatted(r.joinsAlone().cpuMsPerJoin(),
                Math.min(JoinCheck.FIRST, r.joinsAlone().joins()), r.joinsAlone().firstCpuMsPerJoin(), r.joinsAlone().warmCpuMsPerJoin())), "%.1f %% (%.1f %%); %.1f %% (%s)".formatted(r.cpuPercent(), r.jitPercent(), r.withDsCpuPercent(),
              Double.isNaN(r.withDsPasses()) ? "-" : "%.0f".formatted(r.withDsPasses())), "%.0f MiB".formatted(r.heapMib()),
          "%.0f MiB".formatted(r.rssMib()),
          "%.0f / %.0f / %.0f ms".formatted(r.apply().latency().median(), r.apply().latency().percentile(99), r.apply().latency().max()),
          "%.1f s (%.1f s)".formatted(r.apply().cpuMs() / 1000, r.apply().jitS()),
          "%.0f / %.0f / %.0f ms (%.1f s)".formatted(r.warmApply().latency().median(), r.warmApply().latency().percentile(99),
              r.warmApply().latency().max(), r.warmApply().cpuMs() / 1000), "%.1f s (%.1f s)".formatted(r.rollingMs() / 1000, r.rollingCpuMs() / 1000),
          "%.1f s".formatted(r.reconnectMs() / 1000), "%d / %d (%d s)".formatted(r.maxNotReady(), r.maxNotReadyAfter(), r.watchedAfterMs() / 1000),
          r.dashboard() == null ? "-" : "%.0f KB, %.1f / %.1f ms".formatted(
              r.dashboard().pageBytes() / 1024.0, r.dashboard().pageServerMs().median(), r.dashboard().pageServerMs().max()));
    }
    t.print(out);
    out.println();
    out.println("Targets: apply -> every agent running p99 <= 3 s at 10,000 nodes and <= 6 s at 20,000; heartbeat CPU <= 10 % of a core"
        + " at 10,000; coordinator CPU per join <= 10 ms; restart: all back <= 60 s at 10,000, 0 NotReady; rolling update (10 %) <= 15 s"
        + " at 10,000; heap after GC <= 512 MiB at 20,000; the dashboard's DaemonSet page at 1,000 nodes < 300 ms server time and"
        + " < 200 KB.");
  }

  /**
   * The coordinator's connection cap in the bench: twice the fleet, as near as this machine allows.
   * A coordinator under systemd caps at 100,000 (half its open-file limit, 524,288 by systemd's
   * default, at most 100,000: docs/coordinator.md), ten times a 10,000-node fleet; this machine's
   * hard limit of 20,000 open files (no CAP_SYS_RESOURCE to raise it) leaves 18,000 with room for
   * the store and logs. Until 2026-12-07 the cap was the fleet plus 100, and restarts that tipped
   * over did so with that cap full (docs/benchmarks.md, section 3). Never below the fleet plus 100.
   */
  static int connectionCap(int nodes) {
    return Math.max(nodes + 100, Math.min(2 * nodes, 18_000));
  }
}
