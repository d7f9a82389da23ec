package io.dsfleet.agent.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A Docker daemon that hangs (takes connections, never answers: what a deadlocked dockerd does):
 * the calls of the agent's passes give up after their own wait, so the node says its runtime is
 * down instead of every pass waiting the transport's 10 minutes. The wait here is 500 ms (2 minutes
 * in the agent, {@link DockerRuntime#QUICK_CALLS}).
 */
class HungDockerTest {
  @TempDir Path dir;
  ServerSocketChannel daemon;
  final List<SocketChannel> held = new CopyOnWriteArrayList<>();

  @BeforeEach
  void hang() throws IOException {
    daemon = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    daemon.bind(UnixDomainSocketAddress.of(dir.resolve("docker.sock")));
    Thread t = new Thread(() -> {
      try {
        while (true) {
          held.add(daemon.accept()); // taken, never read nor answered
        }
      } catch (IOException closed) {
        // the test ended
      }
    });
    t.setDaemon(true);
    t.start();
  }

  @AfterEach
  void close() throws IOException {
    daemon.close();
    for (SocketChannel c : held) {
      c.close();
    }
  }

  @Test
  void pingListAndInspectOfAHungDaemonGiveUpAsTheRuntimeUnavailable() throws Exception {
    try (DockerRuntime docker = new DockerRuntime("unix://" + dir.resolve("docker.sock"), Duration.ofMillis(500))) {
      for (Runnable call : List.<Runnable>of(docker::ping, () -> docker.listOwned("n1"), () -> docker.inspectImage("local/busybox:1"))) {
        long t0 = System.nanoTime();
        assertThatThrownBy(call::run).isInstanceOf(RuntimeUnavailableException.class).hasMessageContaining("did not answer");
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(5));
      }
    }
  }

  /** An exec (a probe's, a hook's) whose create the daemon never answers gives up after the same wait, not the transport's 10 minutes. */
  @Test
  void anExecTheDaemonNeverAnswersGivesUpAsTheRuntimeUnavailable() throws Exception {
    try (DockerRuntime docker = new DockerRuntime("unix://" + dir.resolve("docker.sock"), Duration.ofMillis(500))) {
      org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(Duration.ofSeconds(10), () ->
          assertThatThrownBy(() -> docker.exec("c1", List.of("true"), Duration.ofSeconds(1))).isInstanceOf(RuntimeUnavailableException.class)
              .hasMessageContaining("did not answer"));
    }
  }
}
