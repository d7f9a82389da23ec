package io.dsfleet.coordinator;

import com.fasterxml.jackson.databind.JsonNode;
import io.dsfleet.common.ConfigFile;
import io.dsfleet.common.Durations;
import io.dsfleet.coordinator.fleet.FleetOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** ds-coordinator: serves the agent and control services of dsfleet.v1. */
@Command(name = "ds-coordinator", mixinStandardHelpOptions = true, versionProvider = io.dsfleet.coordinator.cli.Dsctl.Version.class,
    description = "The dsfleet coordinator.", subcommands = {CoordinatorMain.Serve.class, CoordinatorMain.Init.class, JoinGroupCommand.class,
        BackupCommands.Backup.class, BackupCommands.Restore.class})
public final class CoordinatorMain {
  static {
    io.dsfleet.common.LogFormat.timestampsOutsideTheJournal(); // before the first logger
  }

  private static final Logger log = LoggerFactory.getLogger(CoordinatorMain.class);
  static final Set<String> CONFIG_KEYS = Set.of("listen", "dataDir", "heartbeatInterval", "heartbeatGrace",
      "nodeGcAfter", "maxObjectsPerApply", "maxMessageBytes", "insecure", "tlsNames", "nodeCertTtl", "maxConnections",
      "maxConnectionsPerAddress", "idleConnectionTimeout", "replicaId", "peers", "bootstrap", "electionTimeout",
      "metricsListen", "dashboardListen", "kubeApiListen");
  /** Where the web dashboard serves unless told otherwise: loopback (an SSH tunnel reaches it from elsewhere). */
  static final String DEFAULT_DASHBOARD = "127.0.0.1:7482";
  /** Where the Kubernetes API serves unless told otherwise: loopback, Kubernetes' own port. */
  static final String DEFAULT_KUBE_API = "127.0.0.1:" + io.dsfleet.coordinator.cli.KubeconfigCommand.DEFAULT_PORT;
  /** Where Prometheus scrapes a coordinator unless told otherwise: loopback, next to the gRPC port. */
  static final String DEFAULT_METRICS = "127.0.0.1:7480";

  public static void main(String[] args) {
    org.slf4j.bridge.SLF4JBridgeHandler.removeHandlersForRootLogger();
    org.slf4j.bridge.SLF4JBridgeHandler.install();
    System.exit(new CommandLine(new CoordinatorMain()).execute(args));
  }

  /**
   * Makes the fleet's keys and first credentials without serving (serve does the same on its
   * first start): the CA, the serving certificate, dsctl's admin and viewer credentials and a
   * join token, owner-only in the data directory's pki/. Prints where they are, and the token.
   */
  @Command(name = "init", mixinStandardHelpOptions = true, description = "Create the fleet CA, credentials and a join token.")
  static final class Init implements Callable<Integer> {
    @CommandLine.Mixin
    Settings settings;

    @Override
    public Integer call() {
      CoordinatorOptions options = settings.optionsOrReport();
      if (options == null) {
        return 2;
      }
      if (options.insecure()) {
        System.err.println("ds-coordinator: init makes credentials; it has nothing to do with --insecure");
        return 2;
      }
      // asked first without the lock: a serving coordinator holds it, and its directory is initialised
      return initialised(options) ? 0 : locked(options.dataDir(), "init", () -> initialised(options) ? 0 : init(options));
    }

    private static boolean initialised(CoordinatorOptions options) {
      Path pki = options.dataDir().resolve("pki");
      if (Files.exists(pki.resolve("ca.crt"))) {
        System.out.println("already initialised: " + pki + " (dsctl token create makes more join tokens)");
        return true;
      }
      return false;
    }

