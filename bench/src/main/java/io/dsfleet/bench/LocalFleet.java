package io.dsfleet.bench;

import io.dsfleet.common.testing.FreePorts;
import io.dsfleet.common.tls.Pki;
import io.dsfleet.common.tls.Tls;
import io.dsfleet.proto.v1.ApplyRequest;
import io.dsfleet.proto.v1.ControlServiceGrpc;
import io.dsfleet.proto.v1.DaemonSetView;
import io.dsfleet.proto.v1.GetRequest;
import io.dsfleet.proto.v1.NodeView;
import io.dsfleet.proto.v1.ObjectKind;
import io.dsfleet.proto.v1.PodView;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * A coordinator and (optionally) one agent for this host's Docker daemon, as processes of the
 * built jars with the JVM flags of the systemd units, over TLS as in production; the bench talks
 * to the coordinator over the control API with the admin credential (no dsctl JVM start in the
 * timings).
 */
final class LocalFleet implements AutoCloseable {
  static final List<String> AGENT_JVM = unitJvmFlags("ds-agent.service", "DS_AGENT_JAVA_OPTS");
  static final List<String> COORDINATOR_JVM = unitJvmFlags("ds-coordinator.service", "DS_COORDINATOR_JAVA_OPTS");

  static List<String> unitJvmFlags(String unit, String variable) {
    return io.dsfleet.e2e.BenchHosts.unitJvmFlags(Path.of(System.getProperty("dsfleet.jars", ".")).toAbsolutePath(), unit, variable);
  }

  final Path dir;
  final Path repo;
  /**
   * The agent's class-data archive, made by its launcher on the first start that finds none fitting
   * its jar and Java: by default one for every fleet of this build (target/agent-cds, the e2e
   * fleets' too; each costs 3-6 s of CPU to make); the agent benchmark gives each fleet its own, to
   * time its making.
   */
  Path agentArchive;
  /** The coordinator's address; a group's leader's. */
  String addr;
  /** Every replica's coordinator address, the leader's first: what agents are given. */
  final List<String> addresses = new ArrayList<>();
  final String node;
  /** Where this fleet's coordinator and agent serve their metrics: ports of their own, never the defaults another fleet holds. */
  final int coordinatorMetricsPort = FreePorts.pick();
  final int agentMetricsPort = FreePorts.pick();
  final int dashboardPort = FreePorts.pick();
  private Path adminPem;
  /** Volatile: the bench's restart samples it from a thread of its own while a new one starts. */
  volatile Process coordinator;
  Process agent;
  private ManagedChannel channel;

  /** The coordinators' config file: none (their defaults) unless {@link #coordinatorConfig(String)} wrote one. */
  private Path coordinatorConfig;

  /** JVM flags for this fleet's coordinators on top of their unit's. */
  private final List<String> coordinatorJvm = new ArrayList<>(COORDINATOR_JVM);

  LocalFleet coordinatorJvm(String flag) {
    coordinatorJvm.add(flag);
    return this;
  }

