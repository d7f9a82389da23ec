package io.dsfleet.bench;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A proxy in front of the Docker daemon's socket that counts the API calls passing through it, by
 * kind ("GET containers/json", "POST containers/{id}/exec", ...): the agent under test is pointed
 * at {@link #socket()} instead of Docker's. It reads the request line of every HTTP request a
 * client sends (bodies are JSON on one line, never a request line) and passes every byte on
 * unchanged, both ways, including the raw streams of attached execs and followed events.
 */
final class DockerCallCounter implements AutoCloseable {
  private static final Pattern REQUEST = Pattern.compile("^(GET|POST|PUT|DELETE|HEAD) (/v[0-9.]+)?/([^?\\s]*)[^\\s]* HTTP/1\\.[01]\r?$");
  private static final Pattern ID = Pattern.compile("(?<=/)([0-9a-f]{12,64}|dsf_[^/]+)(?=/|$)");

  private final Path socket;
  private final Path docker;
  private final ServerSocketChannel server;
  private final Map<String, AtomicLong> counts = new ConcurrentHashMap<>();
  private final Thread acceptor;

  DockerCallCounter(Path socket, Path docker) throws IOException {
    this.socket = socket;
    this.docker = docker;
    Files.deleteIfExists(socket);
    server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    server.bind(UnixDomainSocketAddress.of(socket));
    acceptor = new Thread(this::accept, "docker-call-counter");
    acceptor.setDaemon(true);
    acceptor.start();
  }

  /** The socket to give the agent ({@code --docker-host unix://...}). */
  Path socket() {
    return socket;
  }

  /** Calls so far, by kind. */
  Map<String, Long> counts() {
    Map<String, Long> out = new TreeMap<>();
    counts.forEach((k, v) -> out.put(k, v.get()));
    return out;
  }

  /** The kind of a request line ("GET containers/{id}/json"), or null when the line is no request. */
  static String kind(String line) {
    Matcher m = REQUEST.matcher(line);
    if (!m.matches()) {
      return null;
    }
    return m.group(1) + " " + ID.matcher(m.group(3)).replaceAll("{id}");
  }

  private void accept() {
    while (server.isOpen()) {
      try {
        SocketChannel client = server.accept();
        SocketChannel upstream = SocketChannel.open(UnixDomainSocketAddress.of(docker));
        pipe(client, upstream, true);
        pipe(upstream, client, false);
      } catch (IOException e) {
        if (server.isOpen()) {
          System.err.println("docker-call-counter: " + e.getMessage());
        }
      }
    }
  }

  private void pipe(SocketChannel from, SocketChannel to, boolean requests) {
    Thread t = new Thread(() -> {
      ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
      StringBuilder line = new StringBuilder();
      try (from; to) {
        while (from.read(buf) >= 0) {
          buf.flip();
          if (requests) {
            for (int i = buf.position(); i < buf.limit(); i++) {
              char c = (char) (buf.get(i) & 0xff);
              if (c == '\n') {
                String kind = kind(line.toString());
                if (kind != null) {
                  counts.computeIfAbsent(kind, k -> new AtomicLong()).incrementAndGet();
                }
                line.setLength(0);
              } else if (line.length() < 1024) {
                line.append(c);
              }
            }
          }
          while (buf.hasRemaining()) {
            to.write(buf);
          }
          buf.clear();
        }
      } catch (IOException e) {
        // either side closed: the other goes with it
      }
    }, "docker-call-counter-pipe");
    t.setDaemon(true);
    t.start();
  }

  @Override
  public void close() throws IOException {
    server.close();
    Files.deleteIfExists(socket);
  }
}
