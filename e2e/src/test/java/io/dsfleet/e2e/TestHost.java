package io.dsfleet.e2e;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.model.Container;
import com.github.dockerjava.core.DefaultDockerClientConfig;
import com.github.dockerjava.core.DockerClientImpl;
import com.github.dockerjava.zerodep.ZerodepDockerHttpClient;
import io.dsfleet.common.testing.ReconcilePasses;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * One test host: a network namespace on the test bridge with its own address, its own dockerd
 * (own data root, exec root, socket; started with nsenter, not `ip netns exec`, which remounts
 * /sys and breaks dockerd) and its own ds-agent process running the built jar.
 */
final class TestHost {
  final int index;
  final String name;
  final String netns;
  final String ip;
  final Path dir;
  final Path socket;
  Process dockerd;
  Process agent;
  private final TestFleet fleet;

  TestHost(TestFleet fleet, int index) {
    this.fleet = fleet;
    this.index = index;
    this.name = "host" + index;
    this.netns = TestFleet.PREFIX + "h" + index;
    this.ip = TestFleet.SUBNET + (10 + index);
    this.dir = fleet.root.resolve(name);
    this.socket = dir.resolve("docker.sock");
  }

  String vethRoot() {
    return TestFleet.PREFIX + "h" + index + "r";
  }

  void create() throws IOException {
    Files.createDirectories(dir);
    Sh.ok("ip", "netns", "add", netns);
    Sh.ok("ip", "link", "add", vethRoot(), "type", "veth", "peer", "name", TestFleet.PREFIX + "h" + index + "n");
    Sh.ok("ip", "link", "set", vethRoot(), "master", TestFleet.BRIDGE, "up");
    Sh.ok("ip", "link", "set", TestFleet.PREFIX + "h" + index + "n", "netns", netns);
    Sh.ok("ip", "-n", netns, "addr", "add", ip + "/24", "dev", TestFleet.PREFIX + "h" + index + "n");
    Sh.ok("ip", "-n", netns, "link", "set", TestFleet.PREFIX + "h" + index + "n", "up");
    Sh.ok("ip", "-n", netns, "link", "set", "lo", "up");
    startDockerd();
    Sh.ok("docker", "-H", "unix://" + socket, "load", "-i", fleet.imagesTar.toString());
  }

  void startDockerd() throws IOException {
    dockerd = fleet.spawn("dockerd-" + name, dir.resolve("dockerd.log"), List.of("nsenter", "--net=/var/run/netns/" + netns,
        "dockerd", "--data-root", dir.resolve("data").toString(), "--exec-root", dir.resolve("exec").toString(),
        "-H", "unix://" + socket, "--pidfile", dir.resolve("dockerd.pid").toString(), "--bip", "172.31." + index + ".1/24",
        "--iptables=false"));
    TestFleet.await("dockerd on " + name, 60, () -> {
      try (DockerClient docker = docker()) {
        docker.pingCmd().exec();
        return true;
      }
    });
  }