  /** Settings for this fleet's coordinators, as their config file (YAML). */
  LocalFleet coordinatorConfig(String yaml) {
    try {
      coordinatorConfig = dir.resolve("coordinator.yaml");
      Files.writeString(coordinatorConfig, yaml);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    return this;
  }

  LocalFleet(Path dir) {
    this.dir = dir;
    this.repo = Path.of(System.getProperty("dsfleet.jars", ".")).toAbsolutePath();
    this.addr = "127.0.0.1:" + FreePorts.pick();
    this.addresses.add(addr);
    // one agent per fleet on this host's daemon: each its own node name (the apply bench runs two fleets)
    this.node = "bench-" + ProcessHandle.current().pid() + "-" + dir.getFileName();
    this.agentArchive = repo.resolve("target/agent-cds/ds-agent.jsa");
    this.adminPem = dir.resolve("coordinator/pki/admin.pem");
    this.coordinatorConfig = dir.resolve("none.yaml");
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A fleet someone else started (the multi-host harness): only its control API. */
  LocalFleet(Path dir, String addr, Path adminPem) {
    this.dir = dir;
    this.repo = Path.of(System.getProperty("dsfleet.jars", ".")).toAbsolutePath();
    this.addr = addr;
    this.addresses.add(addr);
    this.node = "";
    this.adminPem = adminPem;
  }

  Path coordinatorJar() {
    return repo.resolve("coordinator/target/ds-coordinator.jar");
  }

  Path agentJar() {
    return repo.resolve("agent/target/ds-agent.jar");
  }

  /** This build's agent jar. */
  static Path builtAgentJar() {
    return Path.of(System.getProperty("dsfleet.jars", ".")).toAbsolutePath().resolve("agent/target/ds-agent.jar");
  }

  LocalFleet startCoordinator(String... extra) {
    List<String> cmd = Procs.jvm();
    cmd.addAll(coordinatorJvm);
    cmd.addAll(List.of("-jar", coordinatorJar().toString(), "serve", "--listen", addr, "--data-dir",
        dir.resolve("coordinator").toString(), "--config", coordinatorConfig.toString(),
        "--metrics-listen", "127.0.0.1:" + coordinatorMetricsPort, "--dashboard-listen", "127.0.0.1:" + dashboardPort));
    cmd.addAll(List.of(extra));
    coordinator = Procs.spawn(cmd, dir.resolve("coordinator.log"));
    await("the coordinator serving", 300, 50, () -> {
      try { // the admin's credential not written yet: control() throws
        // now, not when the back-off its channel began as the coordinator went away ends (1 s, 1.6 times a try)
        ((ManagedChannel) control().getChannel()).resetConnectBackoff();
        control().version(io.dsfleet.proto.v1.VersionRequest.getDefaultInstance());
        return true;
      } catch (RuntimeException e) {
        return false;
      }
    });
    return this;
  }

  /** The replicas of a group but the first (which is {@link #coordinator}), by id. */
  final java.util.Map<String, Process> replicas = new java.util.LinkedHashMap<>();

  /**
   * A group of {@code size} coordinator replicas on loopback, as docs/operations.md forms one:
   * `init` and `serve --bootstrap` on the first, then `dsctl replica add` (over the API) and
   * `ds-coordinator join` + `serve` for each other; returns once every member caught up.
   */
  LocalFleet startGroup(int size) {
    List<String> peers = new ArrayList<>();
    List<String> services = new ArrayList<>(List.of(addr));
    for (int i = 1; i <= size; i++) {
      String service = i == 1 ? addr : "127.0.0.1:" + FreePorts.pick();
      if (i > 1) {
        services.add(service);
      }
      peers.addAll(List.of("--peer", "c" + i + ",127.0.0.1:" + FreePorts.pick() + "," + service));
    }
    List<String> init = Procs.jvm();
    init.addAll(List.of("-jar", coordinatorJar().toString(), "init", "--data-dir",
        dir.resolve("coordinator").toString(), "--config", coordinatorConfig.toString()));
    if (Procs.run(init).exit() != 0) {
      throw new IllegalStateException("ds-coordinator init failed");
    }
    List<String> first = new ArrayList<>(List.of("--replica-id", "c1", "--bootstrap"));
    first.addAll(peers);
    startCoordinator(first.toArray(String[]::new));
    for (int i = 2; i <= size; i++) {
      String id = "c" + i;
      String service = services.get(i - 1);
      String peer = peers.get(2 * i - 1).split(",")[1];
      String token = control().addReplica(io.dsfleet.proto.v1.AddReplicaRequest.newBuilder().setId(id).setPeerAddress(peer)
          .setCoordinatorAddress(service).build()).getToken();
      List<String> join = Procs.jvm();
      join.addAll(List.of("-jar", coordinatorJar().toString(), "join", "--token", token,
          "--coordinator", addr, "--data-dir", dir.resolve(id).toString(), "--config", coordinatorConfig.toString(),
          "--replica-id", id));
      join.addAll(peers);
      Procs.Result joined = Procs.run(join);
      if (joined.exit() != 0) {
        throw new IllegalStateException("ds-coordinator join of " + id + " failed: " + joined.out());
      }
      List<String> serve = Procs.jvm();
      serve.addAll(coordinatorJvm);
      serve.addAll(List.of("-jar", coordinatorJar().toString(), "serve", "--listen", service, "--data-dir", dir.resolve(id).toString(),
          "--config", coordinatorConfig.toString(), "--replica-id", id, "--metrics-listen", "127.0.0.1:" + FreePorts.pick()));
      serve.addAll(peers);
      replicas.put(id, Procs.spawn(serve, dir.resolve("coordinator-" + id + ".log")));
    }
    addresses.clear();
    addresses.addAll(services);
    StringBuilder seen = new StringBuilder("nothing answered");
    try {
      await("every replica a member, caught up", 180, 200, () -> {
        try {
          var replicas = control().listReplicas(io.dsfleet.proto.v1.ListReplicasRequest.getDefaultInstance());
          var members = replicas.getReplicasList();
          GroupNotFormed.answered(seen, addr, replicas);
          return members.size() == size && members.stream().allMatch(m -> m.getMatchIndex() > 0);
        } catch (io.grpc.StatusRuntimeException e) {
          // leadership moved while a member caught up: follow it, as dsctl does
          String leader = e.getTrailers() == null ? null : e.getTrailers().get(io.dsfleet.coordinator.LeaderGate.LEADER);
          if (leader != null && !leader.isBlank()) {
            retarget(leader);
          }
          throw e;
        }
      });
    } catch (IllegalStateException e) {
      throw GroupNotFormed.of(e, seen, coordinator, replicas, dir);
    }
    return this;
  }

  /** Points the bench's client at another replica (the group's new leader). */
  synchronized void retarget(String address) {
    if (channel != null) {
      channel.shutdownNow();
      channel = null;
    }
    addr = address;
  }

  String joinToken() {
    try {
      return Files.readString(dir.resolve("coordinator/pki/join-token")).strip();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Starts the agent for this host with the unit's JVM flags; returns when the process is started. */
  LocalFleet startAgent() {
    return startAgent(agentJar());
  }

  /**
   * Starts the agent of a given jar as its unit does (the launcher bin/ds-agent with the unit's JVM
   * flags, MALLOC_ARENA_MAX and class-data archive; an older jar without a class list beside it runs
   * without one), with extra arguments; returns when the process is started (the launcher replaces
   * itself with the JVM: the process is the agent's).
   */
  LocalFleet startAgent(Path jar, String... extra) {
    List<String> cmd = agentLauncher(jar);
    cmd.add("run");
    for (String a : addresses) {
      cmd.addAll(List.of("--coordinator", a));
    }
    cmd.addAll(List.of("--node-name", node,
        "--state-dir", dir.resolve("agent").toString(), "--config", dir.resolve("none.yaml").toString(),
        "--address", "127.0.0.1", "--join-token", joinToken()));
    cmd.addAll(List.of(extra));
    agent = Procs.spawn(cmd, dir.resolve("agent.log"), agentEnvironment());
    return this;
  }

  /**
   * The launcher for a jar, with {@link #agentLib} its directory: a jar called ds-agent.jar (this
   * build's) from its own directory, where its class list is; one called anything else linked, with
   * the class list beside it, into a directory of this fleet's. The class-data archive names the jar
   * by that path and the launcher makes it again once the path is gone: through a link in a fleet's
   * directory, which goes with the fleet (a test's temporary one), every fleet of a run made the
   * shared archive again (3 s and more of CPU each, two at once in the apply benchmark) and left one
   * that no other fleet, nor the e2e fleets sharing it, could use.
   */
  List<String> agentLauncher(Path jar) {
    Path abs = jar.toAbsolutePath();
    if (abs.getFileName().toString().equals("ds-agent.jar")) {
      agentLib = abs.getParent();
    } else {
      agentLib = dir.resolve("agent-lib");
      try {
        Files.createDirectories(agentLib);
        for (String name : List.of("ds-agent.jar", "ds-agent.classlist")) {
          Files.deleteIfExists(agentLib.resolve(name));
        }
        Files.createSymbolicLink(agentLib.resolve("ds-agent.jar"), abs);
        Path list = abs.resolveSibling("ds-agent.classlist");
        if (Files.exists(list)) {
          Files.createSymbolicLink(agentLib.resolve("ds-agent.classlist"), list);
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return new ArrayList<>(List.of("/bin/sh", repo.resolve("bin/ds-agent").toString()));
  }

  /** The launcher's DSFLEET_LIB: where the jar it runs is, called ds-agent.jar (set by {@link #agentLauncher}). */
  private Path agentLib;

  /**
   * The unit's environment for the agent: its JVM flags, MALLOC_ARENA_MAX and class-data archive
   * ({@link #agentArchive}, made by the launcher on the first start that needs it); the metrics port by environment, which an older
   * agent (bench/run agent --agent-jar OLD) ignores where it would refuse the flag.
   */
  java.util.Map<String, String> agentEnvironment() {
    if (agentLib == null) {
      throw new IllegalStateException("no agent jar given: agentLauncher(jar) first");
    }
    return java.util.Map.of("DS_AGENT_JAVA_OPTS", String.join(" ", AGENT_JVM), "DSFLEET_LIB", agentLib.toString(),
        "MALLOC_ARENA_MAX", "2", "DS_AGENT_CDS_ARCHIVE", agentArchive.toString(),
        "DS_AGENT_METRICS_LISTEN", "127.0.0.1:" + agentMetricsPort);
  }

  boolean nodeReady() {
    return nodes().stream().anyMatch(n -> n.getInfo().getName().equals(node) && n.getReady());
  }

  synchronized ControlServiceGrpc.ControlServiceBlockingStub control() {
    if (channel == null) {
      String pem;
      try {
        pem = Files.readString(adminPem);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      channel = NettyChannelBuilder.forTarget(addr, Tls.client(pem))
          .overrideAuthority(Pki.SERVER_NAME).maxInboundMessageSize(512 * 1024 * 1024).build();
    }
    return ControlServiceGrpc.newBlockingStub(channel).withDeadlineAfter(60, TimeUnit.SECONDS);
  }

  void apply(String yaml) {
    control().apply(ApplyRequest.newBuilder().setManifests(yaml).setSource("bench").build());
  }

  List<NodeView> nodes() {
    return control().get(GetRequest.newBuilder().setKind(ObjectKind.NODE).build()).getNodesList();
  }

  List<PodView> pods(String ds) {
    return control().get(GetRequest.newBuilder().setKind(ObjectKind.POD).setAllNamespaces(true).build()).getPodsList().stream()
        .filter(p -> p.getStatus().getDaemonSet().equals(ds)).toList();
  }

  /**
   * Samples of the coordinator's Prometheus metrics (its metrics listener, plain HTTP on loopback),
   * e.g. a histogram's _count and _sum, from one scrape; 0 for one absent. The coordinator serves a
   * scrape the rendering it made for the same request within the last second (docs/operations.md),
   * so each scrape here asks with a query of its own ({@code fresh}, which nothing reads): rendered
   * now, never one of before a change.
   */
  double[] coordinatorMetrics(String... samples) throws Exception {
    String text = java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(
        java.net.URI.create("http://127.0.0.1:" + coordinatorMetricsPort + "/metrics?fresh=" + System.nanoTime())).timeout(java.time.Duration.ofSeconds(60)).build(),
        java.net.http.HttpResponse.BodyHandlers.ofString()).body();
    double[] values = new double[samples.length];
    for (String line : text.split("\n")) {
      for (int i = 0; i < samples.length; i++) {
        if (line.startsWith(samples[i] + " ")) {
          values[i] = Double.parseDouble(line.substring(samples[i].length() + 1).trim());
        }
      }
    }
    return values;
  }

  DaemonSetView daemonSet(String name) {
    return control().get(GetRequest.newBuilder().setKind(ObjectKind.DAEMON_SET).setNamespace("default").setName(name).build())
        .getDaemonSets(0);
  }

  /** Every desired node runs the DaemonSet's current revision, available. */
  boolean converged(String ds) {
    var v = daemonSet(ds);
    var st = v.getStatus();
    return st.getDesired() > 0 && st.getUpdated() == st.getDesired() && st.getAvailable() == st.getDesired()
        && st.getCurrent() == st.getDesired();
  }

  /** A pod of the DaemonSet runs at this revision (0: any) and is Ready. */
  boolean running(String ds, long revision) {
    return pods(ds).stream().anyMatch(p -> !p.getPending() && p.getStatus().getPhase().equals("Running")
        && p.getStatus().getReady() && (revision == 0 || p.getRevision() == revision));
  }

  /**
   * Follows the DaemonSet's `rollout status` (what `dsctl apply` then `dsctl rollout status` does)
   * until it completes: every node runs the current template's pod, Ready. The coordinator tells
   * the stream of a change as it happens; nothing is polled, so the wait loads neither the
   * coordinator nor the machine the timed work runs on.
   */
  void awaitRolledOut(String ds, int seconds) {
    var events = control().withDeadlineAfter(seconds, java.util.concurrent.TimeUnit.SECONDS).rolloutStatus(
        io.dsfleet.proto.v1.RolloutStatusRequest.newBuilder().setNamespace("default").setName(ds).setWatch(true).build());
    while (events.hasNext()) {
      var e = events.next();
      if (e.getFailed()) {
        throw new IllegalStateException(ds + ": " + e.getMessage());
      }
      if (e.getComplete()) {
        return;
      }
    }
    throw new IllegalStateException(ds + ": the rollout status stream ended before the rollout completed");
  }

  /** Polls every 5 ms: for timings of a few hosts, where a poll costs the coordinator next to nothing. */
  static void await(String what, int seconds, BooleanSupplier condition) {
    await(what, seconds, 5, condition);
  }

  /**
   * Polls every {@code everyMillis}: at fleet scale a status poll walks every node, so it must not
   * be the load measured. A coordinator that answers UNAVAILABLE (a group between leaders: on a
   * full machine a leader can lose its majority while a new member catches up) is "not yet".
   */
  static void await(String what, int seconds, long everyMillis, BooleanSupplier condition) {
    long deadline = System.nanoTime() + Duration.ofSeconds(seconds).toNanos();
    io.grpc.StatusRuntimeException unavailable = null;
    while (true) {
      try {
        if (condition.getAsBoolean()) {
          return;
        }
      } catch (io.grpc.StatusRuntimeException e) {
        if (e.getStatus().getCode() != io.grpc.Status.Code.UNAVAILABLE) {
          throw e;
        }
        unavailable = e;
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("timed out after " + seconds + " s waiting for " + what
            + (unavailable == null ? "" : " (last unavailable: " + unavailable.getStatus().getDescription() + ")"));
      }
      try {
        Thread.sleep(everyMillis);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    }
  }

  /** A DaemonSet of one container that sleeps, on the locally built test image (no registry). */
  static String daemonSet(String name, String image, String strategy) {
    return daemonSet(name, image, strategy, "");
  }

  /** @param podField one more field of the pod's spec (e.g. "hostNetwork: true"), or "" */
  static String daemonSet(String name, String image, String strategy, String podField) {
    return daemonSet(name, image, strategy, podField, "[sleep, \"3600\"]");
  }

  /**
   * A container command that exits on SIGTERM, as a daemon does: its stop takes none of the 2 s a
   * container is given at least between SIGTERM and SIGKILL (the kubelet's minimum, docs/agent.md),
   * which {@code sleep} as PID 1, ignoring SIGTERM, would wait out.
   */
  static final String EXITS_ON_SIGTERM = "[sh, -c, \"trap 'exit 0' TERM; sleep 3600 & wait\"]";

  /** @param command the container's command, a YAML flow sequence */
  static String daemonSet(String name, String image, String strategy, String podField, String command) {
    return """
        apiVersion: apps/v1
        kind: DaemonSet
        metadata: {name: %s}
        spec:
          selector: {matchLabels: {app: %s}}
        %s  template:
            metadata: {labels: {app: %s}}
            spec:
              terminationGracePeriodSeconds: 0
              %s
              containers:
              - name: main
                image: %s
                command: %s
        """.formatted(name, name, strategy, name, podField, image, command);
  }

  @Override
  public void close() {
    if (channel != null) {
      channel.shutdownNow();
    }
    List<Process> all = new ArrayList<>(java.util.Arrays.asList(agent, coordinator));
    all.addAll(replicas.values());
    for (Process p : all) {
      if (p != null) {
        p.destroyForcibly();
        try {
          p.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    }
    if (!node.isEmpty()) {
      Procs.run(List.of("sh", "-c", "docker ps -aq --filter label=io.dsfleet.node=" + node + " | xargs -r docker rm -f"));
    }
  }
}
