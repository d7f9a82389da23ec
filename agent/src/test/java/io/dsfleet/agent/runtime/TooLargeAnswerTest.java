package io.dsfleet.agent.runtime;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An answer over what the agent reads (a list of containers carrying megabytes of labels) fails
 * that call as Docker's answer, through docker-java's JSON reader (which wraps it in an
 * IOException), never as an unreachable daemon: the node is not reported runtime-down for it.
 */
class TooLargeAnswerTest {
  @TempDir Path dir;

  @Test
  void aListOverTheLimitIsNotAnUnreachableDaemon() throws Exception {
    Path sock = dir.resolve("docker.sock");
    try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      server.bind(UnixDomainSocketAddress.of(sock));
      Thread daemon = new Thread(() -> {
        try (SocketChannel c = server.accept()) {
          c.read(ByteBuffer.allocate(64 * 1024)); // the request
          c.write(ByteBuffer.wrap("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
              .getBytes(StandardCharsets.ISO_8859_1)));
          String label = "\"big\":\"" + "x".repeat(60_000) + "\"";
          String entry = "{\"Id\":\"abc\",\"Names\":[\"/c\"],\"State\":\"running\",\"Labels\":{" + label + "}},";
          byte[] chunk = entry.getBytes(StandardCharsets.UTF_8);
          c.write(ByteBuffer.wrap(("1\r\n[\r\n").getBytes(StandardCharsets.ISO_8859_1)));
          for (int i = 0; i < 100; i++) { // about 6 MB, over the 4 MiB read
            c.write(ByteBuffer.wrap((Integer.toHexString(chunk.length) + "\r\n").getBytes(StandardCharsets.ISO_8859_1)));
            c.write(ByteBuffer.wrap(chunk));
            c.write(ByteBuffer.wrap("\r\n".getBytes(StandardCharsets.ISO_8859_1)));
          }
        } catch (IOException e) {
          // the agent hung up once it had read enough: what the test wants
        }
      }, "daemon");
      daemon.setDaemon(true);
      daemon.start();
      try (DockerRuntime runtime = new DockerRuntime("unix://" + sock, Duration.ofSeconds(10))) {
        assertThatThrownBy(() -> runtime.listOwned("n1", Map.of())).isNotInstanceOf(RuntimeUnavailableException.class)
            .hasMessageContaining("docker's answer is over");
      }
    }
  }
}
