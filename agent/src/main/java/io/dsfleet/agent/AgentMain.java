package io.dsfleet.agent;

import static io.dsfleet.common.ConfigFile.text;

import com.fasterxml.jackson.databind.JsonNode;
import io.dsfleet.agent.hostfs.Mounts;
import io.dsfleet.agent.reconcile.Backoff;
import io.dsfleet.agent.reconcile.Reconciler;
import io.dsfleet.agent.reconcile.ReconcilerThreads;
import io.dsfleet.agent.runtime.DockerRuntime;
import io.dsfleet.agent.session.CoordinatorSession;
import io.dsfleet.agent.state.LocalState;
import io.dsfleet.agent.state.QuickStarts;
import io.dsfleet.common.ConfigFile;
import io.dsfleet.common.DaemonThreads;
import io.dsfleet.common.Durations;
import io.dsfleet.common.ProtoMapping;
import io.dsfleet.common.model.Taint;
import io.dsfleet.proto.v1.NodeInfo;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** ds-agent: runs this node's DaemonSet pods on the local Docker daemon. */
public final class AgentMain {
  static {
    io.dsfleet.common.LogFormat.timestampsOutsideTheJournal(); // before the first logger
  }

  private static final Logger log = LoggerFactory.getLogger(AgentMain.class);
  static final io.dsfleet.common.BuildIdentity BUILD = io.dsfleet.common.BuildIdentity.of(AgentMain.class);
  /** The build as shown: "0.1.0-SNAPSHOT+1a2b3c4d5e6f" (version+commit), sent as NodeInfo.agent_version. */
  static final String VERSION = BUILD.full();
  static final Set<String> CONFIG_KEYS = Set.of("coordinator", "nodeName", "stateDir", "dockerHost", "labels", "taints",
      "address", "heartbeatInterval", "leaveOnShutdown", "joinToken", "insecure", "restartBackoff", "restartBackoffMax",
      "relistInterval", "passInterval", "metricsListen", "podPidsLimit");
  /** Where Prometheus scrapes an agent unless told otherwise: loopback only. */
  static final String DEFAULT_METRICS = "127.0.0.1:7481";
  static final String DEFAULT_CONFIG = "/etc/dsfleet/agent.yaml";
  /** How often a reconcile pass runs when nothing wakes one sooner (agent option passInterval). */
  static final Duration PASS_INTERVAL = Duration.ofSeconds(1);
  /**
   * The shortest passInterval: passes a millisecond apart kept a core busy walking timers that
   * count whole seconds (probes' periods, back-offs); tests pass every 200 ms.
   */
  static final Duration PASS_INTERVAL_MIN = Duration.ofMillis(100);

  public static void main(String[] args) {
    org.slf4j.bridge.SLF4JBridgeHandler.removeHandlersForRootLogger();
    org.slf4j.bridge.SLF4JBridgeHandler.install();
    int code = AgentCommandLine.execute(args, System.out, System.err);
    QuickStarts.exiting(code); // a start that failed counts, though its JVM shuts down in order
    System.exit(code);
  }

  /** Options shared by run and leave; flags win over the environment, which wins over the config file. */
  static final class Common {
    // set by AgentCommandLine's options; null (a list, a flag) or the default: not given
    Path config = Path.of(DEFAULT_CONFIG);
    List<String> coordinators;
    String nodeName;
    Path stateDir;
    String dockerHost;
    List<String> labels;
    List<String> taints;
    String address;
    String heartbeatInterval;
    Boolean leaveOnShutdown;
    String joinToken;
    Boolean insecure;
    String restartBackoff;
    String restartBackoffMax;
    String relistInterval;
    String passInterval;
    String metricsListen;
    String podPidsLimit;
    String leaveTimeout = "60s";

    /** Whether `run` resolves the options (leave reads none of run's own settings). */
    boolean forRun = true;

    /** The options from flags, environment and file; null after printing why they are bad. */
    AgentOptions resolveOrReport() {
      try {
        AgentOptions o = resolve(System.getenv());
        io.dsfleet.common.LogFormat.oneLinePerRecord(); // the command line read: from here on a log, one line a record
        return o;
      } catch (IllegalArgumentException e) {
        System.err.println("ds-agent: " + e.getMessage());
        return null;
      }
    }

