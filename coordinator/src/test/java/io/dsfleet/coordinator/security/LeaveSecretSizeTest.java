package io.dsfleet.coordinator.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.dsfleet.common.tls.Pki;
import io.dsfleet.common.tls.Tls;
import io.dsfleet.coordinator.fleet.Events;
import io.dsfleet.coordinator.grpc.FakeAgent;
import io.dsfleet.proto.v1.JoinRequest;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A leave secret of a message's size (a copy of a node's certificate calling Leave in a loop; a
 * holder of a join token calling Join): it was hashed whole, about 20 ms of a call thread each,
 * before the wrong secret was refused. Longer than any secret an agent has, it is refused unread,
 * naming the field, and changes nothing (no LeaveRefused event of the node's budget spent).
 */
class LeaveSecretSizeTest extends TlsFleetTest {
  static final String HUGE = "a".repeat(3 << 20);

  @Test
  void aLeaveSecretLongerThanAnAgentsIsRefusedUnread() throws Exception {
    NodeCert a = join("node-a", token());
    FakeAgent copy = new FakeAgent(as(a), "node-a");
    agents.add(copy);
    var e = catchThrowableOfType(StatusRuntimeException.class, () -> copy.leave(HUGE));
    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(e.getStatus().getDescription()).isEqualTo("leave_secret is 3145728 characters, more than the 1024 read: an agent's"
        + " leave secret is 64 hex digits (its state directory's leave-secret file)");
    assertThat(server.fleet().events(Events.nodeKey("node-a")).stream().map(Events.Event::reason)).doesNotContain("LeaveRefused");
    assertThat(server.fleet().member("node-a")).isTrue();

    var j = catchThrowableOfType(StatusRuntimeException.class, () -> agentStub(channel(Tls.pinned(server.authority().pki().caHash())))
        .join(JoinRequest.newBuilder().setNode(FakeAgent.info("node-b", Map.of())).setJoinToken(token())
            .setCsrPem(Pki.csr(Pki.newKeyPair(), "node-b", Pki.NODES)).setLeaveSecret(HUGE).setLeaveSecretSha256(sha256(HUGE)).build()));
    assertThat(j.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(j.getStatus().getDescription()).startsWith("leave_secret is 3145728 characters, more than the 1024 read");
    assertThat(server.fleet().member("node-b")).isFalse();

    copy.leave(leaveSecret("node-a")); // the agent's own secret is read as ever
    assertThat(server.fleet().member("node-a")).isFalse();
  }
}
