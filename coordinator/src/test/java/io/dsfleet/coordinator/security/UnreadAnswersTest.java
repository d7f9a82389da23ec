package io.dsfleet.coordinator.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.dsfleet.common.tls.Pki;
import io.dsfleet.common.tls.Tls;
import io.dsfleet.proto.v1.ApplyRequest;
import io.dsfleet.proto.v1.GetRequest;
import io.dsfleet.proto.v1.ObjectKind;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
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
 * memory, {@link UnreadAnswers#BUDGET} of them at most (the viewer's other calls are refused, an
 * admin's are not), each until {@link UnreadAnswers#LIMIT} after it was ready (its stream is then
 * reset, the connections still open).
 */
class UnreadAnswersTest extends TlsFleetTest {
  @Test
  void answersAViewerNeverTakesHoldAtMostItsBudgetAndAreResetAfterTheLimit() throws Exception {
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
    AtomicInteger refused = new AtomicInteger(); // answered with trailers alone: no answer waits
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
      Thread reader = new Thread(() -> StreamResetFloodTest.read(s, out, (type, flags) -> {
        if (type == StreamResetFloodTest.RST_STREAM) {
          resets.incrementAndGet();
        } else if (type == StreamResetFloodTest.HEADERS && (flags & StreamResetFloodTest.END_STREAM) != 0) {
          refused.incrementAndGet();
        }
      }), "viewer-reader");
      reader.setDaemon(true);
      reader.start();
      held.add(s);
    }
    var viewerChannel = credentialFile("viewer.pem");
    GetRequest get = GetRequest.newBuilder().setKind(ObjectKind.CONFIG_MAP).build();
    await("the viewer's budget spent").atMost(Duration.ofSeconds(20)).until(() -> {
      try {
        control(viewerChannel).get(get);
        return false;
      } catch (StatusRuntimeException e) {
        return e.getStatus().getCode() == Status.Code.RESOURCE_EXHAUSTED;
      }
    });
    long waiting = PlatformDependent.usedDirectMemory() - before;
    assertThat(control(credentialFile("admin.pem")).get(get).getConfigs(0).getObject().getDataOrThrow("text").size())
        .as("an admin's answer is not the viewer's budget").isEqualTo(900_000);
    await("every answer that waited reset").atMost(UnreadAnswers.LIMIT.plusSeconds(15)).until(() -> refused.get() > 0
        && resets.get() + refused.get() == 4 * 64);
    long after = PlatformDependent.usedDirectMemory() - before;
    System.out.printf("unread answers: %d MiB of direct memory waiting for the viewer (%d of its 256 calls answered);"
        + " %d MiB once they were reset%n", waiting >> 20, resets.get(), after >> 20);
    assertThat(waiting).as("what waits for the viewer").isLessThan(UnreadAnswers.BUDGET + (16L << 20));
    assertThat(after).as("freed once reset").isLessThan(waiting / 2);
    assertThat(control(viewerChannel).get(get).getConfigsCount()).as("the viewer is answered again").isOne();
    for (SSLSocket s : held) {
      assertThat(s.isClosed()).isFalse();
      s.close();
    }
  }
}
