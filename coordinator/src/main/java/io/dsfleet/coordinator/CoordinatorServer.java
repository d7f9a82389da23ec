package io.dsfleet.coordinator;

import io.dsfleet.coordinator.fleet.Fleet;
import io.dsfleet.coordinator.grpc.AgentServiceImpl;
import io.dsfleet.coordinator.grpc.ControlServiceImpl;
import io.dsfleet.coordinator.grpc.LogRelay;
import io.dsfleet.coordinator.store.SqliteStore;
import io.dsfleet.coordinator.store.Store;
import io.grpc.Server;
import io.grpc.ServerBuilder;
import java.io.IOException;
import java.time.Clock;
import java.util.Random;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Wires the store, the fleet and the gRPC services on a server builder (tests pass their own). */
public final class CoordinatorServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(CoordinatorServer.class);
  private final Store store;
  private final Fleet fleet;
  private final Server server;
  private final ScheduledExecutorService scheduler;

  /**
   * @param tick whether to run the lease sweeper on the real scheduler; tests with a fake clock
   *     call {@link Fleet#tick()} themselves
   */
  public CoordinatorServer(ServerBuilder<?> builder, CoordinatorOptions options, Clock clock, boolean tick) {
    this.store = new SqliteStore(options.dataDir());
    this.fleet = new Fleet(store, clock, options.fleet(), new Random());
    this.scheduler = Executors.newScheduledThreadPool(1, r -> {
      Thread t = new Thread(r, "coordinator-scheduler");
      t.setDaemon(true);
      return t;
    });
    LogRelay logs = new LogRelay();
    String version = java.util.Objects.requireNonNullElse(CoordinatorServer.class.getPackage().getImplementationVersion(), "dev");
    this.server = builder
        .maxInboundMessageSize(options.maxMessageBytes())
        .addService(new AgentServiceImpl(fleet, logs))
        .addService(new ControlServiceImpl(fleet, logs, scheduler, version))
        .build();
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
    store.close();
  }
}