    private static int init(CoordinatorOptions options) {
      Path pki = options.dataDir().resolve("pki");
      String another = rootInAnothersDirectory(options.dataDir());
      if (another != null) {
        System.err.println("ds-coordinator: " + another);
        return 2;
      }
      try {
        BackupCommands.refuseUnfinishedRestore(options.dataDir()); // credentials are not made in an unchecked copy's store
      } catch (IllegalStateException e) {
        System.err.println("ds-coordinator: " + e.getMessage());
        return 2;
      }
      try (var store = io.dsfleet.coordinator.store.SqliteStore.openKept(options.dataDir())) {
        var authority = io.dsfleet.coordinator.security.Authority.open(options.dataDir(), options.tlsNames(), store,
            Clock.systemUTC(), options.nodeCertTtl());
        System.out.println("fleet CA:          " + pki.resolve("ca.crt") + " (sha256 " + authority.pki().caHash() + ")");
        System.out.println("admin credential:  " + pki.resolve("admin.pem"));
        System.out.println("viewer credential: " + pki.resolve("viewer.pem") + " (read-only)");
        System.out.println("join token (24 h): " + io.dsfleet.common.OwnerOnlyFiles.read(pki.resolve("join-token")).strip());
      } catch (io.dsfleet.coordinator.store.StoreException | IllegalStateException e) { // the store or the CA lost, or its disk: said as serve says it
        System.err.println("ds-coordinator: " + withCauses(e));
        return 1;
      }
      return 0;
    }
  }

  /**
   * Why root's init may not make the fleet in {@code dataDir}, a directory another user owns (the
   * shipped unit's, DynamicUser=, made by a start before init: a replica's, refused without a CA);
   * null when it may. Until 2026-12-06 it was made there: the CA, keys and store root's 0600, which
   * the coordinator could not read, written by path into a pki/ that user could swap for a link
   * (helper-113).
   */
  private static String rootInAnothersDirectory(Path dataDir) {
    int me;
    int owner;
    try {
      me = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
      owner = (Integer) Files.getAttribute(dataDir, "unix:uid");
    } catch (java.io.IOException | UnsupportedOperationException | IllegalArgumentException e) {
      return null; // no /proc, no uids: not Linux, where the daemons run
    }
    return me != 0 || owner == 0 ? null : dataDir + " belongs to uid " + owner + " (the service's own user, as systemd's DynamicUser= makes"
        + " it), not root: the CA, keys and store init made there would be root's, and the coordinator could not read them. It"
        + " holds no fleet CA yet: move it aside (with the shipped unit /var/lib/private/ds-coordinator, and remove the link"
        + " /var/lib/ds-coordinator) and run init again before the service's next start, which then takes the new directory over";
  }

  /**
   * Runs {@code work} holding the data directory's lock ({@link DataDirLock}); refused (status 2),
   * saying who holds it, while another process does. The lock file is the directory owner's from
   * the moment it is held, so whatever the work's end, a kill too (SIGKILL, or Ctrl-C: no finally
   * runs): root's, made by a `sudo ds-coordinator join` or `restore` refused in the service's
   * directory (DynamicUser=), stopped the service's next start until 2026-12-06 (helper-113), and
   * until then also one interrupted there, a join waiting for its leader (helper-119).
   */
  static int locked(Path dataDir, String what, java.util.function.IntSupplier work) {
    DataDirLock lock;
    try {
      lock = DataDirLock.take(dataDir, what);
    } catch (IllegalStateException | java.io.UncheckedIOException e) {
      System.err.println("ds-coordinator: " + e.getMessage());
      return 2;
    }
    try (lock) {
      try (DirectoryOwner dir = DirectoryOwner.open(dataDir)) {
        dir.giveTo(dir.attributes(), List.of(DataDirLock.FILE));
      } catch (java.io.IOException e) {
        System.err.println("ds-coordinator: cannot give " + dataDir.resolve(DataDirLock.FILE) + " to the owner of " + dataDir + ": "
            + e.getMessage());
      }
      return work.getAsInt();
    }
  }

