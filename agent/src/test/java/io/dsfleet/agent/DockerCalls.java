package io.dsfleet.agent;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A proxy in front of the Docker daemon's socket for an agent process under test (given
 * {@link #dockerHost()}): it counts the API calls passing through by kind ("GET containers/json",
 * "GET events"; the agent benchmark counts an agent's calls with it too), and can withhold what the daemon sends on the
 * event streams ({@link #muteEvents}) while the connections stay open: the agent follows a
 * stream that says nothing, as when the daemon drops an event. Every other byte passes unchanged.
 */
public final class DockerCalls extends DockerSocketProxy {
  /** The agent's list of the node's containers: what a pass does when it looks again. */
  static final String LIST = "GET containers/json";
  /** An inspect of one container: what a pass does for a container an event or the agent's own call named. */
  static final String INSPECT = "GET containers/{id}/json";
  static final String EVENTS = "GET events";
  private static final Pattern REQUEST = Pattern.compile("^(GET|POST|PUT|DELETE|HEAD) (/v[0-9.]+)?/([^?\\s]*)[^\\s]* HTTP/1\\.[01]\r?$");
  private static final Pattern ID = Pattern.compile("(?<=/)([0-9a-f]{12,64}|dsf_[^/]+)(?=/|$)");

  private final Map<String, AtomicLong> counts = new ConcurrentHashMap<>();
  private final AtomicBoolean muted = new AtomicBoolean();
  private final AtomicLong withheld = new AtomicLong();

  public DockerCalls(Path socket, String dockerHost) throws IOException {
    super(socket, dockerHost, "docker-calls");
    start();
  }

  /** Calls so far, by kind. */
  public java.util.Map<String, Long> counts() {
    java.util.Map<String, Long> out = new java.util.TreeMap<>();
    counts.forEach((k, v) -> out.put(k, v.get()));
    return out;
  }

  /** Calls of {@code kind} so far. */
  long count(String kind) {
    AtomicLong n = counts.get(kind);
    return n == null ? 0 : n.get();
  }

  /** From now on nothing the daemon sends on an event stream reaches the agent; the streams stay open. */
  void muteEvents() {
    muted.set(true);
  }

  /** Bytes of event streams withheld from the agent since {@link #muteEvents}. */
  long withheld() {
    return withheld.get();
  }

  /** The kind of a request line ("GET containers/{id}/json"), or null when the line is no request. */
  static String kind(String line) {
    Matcher m = REQUEST.matcher(line);
    return m.matches() ? m.group(1) + " " + ID.matcher(m.group(3)).replaceAll("{id}") : null;
  }

  @Override
  protected void accepted(SocketChannel client) throws IOException {
    SocketChannel upstream = daemon();
    AtomicBoolean events = new AtomicBoolean(); // this connection carries an event stream (it carries nothing else after)
    pipe(client, upstream, events, true);
    pipe(upstream, client, events, false);
  }

  private void pipe(SocketChannel from, SocketChannel to, AtomicBoolean events, boolean requests) {
    daemonThread(() -> {
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
                  events.compareAndSet(false, kind.equals(EVENTS));
                }
                line.setLength(0);
              } else if (line.length() < 1024) {
                line.append(c);
              }
            }
          } else if (events.get() && muted.get()) {
            withheld.addAndGet(buf.remaining());
            buf.clear();
            continue;
          }
          while (buf.hasRemaining()) {
            to.write(buf);
          }
          buf.clear();
        }
      } catch (IOException e) {
        // either side closed: the other goes with it
      }
    }, "docker-calls-pipe").start();
  }
}
