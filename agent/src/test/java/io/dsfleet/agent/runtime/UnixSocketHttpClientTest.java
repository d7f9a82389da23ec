package io.dsfleet.agent.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.github.dockerjava.transport.DockerHttpClient;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.SocketTimeoutException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent's Docker transport against a daemon played by the test on a Unix socket: what it sends,
 * each framing of a response (a length, chunks split anywhere, until the daemon closes), a daemon
 * that does not answer, and a stream closed from another thread. Real Docker is every other agent
 * test's (DockerRuntime goes through this transport).
 */
class UnixSocketHttpClientTest {
  @TempDir Path dir;
  private ServerSocketChannel server;
  /** What a daemon that hangs waits for: the test's end (before, 5 s, which also ended a read the client's close left waiting). */
  private final java.util.concurrent.CountDownLatch testOver = new java.util.concurrent.CountDownLatch(1);

  @AfterEach
  void close() throws IOException {
    testOver.countDown();
    if (server != null) {
      server.close();
    }
  }

  /** Serves one connection: reads the request (up to its blank line and body), answers with what {@code answer} makes of it. */
  private CompletableFuture<String> daemon(Function<String, List<String>> answer) throws IOException {
    server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    server.bind(UnixDomainSocketAddress.of(dir.resolve("docker.sock")));
    return CompletableFuture.supplyAsync(() -> {
      try (SocketChannel c = server.accept()) {
        ByteArrayOutputStream request = new ByteArrayOutputStream();
        ByteBuffer b = ByteBuffer.allocate(4096);
        while (!request.toString(StandardCharsets.ISO_8859_1).contains("\r\n\r\n") || !complete(request.toString(StandardCharsets.ISO_8859_1))) {
          b.clear();
          if (c.read(b) < 0) {
            break;
          }
          request.write(b.array(), 0, b.position());
        }
        String text = request.toString(StandardCharsets.ISO_8859_1);
        for (String piece : answer.apply(text)) {
          if (piece.equals("HANG")) {
            testOver.await(60, TimeUnit.SECONDS);
          } else {
            c.write(ByteBuffer.wrap(piece.getBytes(StandardCharsets.ISO_8859_1)));
            Thread.sleep(20); // the client reads what came so far: pieces arrive apart
          }
        }
        return text;
      } catch (IOException | InterruptedException e) {
        return "daemon: " + e;
      }
    });
  }

  private static boolean complete(String request) {
    String body = request.substring(request.indexOf("\r\n\r\n") + 4);
    if (request.contains("Transfer-Encoding: chunked")) {
      return body.endsWith("0\r\n\r\n");
    }
    int at = request.indexOf("Content-Length: ");
    return at < 0 || body.length() >= Integer.parseInt(request.substring(at + 16, request.indexOf("\r\n", at)));
  }

  private UnixSocketHttpClient client(Duration timeout) {
    return new UnixSocketHttpClient(dir.resolve("docker.sock"), timeout, 0);
  }

  private static String read(InputStream in) throws IOException {
    return new String(in.readAllBytes(), StandardCharsets.UTF_8);
  }

  @Test
  void aRequestWithItsBodyAndAResponseOfKnownLength() throws Exception {
    var daemon = daemon(req -> List.of("HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n", "{\"Id\":\"ab\"}"));
    var request = DockerHttpClient.Request.builder().method(DockerHttpClient.Request.Method.POST).path("/v1.41/containers/create?name=x")
        .putHeader("Content-Type", "application/json").bodyBytes("{\"Image\":\"busybox\"}".getBytes(StandardCharsets.UTF_8)).build();
    try (DockerHttpClient.Response r = client(Duration.ofSeconds(5)).execute(request)) {
      assertThat(r.getStatusCode()).isEqualTo(201);
      assertThat(r.getHeader("content-type")).isEqualTo("application/json");
      assertThat(read(r.getBody())).isEqualTo("{\"Id\":\"ab\"}");
    }
    assertThat(daemon.get(5, TimeUnit.SECONDS)).startsWith("POST /v1.41/containers/create?name=x HTTP/1.1\r\n")
        .contains("Host: docker\r\n", "Connection: close\r\n", "Content-Type: application/json\r\n", "Content-Length: 19\r\n")
        .endsWith("\r\n\r\n{\"Image\":\"busybox\"}");
  }

