package io.dsfleet.coordinator.security;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.common.Sha256;
import io.dsfleet.common.testing.FakeClock;
import io.dsfleet.common.tls.Pki;
import io.dsfleet.coordinator.fleet.Fleet;
import io.dsfleet.coordinator.grpc.AgentServiceImpl;
import io.dsfleet.coordinator.grpc.CoordinatorFixture;
import io.dsfleet.coordinator.grpc.FakeAgent;
import io.dsfleet.coordinator.grpc.LogRelay;
import io.dsfleet.coordinator.store.SqliteStore;
import io.dsfleet.coordinator.store.Store;
import io.dsfleet.coordinator.store.StoreException;
import io.dsfleet.proto.v1.JoinRequest;
import io.dsfleet.proto.v1.JoinResponse;
import io.grpc.Context;
import io.grpc.Status;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An admin's token for a member's name (its key stolen: docs/security.md, "Rotating everything")
 * revokes the member's certificates as it admits the new agent. When the store then refuses the
 * node's write, those revocations stay (they were written before it), and the calls open under
 * the certificates must end with them: the admission's list of them was dropped with the failure,
 * so the stolen copy's session went on receiving the node's pods and Secrets, and the retry that
 * succeeded had nothing more to revoke and ended none of them.
 */
class RefusedAdmissionTest {
  @TempDir Path dir;

  @Test
  void theCallsOfWhatAnAdmissionRevokedEndAlsoWhenItsNodeWriteIsRefused() throws Exception {
    theCallsOfWhatAnAdmissionRevokedEndWhen((m, args) -> m.getName().equals("admitNode"));
  }

  /**
   * The same when the store refuses the record of the certificate the admission issues, the write
   * after the revocations' (a replicated store losing its leader between the two, a disk filling):
   * before, the list was dropped there too, the admission's answer never made.
   */
  @Test
  void theCallsOfWhatAnAdmissionRevokedEndAlsoWhenItsNewCertificatesRecordIsRefused() throws Exception {
    theCallsOfWhatAnAdmissionRevokedEndWhen((m, args) -> m.getName().equals("putCertificate")
        && ((Store.IssuedCertificate) args[0]).revokedMillis() == 0);
  }

  private void theCallsOfWhatAnAdmissionRevokedEndWhen(java.util.function.BiPredicate<java.lang.reflect.Method, Object[]> refuses)
      throws Exception {
    AtomicBoolean diskFails = new AtomicBoolean();
    FakeClock clock = new FakeClock();
    try (SqliteStore real = new SqliteStore(dir.resolve("data"))) {
      Store store = (Store) Proxy.newProxyInstance(Store.class.getClassLoader(), new Class<?>[] {Store.class}, (proxy, m, args) -> {
        if (diskFails.get() && refuses.test(m, args)) {
          throw new StoreException("injected: the disk refused the write", null);
        }
        try {
          return m.invoke(real, args);
        } catch (InvocationTargetException e) {
          throw e.getCause();
        }
      });
      Authority ca = Authority.open(dir.resolve("data"), List.of("127.0.0.1"), store, clock, Duration.ofDays(30));
      Fleet fleet = new Fleet(store, clock, clock::nanos, CoordinatorFixture.OPTIONS, new Random(1));
      try (AgentServiceImpl agents = new AgentServiceImpl(fleet, new LogRelay(), ca)) {
        JoinResponse first = join(agents, ca.createToken(Duration.ofHours(1), "test").text()).get(10, TimeUnit.SECONDS);
        String stolen = Pki.serialHex(Pki.certificate(first.getCertificatePem()));
        AtomicBoolean ended = new AtomicBoolean();
        ca.onRevoke(stolen, () -> ended.set(true)); // the session a copy of it holds open

        diskFails.set(true);
        var refused = join(agents, ca.createToken(Duration.ofHours(1), "replacement", "node-a", 0).text());
        assertThat(Status.fromThrowable(refused.handle((r, e) -> e).get(10, TimeUnit.SECONDS)).getCode())
            .isEqualTo(Status.Code.UNAVAILABLE);
        assertThat(ca.revoked(stolen, Pki.NODES, "node-a")).as("revoked before the node's write").isTrue();
        assertThat(ended).as("the calls open under it ended with its revocation").isTrue();
      }
    }
  }

  /** A join by token as an agent without a certificate makes it. */
  private static CompletableFuture<JoinResponse> join(AgentServiceImpl agents, String token) {
    CompletableFuture<JoinResponse> answer = new CompletableFuture<>();
    JoinRequest request = JoinRequest.newBuilder().setNode(FakeAgent.info("node-a", Map.of())).setJoinToken(token)
        .setCsrPem(Pki.csr(Pki.newKeyPair(), "node-a", Pki.NODES)).setLeaveSecretSha256(Sha256.hex("secret")).build();
    CompletableFuture<Throwable> ended = new CompletableFuture<>();
    ended.thenAccept(t -> {
      if (t != null) {
        answer.completeExceptionally(t);
      }
    });
    Context.current().withValue(Caller.KEY, Caller.ANONYMOUS).run(() -> agents.join(request, AttackTest.endedInto(ended, answer::complete)));
    return answer;
  }
}
