package io.dsfleet.coordinator.grpc;

import io.dsfleet.common.testing.FakeClock;
import io.dsfleet.coordinator.CoordinatorOptions;
import io.dsfleet.coordinator.CoordinatorServer;
import io.dsfleet.coordinator.fleet.FleetOptions;
import io.dsfleet.proto.v1.ControlServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** A real coordinator on a loopback port with a fake clock (leases move only when a test says so). */
public final class CoordinatorFixture implements AutoCloseable {
  public static final FleetOptions OPTIONS = new FleetOptions(Duration.ofSeconds(5), Duration.ofSeconds(20), 0.1,
      Duration.ofMinutes(10), 500, 50);
  public final FakeClock clock = new FakeClock();
  public final Path dataDir;
  public CoordinatorServer server;
  private ManagedChannel channel;
  public ControlServiceGrpc.ControlServiceBlockingStub control;
  private final List<FakeAgent> agents = new ArrayList<>();

  /** An insecure coordinator (plaintext, no credentials): for tests of everything but security. */
  public CoordinatorFixture(Path dataDir) throws Exception {
    this.dataDir = dataDir;
    start();
  }

  public static CoordinatorOptions options(Path dataDir, boolean insecure) {
    return new CoordinatorOptions("127.0.0.1", 0, dataDir, OPTIONS, Duration.ofSeconds(1), 4 * 1024 * 1024, insecure,
        java.util.List.of(), Duration.ofDays(30), io.dsfleet.coordinator.ConnectionLimits.Settings.defaults());
  }

  public void start() throws Exception {
    server = new CoordinatorServer(options(dataDir, true), clock, clock::nanos, false).start();
    channel = NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
    control = ControlServiceGrpc.newBlockingStub(channel);
  }

  public ControlServiceGrpc.ControlServiceBlockingStub control() {
    return control.withDeadlineAfter(10, TimeUnit.SECONDS);
  }

  public ControlServiceGrpc.ControlServiceStub asyncControl() {
    return ControlServiceGrpc.newStub(channel);
  }

  /** A fake agent that has joined and whose session the coordinator has opened (so later clock moves count from now). */
  public FakeAgent agent(String name, java.util.Map<String, String> labels) {
    FakeAgent a = new FakeAgent(server.port(), name).join(labels).open();
    agents.add(a);
    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10))
        .until(() -> server.fleet().connected(name) || a.sessionError != null);
    return a;
  }

  /** Stops the server (as a crash would, without telling agents) and starts it again on the same data. */
  public void restart() throws Exception {
    agents.forEach(FakeAgent::close);
    agents.clear();
    channel.shutdownNow();
    server.close();
    start();
  }

  /** Runs {@code body} while another thread holds the fleet's lock (as an apply or a rollout pass would). */
  public void whileTheFleetLockIsHeld(org.junit.jupiter.api.function.Executable body) throws Throwable {
    whileTheFleetLockIsHeld(server, body);
  }

  /**
   * Runs {@code body} with the sessions it opens paced every {@code interval} instead of
   * ReportPacing's 100 ms: a test that waits for a paced flood to fill a session's queue waits
   * that much less (the pace is the JVM's: its tests run one at a time).
   */
  public static void withReportsPacedEvery(java.time.Duration interval, org.junit.jupiter.api.function.Executable body) throws Throwable {
    ReportPacing.paceEvery(interval);
    try {
      body.execute();
    } finally {
      ReportPacing.paceEvery(ReportPacing.EVERY);
    }
  }

  /** Runs {@code body} while another thread holds {@code server}'s fleet's lock. */
  public static void whileTheFleetLockIsHeld(CoordinatorServer server, org.junit.jupiter.api.function.Executable body) throws Throwable {
    var held = new java.util.concurrent.CountDownLatch(1);
    var release = new java.util.concurrent.CountDownLatch(1);
    Thread holder = new Thread(() -> server.fleet().batch(() -> {
      held.countDown();
      try {
        release.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }));
    holder.start();
    try {
      held.await();
      body.execute();
    } finally {
      release.countDown();
      holder.join();
    }
  }

  @Override
  public void close() {
    agents.forEach(FakeAgent::close);
    channel.shutdownNow();
    server.close();
  }
}