  /**
   * A failure's message and its causes' that it does not already hold ("reading objects: [SQLITE_CORRUPT] ..."):
   * in one line, what a stack trace would have said of the disk.
   */
  static String withCauses(Throwable e) {
    StringBuilder why = new StringBuilder(String.valueOf(e.getMessage()));
    for (Throwable c = e.getCause(); c != null && c != c.getCause(); c = c.getCause()) {
      if (c.getMessage() != null && why.indexOf(c.getMessage()) < 0) {
        why.append(": ").append(c.getMessage());
      }
    }
    return why.toString();
  }

  /** The options serve and init share. */
  static final class Settings {
    @Option(names = "--config", paramLabel = "FILE", description = "YAML config file; flags win over its keys (${DEFAULT-VALUE} when it exists).",
        defaultValue = "/etc/dsfleet/coordinator.yaml")
    Path config;

    @Option(names = "--listen", paramLabel = "HOST:PORT", description = "Address to serve on (default 127.0.0.1:7443).")
    String listen;

    @Option(names = "--data-dir", paramLabel = "DIR", description = "Embedded store directory (default /var/lib/ds-coordinator).")
    Path dataDir;

    @Option(names = "--heartbeat-interval", paramLabel = "DURATION", description = "Agent heartbeat interval (default 5s).")
    String heartbeatInterval;

    @Option(names = "--heartbeat-grace", paramLabel = "DURATION", description = "No heartbeat this long: NotReady (default 20s).")
    String heartbeatGrace;

    @Option(names = "--node-gc-after", paramLabel = "DURATION", description = "NotReady this long: node removed (default 24h).")
    String nodeGcAfter;

    @Option(names = "--insecure", description = "Serve plaintext gRPC without credentials: anyone who can connect controls the fleet.")
    Boolean insecure;

    @Option(names = "--tls-name", paramLabel = "NAME|IP", description = "Extra name or address for the serving certificate; repeatable.")
    List<String> tlsNames;

    @Option(names = "--node-cert-ttl", paramLabel = "DURATION", description = "Validity of node certificates (default 720h); agents renew at a third left.")
    String nodeCertTtl;

    @Option(names = "--replica-id", paramLabel = "ID", description = "Run as this replica of a coordinator group (docs/coordinator.md).")
    String replicaId;

    @Option(names = "--peer", paramLabel = "ID,PEER_HOST:PORT,COORDINATOR_HOST:PORT", description = "A member of the group, this"
        + " replica included; repeatable.")
    List<String> peers;

    @Option(names = "--bootstrap", description = "This replica starts a new group alone (its first start only); the others join it.")
    Boolean bootstrap;

    @Option(names = "--election-timeout", paramLabel = "DURATION", description = "Raft election timeout (default 1s; a leader"
        + " is elected within about twice this after the last one is lost).")
    String electionTimeout;

    @Option(names = "--metrics-listen", paramLabel = "HOST:PORT|off", description = "Where Prometheus scrapes the coordinator's"
        + " metrics, plain HTTP (default " + DEFAULT_METRICS + "; off: no metrics endpoint).")
    String metricsListen;

    @Option(names = "--dashboard-listen", paramLabel = "HOST:PORT|off", description = "Where the web dashboard serves, HTTPS with"
        + " the fleet's certificates (default " + DEFAULT_DASHBOARD + "; off: none). Log in with dsctl dashboard.")
    String dashboardListen;

    @Option(names = "--kube-api-listen", paramLabel = "HOST:PORT|off", description = "Where the Kubernetes API for kubectl"
        + " serves, HTTPS with a fleet credential required (default " + DEFAULT_KUBE_API + "; off: none). A kubeconfig: dsctl kubeconfig.")
    String kubeApiListen;

    /** The Kubernetes API's address; null for off. */
    java.net.InetSocketAddress kubeApiAddress() {
      Map<String, JsonNode> file = Files.exists(config) ? ConfigFile.read(config, CONFIG_KEYS) : Map.of();
      return io.dsfleet.common.metrics.MetricsEndpoint.parse("kubeApiListen", pick(kubeApiListen, file, "kubeApiListen", DEFAULT_KUBE_API));
    }