    /**
     * Who besides its owner may read {@code file} ("everyone", "its group"), null when nobody: the
     * package installs agent.yaml 0600, but an upgrade keeps the mode of a file written before it
     * (by config management, say), and the join token in it admits any new node.
     */
    static String readableByOthers(Path file) {
      try {
        var mode = Files.getPosixFilePermissions(file);
        return mode.contains(java.nio.file.attribute.PosixFilePermission.OTHERS_READ) ? "everyone"
            : mode.contains(java.nio.file.attribute.PosixFilePermission.GROUP_READ) ? "its group" : null;
      } catch (UnsupportedOperationException | java.io.IOException e) {
        return null; // not a POSIX file system, or gone: read as before
      }
    }

    AgentOptions resolve(Map<String, String> env) {
      Map<String, JsonNode> file = Files.exists(config) ? ConfigFile.read(config, CONFIG_KEYS) : Map.of();
      String exposed = file.containsKey("joinToken") ? readableByOthers(config) : null;
      if (exposed != null) {
        log.warn("security: config file {} holds the join token and is readable by {}: chmod 600 {}", config, exposed, config);
      }
      List<String> coords = new ArrayList<>();
      for (String c : coordinators != null ? coordinators
          : env.containsKey("DS_AGENT_COORDINATOR") ? List.of(env.get("DS_AGENT_COORDINATOR").split(","))
          : file.containsKey("coordinator") ? list(file.get("coordinator")) : List.of("127.0.0.1:7443")) {
        if (!c.isBlank()) {
          coords.add(c.strip()); // "a:7443, b:7443" as an operator writes it
        }
      }
      // leave checks no address: one it cannot reach must not keep the node's containers
      for (String c : forRun ? coords : List.<String>of()) {
        String bad = coordinatorAddress(c);
        if (bad != null) {
          throw new IllegalArgumentException("coordinator address \"" + c + "\": " + bad);
        }
      }
      String name = first(nodeName, env.get("DS_AGENT_NODE_NAME"), text(file, "nodeName"));
      if (name == null) {
        name = hostname();
      }
      Path state = stateDir != null ? stateDir : Path.of(first(null, env.get("DS_AGENT_STATE_DIR"), text(file, "stateDir"), "/var/lib/ds-agent"));
      String docker = first(dockerHost, env.get("DS_AGENT_DOCKER_HOST"), text(file, "dockerHost"), "unix:///var/run/docker.sock");
      Map<String, String> lbls = new LinkedHashMap<>();
      if (file.containsKey("labels")) {
        JsonNode l = file.get("labels");
        if (!l.isObject()) {
          throw new IllegalArgumentException("config file " + config + ": key \"labels\" must be a map");
        }
        l.fields().forEachRemaining(e -> lbls.put(e.getKey(), e.getValue().asText()));
      }
      List<String> labelArgs = labels != null ? labels
          : env.containsKey("DS_AGENT_LABELS") ? List.of(env.get("DS_AGENT_LABELS").split(",")) : List.of();
      if (labels != null || env.containsKey("DS_AGENT_LABELS")) {
        lbls.clear();
      }
      for (String kv : labelArgs) {
        int eq = kv.indexOf('=');
        if (eq <= 0) {
          throw new IllegalArgumentException("label \"" + kv + "\" must be KEY=VALUE");
        }
        lbls.put(kv.substring(0, eq), kv.substring(eq + 1));
      }
      for (var e : lbls.entrySet()) {
        String bad = io.dsfleet.common.manifest.Names.qualifiedName(e.getKey());
        if (bad == null) {
          bad = io.dsfleet.common.manifest.Names.labelValue(e.getValue());
        }
        if (bad != null) {
          throw new IllegalArgumentException("label " + e.getKey() + "=" + e.getValue() + ": " + bad);
        }
      }
      List<String> taintArgs = taints != null ? taints
          : env.containsKey("DS_AGENT_TAINTS") ? List.of(env.get("DS_AGENT_TAINTS").split(","))
          : file.containsKey("taints") ? list(file.get("taints")) : List.of();
      List<Taint> parsed = new ArrayList<>();
      for (String t : taintArgs) {
        parsed.add(Taint.parse(t));
      }
      String addr = first(address, env.get("DS_AGENT_ADDRESS"), text(file, "address"), null);
      String hb = first(heartbeatInterval, env.get("DS_AGENT_HEARTBEAT_INTERVAL"), text(file, "heartbeatInterval"), null);
      boolean leave = leaveOnShutdown != null ? leaveOnShutdown
          : env.containsKey("DS_AGENT_LEAVE_ON_SHUTDOWN") ? Boolean.parseBoolean(env.get("DS_AGENT_LEAVE_ON_SHUTDOWN"))
          : file.containsKey("leaveOnShutdown") && file.get("leaveOnShutdown").asBoolean();
      String bad = io.dsfleet.common.manifest.Names.dns1123Subdomain(name);
      if (bad != null) {
        throw new IllegalArgumentException("node name \"" + name + "\": " + bad);
      }
      String token = first(joinToken, env.get("DS_AGENT_JOIN_TOKEN"), text(file, "joinToken"), null);
      if (token != null) {
        io.dsfleet.common.tls.JoinToken.parse(token); // a malformed token is refused at start, naming the problem
      }
      boolean plain = insecure != null ? insecure
          : env.containsKey("DS_AGENT_INSECURE") ? Boolean.parseBoolean(env.get("DS_AGENT_INSECURE"))
          : file.containsKey("insecure") && file.get("insecure").asBoolean();
      String backoff = first(restartBackoff, env.get("DS_AGENT_RESTART_BACKOFF"), text(file, "restartBackoff"), null);
      String backoffMax = first(restartBackoffMax, env.get("DS_AGENT_RESTART_BACKOFF_MAX"), text(file, "restartBackoffMax"), null);
      Backoff restarts;
      try {
        restarts = new Backoff(backoff == null ? Backoff.KUBERNETES.initial() : Durations.parse(backoff),
            backoffMax == null ? Backoff.KUBERNETES.max() : Durations.parse(backoffMax));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("restartBackoff " + backoff + ", restartBackoffMax " + backoffMax + ": " + e.getMessage());
      }
      Duration relistEvery = positive("relistInterval",
          first(relistInterval, env.get("DS_AGENT_RELIST_INTERVAL"), text(file, "relistInterval"), null), Reconciler.RELIST);
      Duration passEvery = positive("passInterval",
          first(passInterval, env.get("DS_AGENT_PASS_INTERVAL"), text(file, "passInterval"), null), PASS_INTERVAL);
      if (passEvery.compareTo(PASS_INTERVAL_MIN) < 0 || passEvery.compareTo(PASS_INTERVAL) > 0) {
        // longer, a probe of periodSeconds 1 would run once a pass, and its failureThreshold count passes, not seconds
        throw new IllegalArgumentException("passInterval " + Durations.format(passEvery) + ": must be 100ms to 1s (probes and back-offs"
            + " are looked at once a pass)");
      }
      // leave serves no metrics and makes no container: a bad metricsListen or podPidsLimit must not keep a node from leaving
      java.net.InetSocketAddress metrics = !forRun ? null : io.dsfleet.common.metrics.MetricsEndpoint.parse("metricsListen",
          first(metricsListen, env.get("DS_AGENT_METRICS_LISTEN"), text(file, "metricsListen"), DEFAULT_METRICS));
      long pids = !forRun ? 0 : AgentOptions.podPidsLimit(first(podPidsLimit, env.get("DS_AGENT_POD_PIDS_LIMIT"), text(file, "podPidsLimit"), null));
      return new AgentOptions(coords, name, state, docker, lbls, parsed, addr == null ? HostAddress.detect().address() : addr,
          hb == null ? null : Durations.parse(hb), leave, token, plain, restarts, relistEvery, passEvery, metrics, pids);
    }

