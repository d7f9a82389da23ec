package io.dsfleet.e2e;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.dsfleet.common.tls.Pki;
import io.dsfleet.common.tls.Tls;
import io.dsfleet.proto.v1.ApplyRequest;
import io.dsfleet.proto.v1.ControlServiceGrpc;
import io.dsfleet.proto.v1.DeleteRequest;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;
import io.dsfleet.proto.v1.DaemonSetView;
import io.dsfleet.proto.v1.GetRequest;
import io.dsfleet.proto.v1.NodeView;
import io.dsfleet.proto.v1.ObjectKind;
import io.dsfleet.proto.v1.PodView;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;

/**
 * A fleet of test hosts on this machine: a bridge with the coordinator's address in the root
 * namespace, a coordinator process on it, and hosts in network namespaces. Traffic stays on this
 * machine: loopback, the bridge and the hosts' addresses (10.213.N.0/24).
 *
 * <p>Everything lives under {@link #ROOT} and is named with {@link #PREFIX}, so {@link FleetCleanup#run()}
 * finds what any earlier run left (a failed or interrupted one included) and removes it before
 * starting and after finishing. Several fleets run side by side, one per test JVM: each JVM's
 * {@link #INSTANCE} (surefire's fork number, set by e2e/pom.xml) gives it its own root, names,
 * subnet and port, and its cleanup touches only those.
 */
final class TestFleet implements AutoCloseable {
  /** This JVM's fleet: 1, 2, 3 when surefire runs the e2e classes in parallel forks; 0 otherwise (the benchmarks). */
  static final int INSTANCE = Integer.getInteger("dsfleet.e2e.instance", 0);
  static final String PREFIX = INSTANCE == 0 ? "dsfe-" : "dsfe" + INSTANCE + "-";
  static final String BRIDGE = PREFIX + "br";
  static final String SUBNET = "10.213." + INSTANCE + ".";
  static final String COORDINATOR_IP = SUBNET + "1";
  static final int COORDINATOR_PORT = 17443 + INSTANCE;
  static final Path ROOT = Path.of(INSTANCE == 0 ? "/tmp/dsfleet-e2e" : "/tmp/dsfleet-e2e-" + INSTANCE);

  final Path root = ROOT;
  final Path coordinatorJar;
  final Path agentJar;
  final Path repo;
  final Path imagesTar;
  final Map<Integer, TestHost> hosts = new java.util.concurrent.ConcurrentSkipListMap<>();
  Process coordinator;
  /** Where agents and dsctl reach the coordinator: the one in the root namespace, or a group's replicas. */
  final List<String> coordinators = new java.util.concurrent.CopyOnWriteArrayList<>(List.of(coordinatorAddress()));
  /** The CA and dsctl's credentials: the coordinator's data directory, or a group's first replica's. */
  Path pkiDir = root.resolve("coordinator").resolve("pki");
  private volatile String controlTarget = coordinatorAddress();
  private final List<Process> processes = new java.util.concurrent.CopyOnWriteArrayList<>();
  private ManagedChannel channel;

  TestFleet() throws IOException {
    assumeTrue(System.getProperty("user.name").equals("root"),
        "skipped: multi-host tests need root (network namespaces, one dockerd per host)");
    assumeTrue(Sh.run(List.of("docker", "info")).exit() == 0,
        "skipped: no Docker daemon to take the test images from (scripts/test starts one)");
    repo = Path.of(System.getProperty("dsfleet.jars", "..")).toAbsolutePath();
    coordinatorJar = repo.resolve("coordinator/target/ds-coordinator.jar").toAbsolutePath();
    agentJar = repo.resolve("agent/target/ds-agent.jar").toAbsolutePath();
    assumeTrue(Files.exists(coordinatorJar) && Files.exists(agentJar), "skipped: build the jars first (mvn package)");
    FleetCleanup.run();
    Files.createDirectories(root);
    Runtime.getRuntime().addShutdownHook(new Thread(FleetCleanup::run, "e2e-cleanup"));
    Sh.ok("ip", "link", "add", BRIDGE, "type", "bridge");
    // a MAC of its own: a bridge left to itself takes its lowest port's, so a host removed from the
    // fleet changed the coordinator's MAC under the other hosts, whose ARP entries then sent to the
    // old one until they expired: a minute and more with nothing reaching the coordinator
    Sh.ok("ip", "link", "set", BRIDGE, "address", String.format("02:64:73:66:65:%02x", INSTANCE));
    Sh.ok("ip", "addr", "add", COORDINATOR_IP + "/24", "dev", BRIDGE);
    Sh.ok("ip", "link", "set", BRIDGE, "up");
    // host to host across the bridge (replicas of a coordinator group): bridged frames pass the
    // FORWARD chain, whose policy Docker sets to DROP; let this bridge's own traffic through
    Sh.ok("iptables", "-I", "FORWARD", "-i", BRIDGE, "-o", BRIDGE, "-j", "ACCEPT");
    imagesTar = root.resolve("images.tar");
    Sh.ok("docker", "save", "-o", imagesTar.toString(), "local/busybox:1", "local/busybox:2");
  }

