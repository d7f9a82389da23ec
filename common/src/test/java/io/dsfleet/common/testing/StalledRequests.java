package io.dsfleet.common.testing;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Connections that each start a request and never finish it (a slow client, or an attacker
 * holding a server's threads): the first line of a request, or the first bytes of a TLS record.
 */
public final class StalledRequests implements AutoCloseable {
  private final List<SocketChannel> held = new ArrayList<>();

  /** {@code count} connections to {@code port} on loopback, each having sent {@code start} and nothing more. */
  public static StalledRequests open(int port, int count, byte[] start) throws IOException {
    StalledRequests s = new StalledRequests();
    try {
      for (int i = 0; i < count; i++) {
        SocketChannel ch = SocketChannel.open(new InetSocketAddress("127.0.0.1", port));
        s.held.add(ch);
        ch.write(ByteBuffer.wrap(start));
        ch.configureBlocking(false);
      }
    } catch (IOException | RuntimeException e) {
      s.close();
      throw e;
    }
    return s;
  }

  /** An HTTP request's first line, without the headers' end. */
  public static byte[] httpStart() {
    return "GET / HTTP/1.1\r\n".getBytes(StandardCharsets.US_ASCII);
  }

  /** A TLS record header announcing a ClientHello of 512 bytes, none of which follow. */
  public static byte[] tlsStart() {
    return new byte[] {22, 3, 1, 2, 0};
  }

  /** How many of the connections the server has closed so far. */
  public int closedByServer() throws IOException {
    int closed = 0;
    ByteBuffer buf = ByteBuffer.allocate(256);
    for (SocketChannel ch : held) {
      buf.clear();
      try {
        closed += ch.read(buf) < 0 ? 1 : 0;
      } catch (IOException reset) {
        closed++;
      }
    }
    return closed;
  }

  @Override
  public void close() throws IOException {
    for (SocketChannel ch : held) {
      ch.close();
    }
  }
}