    /** The duration {@code value} of option {@code key} ({@code dflt} when not given), refused unless longer than 0. */
    private static Duration positive(String key, String value, Duration dflt) {
      Duration d;
      try {
        d = value == null ? dflt : Durations.parse(value);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(key + " " + value + ": " + e.getMessage());
      }
      if (d.isNegative() || d.isZero()) {
        throw new IllegalArgumentException(key + " " + value + ": must be longer than 0");
      }
      return d;
    }

    /**
     * Why a coordinator address cannot be dialled, or null: HOST:PORT with a DNS name, an IPv4
     * address or an IPv6 one in brackets (a zone allowed), or gRPC's own dns:/// form. A port,
     * always: gRPC takes 80 for a name without one (the agent's channel is plaintext to gRPC, its
     * TLS in its sockets), where no coordinator listens.
     */
    static String coordinatorAddress(String address) {
      java.util.regex.Matcher m = COORDINATOR_ADDRESS.matcher(address);
      if (!m.matches()) {
        return "must be HOST:PORT (a DNS name, an IPv4 address, or an IPv6 address in brackets)";
      }
      int port = Integer.parseInt(m.group(1));
      return port < 1 || port > 65535 ? "port " + port + " is not between 1 and 65535" : null;
    }

    private static final java.util.regex.Pattern COORDINATOR_ADDRESS = java.util.regex.Pattern.compile(
        "(?:dns:///)?(?:\\[[0-9a-fA-F:.]+(?:%[A-Za-z0-9._-]+)?\\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?\\.?):([0-9]{1,5})");

