package io.dsfleet.coordinator.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.dsfleet.coordinator.grpc.FakeAgent;
import io.dsfleet.proto.v1.RevokeCredentialRequest;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * A coordinator away for longer than its nodes' certificates had left (30 days here): every agent
 * joins with its join token and its leave secret once it is back. Before 2026-12-06 each was
 * refused as a member (ALREADY_EXISTS) until an admin made a token for each node, and the node's
 * collection, the other way back, waits while most of the fleet is NotReady, as all of it was.
 */
class LapsedCertificatesTest extends TlsFleetTest {
  StatusRuntimeException refused(String node, String token, String secret) {
    return catchThrowableOfType(StatusRuntimeException.class, () -> joinProving(node, token, secret));
  }

  @Test
  void aMembersOwnAgentIsReadmittedByAnyTokenOnceEveryCertificateItWasIssuedHasExpired() throws Exception {
    String token = server.authority().createToken(Duration.ofDays(3650), "provisioning").text();
    for (String node : new String[] {"node-a", "node-b"}) {
      FakeAgent agent = new FakeAgent(as(joinProving(node, token, leaveSecret(node))), node).open(); // its certificate used
      agents.add(agent);
      agent.nextDesired(Duration.ofSeconds(10)); // its session open: the certificate reached it (no lost answer to retry)
      agent.close();
    }
    assertThat(refused("node-a", token, leaveSecret("node-a")).getStatus().getCode())
        .as("token and secret while its certificate is valid").isEqualTo(Status.Code.ALREADY_EXISTS);
    control(credentialFile("admin.pem")).revokeCredential(RevokeCredentialRequest.newBuilder().setName("node-b").setRole("node").build());

    // the coordinator away; every certificate expires meanwhile (they are issued on the wall clock, the fake one starts earlier)
    clock.advance(Duration.between(clock.instant(), java.time.Instant.now()).plusDays(31));
    assertThat(refused("node-a", token, "another-secret").getStatus().getCode()).as("the token with another secret")
        .isEqualTo(Status.Code.ALREADY_EXISTS);
    assertThat(refused("node-b", token, leaveSecret("node-b")).getStatus().getCode()).as("a node an admin revoked")
        .isEqualTo(Status.Code.ALREADY_EXISTS);
    NodeCert again = joinProving("node-a", token, leaveSecret("node-a"));
    assertThat(again.cert().getSubjectX500Principal().getName()).contains("node-a");
    assertThat(server.fleet().events(io.dsfleet.coordinator.fleet.Events.nodeKey("node-a")).stream().map(e -> e.message()).toList())
        .anyMatch(m -> m.contains("every certificate it was issued had expired"));
  }

  static io.dsfleet.coordinator.store.Store.IssuedCertificate cert(String serial, long issued, long notAfter, long revoked) {
    return new io.dsfleet.coordinator.store.Store.IssuedCertificate(serial, "n", "dsfleet:nodes", notAfter, revoked, issued, "", "");
  }

  @Test
  void lapsedMeansNoCertificateItCouldPresentAndTheNewestExpiredUnrevoked() {
    long now = 1_000;
    // renewed as it should: the parent revoked, the newest expired
    assertThat(CertificateRecords.lapsed(java.util.List.of(cert("a", 1, 500, 400), cert("b", 400, 900, 0)), now)).isTrue();
    assertThat(CertificateRecords.lapsed(java.util.List.of(cert("a", 1, 500, 0), cert("b", 400, 2_000, 0)), now))
        .as("one still valid: it needs no token").isFalse();
    assertThat(CertificateRecords.lapsed(java.util.List.of(cert("a", 1, 500, 0), cert("b", 400, 900, 950)), now))
        .as("the newest revoked (an admin revoked the node)").isFalse();
    assertThat(CertificateRecords.lapsed(java.util.List.of(), now)).as("no record: nothing known").isFalse();
  }
}