  String java() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  /** The JVM flags a systemd unit of the repository starts its program with (its Environment= default). */
  static List<String> unitJvmFlags(Path repo, String unit, String variable) {
    Path file = repo.resolve("systemd").resolve(unit);
    String prefix = "Environment=\"" + variable + "=";
    try {
      for (String line : Files.readAllLines(file)) {
        if (line.startsWith(prefix)) {
          return List.of(line.substring(prefix.length(), line.length() - 1).split(" "));
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    throw new IllegalStateException(file + " sets no " + variable);
  }

  /** The unit's JVM flags and, as the unit's launcher gives it on a host, the agent's class-data archive. */
  List<String> agentJvmFlags() {
    List<String> flags = new ArrayList<>(unitJvmFlags(repo, "ds-agent.service", "DS_AGENT_JAVA_OPTS"));
    Path archive = agentArchive(repo, repo.resolve("target/agent-cds/ds-agent.jsa"));
    if (archive != null) {
      flags.add("-XX:SharedArchiveFile=" + archive);
    }
    return flags;
  }

  private static Path agentArchive;
  private static boolean agentArchiveTried;

  /**
   * The agent's class-data archive, checked once per test JVM by the agent's own launcher
   * (bin/ds-agent with DS_AGENT_CDS_ARCHIVE, as on a host: it checks an archive it finds, and makes
   * one from the jar's class list, moved into place whole), in the build's target/agent-cds, which
   * the benchmarks' fleets share (a running agent keeps the file it mapped if one is made again).
   * Each agent's start then costs about 0.65 s of CPU less here. Null, and the agents start
   * without one, when the launcher made none.
   */
  static synchronized Path agentArchive(Path repo, Path archive) {
    if (!agentArchiveTried) {
      agentArchiveTried = true;
      try {
        Sh.Result made = Sh.run(List.of("env", "DS_AGENT_CDS_ARCHIVE=" + archive, "/bin/sh", repo.resolve("bin/ds-agent").toString(),
            "--version"));
        if (made.exit() == 0 && Files.exists(archive)) {
          agentArchive = archive;
        } else {
          System.out.println("e2e: agents start without a class-data archive: " + made.out().strip());
        }
      } catch (RuntimeException e) {
        System.out.println("e2e: agents start without a class-data archive: " + e);
      }
    }
    return agentArchive;
  }

  String coordinatorAddress() {
    return COORDINATOR_IP + ":" + COORDINATOR_PORT;
  }

  Process spawn(String name, Path log, List<String> cmd) throws IOException {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
    Files.writeString(root.resolve(name + ".pid"), String.valueOf(p.pid()));
    processes.add(p);
    return p;
  }

  /** Starts the coordinator with TLS (its first start makes the CA, dsctl's credentials and a join token). */
  void startCoordinator(String... extra) throws IOException {
    List<String> cmd = new ArrayList<>(List.of(java(), "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-jar",
        coordinatorJar.toString(), "serve", "--listen", coordinatorAddress(), "--data-dir", root.resolve("coordinator").toString(),
        "--config", root.resolve("none.yaml").toString(), "--heartbeat-interval", "1s", "--heartbeat-grace", "6s"));
    cmd.addAll(Arrays.asList(extra));
    // the coordinator runs in the root namespace: its HTTP listeners on loopback get ports of its own
    // (or none), never the defaults a quickstart beside it holds (scripts/test runs one in the other lane)
    if (!cmd.contains("--metrics-listen")) {
      metricsPort = io.dsfleet.common.testing.FreePorts.pick();
      cmd.addAll(List.of("--metrics-listen", "127.0.0.1:" + metricsPort));
    }
    for (String listener : List.of("--dashboard-listen", "--kube-api-listen")) {
      if (!cmd.contains(listener)) {
        cmd.addAll(List.of(listener, "off"));
      }
    }
    coordinator = spawn("coordinator", root.resolve("coordinator.log"), cmd);
    stalled = coordinator;
    // over the control API (its credentials exist once the first start wrote them), not a dsctl JVM per poll
    await("coordinator serving", 60, () -> Files.exists(pki().resolve("admin.pem")) && answers());
  }

  /** Where the coordinator serves its metrics, picked at each start (0: it was given its own). */
  private volatile int metricsPort;

  /**
   * Waits until a rollout pass of the coordinator has run since the last change (its metric
   * dsfleet_controller_pass_pending 0), the barrier before asserting that a rollout did not move.
   * Each look asks with a query of its own: the coordinator serves a scrape the rendering it made
   * for the same request within the last second (docs/operations.md), which may be of before the
   * change.
   */
  void awaitRolloutPass(String why) {
    await(why, 30, () -> !rolloutPassPending());
  }

  /** Whether a change waits for the coordinator's rollout pass, as of the scrape the coordinator answers now. */
  private boolean rolloutPassPending() throws IOException, InterruptedException {
    if (metricsPort == 0) {
      throw new IllegalStateException("the coordinator was started with a metrics address of the test's own");
    }
    var client = java.net.http.HttpClient.newHttpClient();
    String body = client.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + metricsPort + "/metrics?fresh=" + System.nanoTime()))
        .timeout(Duration.ofSeconds(30)).build(), java.net.http.HttpResponse.BodyHandlers.ofString()).body();
    return body.lines().filter(l -> l.startsWith("dsfleet_controller_pass_pending ")).findFirst()
        .map(l -> Double.parseDouble(l.substring(l.indexOf(' ') + 1).strip()) != 0)
        .orElseThrow(() -> new IllegalStateException("no dsfleet_controller_pass_pending in the coordinator's metrics"));
  }

