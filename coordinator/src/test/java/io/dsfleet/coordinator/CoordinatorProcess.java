package io.dsfleet.coordinator;

import static org.awaitility.Awaitility.await;

import io.dsfleet.common.testing.FreePorts;
import io.dsfleet.proto.v1.ControlServiceGrpc;
import io.dsfleet.proto.v1.VersionRequest;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/** ds-coordinator as a real process (this test's classpath), insecure on a loopback port, that a test can SIGKILL and start again. */
final class CoordinatorProcess implements AutoCloseable {
  final int port;
  final Path dataDir;
  final Path log;
  final ManagedChannel channel;
  private Process process;

  CoordinatorProcess(Path dir) throws IOException {
    this.port = FreePorts.pick();
    this.dataDir = dir.resolve("data");
    this.log = dir.resolve("coordinator.log");
    this.channel = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
  }

  /** Starts the process with {@code serve}'s {@code extra} options and waits until its API answers. */
  CoordinatorProcess start(String... extra) throws IOException {
    ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", // a short-lived JVM: start cheaply on a loaded machine
        "-cp", System.getProperty("java.class.path"), CoordinatorMain.class.getName(), "serve",
        "--listen", "127.0.0.1:" + port, "--data-dir", dataDir.toString(), "--config", dataDir.resolveSibling("none.yaml").toString(),
        "--insecure");
    pb.command().addAll(java.util.List.of(extra));
    pb.redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    process = pb.start();
    // the channel tries at once at each poll, not after its reconnect back-off (which grows while the
    // process starts: on a loaded machine the next try could come after the wait was over)
    // and often: the first answer is the moment a script waiting for the API would go on (ServeOrderTest)
    await().atMost(Duration.ofSeconds(60)).pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(5)).ignoreExceptions().until(() -> {
      channel.resetConnectBackoff();
      return !control().version(VersionRequest.getDefaultInstance()).getVersion().isEmpty();
    });
    return this;
  }

  ControlServiceGrpc.ControlServiceBlockingStub control() {
    return ControlServiceGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS); // a loaded machine
  }

  /** SIGKILL: no shutdown hook runs, nothing is flushed. Returns the exit code. */
  int kill() throws InterruptedException {
    process.destroyForcibly();
    if (!process.waitFor(10, TimeUnit.SECONDS)) {
      throw new AssertionError("the coordinator did not die within 10 s of SIGKILL");
    }
    return process.exitValue();
  }

  @Override
  public void close() {
    channel.shutdownNow();
    if (process != null) {
      process.destroyForcibly();
    }
  }
}
