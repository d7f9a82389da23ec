package io.dsfleet.agent.session;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.dsfleet.agent.FakeCoordinator;
import io.dsfleet.agent.runtime.FakeRuntime;
import io.dsfleet.proto.v1.DesiredState;
import java.time.Clock;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * A coordinator that refuses a session saying when to come back (a RetryInfo: the node's session
 * was replaced too often, two holders of its certificate taking it in turns) is not asked again
 * sooner: the agent's own back-off would have come back within a second, and its try refused again.
 */
class RetryInfoReconnectTest extends SessionTestBase {
  @Test
  void aSessionRefusedWithRetryInfoOpensAgainNoSoonerThanAsked() throws Exception {
    try (FakeCoordinator coordinator = new FakeCoordinator(DesiredState.newBuilder().setVersion(1).build()).start(0)) {
      com.google.rpc.Status refusal = com.google.rpc.Status.newBuilder().setCode(io.grpc.Status.Code.RESOURCE_EXHAUSTED.value())
          .setMessage("node n1's session was replaced by another too often").addDetails(com.google.protobuf.Any.pack(
              com.google.rpc.RetryInfo.newBuilder().setRetryDelay(com.google.protobuf.Duration.newBuilder().setSeconds(3)).build())).build();
      coordinator.refuseNextSession = io.grpc.protobuf.StatusProto.toStatusRuntimeException(refusal);
      CoordinatorSession session = session(coordinator, new FakeRuntime(Clock.systemUTC()), Duration.ofSeconds(5));
      try (LoggedLines retries = new LoggedLines("; retrying in ")) {
        session.start();
        await().atMost(Duration.ofSeconds(30)).until(() -> coordinator.sessionsOpened.get() == 1);
        long waited = coordinator.sessionOpensNanos.get(1) - coordinator.sessionOpensNanos.get(0);
        assertThat(Duration.ofNanos(waited)).as("the refused session's next try").isGreaterThanOrEqualTo(Duration.ofSeconds(3));
        assertThat(retries.lines()).singleElement().asString().contains("RESOURCE_EXHAUSTED", "replaced by another too often");
        await().atMost(Duration.ofSeconds(30)).until(() -> coordinator.desiredAcks.get() == 1);
      } finally {
        session.close();
      }
    }
  }
}