    private static List<String> list(JsonNode n) {
      List<String> out = new ArrayList<>();
      if (n.isArray()) {
        n.forEach(x -> out.add(x.asText()));
      } else {
        out.addAll(List.of(n.asText().split(",")));
      }
      return out;
    }

    private static String first(String... values) {
      for (String v : values) {
        if (v != null && !v.isEmpty()) {
          return v;
        }
      }
      return null;
    }
  }

  /** The parts `run` and `leave` share: Docker, the state directory, the reconciler (with its released pods). */
  record Parts(DockerRuntime docker, LocalState state, Reconciler reconciler) {}

  static Parts parts(AgentOptions o, ReconcilerThreads threads,
      java.util.function.Consumer<java.util.List<io.dsfleet.proto.v1.PodStatus>> reporter) {
    DockerRuntime docker = new DockerRuntime(o.dockerHost()).pidsLimit(o.podPidsLimit());
    LocalState state = new LocalState(o.stateDir());
    Reconciler reconciler = new Reconciler(o.nodeName(), o.address(), docker, new Mounts(), Clock.systemUTC(), o.restartBackoff(), o.relistInterval(), o.stateDir(), VERSION,
        threads, reporter);
    reconciler.setOrphans(state.released());
    reconciler.onOrphansChanged(state::saveOrphans);
    return new Parts(docker, state, reconciler);
  }

  /**
   * The default node name: the kernel's hostname, lower-cased, as the kubelet's ({@code os.Hostname}). Not
   * {@code InetAddress.getLocalHost()}'s, which looks the name up: where the lookup failed (DNS not up yet at boot, a
   * hostname not in /etc/hosts) the agent ran as node "localhost" until 2026-12-06, every pod of its saved set started
   * again beside the node's own, and the state directory recorded "localhost" (NodeOfState), refusing the real name after.
   */
  static String hostname() {
    Path kernel = Path.of("/proc/sys/kernel/hostname");
    try {
      String name = Files.readString(kernel).strip();
      if (!name.isEmpty()) {
        return name.toLowerCase(java.util.Locale.ROOT);
      }
    } catch (java.io.IOException e) {
      throw new IllegalArgumentException("cannot read the hostname from " + kernel + " (" + e + "); give the node's name"
          + " (--node-name, nodeName or DS_AGENT_NODE_NAME)");
    }
    throw new IllegalArgumentException("the hostname is empty (" + kernel + "); give the node's name (--node-name, nodeName"
        + " or DS_AGENT_NODE_NAME)");
  }

  static NodeInfo nodeInfo(AgentOptions o) {
    return NodeInfo.newBuilder().setName(o.nodeName()).addAddresses(o.address()).putAllLabels(o.labels())
        .addAllTaints(ProtoMapping.toProto(o.taints())).setCpuMillis(Runtime.getRuntime().availableProcessors() * 1000L)
        .setMemoryBytes(io.dsfleet.common.HostMemory.total()).setOs(System.getProperty("os.name").toLowerCase())
        .setArch(arch()).setAgentVersion(VERSION).build();
  }

