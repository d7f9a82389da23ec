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

  /**
   * A daemon that answers an exec's create and start but never ends its stream, and then hangs on
   * the exec's inspect (its lock held by a start stuck in runc): the look at a timed-out exec
   * (TimedOutExecs) gives up after the passes' wait too; it waited the transport's 10 minutes,
   * the probe's thread held that long.
   */
  @Test
  void theLookAtATimedOutExecGivesUpAfterThePassesWait() throws Exception {
    ServerSocketChannel answering = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    answering.bind(UnixDomainSocketAddress.of(dir.resolve("answering.sock")));
    Thread t = new Thread(() -> {
      try {
        while (true) {
          SocketChannel c = answering.accept();
          held.add(c);
          Thread conn = new Thread(() -> serveExec(c));
          conn.setDaemon(true);
          conn.start();
        }
      } catch (IOException closed) {
        // the test ended
      }
    });
    t.setDaemon(true);
    t.start();
    try (DockerRuntime docker = new DockerRuntime("unix://" + dir.resolve("answering.sock"), Duration.ofMillis(500))) {
      ContainerRuntime.ExecResult r = org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(Duration.ofSeconds(10),
          () -> docker.exec("c1", List.of("true"), Duration.ofSeconds(1)));
      assertThat(r.exitCode()).as("timed out").isEqualTo(-1);
    } finally {
      answering.close();
    }
  }

  /** One connection of the answering daemon: an exec's create answered, its start's stream opened and never ended, anything else never answered. */
  private static void serveExec(SocketChannel c) {
    try (var in = new java.io.BufferedInputStream(java.nio.channels.Channels.newInputStream(c));
        var out = java.nio.channels.Channels.newOutputStream(c)) {
      while (true) {
        StringBuilder head = new StringBuilder();
        while (!head.toString().endsWith("\r\n\r\n")) {
          int b = in.read();
          if (b < 0) {
            return;
          }
          head.append((char) b);
        }
        var m = java.util.regex.Pattern.compile("(?i)content-length: *(\\d+)").matcher(head);
        if (m.find()) {
          in.readNBytes(Integer.parseInt(m.group(1)));
        }
        String line = head.substring(0, head.indexOf("\r\n"));
        if (line.startsWith("POST ") && line.contains("/containers/c1/exec")) {
          byte[] body = "{\"Id\":\"e1\"}".getBytes(java.nio.charset.StandardCharsets.UTF_8);
          out.write(("HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: " + body.length + "\r\n\r\n")
              .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
          out.write(body);
          out.flush();
        } else if (line.startsWith("POST ") && line.contains("/exec/e1/start")) {
          out.write("HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
          out.flush();
          Thread.sleep(Long.MAX_VALUE); // the stream never ends
        } else {
          Thread.sleep(Long.MAX_VALUE); // the exec's inspect: never answered
        }
      }
    } catch (IOException | InterruptedException closed) {
      // the test ended
    }
  }
}
