package io.dsfleet.coordinator.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.dsfleet.coordinator.grpc.FakeAgent;
import io.dsfleet.proto.v1.CoordinatorMessage;
import io.dsfleet.proto.v1.GetRequest;
import io.dsfleet.proto.v1.ObjectKind;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;

/**
 * HTTP/2 "rapid reset" (CVE-2023-44487) without a credential: one connection opens a Join stream
 * and resets it at once, over and over. A reset stream no longer counts against the 64 calls a
 * connection may hold, so the cap never bites, while each stream still costs the coordinator a call
 * (its lookup, the interceptors, a task on the call threads, the 10 s timer of a call without a
 * certificate): some 20 bytes of the attacker's for each. gRPC sets no bound on resets unless asked.
 */
class StreamResetFloodTest extends TlsFleetTest {
  static final int PAIRS = 100_000;

  @Test
  void aConnectionResettingStreamsInALoopIsClosed() throws Exception {
    FakeAgent agent = new FakeAgent(as(join("node-a", token())), "node-a").open();
    agents.add(agent);

    SSLSocket s = h2(attackerTls(), server.port(), new byte[0]);
    OutputStream out = s.getOutputStream();
    AtomicBoolean closed = new AtomicBoolean();
    AtomicBoolean goAway = new AtomicBoolean();
    Thread reader = new Thread(() -> read(s, out, (type, flags) -> {
      if (type == GOAWAY) {
        goAway.set(true);
      } else if (type == CLOSED) {
        closed.set(true);
      }
    }), "attacker-reader");
    reader.setDaemon(true);
    reader.start();

    byte[] headers = headers("/dsfleet.v1.AgentService/Join");
    int sent = 0;
    long t0 = System.nanoTime();
    try {
      while (sent < PAIRS && !closed.get()) {
        ByteArrayOutputStream batch = new ByteArrayOutputStream();
        for (int i = 0; i < 256 && sent < PAIRS; i++, sent++) {
          int stream = 2 * sent + 1;
          batch.write(frame(1, 0x4, stream, headers)); // HEADERS, END_HEADERS: a Join call opens
          batch.write(frame(3, 0, stream, new byte[] {0, 0, 0, 8})); // RST_STREAM CANCEL: and is reset
        }
        synchronized (out) {
          out.write(batch.toByteArray());
          out.flush();
        }
      }
    } catch (IOException e) {
      // the coordinator closed the connection under us
    }
    long sendMillis = (System.nanoTime() - t0) / 1_000_000;
    await().atMost(Duration.ofSeconds(20)).until(() -> closed.get() || !reader.isAlive() || Duration.ofNanos(System.nanoTime() - t0)
        .toSeconds() >= 15);
    System.out.printf("rapid reset: %d streams opened and reset in %d ms; GOAWAY %s, connection closed %s%n", sent, sendMillis,
        goAway.get(), closed.get());
    s.close();

    // the fleet is served all along
    agent.received.clear();
    agent.heartbeat();
    await().atMost(Duration.ofSeconds(10)).until(() -> agent.received.stream().anyMatch(CoordinatorMessage::hasHeartbeatAck));
    control(credentialFile("admin.pem")).get(GetRequest.newBuilder().setKind(ObjectKind.NODE).build());

    assertThat(closed.get()).as("the coordinator closed the connection that reset " + sent + " streams").isTrue();
    assertThat(sent).as("well before the attacker's " + PAIRS).isLessThan(PAIRS);
  }

  /**
   * The same attack spread over connections, each closed before its 200th reset: each call reset
   * holds nothing once it is (before, the 10 s timer of a call without a certificate held it).
   */
  @Test
  void callsResetOnManyConnectionsAreNotHeld() throws Exception {
    SSLContext tls = attackerTls();
    byte[] headers = headers("/dsfleet.v1.AgentService/Join");
    ByteArrayOutputStream batch = new ByteArrayOutputStream();
    for (int i = 0; i < 190; i++) {
      batch.write(frame(1, 0x4, 2 * i + 1, headers));
      batch.write(frame(3, 0, 2 * i + 1, new byte[] {0, 0, 0, 8}));
    }
    long before = heapMiB();
    java.util.ArrayDeque<SSLSocket> open = new java.util.ArrayDeque<>();
    for (int c = 0; c < 1000; c++) {
      SSLSocket s = h2(tls, server.port(), new byte[0]);
      s.getOutputStream().write(batch.toByteArray());
      s.getOutputStream().flush();
      open.add(s);
      if (open.size() >= 500) {
        open.remove().close();
      }
    }
    long after = heapMiB();
    System.out.printf("rapid reset on 1,000 connections: 190,000 calls reset; heap %d MiB after (%d before)%n", after, before);
    for (SSLSocket s : open) {
      s.close();
    }
    assertThat(after - before).as("MiB of heap the calls reset still hold").isLessThan(100);
  }

