package io.dsfleet.agent.runtime;

import com.github.dockerjava.transport.DockerHttpClient;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.SocketTimeoutException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedSelectorException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * docker-java's transport to a Docker daemon on its Unix socket, with the JDK alone: one
 * connection per call (HTTP/1.1, {@code Connection: close}), the response read as its framing says
 * (a length, chunks, or until the daemon closes: the raw stream of an exec), and no read waiting
 * longer than the response timeout. It stands in for docker-java's shaded Apache client, whose 380
 * classes and public-suffix list (1.1 MiB of heap, for cookies) an agent paid for a local socket
 * (docs/agent.md, "Footprint"). No hijacked stdin: the agent attaches none.
 *
 * <p>Interrupts: a call started on a thread whose interrupt flag is already set runs (the flag is
 * set again after it), as the Apache client's blocking sockets ignored it, so an agent's cleanup
 * after an interrupted wait still reaches Docker; an interrupt during a call ends it with an
 * {@link InterruptedIOException}, as NIO channels do.
 */
final class UnixSocketHttpClient implements DockerHttpClient {
  private final Path socket;
  private final long timeoutMs;
  /** Every connection not yet closed: {@link #close()} ends them (an event stream, a followed log). */
  private final java.util.Set<Connection> open = java.util.concurrent.ConcurrentHashMap.newKeySet();

  /** The most bytes of one answer's body read; 0 for no limit (streams: events, logs, pulls). */
  private final long maxBody;

  /** @param maxBody the most bytes of one answer's body read (0: no limit); a longer one fails the call, {@link TooLarge} */
  UnixSocketHttpClient(Path socket, Duration responseTimeout, long maxBody) {
    this.socket = socket;
    this.timeoutMs = responseTimeout.toMillis();
    this.maxBody = maxBody;
  }

  /**
   * An answer over the client's limit: Docker answered (not an unreachable daemon), with more
   * than the agent reads at once (a container of an image carrying megabytes of labels).
   */
  static final class TooLarge extends IllegalStateException {
    TooLarge(long max) {
      super("docker's answer is over " + max + " bytes; the agent reads no more");
    }
  }

