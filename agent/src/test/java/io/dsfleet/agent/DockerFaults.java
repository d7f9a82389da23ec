package io.dsfleet.agent;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;

/**
 * A proxy in front of the Docker daemon's socket that answers chosen requests with an error of
 * the daemon's own form (a status and {@code {"message": ...}}) instead of passing them on: what a
 * daemon does when one container's inspect fails (its layer's directory gone, a disk's I/O error)
 * or its events endpoint is refused (an authorization plugin, a socket proxy without events),
 * while every other call is answered. Each request is matched on its request line
 * ("GET /v1.41/containers/ID/json HTTP/1.1"); every other byte passes unchanged. Only a
 * connection's first request is matched, which is every request of the agent's (its client makes a
 * connection per call, {@code Connection: close}); a client that keeps its connections would pass
 * its later requests on unmatched.
 */
public final class DockerFaults extends DockerSocketProxy {
  /** @param body the answer's body; null for the daemon's error of the status */
  private record Rule(Predicate<String> requestLine, int status, String body) {}

  private final List<Rule> rules = new CopyOnWriteArrayList<>();
  /** The agent's side of the event streams passed on. */
  private final List<SocketChannel> streams = new CopyOnWriteArrayList<>();
  private final Map<String, AtomicLong> faulted = new ConcurrentHashMap<>();
  /** When each faulted request came (System.nanoTime), with its line. */
  private final List<Map.Entry<String, Long>> faultedAt = new CopyOnWriteArrayList<>();

  public DockerFaults(Path socket, String dockerHost) throws IOException {
    super(socket, dockerHost, "docker-faults");
    start();
  }

  /** From now on a request whose line matches is answered {@code status} by the proxy, never reaching the daemon. */
  public void fail(Predicate<String> requestLine, int status) {
    rules.add(new Rule(requestLine, status, null));
  }

  /** From now on a request whose line matches is answered 200 with {@code json} by the proxy (a wrong answer of the daemon's). */
  public void answer(Predicate<String> requestLine, String json) {
    rules.add(new Rule(requestLine, 200, json));
  }

  /** Ends every event stream passed on so far, as the daemon's end of it closing would. */
  public void cutEventStreams() throws IOException {
    for (SocketChannel c : streams) {
      c.close();
    }
  }

  /** Every request passes again. */
  public void heal() {
    rules.clear();
  }

  /** Requests answered by the proxy (an error, or a canned answer) so far whose line contains {@code part}. */
  public long faulted(String part) {
    return faulted.entrySet().stream().filter(e -> e.getKey().contains(part)).mapToLong(e -> e.getValue().get()).sum();
  }

  /** When each request answered with an error whose line contains {@code part} came, in order (System.nanoTime). */
  public List<Long> faultedAt(String part) {
    return faultedAt.stream().filter(e -> e.getKey().contains(part)).map(Map.Entry::getValue).toList();
  }

  @Override
  protected void accepted(SocketChannel client) {
    daemonThread(() -> serve(client), "docker-faults-conn").start();
  }

  /** Reads the request's head, then answers the fault or passes the connection on to the daemon. */
  private void serve(SocketChannel client) {
    ByteBuffer head = ByteBuffer.allocate(64 * 1024);
    try {
      int lineEnd = -1;
      while (lineEnd < 0 && head.hasRemaining()) {
        if (client.read(head) < 0) {
          client.close();
          return;
        }
        for (int i = 0; i < head.position(); i++) {
          if (head.get(i) == '\n') {
            lineEnd = i;
            break;
          }
        }
      }
      String line = new String(head.array(), 0, Math.max(0, lineEnd), StandardCharsets.ISO_8859_1).strip();
      for (Rule r : rules) {
        if (r.requestLine().test(line)) {
          faulted.computeIfAbsent(line, k -> new AtomicLong()).incrementAndGet();
          faultedAt.add(Map.entry(line, System.nanoTime()));
          byte[] body = (r.body() != null ? r.body() : "{\"message\":\"injected by the test's proxy: " + r.status() + "\"}\n")
              .getBytes(StandardCharsets.UTF_8);
          String answer = "HTTP/1.1 " + r.status() + " Injected\r\nContent-Type: application/json\r\nContent-Length: " + body.length
              + "\r\nConnection: close\r\n\r\n";
          try (client) {
            client.write(ByteBuffer.wrap(answer.getBytes(StandardCharsets.ISO_8859_1)));
            client.write(ByteBuffer.wrap(body));
          }
          return;
        }
      }
      SocketChannel upstream = daemon();
      if (line.contains("/events?")) {
        streams.add(client);
      }
      head.flip();
      while (head.hasRemaining()) {
        upstream.write(head);
      }
      daemonThread(() -> pipe(upstream, client), "docker-faults-pipe").start();
      pipe(client, upstream);
    } catch (IOException e) {
      try {
        client.close();
      } catch (IOException ignored) {
        // closing anyway
      }
    }
  }

  private static void pipe(SocketChannel from, SocketChannel to) {
    ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
    try (from; to) {
      while (from.read(buf) >= 0) {
        buf.flip();
        while (buf.hasRemaining()) {
          to.write(buf);
        }
        buf.clear();
      }
    } catch (IOException e) {
      // either side closed: the other goes with it
    }
  }
}