  /** The heap in use after collections, in MiB. */
  static long heapMiB() {
    System.gc();
    System.gc();
    Runtime r = Runtime.getRuntime();
    return (r.totalMemory() - r.freeMemory()) >> 20;
  }

  /** An HTTP/2 connection from 127.0.0.2 (the fleet is on 127.0.0.1): TLS with ALPN h2, the preface, a SETTINGS frame of these settings. */
  static SSLSocket h2(SSLContext tls, int port, byte[] settings) throws IOException {
    Socket raw = new Socket();
    raw.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.2"), 0));
    raw.connect(new InetSocketAddress("127.0.0.1", port), 2000);
    SSLSocket s = (SSLSocket) tls.getSocketFactory().createSocket(raw, "127.0.0.1", port, true);
    SSLParameters p = s.getSSLParameters();
    p.setApplicationProtocols(new String[] {"h2"});
    s.setSSLParameters(p);
    s.startHandshake();
    OutputStream out = s.getOutputStream();
    synchronized (out) {
      out.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      out.write(frame(4, 0, 0, settings));
      out.flush();
    }
    return s;
  }

  static final int HEADERS = 1;
  static final int END_STREAM = 1;
  static final int RST_STREAM = 3;
  static final int GOAWAY = 7;
  /** Not a frame: the connection ended. */
  static final int CLOSED = -1;

  /** What a client is told of each frame read: its type and flags ({@link #CLOSED}, 0 once the connection ended). */
  interface Frames {
    void frame(int type, int flags);
  }

  /** Reads frames until the connection ends, acknowledging SETTINGS and PINGs as a client must. */
  static void read(SSLSocket s, OutputStream out, Frames frames) {
    try {
      DataInputStream in = new DataInputStream(s.getInputStream());
      while (true) {
        int length = (in.readUnsignedByte() << 16) | in.readUnsignedShort();
        int type = in.readUnsignedByte();
        int flags = in.readUnsignedByte();
        in.readInt();
        byte[] payload = in.readNBytes(length);
        frames.frame(type, flags);
        if ((type == 4 || type == 6) && (flags & 1) == 0) {
          synchronized (out) {
            out.write(frame(type, 1, 0, type == 6 ? payload : new byte[0]));
            out.flush();
          }
        }
      }
    } catch (IOException e) {
      frames.frame(CLOSED, 0);
    }
  }

  static byte[] frame(int type, int flags, int stream, byte[] payload) {
    byte[] f = new byte[9 + payload.length];
    f[0] = (byte) (payload.length >>> 16);
    f[1] = (byte) (payload.length >>> 8);
    f[2] = (byte) payload.length;
    f[3] = (byte) type;
    f[4] = (byte) flags;
    f[5] = (byte) (stream >>> 24);
    f[6] = (byte) (stream >>> 16);
    f[7] = (byte) (stream >>> 8);
    f[8] = (byte) stream;
    System.arraycopy(payload, 0, f, 9, payload.length);
    return f;
  }

  /** A call's request headers in HPACK, literals without indexing or Huffman: the same bytes serve every stream. */
  static byte[] headers(String path) {
    ByteArrayOutputStream h = new ByteArrayOutputStream();
    h.write(0x83); // :method POST
    h.write(0x87); // :scheme https
    literal(h, new byte[] {0x04}, path); // :path
    literal(h, new byte[] {0x01}, "127.0.0.1"); // :authority
    literal(h, new byte[] {0x0f, 0x10}, "application/grpc"); // content-type (static index 31)
    literal(h, new byte[] {0x00, 0x02, 't', 'e'}, "trailers");
    return h.toByteArray();
  }

  private static void literal(ByteArrayOutputStream h, byte[] name, String value) {
    h.writeBytes(name);
    h.write(value.length());
    h.writeBytes(value.getBytes(StandardCharsets.US_ASCII));
  }
}
