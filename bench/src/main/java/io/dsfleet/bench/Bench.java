package io.dsfleet.bench;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** bench/run NAME: one benchmark, printing its figures as Markdown tables (method: docs/benchmarks.md). */
@Command(name = "bench", mixinStandardHelpOptions = true, description = "dsfleet benchmarks.",
    subcommands = {Bench.Apply.class, Bench.Rolling.class, Bench.Scale.class, Bench.Agent.class})
public final class Bench {
  static final PrintStream OUT = System.out;

  public static void main(String[] args) {
    System.exit(new CommandLine(new Bench()).execute(args));
  }

  static Path work() throws java.io.IOException {
    return Files.createTempDirectory("dsfleet-bench-");
  }

  static void machine() {
    OUT.printf("machine: %d cores, %.1f GiB memory, %s; %s%n", Runtime.getRuntime().availableProcessors(),
        ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean())
            .getTotalMemorySize() / (1024.0 * 1024 * 1024), System.getProperty("os.name") + " " + System.getProperty("os.version"),
        java.time.ZonedDateTime.now().withNano(0));
  }

  @Command(name = "apply", description = "Single host, apply to running: docker run vs Swarm global service vs dsfleet.")
  static final class Apply implements Callable<Integer> {
    @Option(names = "--runs", defaultValue = "10", description = "Runs of each (default ${DEFAULT-VALUE}).")
    int runs;

    @Override
    public Integer call() throws Exception {
      machine();
      ApplyBench.run(runs, work(), OUT);
      return 0;
    }
  }

  @Command(name = "rolling", description = "Rolling update on one host and on the test hosts: dsfleet vs Swarm service update.")
  static final class Rolling implements Callable<Integer> {
    @Option(names = "--runs", defaultValue = "5", description = "Runs of each (default ${DEFAULT-VALUE}).")
    int runs;

    @Option(names = "--hosts", defaultValue = "5", description = "Test hosts for the multi-host run; 0 skips it (default ${DEFAULT-VALUE}).")
    int hosts;

    @Override
    public Integer call() throws Exception {
      machine();
      List<RollingBench.Result> results = new ArrayList<>();
      results.add(RollingBench.oneHost(runs, work(), OUT));
      if (hosts > 1) {
        results.add(RollingBench.hosts(hosts, runs, OUT));
      }
      RollingBench.print(results, runs, OUT);
      return 0;
    }
  }

  @Command(name = "scale", description = "Fleet scale with simulated agents on one coordinator.")
  static final class Scale implements Callable<Integer> {
    @Option(names = "--nodes", split = ",", defaultValue = "1000,5000,10000,20000", description = "Fleet sizes (default ${DEFAULT-VALUE}).")
    List<Integer> nodes;

    @Option(names = "--replicas", split = ",", defaultValue = "1,3", description = "Coordinators: 1, and groups of 3 (or 5)"
        + " replicas, each size run for each (default ${DEFAULT-VALUE}).")
    List<Integer> replicas;

    @Option(names = "--per-jvm", defaultValue = "5000", description = "Simulated agents per JVM (default ${DEFAULT-VALUE}).")
    int perJvm;

    @Option(names = "--cpu-window", defaultValue = "30", description = "Seconds to average the heartbeat CPU over (default ${DEFAULT-VALUE}).")
    int cpuWindow;

    @Option(names = "--watch-after-restart", defaultValue = "60", description = "Seconds to keep watching for nodes going NotReady"
        + " once every agent is back after the restart (default ${DEFAULT-VALUE}).")
    int watchAfterRestart;

    @Option(names = "--tick", defaultValue = "1", description = "Seconds between each simulated agent's reconcile ticks"
        + " (default ${DEFAULT-VALUE}, the agent's loop; a tick with nothing changed is skipped and the containers are listed"
        + " again every 30 s, as in the agent; a desired set wakes a node at once either way).")
    double tick;

    @Option(names = "--profile", description = "Record the coordinator and the first simulator JVM with Java Flight Recorder"
        + " (profile settings) from their start to the coordinator's SIGKILL, into DIR/coordinator-NODES-REPLICAS.jfr and"
        + " DIR/simulator-NODES-REPLICAS.jfr (read them with `jfr print` or JDK Mission Control).")
    Path profile;

    @Override
    public Integer call() throws Exception {
      machine();
      List<ScaleBench.Result> results = new ArrayList<>();
      Path work = work();
      for (int n : nodes) {
        for (int r : replicas) {
          results.add(ScaleBench.run(n, r, perJvm, (long) (tick * 1000), cpuWindow * 1000L, watchAfterRestart * 1000L, work, profile, OUT));
        }
      }
      ScaleBench.print(results, OUT);
      return 0;
    }
  }

  @Command(name = "agent", description = "Agent footprint: RSS and CPU idle and with pods, start to Ready.")
  static final class Agent implements Callable<Integer> {
    @Option(names = "--window", defaultValue = "30", description = "Seconds to average CPU over (default ${DEFAULT-VALUE}).")
    int window;

    @Option(names = "--pods", defaultValue = "10", description = "Pods for the loaded measurement (default ${DEFAULT-VALUE}).")
    int pods;

    @Option(names = "--agent-jar", paramLabel = "JAR", description = "An agent jar to measure (default: this build's);"
        + " repeat to compare builds side by side, e.g. an older commit's.")
    List<Path> jars;

    @Override
    public Integer call() throws Exception {
      machine();
      List<Path> measured = (jars == null ? List.of(LocalFleet.builtAgentJar()) : jars).stream().map(Path::toAbsolutePath).toList();
      AgentBench.print(AgentBench.run(measured, window * 1000L, pods, work(), OUT), window * 1000L, OUT);
      return 0;
    }
  }
}
