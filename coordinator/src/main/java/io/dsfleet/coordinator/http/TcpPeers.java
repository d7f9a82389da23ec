package io.dsfleet.coordinator.http;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Whether the client of a TCP connection this coordinator answers has gone, read from the kernel's
 * table of the network namespace's sockets ({@code /proc/self/net/tcp} and {@code tcp6}). The JDK's
 * HTTP server reads nothing of a connection while a handler writes its answer, so a client that
 * leaves a stream with nothing to send (kubectl logs -f on a quiet log, ended with Ctrl-C) is
 * otherwise noticed only by a write failing. A client that closed its side leaves its connection
 * in CLOSE_WAIT here (its FIN received, ours not sent); one that reset it is out of the table.
 * A stream keeps a {@link Look} and asks it when it has been quiet for a while.
 */
public final class TcpPeers {
  /** The kernel's TCP_CLOSE_WAIT, as the tables write a state (hex). */
  private static final int CLOSE_WAIT = 0x08;
  private static final List<Path> TABLES = List.of(Path.of("/proc/self/net/tcp"), Path.of("/proc/self/net/tcp6"));

  private TcpPeers() {}

  /** What the tables say of one connection. */
  enum Seen {
    /** Listed, not closed by its peer. */
    OPEN,
    /** Listed in CLOSE_WAIT: its peer's FIN came. */
    CLOSED,
    /** Not listed, its listener is: reset, or skipped by a read of a table that changed meanwhile. */
    ABSENT,
    /** The tables cannot be read (not Linux), or name neither the connection nor its listener. */
    UNKNOWN
  }

  /**
   * Whether the client of one stream has gone, looked at now and then: in CLOSE_WAIT at one look,
   * or out of the table at two looks in a row (a read of {@code /proc/net/tcp} while sockets come
   * and go can skip a line: it resumes by position, and a large fleet's agents reconnect all the
   * time), never on a table that cannot be read.
   */
  public static final class Look {
    private final InetSocketAddress local;
    private final InetSocketAddress remote;
    private boolean absentBefore;

    public Look(InetSocketAddress local, InetSocketAddress remote) {
      this.local = local;
      this.remote = remote;
    }

    public boolean gone() {
      Seen seen = seen(tables(), local, remote);
      boolean absent = seen == Seen.ABSENT;
      boolean gone = seen == Seen.CLOSED || (absent && absentBefore);
      absentBefore = absent;
      return gone;
    }
  }

  private static String tables() {
    StringBuilder all = new StringBuilder();
    for (Path table : TABLES) {
      try {
        all.append(Files.readString(table));
      } catch (IOException | SecurityException unreadable) {
        // this table is not there (no IPv6) or not readable: the other may still answer
      }
    }
    return all.toString();
  }

  /** What the tables' text says of the connection from {@code local} to {@code remote}. */
  static Seen seen(String tables, InetSocketAddress local, InetSocketAddress remote) {
    boolean listening = false; // the local port seen at all: the table is one this process's sockets are in
    String port = String.format(":%04X ", local.getPort()); // as the kernel writes it: only such lines are split
    for (int at = 0, next; at < tables.length(); at = next + 1) {
      next = tables.indexOf('\n', at);
      next = next < 0 ? tables.length() : next;
      String line = tables.substring(at, next);
      if (!line.contains(port)) {
        continue; // a connection of another port (at a large fleet, thousands of agents' on the gRPC port)
      }
      String[] f = line.trim().split("\\s+"); // sl, local address:port, remote address:port, state, ...
      if (f.length < 4 || !f[0].endsWith(":")) {
        continue; // a header, or a line this reading does not know
      }
      Endpoint l = Endpoint.parse(f[1]);
      if (l == null || l.port != local.getPort()) {
        continue;
      }
      listening = true;
      Endpoint r = Endpoint.parse(f[2]);
      if (r != null && r.port == remote.getPort() && r.address.equals(remote.getAddress())
          && l.address.equals(local.getAddress())) {
        return Integer.parseInt(f[3], 16) == CLOSE_WAIT ? Seen.CLOSED : Seen.OPEN;
      }
    }
    return listening ? Seen.ABSENT : Seen.UNKNOWN;
  }

  /** One side of a table's line: the address as the kernel writes it (each 32-bit word in the host's order, little-endian here), the port in hex. */
  private record Endpoint(InetAddress address, int port) {
    static Endpoint parse(String field) {
      int colon = field.indexOf(':');
      if (colon != 8 && colon != 32) {
        return null;
      }
      byte[] bytes = new byte[colon / 2];
      try {
        for (int word = 0; word < bytes.length / 4; word++) {
          for (int b = 0; b < 4; b++) {
            int at = word * 8 + (3 - b) * 2;
            bytes[word * 4 + b] = (byte) Integer.parseInt(field, at, at + 2, 16);
          }
        }
        // an IPv4-mapped IPv6 address (a dual-stack listener's IPv4 client) comes back as an Inet4Address, as the JDK names the client
        return new Endpoint(InetAddress.getByAddress(bytes), Integer.parseInt(field, colon + 1, field.length(), 16));
      } catch (NumberFormatException | UnknownHostException e) {
        return null;
      }
    }
  }
}