  static String arch() {
    String a = System.getProperty("os.arch");
    return a.equals("x86_64") ? "amd64" : a.equals("aarch64") ? "arm64" : a;
  }

  /** `ds-agent run` (AgentCommandLine). */
  static final class Run implements java.util.concurrent.Callable<Integer> {
    final Common common = new Common();

    @Override
    public Integer call() throws Exception {
      AgentOptions o = common.resolveOrReport();
      if (o == null) {
        return 2;
      }
      if (o.insecure()) {
        log.warn("INSECURE: talking plaintext gRPC to {} without credentials (--insecure): anyone on the path can"
            + " impersonate the coordinator and run containers as root here", o.coordinators());
      }
      Clock clock = Clock.systemUTC();
      ScheduledExecutorService scheduler = Executors.newScheduledThreadPool(2, DaemonThreads.named("agent-scheduler"));
      CountDownLatch stop = new CountDownLatch(1);
      CoordinatorSession[] session = new CoordinatorSession[1];
      Parts parts = parts(o, ReconcilerThreads.standard(), report -> {
        if (session[0] != null) {
          session[0].sendReport(report);
        }
      });
      DockerRuntime docker = parts.docker();
      LocalState state = parts.state();
      Reconciler reconciler = parts.reconciler();
      try { // before anything is read or run: the set and the pods may be another node's
        io.dsfleet.agent.state.NodeOfState.claim(state, o.nodeName());
      } catch (IllegalArgumentException e) {
        System.err.println("ds-agent: " + e.getMessage());
        reconciler.close();
        return 2;
      }
      state.joining();
      // static stability: run the last desired set before (and whether or not) the coordinator answers;
      // without one, nothing owned is touched until a coordinator sends the node's desired set
      // unless the starts before each ended early, not stopped (out of memory on what the saved set makes it do): then the set waits for a coordinator's
      QuickStarts quickStarts = QuickStarts.counted(o.stateDir()); // a stop takes it back
      scheduler.schedule(quickStarts::settled, QuickStarts.SETTLED.toMillis(), TimeUnit.MILLISECONDS);
      state.loadDesired().ifPresentOrElse(d -> {
        if (quickStarts.leavesAside(d, o.stateDir())) {
          return;
        }
        log.info("resuming the last desired set (version {}, {} pods) from {}", d.getVersion(), d.getPodsCount(), o.stateDir());
        reconciler.setDesired(d);
      }, () -> log.info("no desired set in {}: running containers are left alone until a coordinator sends one", o.stateDir()));
      session[0] = new CoordinatorSession(o.coordinators(), o.credentials(clock), nodeInfo(o), reconciler, docker, state, scheduler, clock, new Random(),
          o.heartbeatInterval(), stop::countDown);
      // one thread runs every pass: each passInterval (a second), and at once when a desired set arrives or a pod's work ends
      ScheduledExecutorService loop = Executors.newSingleThreadScheduledExecutor(DaemonThreads.named("reconcile"));
      Runnable pass = () -> {
        try {
          reconciler.tick();
        } catch (RuntimeException | Error e) { // an Error too: one escaping would end the passes for good
          log.error("reconcile pass failed", e);
        }
      };
      reconciler.onRuntimeCondition(() -> session[0].heartbeat());
      java.util.concurrent.atomic.AtomicBoolean queued = new java.util.concurrent.atomic.AtomicBoolean();
      reconciler.wakeWith(() -> {
        if (queued.compareAndSet(false, true)) { // wakes in a burst make one pass
          loop.execute(() -> {
            queued.set(false);
            pass.run();
          });
        }
      });
      loop.scheduleWithFixedDelay(pass, 0, o.passInterval().toNanos(), TimeUnit.NANOSECONDS);
      reconciler.watch(scheduler);
      session[0].start();
      var metrics = o.metricsListen() == null ? null
          : io.dsfleet.common.metrics.MetricsEndpoint.start(o.metricsListen(), AgentMetrics.registry(reconciler, session[0]),
              io.dsfleet.common.JdkHttpServers.few("metrics", 1)); // one: its footprint (docs/operations.md)
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        if (o.leaveOnShutdown()) {
          try {
            session[0].leaveAndRemove();
          } catch (RuntimeException e) {
            log.error("leave on shutdown failed: {}", e.getMessage());
          }
        }
        // otherwise the containers belong to dockerd and keep running; the next agent adopts them
        session[0].close();
        if (metrics != null) {
          metrics.close();
        }
        loop.shutdownNow();
        scheduler.shutdownNow();
      }, "shutdown"));
      log.info("ds-agent {} running as node {} (address {}: {}), docker {}, state {}", VERSION, o.nodeName(), o.address(),
          common.address != null ? "--address" : HostAddress.detect().why(), o.dockerHost(), o.stateDir());
      stop.await();
      log.info("node removed from the fleet; exiting");
      return 0;
    }
  }

  /** `ds-agent leave` (AgentCommandLine). */
  static final class Leave implements java.util.concurrent.Callable<Integer> {
    final Common common = new Common();

    @Override
    public Integer call() throws Exception {
      common.forRun = false;
      AgentOptions o = common.resolveOrReport();
      if (o == null) {
        return 2;
      }
      Duration deadline;
      try {
        deadline = Durations.parse(common.leaveTimeout);
      } catch (IllegalArgumentException e) {
        System.err.println("ds-agent: --timeout: " + e.getMessage());
        return 2;
      }
      ScheduledExecutorService scheduler = Executors.newScheduledThreadPool(1, DaemonThreads.named("leave"));
      Parts parts = parts(o, ReconcilerThreads.standard(), r -> { });
      LocalState state = parts.state();
      Reconciler reconciler = parts.reconciler();
      try { // a leave as another node would clear this one's state and remove none of its containers
        io.dsfleet.agent.state.NodeOfState.claim(state, o.nodeName());
      } catch (IllegalArgumentException e) {
        System.err.println("ds-agent: " + e.getMessage());
        reconciler.close();
        return 2;
      }
      Clock clock = Clock.systemUTC();
      var credentials = o.credentials(clock);
      boolean member = !state.left() && (state.loadDesired().isPresent() || credentials.isInsecure() || credentials.hasCertificate());
      int code = 0;
      if (!member) {
        System.out.println("node " + o.nodeName() + " is not a member of a fleet (" + (state.left() ? "it left" : "no certificate and no"
            + " desired set") + " according to " + o.stateDir() + "); nothing to leave");
      } else {
        CoordinatorSession session = new CoordinatorSession(o.coordinators(), credentials, nodeInfo(o), reconciler, parts.docker(),
            state, scheduler, clock, new Random(), null, () -> { });
        try {
          session.leave();
          System.out.println("node " + o.nodeName() + " left the fleet");
        } catch (io.grpc.StatusRuntimeException e) {
          if (e.getStatus().getCode() == io.grpc.Status.Code.NOT_FOUND) {
            System.out.println("node " + o.nodeName() + " was not a member of the fleet at " + o.coordinators());
          } else {
            System.err.println("ds-agent: leave failed at " + o.coordinators() + ": " + e.getStatus().getCode() + " "
                + e.getStatus().getDescription() + "; removing local containers anyway");
            code = 1;
          }
        } catch (IllegalStateException | IllegalArgumentException e) {
          // no credentials, or an address gRPC cannot dial: the containers go all the same
          System.err.println("ds-agent: cannot reach the fleet: " + e.getMessage() + "; removing local containers anyway");
          code = 1;
        } finally {
          session.close();
        }
      }
      Reconciler.Removal removal = reconciler.removeAll(deadline, line -> System.out.println(line));
      state.clear();
      System.out.println(leaveSummary(o.nodeName(), removal));
      reconciler.close();
      scheduler.shutdownNow();
      return code;
    }
  }

  /** The last line of `ds-agent leave`: what it removed, and what it left running (said above, pod by pod). */
  static String leaveSummary(String node, Reconciler.Removal removal) {
    if (removal.leftRunning() > 0) {
      return (removal.stopped() == 0 ? "removed no pod" : "removed " + removal.stopped() + " pod(s)") + " of node " + node + "; "
          + removal.leftRunning() + " left running, as said above";
    }
    return removal.stopped() == 0 ? "no pods of node " + node + " were running here" : "removed every container owned by node " + node;
  }
}