  @Override
  public Response execute(Request request) {
    if (request.hijackedInput() != null) {
      throw new UnsupportedOperationException("attaching stdin to a container is not supported by the agent's Docker transport");
    }
    boolean interrupted = Thread.interrupted();
    Connection c = null;
    InputStream body = null;
    try {
      c = new Connection();
      c.connect();
      byte[] bytes = request.bodyBytes();
      body = bytes == null ? request.body() : null;
      StringBuilder head = new StringBuilder(request.method()).append(' ').append(request.path()).append(" HTTP/1.1\r\n")
          .append("Host: docker\r\nConnection: close\r\n");
      request.headers().forEach((k, v) -> head.append(k).append(": ").append(v).append("\r\n"));
      if (bytes != null) {
        head.append("Content-Length: ").append(bytes.length).append("\r\n");
      } else if (body != null) {
        head.append("Transfer-Encoding: chunked\r\n");
      }
      c.write(head.append("\r\n").toString().getBytes(StandardCharsets.ISO_8859_1));
      if (bytes != null) {
        c.write(bytes);
      } else if (body != null) {
        byte[] chunk = new byte[64 * 1024];
        for (int n; (n = body.read(chunk)) > 0; ) {
          c.write((Integer.toHexString(n) + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
          c.write(java.util.Arrays.copyOf(chunk, n));
          c.write(new byte[] {'\r', '\n'});
        }
        c.write("0\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
      }
      String status = c.line();
      String[] parts = status.split(" ", 3);
      if (parts.length < 2 || !parts[0].startsWith("HTTP/1.")) {
        throw new IOException("not an HTTP response from docker at " + socket + ": " + status);
      }
      int code = (int) number(parts[1], 10, "status code");
      Map<String, List<String>> headers = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
      for (String line = c.line(); !line.isEmpty(); line = c.line()) {
        int colon = line.indexOf(':');
        if (colon > 0) {
          headers.computeIfAbsent(line.substring(0, colon).trim(), k -> new ArrayList<>()).add(line.substring(colon + 1).trim());
        }
      }
      InputStream in = body(c, code, request.method(), headers);
      Connection answered = c;
      c = null;
      return new Response() {
        @Override
        public int getStatusCode() {
          return code;
        }

        @Override
        public Map<String, List<String>> getHeaders() {
          return headers;
        }

        @Override
        public InputStream getBody() {
          return in;
        }

        @Override
        public void close() {
          answered.close();
        }
      };
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } finally {
      if (c != null) {
        c.close();
      }
      if (body != null) {
        try {
          body.close();
        } catch (IOException e) {
          // the request's own stream: nothing to do
        }
      }
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** A number the daemon sent, or an IOException naming it (a bad response is the daemon's, not the agent's, fault). */
  private static long number(String text, int radix, String what) throws IOException {
    try {
      long n = Long.parseLong(text.trim(), radix);
      if (n < 0) {
        throw new NumberFormatException("negative");
      }
      return n;
    } catch (NumberFormatException e) {
      throw new IOException("docker sent a bad " + what + ": " + text);
    }
  }

  private InputStream body(Connection c, int code, String method, Map<String, List<String>> headers) throws IOException {
    InputStream body = framed(c, code, method, headers);
    return maxBody <= 0 ? body : new java.io.FilterInputStream(body) {
      private long read;

      @Override
      public int read() throws IOException {
        byte[] one = new byte[1];
        return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
      }

      @Override
      public int read(byte[] b, int off, int len) throws IOException {
        int n = in.read(b, off, (int) Math.min(len, maxBody + 1 - read));
        if (n > 0 && (read += n) > maxBody) {
          in.close();
          throw new TooLarge(maxBody);
        }
        return n;
      }
    };
  }

  private InputStream framed(Connection c, int code, String method, Map<String, List<String>> headers) throws IOException {
    if (method.equals("HEAD") || code == 204 || code == 304 || code < 200) {
      return InputStream.nullInputStream();
    }
    List<String> encoding = headers.getOrDefault("Transfer-Encoding", List.of());
    if (encoding.stream().anyMatch(e -> e.equalsIgnoreCase("chunked"))) {
      return new Chunked(c);
    }
    List<String> length = headers.getOrDefault("Content-Length", List.of());
    if (!length.isEmpty()) {
      long n = number(length.get(0), 10, "Content-Length");
      if (maxBody > 0 && n > maxBody) {
        c.close();
        throw new TooLarge(maxBody);
      }
      return new Bounded(c, n);
    }
    return c; // until the daemon closes the connection
  }

  @Override
  public void close() {
    open.forEach(Connection::close);
  }

  /** One call's connection: reads and writes that wait at most the response timeout, and a close from any thread that ends them. */
  private final class Connection extends InputStream {
    final Selector selector;
    final SocketChannel channel;
    private SelectionKey key;
    private final ByteBuffer in = ByteBuffer.allocate(16 * 1024).flip();
    private boolean eof;

    Connection() throws IOException {
      selector = Selector.open();
      try {
        channel = SocketChannel.open(StandardProtocolFamily.UNIX);
      } catch (IOException e) {
        selector.close();
        throw e;
      }
      open.add(this);
    }

    /** Connects without blocking past the timeout (a daemon whose accept queue is full does not take the connection). */
    void connect() throws IOException {
      channel.configureBlocking(false);
      key = channel.register(selector, 0);
      if (!channel.connect(UnixDomainSocketAddress.of(socket))) {
        await(SelectionKey.OP_CONNECT);
        channel.finishConnect();
      }
    }

    void write(byte[] bytes) throws IOException {
      // a slice at a time, as a volume's files (OwnerOnlyFiles.SLICE): a write reserves direct memory of its size, and a
      // create's body carries the pod's environment (ConfigMaps' keys of up to 1 MB through envFrom)
      for (int off = 0; off < bytes.length; off += io.dsfleet.common.OwnerOnlyFiles.SLICE) {
        ByteBuffer b = ByteBuffer.wrap(bytes, off, Math.min(io.dsfleet.common.OwnerOnlyFiles.SLICE, bytes.length - off));
        while (b.hasRemaining()) {
          if (channel.write(b) == 0) {
            await(SelectionKey.OP_WRITE);
          }
        }
      }
    }

    /** Waits until the channel is ready for {@code op}, at most the timeout; a close from another thread or an interrupt ends the wait. */
    private void await(int op) throws IOException {
      long deadline = System.nanoTime() + timeoutMs * 1_000_000;
      try {
        key.interestOps(op);
        while (true) {
          long left = (deadline - System.nanoTime()) / 1_000_000;
          if (left <= 0) {
            throw new SocketTimeoutException("docker at " + socket + " did not answer in " + timeoutMs / 1000 + " s");
          }
          int ready = selector.select(left);
          selector.selectedKeys().clear();
          if (!channel.isOpen()) {
            throw new IOException("connection to docker at " + socket + " closed");
          }
          if (Thread.currentThread().isInterrupted()) {
            throw new java.io.InterruptedIOException("interrupted while waiting for docker at " + socket);
          }
          if (ready > 0) {
            return;
          }
        }
      } catch (ClosedSelectorException | java.nio.channels.CancelledKeyException e) {
        throw new IOException("connection to docker at " + socket + " closed", e);
      }
    }

    /** Fills the buffer when it is empty; false at the end of the stream. */
    private boolean fill() throws IOException {
      while (!in.hasRemaining() && !eof) {
        in.clear();
        int n = channel.read(in);
        in.flip();
        if (n < 0) {
          eof = true;
        } else if (n == 0) {
          await(SelectionKey.OP_READ);
        }
      }
      return in.hasRemaining();
    }

    /** A header line, without its CRLF. */
    String line() throws IOException {
      ByteArrayOutputStream line = new ByteArrayOutputStream();
      for (int b; (b = read()) != '\n'; ) {
        if (b < 0) {
          throw new IOException("docker at " + socket + " closed the connection mid-response");
        }
        if (line.size() > 64 * 1024) {
          throw new IOException("a header line from docker at " + socket + " over 64 KiB");
        }
        line.write(b);
      }
      String s = line.toString(StandardCharsets.ISO_8859_1);
      return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
    }

    @Override
    public int read() throws IOException {
      return fill() ? in.get() & 0xff : -1;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      if (len == 0) {
        return 0;
      }
      if (!fill()) {
        return -1;
      }
      int n = Math.min(len, in.remaining());
      in.get(b, off, n);
      return n;
    }

    @Override
    public void close() {
      open.remove(this);
      try {
        channel.close();
      } catch (IOException e) {
        // closing: nothing left to do
      }
      try {
        selector.close(); // wakes a read waiting in select
      } catch (IOException e) {
        // closing: nothing left to do
      }
    }
  }

  /** A body read from its connection through its framing; closing it closes the connection. */
  private abstract static class Framed extends InputStream {
    final Connection c;

    Framed(Connection c) {
      this.c = c;
    }

    @Override
    public int read() throws IOException {
      byte[] one = new byte[1];
      return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public void close() {
      c.close();
    }
  }

  /** A body of a known length. */
  private static final class Bounded extends Framed {
    private long left;

    Bounded(Connection c, long length) {
      super(c);
      this.left = length;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      if (left <= 0) {
        return -1;
      }
      if (len == 0) {
        return 0;
      }
      int n = c.read(b, off, (int) Math.min(len, left));
      if (n < 0) {
        throw new IOException("docker's response ended " + left + " bytes short");
      }
      left -= n;
      return n;
    }
  }

  /** A chunked body (RFC 9112 7.1): chunk sizes in hex, trailers skipped. */
  private static final class Chunked extends Framed {
    private long left;
    private boolean done;

    Chunked(Connection c) {
      super(c);
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      if (done) {
        return -1;
      }
      if (len == 0) {
        return 0; // not a wait for the next chunk
      }
      if (left == 0) {
        String size = c.line();
        int semicolon = size.indexOf(';');
        left = number(semicolon < 0 ? size : size.substring(0, semicolon), 16, "chunk size");
        if (left == 0) {
          while (!c.line().isEmpty()) {
            // trailers
          }
          done = true;
          return -1;
        }
      }
      int n = c.read(b, off, (int) Math.min(len, left));
      if (n < 0) {
        throw new IOException("docker's chunked response ended mid-chunk");
      }
      left -= n;
      if (left == 0) {
        c.line(); // the CRLF after the chunk
      }
      return n;
    }
  }
}