    /** The dashboard's address; null for off. */
    java.net.InetSocketAddress dashboardAddress() {
      Map<String, JsonNode> file = Files.exists(config) ? ConfigFile.read(config, CONFIG_KEYS) : Map.of();
      return io.dsfleet.common.metrics.MetricsEndpoint.parse("dashboardListen",
          pick(dashboardListen, file, "dashboardListen", DEFAULT_DASHBOARD));
    }

    /** The metrics endpoint's address; null for off. */
    java.net.InetSocketAddress metricsAddress() {
      Map<String, JsonNode> file = Files.exists(config) ? ConfigFile.read(config, CONFIG_KEYS) : Map.of();
      return io.dsfleet.common.metrics.MetricsEndpoint.parse("metricsListen", pick(metricsListen, file, "metricsListen", DEFAULT_METRICS));
    }

    /**
     * What a store is made into (a join, a restore) must hold none yet: the name of what it holds
     * ({@code dsfleet.db}, or a replica's {@code raft/} log), or null when it is empty of both.
     */
    static String heldStore(Path dataDir) {
      for (String held : List.of("dsfleet.db", "raft")) {
        if (Files.exists(dataDir.resolve(held))) {
          return held;
        }
      }
      return null;
    }

    /** The options; null after printing what is wrong with them. */
    CoordinatorOptions optionsOrReport() {
      try {
        CoordinatorOptions o = options();
        io.dsfleet.common.LogFormat.oneLinePerRecord(); // the command line read: from here on a log, one line a record
        return o;
      } catch (IllegalArgumentException e) {
        System.err.println("ds-coordinator: " + e.getMessage());
        return null;
      }
    }

    CoordinatorOptions options() {
      Map<String, JsonNode> file = Files.exists(config) ? ConfigFile.read(config, CONFIG_KEYS) : Map.of();
      String listenValue = pick(listen, file, "listen", "127.0.0.1:7443");
      int colon = listenValue.lastIndexOf(':');
      if (colon <= 0) {
        throw new IllegalArgumentException("--listen must be HOST:PORT, got \"" + listenValue + "\"");
      }
      int port;
      try {
        port = Integer.parseInt(listenValue.substring(colon + 1));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("--listen port must be a number, got \"" + listenValue + "\"");
      }
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException("--listen port must be between 0 and 65535, got \"" + listenValue + "\"");
      }
      FleetOptions d = FleetOptions.defaults();
      FleetOptions fleet = new FleetOptions(
          duration(pick(heartbeatInterval, file, "heartbeatInterval", Durations.format(d.heartbeatInterval())), "heartbeatInterval"),
          duration(pick(heartbeatGrace, file, "heartbeatGrace", Durations.format(d.heartbeatGrace())), "heartbeatGrace"),
          d.leaseJitter(),
          duration(pick(nodeGcAfter, file, "nodeGcAfter", Durations.format(d.nodeGcAfter())), "nodeGcAfter"),
          positive(pick(null, file, "maxObjectsPerApply", String.valueOf(d.maxObjectsPerApply())), "maxObjectsPerApply"),
          d.eventsKept());
      Path dir = dataDir != null ? dataDir : Path.of(pick(null, file, "dataDir", "/var/lib/ds-coordinator"));
      int maxBytes = positive(pick(null, file, "maxMessageBytes", String.valueOf(4 * 1024 * 1024)), "maxMessageBytes");
      boolean plain = insecure != null ? insecure : file.containsKey("insecure") && bool(file.get("insecure"), "insecure");
      List<String> names = tlsNames != null ? tlsNames : file.containsKey("tlsNames") ? strings(file.get("tlsNames"), "tlsNames") : List.of();
      Duration ttl = duration(pick(nodeCertTtl, file, "nodeCertTtl", Durations.format(CoordinatorOptions.DEFAULT_NODE_CERT_TTL)), "nodeCertTtl");
      if (ttl.compareTo(Duration.ofMinutes(1)) < 0) {
        throw new IllegalArgumentException("nodeCertTtl must be at least 1m, got " + Durations.format(ttl));
      }
      ConnectionLimits.Settings c = ConnectionLimits.Settings.defaults();
      int total = positive(pick(null, file, "maxConnections", String.valueOf(c.total())), "maxConnections");
      int perAddress = positive(pick(null, file, "maxConnectionsPerAddress", String.valueOf(Math.min(c.perAddress(), total))),
          "maxConnectionsPerAddress");
      if (perAddress > total) {
        throw new IllegalArgumentException("config key \"maxConnectionsPerAddress\" (" + perAddress
            + ") must be at most \"maxConnections\" (" + total + (file.containsKey("maxConnections") ? "" : ", its default here") + ")");
      }
      ConnectionLimits.Settings connections = new ConnectionLimits.Settings(total, perAddress,
          duration(pick(null, file, "idleConnectionTimeout", Durations.format(c.idleTimeout())), "idleConnectionTimeout"));
      CoordinatorOptions o = new CoordinatorOptions(listenValue.substring(0, colon), port, dir, fleet, Duration.ofSeconds(1), maxBytes,
          plain, names, ttl, connections);
      String id = pick(replicaId, file, "replicaId", null);
      List<String> peerTexts = peers != null ? peers : file.containsKey("peers") ? strings(file.get("peers"), "peers") : List.of();
      if (id == null) {
        if (!peerTexts.isEmpty()) {
          throw new IllegalArgumentException("peers are given but no replica id (--replica-id, config key replicaId)");
        }
        return o;
      }
      boolean first = bootstrap != null ? bootstrap : file.containsKey("bootstrap") && bool(file.get("bootstrap"), "bootstrap");
      io.dsfleet.coordinator.replication.ReplicationOptions r = io.dsfleet.coordinator.replication.ReplicationOptions.of(id, peerTexts)
          .withBootstrap(first)
          .withElectionTimeout(duration(pick(electionTimeout, file, "electionTimeout", "1s"), "electionTimeout"));
      return o.withReplication(r);
    }