  Path pki() {
    return pkiDir;
  }

  /** The join token the coordinator wrote on its first start. */
  String joinToken() {
    try {
      return Files.readString(pki().resolve("join-token")).strip();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  void killCoordinator() throws InterruptedException {
    if (!coordinator.destroyForcibly().waitFor(30, java.util.concurrent.TimeUnit.SECONDS)) {
      throw new AssertionError("the coordinator still running 30 s after SIGKILL");
    }
  }

  TestHost addHost(int index) throws IOException {
    TestHost h = new TestHost(this, index);
    hosts.put(index, h);
    h.create();
    h.startAgent();
    return h;
  }

  /**
   * Starts making hosts 1..n side by side, each its namespace, dockerd and images, and checks the
   * agents' class-data archive meanwhile: what needs no coordinator, so it goes on while one starts
   * (or a group forms). {@link #startAgents} waits for it and starts their agents.
   */
  java.util.concurrent.CompletableFuture<Void> createHosts(int n) {
    long t0 = System.nanoTime();
    var pool = java.util.concurrent.Executors.newFixedThreadPool(n + 1);
    List<java.util.concurrent.CompletableFuture<Void>> made = new ArrayList<>();
    made.add(java.util.concurrent.CompletableFuture.runAsync(this::agentJvmFlags, pool));
    for (int i = 1; i <= n; i++) {
      TestHost h = new TestHost(this, i);
      hosts.put(i, h);
      made.add(java.util.concurrent.CompletableFuture.runAsync(() -> {
        try {
          h.create();
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      }, pool));
    }
    return java.util.concurrent.CompletableFuture.allOf(made.toArray(new java.util.concurrent.CompletableFuture<?>[0]))
        .whenComplete((v, e) -> {
          pool.shutdown();
          System.out.printf("e2e: %d hosts made (namespaces, dockerds, images) after %.1f s%n", n, (System.nanoTime() - t0) / 1e9);
        });
  }

  /** Waits for the hosts {@link #createHosts} makes, then starts their agents. */
  void startAgents(java.util.concurrent.CompletableFuture<Void> created) throws Exception {
    try {
      created.get(180, TimeUnit.SECONDS);
    } catch (java.util.concurrent.ExecutionException e) {
      throw e.getCause() instanceof Exception x ? x : e;
    }
    for (TestHost h : hosts.values()) {
      h.startAgent();
    }
  }

  /**
   * Takes a host out of the fleet whatever state a scenario left it in: its agent and dockerd
   * killed, its namespace and link deleted, its node removed from the coordinator if still there.
   */
  void removeHost(int index) throws InterruptedException {
    TestHost h = hosts.remove(index);
    if (h.agent != null && h.agent.isAlive()) {
      h.killAgent();
    }
    if (h.dockerd != null) {
      h.dockerd.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
    }
    Sh.quiet("grep ' " + h.dir + "/' /proc/mounts | awk '{print $2}' | sort -r | xargs -r -n1 umount -l; true");
    Sh.quiet("ip netns del " + h.netns + "; ip link del " + h.vethRoot() + "; true");
    if (nodes().containsKey(h.name)) {
      dsctlOk("node", "rm", h.name);
    }
  }

  TestHost host(int index) {
    return hosts.get(index);
  }

  /** dsctl as a real process, with the admin credential. */
  Sh.Result dsctl(String... args) {
    return dsctlAs("admin", args);
  }

  /**
   * dsctl as a real process, through its launcher as an operator runs it, with one of the
   * credentials the coordinator wrote at its first start (admin, viewer); its class-data archive
   * (docs/dsctl.md, "Start-up") in e2e/target/dsctl-cds, made by the run's first call.
   */
  Sh.Result dsctlAs(String credential, String... args) {
    List<String> cmd = new ArrayList<>(List.of("/bin/sh", repo.resolve("bin/dsctl").toString()));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().put("DSFLEET_LIB", coordinatorJar.getParent().toString());
    pb.environment().put("DSCTL_CDS_DIR", repo.resolve("e2e/target/dsctl-cds").toAbsolutePath().toString());
    pb.environment().put("PATH", Path.of(java()).getParent() + ":" + System.getenv("PATH"));
    pb.environment().put("DSCTL_COORDINATOR", String.join(",", coordinators));
    pb.environment().put("DSCTL_CREDENTIALS", pki().resolve(credential + ".pem").toString());
    try {
      Process p = pb.start();
      String out = new String(p.getInputStream().readAllBytes());
      p.waitFor(60, TimeUnit.SECONDS);
      return new Sh.Result(p.exitValue(), out);
    } catch (IOException | InterruptedException e) {
      throw new IllegalStateException(e);
    }
  }

  /** dsctl that must succeed. */
  String dsctlOk(String... args) {
    Sh.Result r = dsctl(args);
    if (r.exit() != 0) {
      throw new IllegalStateException("dsctl " + String.join(" ", args) + " exited " + r.exit() + ": " + r.out());
    }
    return r.out();
  }

  /**
   * Applies manifests over the control API, as dsctl does after validating them: for a scenario's
   * set-up (a dsctl JVM per step costs seconds of CPU); scenarios about dsctl run it as a process.
   */
  void apply(String yaml) {
    var applied = control().apply(ApplyRequest.newBuilder().setManifests(yaml).setSource("e2e").build());
    applied.getResultsList().stream().filter(r -> r.getKind().equals("DaemonSet"))
        .forEach(r -> appliedBy.computeIfAbsent(Thread.currentThread(), t -> java.util.concurrent.ConcurrentHashMap.newKeySet()).add(r.getName()));
  }

  /** The DaemonSets each thread applied with {@link #apply}: a scenario's, in a class whose scenarios run at once. */
  private final Map<Thread, java.util.Set<String>> appliedBy = new java.util.concurrent.ConcurrentHashMap<>();

  /** Deletes the DaemonSets this thread's scenario applied and waits until their containers are gone. */
  void deleteDaemonSetsAppliedHere() {
    java.util.Set<String> mine = appliedBy.remove(Thread.currentThread());
    if (mine != null) {
      mine.forEach(this::deleteDaemonSet);
    }
  }

  /** A fleet: the coordinator (with extra flags), hosts 1..n side by side, all Ready. */
  static TestFleet up(int hosts, String... coordinatorFlags) throws Exception {
    long t0 = System.nanoTime();
    TestFleet fleet = new TestFleet();
    var created = fleet.createHosts(hosts); // while the coordinator starts
    fleet.startCoordinator(coordinatorFlags);
    fleet.startAgents(created);
    await(hosts + " nodes Ready", 180, () -> fleet.nodes().values().stream().filter(NodeView::getReady).count() == hosts);
    System.out.printf("e2e: the fleet up after %.1f s%n", (System.nanoTime() - t0) / 1e9);
    return fleet;
  }

  /** Deletes a DaemonSet of the default namespace over the control API and waits until its containers are gone from every host whose agent runs. */
  void deleteDaemonSet(String name) {
    control().delete(DeleteRequest.newBuilder().setKind(ObjectKind.DAEMON_SET).setNamespace("default").setName(name).setCascade(true).build());
    awaitGone(name);
  }

  void awaitGone(String ds) {
    for (TestHost h : hosts.values()) {
      if (h.agent != null && h.agent.isAlive()) {
        await(ds + " gone from " + h.name, 60, () -> containers(ds, h).isEmpty());
      }
    }
  }

  /** Whatever a scenario left (it failed half way, say): every DaemonSet deleted, its containers gone from every host. */
  void deleteEveryDaemonSet() {
    for (DaemonSetView d : control().get(GetRequest.newBuilder().setKind(ObjectKind.DAEMON_SET).setAllNamespaces(true).build())
        .getDaemonSetsList()) {
      deleteDaemonSet(d.getName());
    }
  }

  /** Points {@link #control()} at another coordinator (the leader of a group, which moves). */
  synchronized void retarget(String address) {
    if (!address.equals(controlTarget)) {
      if (channel != null) {
        channel.shutdownNow();
      }
      channel = null;
      controlTarget = address;
    }
  }

  /** A gRPC client for polling state fast (assertions on what dsctl would show). */
  /**
   * Whether the coordinator answers now. The channel tries at once instead of after its reconnect
   * back-off, which grows while a coordinator starts (to 10 s and more after a few refusals: a
   * slow start could be seen a whole back-off late).
   */
  private boolean answers() {
    ControlServiceGrpc.ControlServiceBlockingStub stub = control();
    channel.resetConnectBackoff();
    return !stub.version(io.dsfleet.proto.v1.VersionRequest.getDefaultInstance()).getVersion().isEmpty();
  }

  synchronized ControlServiceGrpc.ControlServiceBlockingStub control() {
    if (channel == null) {
      String pem;
      try {
        pem = Files.readString(pki().resolve("admin.pem"));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      channel = NettyChannelBuilder.forTarget(controlTarget, Tls.client(pem)).overrideAuthority(Pki.SERVER_NAME).build();
    }
    return ControlServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS);
  }

Map<String, NodeView> nodes() {
    return control().get(GetRequest.newBuilder().setKind(ObjectKind.NODE).build()).getNodesList().stream()
        .collect(Collectors.toMap(n -> n.getInfo().getName(), n -> n));
  }

  List<PodView> pods(String ds) {
    return control().get(GetRequest.newBuilder().setKind(ObjectKind.POD).setAllNamespaces(true).build()).getPodsList().stream()
        .filter(p -> p.getStatus().getDaemonSet().equals(ds)).toList();
  }

  Optional<PodView> podOn(String ds, TestHost h) {
    return pods(ds).stream().filter(p -> p.getNodeName().equals(h.name)).findFirst();
  }

  boolean readyOn(String ds, TestHost h) {
    return podOn(ds, h).map(p -> p.getStatus().getReady() && !p.getPending()).orElse(false);
  }

  /** The host's running containers of a DaemonSet's pods (docker ps on that host). */
  Map<String, String> containers(String ds, TestHost h) {
    return h.dockerPs().entrySet().stream().filter(e -> e.getKey().startsWith("dsf_" + ds + "-"))
        .collect(Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue));
  }

  DaemonSetView daemonSet(String name) {
    return control().get(GetRequest.newBuilder().setKind(ObjectKind.DAEMON_SET).setName(name).build()).getDaemonSets(0);
  }

  Path manifest(String name, String yaml) throws IOException {
    return Files.writeString(root.resolve(name), yaml);
  }

  /**
   * Each agent's session troubles over the class (reconnects, back-offs, failed renewals), printed
   * when the fleet goes: a wait that took long shows why here, and the fleet's files go with it.
   */
  void printSessionTroubles() {
    for (TestHost h : hosts.values()) {
      try {
        List<String> lines = Files.readAllLines(h.dir.resolve("agent.log")).stream()
            .filter(l -> l.contains("retrying in") || l.contains("reconnecting") || l.contains("renewal failed") || l.contains("joined the fleet"))
            .toList();
        System.out.println("e2e: " + h.name + " agent sessions (" + lines.size() + " lines; the last 15):");
        lines.subList(Math.max(0, lines.size() - 15), lines.size()).forEach(l -> System.out.println("  " + l));
      } catch (IOException e) {
        System.out.println("e2e: " + h.name + ": no agent log (" + e.getMessage() + ")");
      }
    }
  }

  /** The coordinator whose threads a long wait prints (the fleet's own, when it has one). */
  static volatile Process stalled;
  private static final java.util.concurrent.ScheduledExecutorService WATCHDOG = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "e2e-wait-watchdog");
    t.setDaemon(true);
    return t;
  });

  /**
   * Waits for {@code condition}, and prints how long it took: where a scenario's time goes. A wait
   * still going after 30 s prints the coordinator's threads that are in dsfleet's code at that
   * moment (jcmd Thread.print): when a coordinator answered an agent nothing for 80 s, it showed the
   * coordinator idle, and the cause was the network (the bridge's MAC, in the constructor).
   */
  static void await(String what, int seconds, Callable<Boolean> condition) {
    long t0 = System.nanoTime();
    var dump = WATCHDOG.schedule(() -> printCoordinatorThreads(what), 30, java.util.concurrent.TimeUnit.SECONDS);
    try {
      Awaitility.await(what).atMost(Duration.ofSeconds(seconds)).pollInterval(Duration.ofMillis(250)).ignoreExceptions().until(condition);
    } finally {
      dump.cancel(false);
    }
    System.out.printf("e2e: %s after %.1f s%n", what, (System.nanoTime() - t0) / 1e9);
  }

  static void printCoordinatorThreads(String what) {
    Process p = stalled;
    if (p == null || !p.isAlive()) {
      return;
    }
    Sh.Result r = Sh.run(List.of(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(), String.valueOf(p.pid()), "Thread.print"));
    StringBuilder b = new StringBuilder("e2e: still waiting for " + what + " after 30 s; the coordinator's threads in dsfleet code:\n");
    for (String thread : r.out().split("\n\\s*\n")) {
      if (thread.contains("io.dsfleet") || thread.contains("BLOCKED")) {
        thread.lines().limit(25).forEach(l -> b.append("  ").append(l).append('\n'));
      }
    }
    System.out.print(b);
  }

  String logs() {
    StringBuilder b = new StringBuilder();
    hosts.values().forEach(h -> b.append(h.logTail(40)));
    try (var logs = Files.list(root)) {
      for (Path log : logs.filter(f -> f.getFileName().toString().matches("coordinator.*\\.log")).sorted().toList()) {
        List<String> all = Files.readAllLines(log);
        b.append("---- ").append(log.getFileName()).append(" (last 40 lines)\n");
        all.subList(Math.max(0, all.size() - 40), all.size()).forEach(l -> b.append(l).append('\n'));
      }
    } catch (IOException e) {
      b.append("(no coordinator log)\n");
    }
    return b.toString();
  }

  @Override
  public void close() {
    long t0 = System.nanoTime();
    if (channel != null) {
      channel.shutdownNow();
    }
    printSessionTroubles();
    for (Process p : processes) {
      p.destroyForcibly();
    }
    FleetCleanup.run();
    System.out.printf("e2e: the fleet removed after %.1f s%n", (System.nanoTime() - t0) / 1e9);
  }
}
