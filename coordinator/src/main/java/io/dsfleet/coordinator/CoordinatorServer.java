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
import io.grpc.ServerCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.nio.NioEventLoopGroup;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.util.Random;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Wires the store, the fleet, the fleet CA and the gRPC services, and serves them. */
public final class CoordinatorServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(CoordinatorServer.class);
  private final Store store;
  private final Fleet fleet;
  private final Server server;
  private final ScheduledExecutorService scheduler;
  private final Authority authority;
  private final ConnectionLimits connections;
  private final NioEventLoopGroup boss;
  private final NioEventLoopGroup workers;

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
  public CoordinatorServer(CoordinatorOptions options, Clock clock, java.util.function.LongSupplier nanoTime, boolean tick) {
    this.store = new SqliteStore(options.dataDir());
    this.fleet = new Fleet(store, clock, nanoTime, options.fleet(), new Random());
    ServerCredentials credentials;
    if (options.insecure()) {
      this.authority = null;
      credentials = InsecureServerCredentials.create();
    } else {
      this.authority = Authority.open(options.dataDir(), options.tlsNames(), store, clock, options.nodeCertTtl());
      CoordinatorPki pki = authority.pki();
      credentials = Tls.server(pki.serverCert(), pki.serverKey(), pki.ca());
    }
    this.scheduler = Executors.newScheduledThreadPool(1, r -> {
      Thread t = new Thread(r, "coordinator-scheduler");
      t.setDaemon(true);
      return t;
    });
    this.connections = new ConnectionLimits(options.connections());
    this.boss = new NioEventLoopGroup(1, daemonThreads("coordinator-accept"));
    this.workers = new NioEventLoopGroup(0, daemonThreads("coordinator-io"));
    NettyServerBuilder builder = NettyServerBuilder.forAddress(new InetSocketAddress(options.host(), options.port()), credentials)
        .channelFactory(connections::newServerChannel)
        .bossEventLoopGroup(boss)
        .workerEventLoopGroup(workers)
        .handshakeTimeout(10, TimeUnit.SECONDS)
        // a connection that holds no call is closed (agents always hold their session); a client may
        // open only so many streams on one connection and ping only so often
        .maxConnectionIdle(options.connections().idleTimeout().toMillis(), TimeUnit.MILLISECONDS)
        .maxConcurrentCallsPerConnection(64)
        .keepAliveTime(60, TimeUnit.SECONDS)
        .keepAliveTimeout(20, TimeUnit.SECONDS)
        .permitKeepAliveTime(10, TimeUnit.SECONDS)
        .permitKeepAliveWithoutCalls(false)
        // handlers are short and never wait on the network, so they run on the transport threads:
        // no thread hand-off per message (heartbeats are most of the traffic; docs/benchmarks.md)
        .directExecutor()
        .maxInboundMetadataSize(16 * 1024)
        .intercept(new AuthInterceptor(authority, scheduler));
    LogRelay logs = new LogRelay();
    String version = java.util.Objects.requireNonNullElse(CoordinatorServer.class.getPackage().getImplementationVersion(), "dev");
    this.server = builder
        .maxInboundMessageSize(options.maxMessageBytes())
        .addService(StrictDecoding.of(new AgentServiceImpl(fleet, logs, authority)))
        .addService(StrictDecoding.of(new ControlServiceImpl(fleet, logs, scheduler, version, authority)))
        .build();
    // rollout passes run as in production in every coordinator, tests on a fake clock included
    scheduler.scheduleWithFixedDelay(() -> {
      try {
        fleet.rolloutPass();
      } catch (RuntimeException e) {
        log.error("rollout pass failed", e);
      }
    }, 20, 20, TimeUnit.MILLISECONDS);
    if (tick) {
      long ms = options.tickInterval().toMillis();
      scheduler.scheduleWithFixedDelay(() -> {
        try {
          fleet.tick();
        } catch (RuntimeException e) {
          log.error("lease sweep failed", e);
        }
      }, ms, ms, TimeUnit.MILLISECONDS);
    }
  }

  public CoordinatorServer start() throws IOException {
    server.start();
    return this;
  }

  public int port() {
    return server.getPort();
  }

  public Fleet fleet() {
    return fleet;
  }

  public ConnectionLimits connections() {
    return connections;
  }

  private static java.util.concurrent.ThreadFactory daemonThreads(String name) {
    return new io.grpc.netty.shaded.io.netty.util.concurrent.DefaultThreadFactory(name, true);
  }

  /** The fleet CA at work; null on an insecure coordinator. */
  public Authority authority() {
    return authority;
  }

  public void awaitTermination() throws InterruptedException {
    server.awaitTermination();
  }

  @Override
  public void close() {
    scheduler.shutdownNow();
    server.shutdownNow();
    try {
      server.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    boss.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    workers.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    fleet.flush();
    store.close();
  }
}