    private static boolean bool(JsonNode v, String key) {
      if (!v.isBoolean()) {
        throw new IllegalArgumentException("config key \"" + key + "\" must be true or false, got " + v);
      }
      return v.asBoolean();
    }

    private static List<String> strings(JsonNode v, String key) {
      if (!v.isArray()) {
        throw new IllegalArgumentException("config key \"" + key + "\" must be a list");
      }
      List<String> out = new java.util.ArrayList<>();
      v.forEach(x -> out.add(x.asText()));
      return out;
    }

    private static String pick(String flag, Map<String, JsonNode> file, String key, String fallback) {
      if (flag != null) {
        return flag;
      }
      String v = ConfigFile.text(file, key); // a list or a map refused: read as "", `dataDir: [x]` was the working directory
      return v == null ? fallback : v;
    }

    /** A count from the config file, named when it is none (before, {@code maxConnections: lots} said only {@code For input string: "lots"}). */
    private static int positive(String text, String key) {
      try {
        int n = Integer.parseInt(text.strip());
        if (n > 0) {
          return n;
        }
      } catch (NumberFormatException notOne) {
        // said below
      }
      throw new IllegalArgumentException("config key \"" + key + "\" must be a whole number from 1 to " + Integer.MAX_VALUE + ", got \"" + text + "\"");
    }

