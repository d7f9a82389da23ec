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

  /** A refusal with this status code whose details (a RetryInfo of {@code delay}) say {@code detailsCode}. */
  private static io.grpc.StatusRuntimeException refusal(io.grpc.Status.Code code, io.grpc.Status.Code detailsCode,
      com.google.protobuf.Duration delay) {
    io.grpc.Metadata trailers = new io.grpc.Metadata();
    trailers.put(io.grpc.Metadata.Key.of("grpc-status-details-bin", io.grpc.protobuf.ProtoUtils.metadataMarshaller(
        com.google.rpc.Status.getDefaultInstance())), com.google.rpc.Status.newBuilder()
        .setCode(detailsCode.value()).setMessage("come back later").addDetails(com.google.protobuf.Any.pack(
            com.google.rpc.RetryInfo.newBuilder().setRetryDelay(delay).build())).build());
    return io.grpc.Status.fromCode(code).withDescription("come back later").asRuntimeException(trailers);
  }

  @Test
  void aRetryInfoOutOfRangeOrUnreadableAsksForNoMoreThanAMinute() {
    io.grpc.Status.Code exhausted = io.grpc.Status.Code.RESOURCE_EXHAUSTED;
    var year = refusal(exhausted, exhausted, com.google.protobuf.Duration.newBuilder().setSeconds(365L * 24 * 3600).build());
    assertThat(Reconnect.asked(year.getStatus(), year.getTrailers())).as("a year").isEqualTo(Reconnect.MAX_ASKED);
    var overflow = refusal(exhausted, exhausted,
        com.google.protobuf.Duration.newBuilder().setSeconds(Long.MAX_VALUE).setNanos(Integer.MAX_VALUE).build());
    assertThat(Reconnect.asked(overflow.getStatus(), overflow.getTrailers())).as("past Long.MAX_VALUE s").isEqualTo(Reconnect.MAX_ASKED);
    var under = refusal(exhausted, exhausted,
        com.google.protobuf.Duration.newBuilder().setSeconds(Long.MIN_VALUE).setNanos(-1).build());
    assertThat(Reconnect.asked(under.getStatus(), under.getTrailers())).as("below Long.MIN_VALUE s").isZero();
    var mismatched = refusal(exhausted, io.grpc.Status.Code.OK, com.google.protobuf.Duration.newBuilder().setSeconds(3).build());
    assertThat(Reconnect.asked(mismatched.getStatus(), mismatched.getTrailers())).as("details of another code").isZero();
    io.grpc.Metadata garbage = new io.grpc.Metadata();
    garbage.put(io.grpc.Metadata.Key.of("grpc-status-details-bin", io.grpc.Metadata.BINARY_BYTE_MARSHALLER), new byte[] {(byte) 0xff, 1});
    assertThat(Reconnect.asked(io.grpc.Status.RESOURCE_EXHAUSTED, garbage)).as("details that do not parse").isZero();
  }

  /** A refusal whose details the agent cannot read (their code is not the refusal's) is retried on the back-off, not never. */
  @Test
  void aSessionRefusedWithUnreadableDetailsIsTriedAgain() throws Exception {
    try (FakeCoordinator coordinator = new FakeCoordinator(DesiredState.newBuilder().setVersion(1).build()).start(0)) {
      coordinator.refuseNextSession = refusal(io.grpc.Status.Code.RESOURCE_EXHAUSTED, io.grpc.Status.Code.OK,
          com.google.protobuf.Duration.newBuilder().setSeconds(1).build());
      CoordinatorSession session = session(coordinator, new FakeRuntime(Clock.systemUTC()), Duration.ofSeconds(5));
      try {
        session.start();
        await().atMost(Duration.ofSeconds(20)).until(() -> coordinator.desiredAcks.get() == 1);
        assertThat(coordinator.sessionOpensNanos).hasSize(2);
      } finally {
        session.close();
      }
    }
  }
}
