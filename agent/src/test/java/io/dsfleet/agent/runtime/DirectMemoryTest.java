package io.dsfleet.agent.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import com.github.dockerjava.transport.DockerHttpClient;
import io.dsfleet.agent.hostfs.NoFollow;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent's unit bounds direct memory (-XX:MaxDirectMemorySize=16m), and the JDK copies a heap
 * buffer written to a file or socket through a direct buffer of its size: a volume's file or a
 * create's body (a pod's environment from ConfigMaps of 1 MB keys) written whole reserved its size,
 * so pod workers writing at once could fail "Direct buffer memory" (an Error the workers do not
 * catch). Here 4 MiB, four times a child JVM's whole bound.
 */
class DirectMemoryTest {
  @TempDir Path dir;

  private String child(String what) throws Exception {
    Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-XX:MaxDirectMemorySize=1m",
        "-cp", System.getProperty("java.class.path"), WriteLarge.class.getName(), what, dir.toString()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(out).isZero();
    return out;
  }

  @Test
  void aVolumeFileLargerThanTheDirectMemoryBoundIsWritten() throws Exception {
    child("file");
    assertThat(Files.size(dir.resolve("key"))).isEqualTo(4L << 20);
  }

  @Test
  void aDockerRequestBodyLargerThanTheDirectMemoryBoundIsSent() throws Exception {
    assertThat(child("docker")).contains("docker read " + (4 << 20) + " bytes of body, answered 204");
  }

  /**
   * The desired set, up to 4 MiB (the coordinator's DesiredSetBound: ConfigMaps of an admin's valid
   * apply), written to the state directory and read back at the agent's start: each went whole
   * through a direct buffer of its size, which the writing thread then kept for reuse.
   */
  @Test
  void aDesiredSetLargerThanTheDirectMemoryBoundIsSavedAndLoaded() throws Exception {
    assertThat(child("state")).contains("desired set read back with " + (4 << 20) + " bytes of config");
  }

  /** Writes 4 MiB as {@code args[0]} says: a volume's file, a request's body to a daemon played on a Unix socket, or the desired set. */
  public static final class WriteLarge {
    public static void main(String[] args) throws Exception {
      byte[] data = new byte[4 << 20];
      java.util.Arrays.fill(data, (byte) 'x');
      Path dir = Path.of(args[1]);
      if (args[0].equals("file")) {
        NoFollow.createFile(dir.resolve("key"), data, PosixFilePermissions.fromString("rw-r--r--"));
        return;
      }
      if (args[0].equals("state")) {
        io.dsfleet.proto.v1.DesiredState set = io.dsfleet.proto.v1.DesiredState.newBuilder().setVersion(1)
            .addConfigs(io.dsfleet.proto.v1.ConfigObject.newBuilder().setNamespace("ops").setName("big")
                .putData("blob", com.google.protobuf.ByteString.copyFrom(data))).build();
        new io.dsfleet.agent.state.LocalState(dir.resolve("state")).saveDesired(set);
        io.dsfleet.proto.v1.DesiredState read = new io.dsfleet.agent.state.LocalState(dir.resolve("state")).loadDesired().orElseThrow();
        System.out.println("desired set read back with " + read.getConfigs(0).getDataOrThrow("blob").size() + " bytes of config");
        return;
      }
      ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
      server.bind(UnixDomainSocketAddress.of(dir.resolve("docker.sock")));
      long[] read = new long[1];
      Thread daemon = new Thread(() -> {
        try (SocketChannel c = server.accept()) {
          ByteBuffer b = ByteBuffer.allocateDirect(8192); // the daemon's reads: none of the bound they test
          StringBuilder head = new StringBuilder();
          long total = 0;
          while (c.read(b.clear()) > 0) {
            total += b.position();
            if (head.indexOf("\r\n\r\n") < 0) {
              head.append(StandardCharsets.ISO_8859_1.decode(b.flip()));
            }
            if (head.indexOf("\r\n\r\n") >= 0 && total - (head.indexOf("\r\n\r\n") + 4) >= data.length) {
              break;
            }
          }
          read[0] = total - (head.indexOf("\r\n\r\n") + 4);
          c.write(ByteBuffer.wrap("HTTP/1.1 204 No Content\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1)));
        } catch (java.io.IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      });
      daemon.start();
      var request = DockerHttpClient.Request.builder().method(DockerHttpClient.Request.Method.POST).path("/v1.41/containers/create?name=x")
          .bodyBytes(data).build();
      try (var client = new UnixSocketHttpClient(dir.resolve("docker.sock"), Duration.ofSeconds(30), 1 << 20);
          DockerHttpClient.Response r = client.execute(request)) {
        daemon.join();
        System.out.println("docker read " + read[0] + " bytes of body, answered " + r.getStatusCode());
      }
    }
  }
}