    private static Duration duration(String text, String name) {
      try {
        return Durations.parse(text);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(name + ": " + e.getMessage());
      }
    }
  }

  @Command(name = "serve", mixinStandardHelpOptions = true, description = "Serve the fleet.")
  static final class Serve implements Callable<Integer> {
    @CommandLine.Mixin
    Settings settings;

    @Override
    public Integer call() throws Exception {
      CoordinatorOptions options = settings.optionsOrReport();
      if (options == null) {
        return 2;
      }
      java.net.InetSocketAddress metricsAt;
      java.net.InetSocketAddress dashboardAt;
      java.net.InetSocketAddress kubeApiAt;
      try {
        metricsAt = settings.metricsAddress();
        dashboardAt = settings.dashboardAddress();
        kubeApiAt = settings.kubeApiAddress();
        ConnectionLimits.gather();
      } catch (IllegalArgumentException e) {
        System.err.println("ds-coordinator: " + e.getMessage());
        return 2;
      }
      if (options.insecure()) {
        log.warn("INSECURE: serving plaintext gRPC on {}:{} without credentials (--insecure): anyone who can reach"
            + " this port can read Secrets and run containers as root on every node", options.host(), options.port());
      }
      CoordinatorServer server;
      try {
        server = new CoordinatorServer(options, Clock.systemUTC(), true);
      } catch (DataDirLock.InUse | DataDirLock.NotOpened e) { // said as init, join and restore say it, not as a failure of this code
        System.err.println("ds-coordinator: " + e.getMessage());
        return 2;
      } catch (io.dsfleet.coordinator.store.StoreException | java.io.UncheckedIOException | IllegalStateException e) {
        // the data directory's disk (full, read-only, failing): what is wrong with it, not a stack trace (helper-94);
        // or what is missing from it (its fleet's CA, a restore unfinished)
        System.err.println("ds-coordinator: " + withCauses(e));
        return 1;
      }
      // metrics, the dashboard and the Kubernetes API are bound before the control API serves: whoever
      // waits for the API to answer (a script, the bench, a health check) can use them at once
      var metrics = metricsAt == null ? null
          : io.dsfleet.common.metrics.MetricsEndpoint.start(metricsAt, io.dsfleet.coordinator.metrics.CoordinatorMetrics.registry(server,
              Clock.systemUTC()), io.dsfleet.common.JdkHttpServers.threads("metrics"), io.dsfleet.coordinator.metrics.CoordinatorMetrics.SHARED_FOR);
      io.dsfleet.coordinator.dashboard.Dashboard dashboard = null;
      if (dashboardAt != null) {
        try {
          dashboard = server.startDashboard(dashboardAt);
        } catch (java.io.IOException e) { // as metrics: the fleet matters more than its pages
          log.error("cannot serve the dashboard on {}:{} ({}); running without it", dashboardAt.getHostString(), dashboardAt.getPort(),
              e.toString());
        }
      }
      var pages = dashboard;
      io.dsfleet.coordinator.kubeapi.KubeApi kubeApi = null;
      if (kubeApiAt != null) {
        try {
          kubeApi = server.startKubeApi(kubeApiAt);
        } catch (java.io.IOException e) {
          log.error("cannot serve the Kubernetes API on {}:{} ({}); running without it", kubeApiAt.getHostString(), kubeApiAt.getPort(),
              e.toString());
        }
      }
      var api = kubeApi;
      Runnable closeEndpoints = () -> {
        if (metrics != null) {
          metrics.close();
        }
        if (pages != null) {
          pages.close();
        }
        if (api != null) {
          api.close();
        }
      };
      try {
        server.start();
      } catch (java.io.IOException | RuntimeException e) { // the API's port taken: the endpoints' threads must not hold the JVM
        closeEndpoints.run();
        server.close();
        throw e;
      }
      log.info("ds-coordinator serving {} on {}:{} ({} transport), data in {}; {} ms after the JVM started", options.insecure() ? "plaintext" : "TLS",
          options.host(), server.port(), !ConnectionLimits.EPOLL ? "NIO" : ConnectionLimits.gather().isZero() ? "epoll" : "epoll, gathering " + ConnectionLimits.gather().toMillis() + " ms when busy", options.dataDir(),
          java.lang.management.ManagementFactory.getRuntimeMXBean().getUptime());
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        closeEndpoints.run();
        server.close();
      }, "shutdown"));
      server.awaitTermination();
      if (server.failed()) {
        log.error("the replica's Raft server stopped; exiting for the service manager to restart the coordinator");
        return 1;
      }
      return 0;
    }
  }
}
