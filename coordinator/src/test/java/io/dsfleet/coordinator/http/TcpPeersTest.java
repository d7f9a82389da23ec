package io.dsfleet.coordinator.http;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import org.junit.jupiter.api.Test;

/** Telling from the kernel's table of sockets whether a client left a connection the coordinator still writes to. */
class TcpPeersTest {
  static final String HEADER = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n";

  static InetSocketAddress at(String address, int port) throws Exception {
    return new InetSocketAddress(InetAddress.getByName(address), port);
  }

  @Test
  void theTablesLinesAreReadAsTheKernelWritesThem() throws Exception {
    String tcp = HEADER
        + "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0\n"
        + "   1: 0100007F:1F90 0200007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0 20 4 30 10 -1\n"
        + "   2: 0100007F:1F90 0100007F:D432 08 00000000:00000000 00:00000000 00000000     0        0 3 1 0 20 4 30 10 -1\n";
    // a dual-stack listener's IPv4 client: ::ffff:127.0.0.1, each 32-bit word in the host's (little-endian) order
    String tcp6 = HEADER
        + "   0: 0000000000000000FFFF00000100007F:192B 0000000000000000FFFF00000100007F:D433 08 00000000:00000000 00:00000000 00000000 0 0 4\n";
    String tables = tcp + tcp6;
    assertThat(TcpPeers.seen(tables, at("127.0.0.1", 8080), at("127.0.0.2", 0xD431))).as("established").isEqualTo(TcpPeers.Seen.OPEN);
    assertThat(TcpPeers.seen(tables, at("127.0.0.1", 8080), at("127.0.0.1", 0xD432))).as("CLOSE_WAIT: the client's FIN came")
        .isEqualTo(TcpPeers.Seen.CLOSED);
    assertThat(TcpPeers.seen(tables, at("127.0.0.1", 0x192B), at("127.0.0.1", 0xD433))).as("IPv4-mapped, in CLOSE_WAIT")
        .isEqualTo(TcpPeers.Seen.CLOSED);
    assertThat(TcpPeers.seen(tables, at("127.0.0.1", 8080), at("127.0.0.1", 0xD499))).as("not in the table beside its listener")
        .isEqualTo(TcpPeers.Seen.ABSENT);
    assertThat(TcpPeers.seen(tables, at("127.0.0.1", 9999), at("127.0.0.1", 0xD499))).as("a port the table does not hold")
        .isEqualTo(TcpPeers.Seen.UNKNOWN);
    assertThat(TcpPeers.seen("", at("127.0.0.1", 8080), at("127.0.0.1", 0xD432))).as("no table to read").isEqualTo(TcpPeers.Seen.UNKNOWN);
  }

  /**
   * A client that closes is gone at the first look (CLOSE_WAIT); one that resets at the second (out
   * of the table twice: a read of the table while sockets come and go can skip a line once); one that
   * stays never. On loopback and on a dual-stack listener (an IPv4 client in the IPv6 table).
   */
  @Test
  void aClientThatClosesOrResetsItsConnectionIsGoneAndOneThatStaysIsNot() throws Exception {
    for (InetAddress bind : new InetAddress[] {InetAddress.getLoopbackAddress(), InetAddress.getByName("::")}) {
      try (ServerSocket listener = new ServerSocket(0, 8, bind)) {
        for (boolean reset : new boolean[] {false, true}) {
          Socket client = new Socket(InetAddress.getLoopbackAddress(), listener.getLocalPort());
          try (Socket served = listener.accept()) {
            TcpPeers.Look look = new TcpPeers.Look((InetSocketAddress) served.getLocalSocketAddress(),
                (InetSocketAddress) served.getRemoteSocketAddress());
            assertThat(look.gone()).as("connected").isFalse();
            assertThat(look.gone()).as("connected, looked at again").isFalse();
            if (reset) {
              client.setSoLinger(true, 0); // closed with a RST
            }
            client.close();
            Thread.sleep(100); // the loopback's FIN or RST has long arrived
            assertThat(look.gone()).as(bind + (reset ? ": reset, the first look" : ": closed")).isEqualTo(!reset);
            if (reset) {
              assertThat(look.gone()).as(bind + ": reset, the second look").isTrue();
            }
          }
        }
      }
    }
  }
}
