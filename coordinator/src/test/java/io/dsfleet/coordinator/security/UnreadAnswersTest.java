package io.dsfleet.coordinator.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.dsfleet.common.tls.Pki;
import io.dsfleet.common.tls.Tls;
import io.dsfleet.proto.v1.ApplyRequest;
import io.dsfleet.proto.v1.GetRequest;
import io.dsfleet.proto.v1.ObjectKind;
import io.grpc.netty.shaded.io.netty.util.internal.PlatformDependent;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import org.junit.jupiter.api.Test;

/**
 * A viewer asks for a listing of about a megabyte on 64 streams of each of 4 connections, with
 * HTTP/2 windows of nothing, and answers every ping: the answers wait in the coordinator's direct
 * memory. They are reset {@link UnreadAnswers#LIMIT} after they were ready, the connections still open.
 */
class UnreadAnswersTest extends TlsFleetTest {
  @Test
  void answersAClientNeverTakesAreResetAndTheirMemoryFreed() throws Exception {
    control(credentialFile("admin.pem")).apply(ApplyRequest.newBuilder().setManifests("""
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: big}
        data: {text: "%s"}
        """.formatted("x".repeat(900_000))).build());
    String bundle = Files.readString(pki().resolve("viewer.pem"));
    List<X509Certificate> certs = Pki.certificates(bundle);
    SSLContext viewer = SSLContext.getInstance("TLS");
    viewer.init(new KeyManager[] {Tls.clientKey(Pki.privateKey(bundle), certs.get(0))},
        new TrustManager[] {Tls.fleetTrust(certs.get(certs.size() - 1))}, null);
    byte[] request = GetRequest.newBuilder().setKind(ObjectKind.CONFIG_MAP).build().toByteArray();
    ByteArrayOutputStream message = new ByteArrayOutputStream(); // gRPC's framing: not compressed, its length, the request
    message.write(new byte[] {0, 0, 0, 0, (byte) request.length});
    message.write(request);
    long before = PlatformDependent.usedDirectMemory();
    AtomicInteger resets = new AtomicInteger();
    List<SSLSocket> held = new ArrayList<>();
    for (int c = 0; c < 4; c++) {
      SSLSocket s = StreamResetFloodTest.h2(viewer, server.port(), new byte[] {0, 4, 0, 0, 0, 0}); // INITIAL_WINDOW_SIZE 0
      OutputStream out = s.getOutputStream();
      synchronized (out) {
        for (int i = 0; i < 64; i++) {
          out.write(StreamResetFloodTest.frame(1, 0x4, 2 * i + 1, StreamResetFloodTest.headers("/dsfleet.v1.ControlService/Get")));
          out.write(StreamResetFloodTest.frame(0, 0x1, 2 * i + 1, message.toByteArray())); // DATA, END_STREAM
        }
        out.flush();
      }
      Thread reader = new Thread(() -> StreamResetFloodTest.read(s, out, type -> {
        if (type == StreamResetFloodTest.RST_STREAM) {
          resets.incrementAndGet();
        }
      }), "viewer-reader");
      reader.setDaemon(true);
      reader.start();
      held.add(s);
    }
    await().atMost(Duration.ofSeconds(10)).until(() -> PlatformDependent.usedDirectMemory() - before > 200L << 20);
    long waiting = PlatformDependent.usedDirectMemory() - before;
    await().atMost(UnreadAnswers.LIMIT.plusSeconds(15)).until(() -> resets.get() == 4 * 64);
    long after = PlatformDependent.usedDirectMemory() - before;
    System.out.printf("unread answers: over %d MiB of direct memory waiting for the viewer; %d MiB once its 256 streams were reset%n",
        waiting >> 20, after >> 20);
    assertThat(after).as("the answers' memory freed, the connections open").isLessThan(32L << 20);
    for (SSLSocket s : held) {
      assertThat(s.isClosed()).isFalse();
      s.close();
    }
  }
}