  /** A client with a limit reads no answer over it, whatever its framing: a length said at once, chunks as they come. */
  @Test
  void anAnswerOverTheLimitFailsTheCallAsTooLargeNotAsAnUnreachableDaemon() throws Exception {
    var get = DockerHttpClient.Request.builder().method(DockerHttpClient.Request.Method.GET).path("/containers/json").build();
    daemon(req -> List.of("HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n", "[1,2,3,4,5]"));
    try (DockerHttpClient.Response r = new UnixSocketHttpClient(dir.resolve("docker.sock"), Duration.ofSeconds(5), 10).execute(get)) {
      org.assertj.core.api.Assertions.fail("an answer of 11 bytes taken with a limit of 10");
    } catch (UnixSocketHttpClient.TooLarge expected) {
      assertThat(expected).hasMessageContaining("over 10 bytes");
    }
    server.close();
    java.nio.file.Files.delete(dir.resolve("docker.sock"));
    daemon(req -> List.of("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\n[1,2,3", "\r\n6\r\n,4,5,6\r\n", "0\r\n\r\n"));
    try (DockerHttpClient.Response r = new UnixSocketHttpClient(dir.resolve("docker.sock"), Duration.ofSeconds(5), 10).execute(get)) {
      InputStream body = r.getBody();
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> read(body)).isInstanceOf(UnixSocketHttpClient.TooLarge.class);
    }
  }

  @Test
  void chunksSplitAnywhereAndAStreamedRequestBody() throws Exception {
    var daemon = daemon(req -> List.of("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", "lo\r\n", "7;ext=1\r\n, world\r\n0\r\n",
        "X-Trailer: y\r\n\r\n"));
    var request = DockerHttpClient.Request.builder().method(DockerHttpClient.Request.Method.POST).path("/images/load")
        .body(new ByteArrayInputStream("tar bytes".getBytes(StandardCharsets.UTF_8))).build();
    try (DockerHttpClient.Response r = client(Duration.ofSeconds(5)).execute(request)) {
      assertThat(read(r.getBody())).isEqualTo("hello, world");
    }
    assertThat(daemon.get(5, TimeUnit.SECONDS)).contains("Transfer-Encoding: chunked\r\n").endsWith("\r\n\r\n9\r\ntar bytes\r\n0\r\n\r\n");
  }

  @Test
  void aRawStreamRunsUntilTheDaemonCloses() throws Exception {
    daemon(req -> List.of("HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\n", "first ", "second"));
    var request = DockerHttpClient.Request.builder().method(DockerHttpClient.Request.Method.POST).path("/exec/abc/start")
        .bodyBytes("{}".getBytes(StandardCharsets.UTF_8)).build();
    try (DockerHttpClient.Response r = client(Duration.ofSeconds(5)).execute(request)) {
      assertThat(read(r.getBody())).isEqualTo("first second");
    }
  }

  @Test
  void aDaemonThatDoesNotAnswerTimesOut() throws Exception {
    daemon(req -> List.of("HANG"));
    var request = DockerHttpClient.Request.builder().method(DockerHttpClient.Request.Method.GET).path("/_ping").build();
    long t0 = System.nanoTime();
    assertThatThrownBy(() -> client(Duration.ofMillis(300)).execute(request)).hasRootCauseInstanceOf(SocketTimeoutException.class)
        .hasMessageContaining("did not answer");
    assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(3));
  }

  @Test
  void aStreamClosedFromAnotherThreadEndsTheReadWaitingOnIt() throws Exception {
    daemon(req -> List.of("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n", "HANG"));
    var request = DockerHttpClient.Request.builder().method(DockerHttpClient.Request.Method.GET).path("/events").build();
    DockerHttpClient.Response r = client(Duration.ofMinutes(10)).execute(request);
    InputStream body = r.getBody();
    assertThat(new String(body.readNBytes(3), StandardCharsets.UTF_8)).isEqualTo("abc");
    CompletableFuture<Throwable> reader = new CompletableFuture<>();
    Thread reading = new Thread(() -> {
      try {
        body.read();
        reader.complete(null);
      } catch (IOException e) {
        reader.complete(e);
      }
    }, "reader");
    reading.setDaemon(true); // not held for, should the close not end its read
    reading.start();
    // the reader waits for the next chunk in its select (a read begun after the close fails
    // without that wait, and a fixed sleep did not prove it had begun on a busy machine)
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> java.util.Arrays.stream(reading.getStackTrace())
        .anyMatch(f -> f.getClassName().startsWith("sun.nio.ch.") && f.getMethodName().equals("doSelect")));
    r.close(); // what docker-java does when the agent closes an event stream
    // ended by the close: the daemon holds on until the test ends, the response timeout is 10 minutes away
    assertThat(reader.get(30, TimeUnit.SECONDS)).isInstanceOf(IOException.class);
  }

  @Test
  void aCallOnAThreadAlreadyInterruptedStillReachesTheDaemon() throws Exception {
    daemon(req -> List.of("HTTP/1.1 204 No Content\r\n\r\n"));
    var request = DockerHttpClient.Request.builder().method(DockerHttpClient.Request.Method.DELETE).path("/containers/x").build();
    Thread.currentThread().interrupt(); // as after an interrupted wait, before an agent's cleanup
    try (DockerHttpClient.Response r = client(Duration.ofSeconds(5)).execute(request)) {
      assertThat(r.getStatusCode()).isEqualTo(204);
      assertThat(Thread.currentThread().isInterrupted()).as("the flag is kept for the caller").isTrue();
    } finally {
      Thread.interrupted();
    }
  }

  @Test
  void aBadResponseIsAnIoErrorNamingWhatIsWrong() throws Exception {
    daemon(req -> List.of("HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n"));
    var request = DockerHttpClient.Request.builder().method(DockerHttpClient.Request.Method.GET).path("/_ping").build();
    assertThatThrownBy(() -> client(Duration.ofSeconds(5)).execute(request)).hasCauseInstanceOf(IOException.class)
        .hasMessageContaining("bad Content-Length: -5");
  }

  @Test
  void attachingStdinIsRefusedSayingSo() {
    var request = DockerHttpClient.Request.builder().method(DockerHttpClient.Request.Method.POST).path("/containers/x/attach")
        .hijackedInput(new ByteArrayInputStream(new byte[0])).build();
    assertThatThrownBy(() -> client(Duration.ofSeconds(1)).execute(request)).isInstanceOf(UnsupportedOperationException.class)
        .hasMessageContaining("stdin");
  }
}
