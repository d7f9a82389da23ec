package io.dsfleet.agent.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Where Docker keeps its layers and how ({@code docker info}: its root directory and storage
 * driver), for disk pressure, as the daemon running now says it: a dockerd restarted with another
 * {@code data-root} or driver (overlay2 to another, say) under a running agent was taken as the
 * first one said, every layer looked for where none lay or walked where Docker had no upper
 * directories, and each counted 0: a neighbour's volume emptied for a container filling its own
 * file system. A daemon that does not answer {@code info} is taken as it last said.
 */
class DockerLayoutTest {
  static final String ID = "c".repeat(64);
  @TempDir Path dir;
  ServerSocketChannel daemon;
  /** What the fake daemon answers to {@code GET /info}; null: it hangs up. */
  volatile String info;

  @BeforeEach
  void serve() throws IOException {
    daemon = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    daemon.bind(UnixDomainSocketAddress.of(dir.resolve("docker.sock")));
    Thread t = new Thread(() -> {
      try {
        while (true) {
          try (SocketChannel c = daemon.accept()) {
            answer(Channels.newInputStream(c), Channels.newOutputStream(c));
          }
        }
      } catch (IOException closed) {
        // the test ended
      }
    });
    t.setDaemon(true);
    t.start();
  }

  private void answer(InputStream in, OutputStream out) throws IOException {
    StringBuilder head = new StringBuilder();
    while (!head.toString().endsWith("\r\n\r\n")) {
      int b = in.read();
      if (b < 0) {
        return;
      }
      head.append((char) b);
    }
    String path = head.toString().split(" ")[1];
    String body;
    if (path.startsWith("/info") || path.matches("/v[0-9.]+/info.*")) {
      body = info;
      if (body == null) {
        return; // hung up: no answer
      }
    } else {
      body = "[{\"Id\":\"" + ID + "\",\"Names\":[\"/c\"],\"State\":\"running\",\"SizeRw\":" + (path.contains("size=true") ? 7 : 0)
          + ",\"Labels\":{},\"Mounts\":[]}]";
    }
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    out.write(("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + bytes.length + "\r\nConnection: close\r\n\r\n")
        .getBytes(StandardCharsets.ISO_8859_1));
    out.write(bytes);
    out.flush();
  }

  @AfterEach
  void close() throws IOException {
    daemon.close();
  }

  static String info(String root, String driver) {
    return "{\"DockerRootDir\":\"" + root + "\",\"Driver\":\"" + driver + "\"}";
  }

  @Test
  void aDaemonRestartedWithAnotherRootAndDriverIsAskedAgain() throws Exception {
    try (DockerRuntime docker = new DockerRuntime("unix://" + dir.resolve("docker.sock"), Duration.ofSeconds(10))) {
      info = info("/var/lib/docker", "overlay2");
      var first = docker.writableLayers("n1");
      assertThat(first.root()).isEqualTo(Path.of("/var/lib/docker"));
      assertThat(first.bytesById()).as("overlay2: the agent walks the layers").isEmpty();

      info = info("/srv/docker", "btrfs"); // dockerd restarted with another data-root and driver
      var second = docker.writableLayers("n1");
      assertThat(second.root()).isEqualTo(Path.of("/srv/docker"));
      assertThat(second.bytesById()).as("another driver: Docker says each layer's bytes").isEqualTo(Map.of(ID, 7L));

      info = null; // a daemon that does not answer info: as it last said
      assertThat(docker.writableLayers("n1").root()).isEqualTo(Path.of("/srv/docker"));
    }
  }
}
