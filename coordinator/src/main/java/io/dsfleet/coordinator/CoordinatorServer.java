package io.dsfleet.coordinator;

import io.dsfleet.coordinator.fleet.Fleet;
import io.dsfleet.coordinator.grpc.AgentServiceImpl;
import io.dsfleet.coordinator.grpc.ControlServiceImpl;
import io.dsfleet.coordinator.grpc.LogRelay;
import io.dsfleet.coordinator.store.SqliteStore;
import io.dsfleet.coordinator.store.Store;
import io.dsfleet.common.tls.Tls;
import io.dsfleet.coordinator.security.AuthInterceptor;
import io.dsfleet.coordinator.security.Authority;
import io.dsfleet.coordinator.security.CoordinatorPki;
import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.dsfleet.common.SecretBox;
import io.dsfleet.coordinator.replication.Replica;
import io.dsfleet.coordinator.replication.ReplicationOptions;
import java.nio.file.Path;
import java.util.List;
import io.grpc.ServerCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.util.Random;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Wires the store, the fleet, the fleet CA and the gRPC services, and serves them. A single
 * coordinator serves from its start; a replica of a group serves only while it leads
 * ({@link Replica}), and answers every call with the leader's address otherwise ({@link LeaderGate}).
 */
public final class CoordinatorServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(CoordinatorServer.class);
  private final CoordinatorOptions options;
  private final Clock clock;
  private final java.util.function.LongSupplier nanoTime;
  private final Store store;
  private final Replica replica;
  /** The leader's adds of replicas that joined (null for a single coordinator): they outlive a serving. */
  private final io.dsfleet.coordinator.grpc.ReplicaAdds replicaAdds;
  private final LeaderGate gate;
  private final CoordinatorPki pki;
  private final Server server;
  private final ScheduledExecutorService scheduler;
  private final ConnectionLimits connections;
  private final EventLoopGroup boss;
  private final EventLoopGroup workers;
  private final ServingRegistry services;
  private final LogRelay logs = new LogRelay();
  /** The dashboard's logins (memory only: a restart logs everyone out) and where it serves ("": it does not). */
  private final io.dsfleet.coordinator.dashboard.Logins logins;
  private volatile String dashboardUrl = "";
  /** Group changes that wait for a replica to catch up run here, off the transport threads. */
  private final java.util.concurrent.ExecutorService background = Executors.newCachedThreadPool(io.dsfleet.common.DaemonThreads.named("coordinator-background"));
  private final String version = io.dsfleet.common.BuildIdentity.of(CoordinatorServer.class).full();

  /** What serves while this coordinator serves: its fleet, its CA at work, the services bound to them. */
  private record Serving(Fleet fleet, Authority authority, AgentServiceImpl agents, List<ServerServiceDefinition> definitions) {}

  private volatile Serving serving;

  /**
   * Serves on the options' address: TLS with the fleet's keys (made on the first start), or
   * plaintext with {@code insecure}.
   *
   * @param tick whether to run the lease sweeper on the real scheduler; tests with a fake clock call
   *     {@link Fleet#tick()} themselves (rollout passes run on the scheduler either way)
   */
  public CoordinatorServer(CoordinatorOptions options, Clock clock, boolean tick) {
    this(options, clock, System::nanoTime, tick);
  }

  /** @param nanoTime the monotonic clock leases run on */
  private static final String SESSION_METHOD = io.dsfleet.proto.v1.AgentServiceGrpc.getSessionMethod().getFullMethodName();
  /** Runs every call but the agents' sessions (see the server's builder). */
  private final java.util.concurrent.ExecutorService calls;
  /** Held from the start until {@link #close}: one process serves a data directory. */
  private final DataDirLock dataDirLock;

  public CoordinatorServer(CoordinatorOptions options, Clock clock, java.util.function.LongSupplier nanoTime, boolean tick) {
    // first: nothing below reads or writes the directory while another process serves from it
    this.dataDirLock = DataDirLock.take(options.dataDir(), "serve");
    // what a start that fails closes before it leaves the directory to the next (the fields cannot be read in the catch)
    ScheduledExecutorService openScheduler = null;
    Store openStore = null;
    Replica openReplica = null;
    java.util.concurrent.ExecutorService openCalls = null;
    EventLoopGroup openBoss = null;
    EventLoopGroup openWorkers = null;
    try {
      BackupCommands.refuseUnfinishedRestore(options.dataDir());
      this.options = options;
      this.clock = clock;
      this.logins = new io.dsfleet.coordinator.dashboard.Logins(clock, nanoTime);
      this.nanoTime = nanoTime;
      java.util.concurrent.ScheduledThreadPoolExecutor timers = new java.util.concurrent.ScheduledThreadPoolExecutor(1,
          io.dsfleet.common.DaemonThreads.named("coordinator-scheduler"));
      timers.setRemoveOnCancelPolicy(true); // each call's timers (AuthInterceptor, UnreadAnswers) leave nothing behind once it ends
      this.scheduler = openScheduler = timers;
      ServerCredentials credentials;
      Authority single = null;
      ReplicationOptions replication = options.replication();
      List<io.grpc.ServiceDescriptor> served = new java.util.ArrayList<>(List.of(io.dsfleet.proto.v1.AgentServiceGrpc.getServiceDescriptor(),
          io.dsfleet.proto.v1.ControlServiceGrpc.getServiceDescriptor()));
      if (replication != null) {
        served.add(io.dsfleet.proto.v1.ReplicaServiceGrpc.getServiceDescriptor());
      }
      this.services = new ServingRegistry(served);
      if (replication == null) {
        this.store = openStore = SqliteStore.openKept(options.dataDir());
        this.replica = null;
        this.replicaAdds = null;
        this.gate = null;
        if (options.insecure()) {
          this.pki = null;
          credentials = InsecureServerCredentials.create();
        } else {
          single = Authority.open(options.dataDir(), options.tlsNames(), store, clock, options.nodeCertTtl());
          this.pki = single.pki();
          credentials = Tls.server(pki.serverCert(), pki.serverKey(), pki.ca(), this::issuedHere);
        }
      } else {
        this.pki = CoordinatorPki.load(options.dataDir(), options.tlsNames(), false);
        credentials = Tls.server(pki.serverCert(), pki.serverKey(), pki.ca(), this::issuedHere);
        Path secretsKey = SqliteStore.secretsKey(options.dataDir());
        if (!java.nio.file.Files.exists(secretsKey)) {
          throw new IllegalStateException("no " + secretsKey + ": every replica seals Secrets with the group's key;"
              + " a replica gets it with `ds-coordinator join --token`");
        }
        requireJoinedOrBootstrap(options.dataDir(), replication);
        String peerHost = replication.self().peerAddress().substring(0, replication.self().peerAddress().lastIndexOf(':'));
        CoordinatorPki.ReplicaCredential peer = pki.replicaCredential(replication.id(), List.of(peerHost));
        try {
          this.replica = openReplica = new Replica(replication, options.dataDir(), pki.caHash(), SecretBox.loadOrCreate(secretsKey), pki.ca(),
              peer.certificate(), peer.key());
        } catch (IOException e) {
          throw new java.io.UncheckedIOException("cannot set up replica " + replication.id() + ": " + e.getMessage(), e);
        }
        this.store = replica.store();
        this.replicaAdds = io.dsfleet.coordinator.grpc.ReplicaAdds.of(replica, clock, nanoTime);
        this.gate = new LeaderGate(replication.id(), replica::leaderAddress);
      }
      this.connections = new ConnectionLimits(options.connections());
      // more threads than cores: a call may wait on the disk or, on a replica, on a majority (seconds
      // during a leader change), and must not hold up the calls behind it
      this.calls = openCalls = Executors.newFixedThreadPool(Math.max(8, 4 * Runtime.getRuntime().availableProcessors()), daemonThreads("coordinator-call"));
      this.boss = openBoss = ConnectionLimits.eventLoops(1, daemonThreads("coordinator-accept"));
      this.workers = openWorkers = ConnectionLimits.eventLoops(0, daemonThreads("coordinator-io"));
      io.dsfleet.coordinator.security.UnreadAnswers unread = new io.dsfleet.coordinator.security.UnreadAnswers(scheduler);
      NettyServerBuilder builder = NettyServerBuilder.forAddress(new InetSocketAddress(options.host(), options.port()), credentials)
          .channelFactory(connections::newServerChannel)
          .bossEventLoopGroup(boss)
          .workerEventLoopGroup(workers)
          .handshakeTimeout(10, TimeUnit.SECONDS)
          // a connection that holds no call is closed (agents always hold their session); a client may
          // open only so many streams on one connection and ping only so often
          .maxConnectionIdle(options.connections().idleTimeout().toMillis(), TimeUnit.MILLISECONDS)
          .maxConcurrentCallsPerConnection(64)
          // a stream reset no longer counts against that cap, yet each one opened cost a call (HTTP/2 "rapid reset",
          // CVE-2023-44487), and gRPC bounds resets only when asked: Netty's own default for servers, 200 in 30 s
          .maxRstFramesPerWindow(200, 30)
          .keepAliveTime(60, TimeUnit.SECONDS)
          .keepAliveTimeout(20, TimeUnit.SECONDS)
          .permitKeepAliveTime(10, TimeUnit.SECONDS)
          .permitKeepAliveWithoutCalls(false)
          // the agents' sessions run on the transport threads: most of their messages are heartbeats,
          // answered there without the fleet's lock, and a thread hand-off per message would cost more
          // than the work (docs/benchmarks.md); what else a session changes is queued to one worker
          // (SessionWorker). Every other call (joins that sign and commit, the control API that may
          // plan the whole fleet) runs on the call threads, not on a transport thread.
          .directExecutor()
          .callExecutor(new io.grpc.ServerCallExecutorSupplier() {
            @Override
            public <Q, R> java.util.concurrent.Executor getExecutor(io.grpc.ServerCall<Q, R> call, io.grpc.Metadata headers) {
              return call.getMethodDescriptor().getFullMethodName().equals(SESSION_METHOD) ? null : calls;
            }
          })
          .maxInboundMetadataSize(16 * 1024)
          .maxInboundMessageSize(options.maxMessageBytes())
          .fallbackHandlerRegistry(services)
          .intercept(unread) // runs after the AuthInterceptor, which names the caller
          .addStreamTracerFactory(unread.tracers())
          .intercept(new AuthInterceptor(options.insecure(), () -> {
            Serving s = serving;
            return s == null ? null : s.authority();
          }, scheduler));
      if (gate != null) {
        builder.intercept(gate); // added last, runs first: a follower answers before anything else
      }
      builder.intercept(new io.dsfleet.coordinator.metrics.GrpcMetrics()); // runs first: every call counted, refused ones too
      this.server = builder.build();
      if (replica == null) {
        startServing(single, store);
      }
      // rollout passes run as in production in every coordinator, tests on a fake clock included
      everyWhileServing(20, "rollout pass", Fleet::rolloutPass);
      if (tick) {
        everyWhileServing(options.tickInterval().toMillis(), "lease sweep", Fleet::tick);
      }
    } catch (RuntimeException | Error e) {
      // a start that failed closes what it opened, then leaves the directory to the next
      try {
        background.shutdownNow();
        if (openScheduler != null) {
          openScheduler.shutdownNow();
        }
        if (openCalls != null) {
          openCalls.shutdownNow();
        }
        if (openBoss != null) {
          openBoss.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
        if (openWorkers != null) {
          openWorkers.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
        if (openReplica != null) {
          openReplica.close();
        } else if (openStore != null) {
          openStore.close();
        }
      } catch (RuntimeException closing) {
        e.addSuppressed(closing);
      } finally {
        dataDirLock.close();
      }
      throw e;
    }
  }

  /** Runs {@code work} on the fleet served, if any, every {@code millis} on the scheduler; a failure is logged, the next run comes. */
  private void everyWhileServing(long millis, String what, java.util.function.Consumer<Fleet> work) {
    scheduler.scheduleWithFixedDelay(() -> {
      Serving s = serving;
      try {
        if (s != null) {
          work.accept(s.fleet());
        }
      } catch (RuntimeException e) {
        log.error(what + " failed", e);
      }
    }, millis, millis, TimeUnit.MILLISECONDS);
  }

  /**
   * A replica starts from a store the group gave it (`ds-coordinator join` wrote a copy with its
   * log position) or from its own Raft log; only the first replica of a new group starts from a
   * store that is not the group's (--bootstrap). Anything else would split the fleet's state.
   */
  private static void requireJoinedOrBootstrap(Path dataDir, ReplicationOptions r) {
    if (java.nio.file.Files.exists(dataDir.resolve("raft")) || r.bootstrap()) {
      return;
    }
    long applied = 0;
    if (java.nio.file.Files.exists(dataDir.resolve("dsfleet.db"))) {
      try (SqliteStore s = new SqliteStore(dataDir)) {
        applied = s.appliedEntry()[1];
      }
    }
    if (applied == 0) {
      throw new IllegalStateException("replica " + r.id() + " has not joined a group: start the group's first replica with"
          + " --bootstrap, then join each other one with `ds-coordinator join --token` (a token from `dsctl replica add`)");
    }
  }

  /** Builds the fleet from the store and binds the services to it: at start, or when a replica's leadership is ready. */
  private void startServing(Authority authority, Store store) {
    Fleet fleet = new Fleet(store, clock, nanoTime, options.fleet(), new Random());
    AgentServiceImpl agents = new AgentServiceImpl(fleet, logs, authority);
    List<ServerServiceDefinition> definitions = new java.util.ArrayList<>(List.of(
        StrictDecoding.of(agents),
        StrictDecoding.of(new ControlServiceImpl(fleet, logs, scheduler, version, authority, replica, replicaAdds, logins, () -> dashboardUrl))));
    if (replica != null) {
      definitions.add(StrictDecoding.of(new io.dsfleet.coordinator.grpc.ReplicaServiceImpl(replica, replicaAdds, authority, options.dataDir(),
          background)));
    }
    definitions.forEach(services::bind);
    serving = new Serving(fleet, authority, agents, definitions);
    if (gate != null) {
      gate.open();
    }
  }

  private void stopServing() {
    Serving s = serving;
    serving = null;
    if (gate != null) {
      gate.close();
    }
    if (s != null) {
      s.definitions().forEach(services::unbind);
      s.agents().close();
      s.fleet().stopWatchers();
    }
  }

  public CoordinatorServer start() throws IOException {
    server.start();
    if (replica != null) {
      replica.start(new Replica.Serving() {
        @Override
        public void start(long term) {
          long t0 = System.nanoTime();
          // bound to this serving: a call still running in the fleet of one that stopped writes nothing
          // (the replica may serve again in the same term, which no term fences: a reload after a late commit)
          Store bound = replica.store().forThisServing();
          Authority authority = new Authority(pki, bound, clock, options.nodeCertTtl());
          long t1 = System.nanoTime();
          startServing(authority, bound);
          log.info("serving term {}: CA loaded from the store in {} ms, the fleet in {} ms", term, (t1 - t0) / 1_000_000,
              (System.nanoTime() - t1) / 1_000_000);
        }

        @Override
        public void stop() {
          stopServing();
        }
      });
      // A follower loads the fleet once from its own copy of the store (and throws it away): the
      // code a new leader runs is then loaded and warm, so taking over is not a cold start.
      background.execute(() -> {
        try {
          new Fleet(store, clock, nanoTime, options.fleet(), new Random());
        } catch (RuntimeException e) {
          log.debug("warming the fleet code failed: {}", e.toString());
        }
      });
    }
    return this;
  }

  public int port() {
    return server.getPort();
  }

  /** Whether the CA serving now issued exactly this client certificate (a handshake then skips its signature check). */
  private boolean issuedHere(java.security.cert.X509Certificate cert) {
    Serving s = serving;
    return s != null && s.authority() != null && s.authority().issuedExactly(cert);
  }

  /** The fleet this coordinator serves; null on a replica that does not lead now. */
  public Fleet fleet() {
    Serving s = serving;
    return s == null ? null : s.fleet();
  }

  /** This coordinator as a replica of a group; null for a single coordinator. */
  public Replica replica() {
    return replica;
  }

  /**
   * Starts the web dashboard on {@code at}: HTTPS with this coordinator's serving certificate, or
   * plain HTTP on an insecure coordinator; `dsctl dashboard` logs in to it from then on.
   */
  public io.dsfleet.coordinator.dashboard.Dashboard startDashboard(InetSocketAddress at) throws IOException {
    java.security.cert.X509Certificate[] chain = pki == null ? null : new java.security.cert.X509Certificate[] {pki.serverCert(), pki.ca()};
    var d = new io.dsfleet.coordinator.dashboard.Dashboard(at, this::fleet, this::authority, logins, logs, chain,
        pki == null ? null : pki.serverKey(), clock);
    dashboardUrl = d.url(at.getHostString().equals("0.0.0.0") || at.getHostString().equals("::") ? "127.0.0.1" : at.getHostString());
    return d;
  }

  /** Serves the Kubernetes API (docs/kubectl.md) on this address, HTTPS with a fleet credential required. */
  public io.dsfleet.coordinator.kubeapi.KubeApi startKubeApi(InetSocketAddress at) throws IOException {
    java.security.cert.X509Certificate[] chain = pki == null ? null : new java.security.cert.X509Certificate[] {pki.serverCert(), pki.ca()};
    return new io.dsfleet.coordinator.kubeapi.KubeApi(at, this::fleet, this::authority, logs, chain, pki == null ? null : pki.serverKey(),
        clock, version);
  }

  /** The relays of container logs from agents to dsctl and the dashboard. */
  public LogRelay logRelay() {
    return logs;
  }

  /** Session messages waiting for the fleet's lock; 0 on a replica that does not lead now. */
  public int queuedSessionMessages() {
    Serving s = serving;
    return s == null ? 0 : s.agents().queuedSessionMessages();
  }

  public ConnectionLimits connections() {
    return connections;
  }

  private static java.util.concurrent.ThreadFactory daemonThreads(String name) {
    return new io.grpc.netty.shaded.io.netty.util.concurrent.DefaultThreadFactory(name, true);
  }

  /** The fleet CA at work; null on an insecure coordinator, and on a replica that does not lead now. */
  public Authority authority() {
    Serving s = serving;
    return s == null ? null : s.authority();
  }

  /**
   * Returns when the server stops, or (a replica) when Raft stopped the replica's server by
   * itself: the process then exits for its supervisor (systemd) to start it again.
   */
  public void awaitTermination() throws InterruptedException {
    while (!server.awaitTermination(1, TimeUnit.SECONDS)) {
      if (replica != null && replica.failed()) {
        return;
      }
    }
  }

  /** Whether this coordinator must be restarted: its replica's Raft server stopped by itself. */
  public boolean failed() {
    return replica != null && replica.failed();
  }

  @Override
  public void close() {
    try {
      scheduler.shutdownNow();
      background.shutdownNow();
      server.shutdownNow();
      try {
        server.awaitTermination(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      calls.shutdownNow();
      boss.shutdownGracefully(0, 1, TimeUnit.SECONDS);
      workers.shutdownGracefully(0, 1, TimeUnit.SECONDS);
      Serving s = serving;
      if (s != null) {
        s.agents().close();
        s.fleet().stopWatchers();
        try {
          s.fleet().flush();
        } catch (RuntimeException e) {
          log.warn("events not written at shutdown: {}", e.getMessage());
        }
      }
      if (replica != null) {
        replica.close();
      } else {
        store.close();
      }
    } finally {
      dataDirLock.close(); // last: the directory is the next process's once this one wrote its last
    }
  }
}