  /** SIGTERM to dockerd and wait for it to exit (it stops its containers), then start it again. */
  void restartDockerd() throws IOException, InterruptedException {
    long t0 = System.nanoTime();
    dockerd.destroy();
    if (!dockerd.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)) { // dockerd gives its containers 10 s each
      throw new AssertionError("dockerd on " + name + " still running 60 s after SIGTERM");
    }
    // about 10 s: Docker's default stop timeout, which the pod sandbox's pause process (it ignores SIGTERM) waits out
    System.out.printf("e2e: dockerd on %s stopped after %.1f s%n", name, (System.nanoTime() - t0) / 1e9);
    startDockerd();
  }

  /** Whether the agent is started with the fleet's join token (without it, it has only the certificate in its state). */
  boolean withJoinToken = true;

  /** Where in agent.log the running agent's lines start (the file is appended to across restarts). */
  private long agentLogStart;

  void startAgent() throws IOException {
    Path log = dir.resolve("agent.log");
    agentLogStart = Files.exists(log) ? Files.size(log) : 0;
    agent = fleet.spawn("agent-" + name, log, agentCommand("run"));
  }

  /** What the running agent has logged since it started. */
  String agentLog() throws IOException {
    try (var in = Files.newInputStream(dir.resolve("agent.log"))) {
      in.skipNBytes(agentLogStart);
      return new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    }
  }

  /**
   * Waits until this host's agent has finished {@code n} more reconcile passes, the last with no pod
   * work in flight: whatever it would do about what it has now, it has done (the agent logs each
   * pass at debug level, which {@link #agentCommand} turns on for its reconciler).
   */
  void settle(int n) throws Exception {
    ReconcilePasses.settle(this::agentLog, n, Duration.ofSeconds(60));
  }

  /**
   * {@link #settle} on each of {@code hosts} at once, a thread each: an agent passes about once a
   * second, so settling three hosts one after the other took three times as long.
   */
  static void settle(List<TestHost> hosts, int n) throws Exception {
    var pool = java.util.concurrent.Executors.newFixedThreadPool(hosts.size());
    try {
      List<java.util.concurrent.Future<?>> settling = new ArrayList<>();
      for (TestHost h : hosts) {
        settling.add(pool.submit(() -> {
          h.settle(n);
          return null;
        }));
      }
      for (var f : settling) {
        try {
          f.get();
        } catch (java.util.concurrent.ExecutionException e) {
          throw e.getCause() instanceof Exception x ? x : e;
        }
      }
    } finally {
      pool.shutdownNow();
    }
  }

  List<String> agentCommand(String verb, String... extra) {
    List<String> cmd = new ArrayList<>(List.of("nsenter", "--net=/var/run/netns/" + netns, fleet.java()));
    cmd.addAll(fleet.agentJvmFlags()); // as the systemd unit starts it
    cmd.add(ReconcilePasses.DEBUG_FLAG); // the passes settle() counts
    // times in its log: when a session broke and came back (TestFleet.printSessionTroubles)
    cmd.addAll(List.of("-Dorg.slf4j.simpleLogger.showDateTime=true", "-Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS"));
    cmd.addAll(List.of("-jar", fleet.agentJar.toString(), verb));
    for (String c : fleet.coordinators) {
      cmd.addAll(List.of("--coordinator", c));
    }
    cmd.addAll(List.of("--node-name", name, "--state-dir", dir.resolve("state").toString(),
        "--docker-host", "unix://" + socket, "--config", dir.resolve("none.yaml").toString()));
    if (verb.equals("run")) { // leave takes none of run's own options
      cmd.addAll(List.of("--address", ip));
    }
    if (withJoinToken) {
      cmd.addAll(List.of("--join-token", fleet.joinToken()));
    }
    cmd.addAll(Arrays.asList(extra));
    return cmd;
  }

  void killAgent() throws InterruptedException {
    if (!agent.destroyForcibly().waitFor(30, java.util.concurrent.TimeUnit.SECONDS)) {
      throw new AssertionError("the agent of " + name + " still running 30 s after SIGKILL");
    }
  }

  /** Cuts the host off the network: its link on the bridge goes down. */
  void cut() {
    Sh.ok("ip", "link", "set", vethRoot(), "down");
  }

  void heal() {
    Sh.ok("ip", "link", "set", vethRoot(), "up");
  }

  /**
   * A Docker API client of this host's dockerd, to close after use: the tests ask often (every
   * 250 ms while they wait), and a `docker` CLI process per question was a fleet's load of its own.
   */
  DockerClient docker() {
    DefaultDockerClientConfig config = DefaultDockerClientConfig.createDefaultConfigBuilder().withDockerHost("unix://" + socket).build();
    return DockerClientImpl.getInstance(config, new ZerodepDockerHttpClient.Builder().dockerHost(config.getDockerHost())
        .connectionTimeout(Duration.ofSeconds(5)).responseTimeout(Duration.ofSeconds(30)).build());
  }

  /** `docker ps` of this host: running dsfleet containers by name, with their id and start time. */
  Map<String, String> dockerPs() {
    Map<String, String> byName = new TreeMap<>();
    try (DockerClient docker = docker()) {
      for (Container c : docker.listContainersCmd().withLabelFilter(List.of("io.dsfleet.managed=true")).exec()) {
        byName.put(c.getNames()[0].substring(1), c.getId().substring(0, 12) + "@" + docker.inspectContainerCmd(c.getId()).exec().getState().getStartedAt());
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return byName;
  }

  /** Every dsfleet container of this host, running or not (docker ps -a): name and state. */
  Map<String, String> dockerPsAll() {
    Map<String, String> byName = new TreeMap<>();
    try (DockerClient docker = docker()) {
      for (Container c : docker.listContainersCmd().withShowAll(true).withLabelFilter(List.of("io.dsfleet.managed=true")).exec()) {
        byName.put(c.getNames()[0].substring(1), c.getState());
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return byName;
  }

  String logTail(int lines) {
    StringBuilder b = new StringBuilder();
    for (String f : List.of("agent.log", "dockerd.log")) {
      Path p = dir.resolve(f);
      try {
        if (Files.exists(p)) {
          List<String> all = Files.readAllLines(p);
          b.append("---- ").append(name).append(' ').append(f).append(" (last ").append(lines).append(" lines)\n");
          all = all.stream().filter(l -> !ReconcilePasses.isPass(l)).toList(); // not the passes settle() counts
          all.subList(Math.max(0, all.size() - lines), all.size()).forEach(l -> b.append(l).append('\n'));
        }
      } catch (IOException e) {
        b.append("(cannot read ").append(p).append(")\n");
      }
    }
    return b.toString();
  }
}
