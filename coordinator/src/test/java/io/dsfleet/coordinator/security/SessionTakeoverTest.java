package io.dsfleet.coordinator.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.dsfleet.common.manifest.Fixtures;
import io.dsfleet.coordinator.fleet.Events;
import io.dsfleet.coordinator.grpc.FakeAgent;
import io.dsfleet.proto.v1.*;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Two holders of one node certificate (the agent and a copy of its {@code pki/node.pem}) take the
 * node's session from each other. Each take-over cost the coordinator a session set-up, three
 * rebuilds of every watcher's view and the node's whole desired set, about 250 a second on a
 * 2-core machine (80 a second with a TLS handshake each), the node's pods reported and unreported
 * in turn, and nothing told an operator. A session may now replace the node's open one twice at
 * once, then once every 5 s; beyond that it is refused before the fleet sees it
 * (RESOURCE_EXHAUSTED with a RetryInfo), and the node has a Warning event, one a minute at most.
 * The coordinator's monotonic clock is the test's: nothing here waits for time to pass.
 */
class SessionTakeoverTest extends TlsFleetTest {

  /** A session on {@code channel} for node-a, opened. */
  FakeAgent session(ManagedChannel channel) {
    FakeAgent s = new FakeAgent(channel, "node-a").open();
    agents.add(s);
    return s;
  }

  /** The session's refusal, once it came. */
  static Status refusal(FakeAgent s) {
    await().atMost(Duration.ofSeconds(10)).until(() -> s.sessionError != null);
    return Status.fromThrowable(s.sessionError);
  }

  List<Events.Event> takeoverWarnings() {
    return server.fleet().events(Events.nodeKey("node-a")).stream().filter(e -> e.reason().equals("SessionTakeovers")).toList();
  }

  @Test
  void aCopyOfANodesCertificateTakesItsSessionAtMostOnceEveryFiveSecondsAndTheNodeSaysSo() throws Exception {
    control(credentialFile("admin.pem")).apply(ApplyRequest.newBuilder().setManifests(Fixtures.BASE).build());
    NodeCert cert = join("node-a", token());
    ManagedChannel agentChannel = as(cert);
    ManagedChannel copyChannel = as(cert);
    FakeAgent agent = session(agentChannel);
    agent.reportAllReady(agent.nextDesired(Duration.ofSeconds(10)), clock.millis());

    // twice at once: an agent restarted, or back from a partition, before its old connection was seen to end
    FakeAgent copy = session(copyChannel);
    copy.nextDesired(Duration.ofSeconds(10));
    await().atMost(Duration.ofSeconds(10)).until(() -> agent.sessionCompleted);
    FakeAgent agentAgain = session(agentChannel);
    agentAgain.reportAllReady(agentAgain.nextDesired(Duration.ofSeconds(10)), clock.millis());
    await().atMost(Duration.ofSeconds(10)).until(() -> copy.sessionCompleted);
    agentAgain.heartbeat(); // answered behind the report: applied
    await().atMost(Duration.ofSeconds(10)).until(agentAgain::heartbeatAcked);

    // then the copy is refused, however often it tries, with the time to wait
    for (int i = 0; i < 50; i++) {
      FakeAgent again = session(copyChannel);
      Status refused = refusal(again);
      assertThat(refused.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
      assertThat(refused.getDescription()).contains("node node-a's session was replaced by another too often", "try again in 5000 ms");
      com.google.rpc.Status details = io.grpc.protobuf.StatusProto.fromThrowable(again.sessionError);
      assertThat(details).as("a RetryInfo the agent's back-off honours").isNotNull();
      com.google.rpc.RetryInfo retry = details.getDetails(0).unpack(com.google.rpc.RetryInfo.class);
      assertThat(retry.getRetryDelay().getSeconds()).isEqualTo(5);
      assertThat(again.received).as("a refused session is sent nothing").isEmpty();
    }
    // the warning (queued behind the first refusal) is the barrier: the first refused session reached the fleet, if it did,
    // before it; the others end on the transport thread before their answer, never known to the fleet
    await().atMost(Duration.ofSeconds(10)).until(() -> takeoverWarnings().size() == 1);
    Events.Event warning = takeoverWarnings().get(0);
    assertThat(warning.type()).isEqualTo("Warning");
    assertThat(warning.message()).contains("sessions of node node-a replaced one another 2 times and 1 more were refused",
        "dsctl token create --node node-a");
    assertThat(agentAgain.sessionCompleted).as("the agent's session stays open").isFalse();
    assertThat(agentAgain.sessionError).isNull();
    assertThat(server.fleet().node("node-a", false).pods()).as("the agent's pods stay reported").hasSize(1);
    agentAgain.heartbeat();
    await().atMost(Duration.ofSeconds(10)).until(agentAgain::heartbeatAcked);

    // 5 s on: one more replacement, the next refused again; told no sooner than a minute after the first warning
    clock.advance(Duration.ofSeconds(5));
    FakeAgent later = session(copyChannel);
    later.nextDesired(Duration.ofSeconds(10));
    await().atMost(Duration.ofSeconds(10)).until(() -> agentAgain.sessionCompleted);
    assertThat(refusal(session(agentChannel)).getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    clock.advance(Duration.ofSeconds(55)); // a quiet minute: the whole allowance again
    session(copyChannel).nextDesired(Duration.ofSeconds(10));
    session(agentChannel).nextDesired(Duration.ofSeconds(10));
    assertThat(takeoverWarnings()).hasSize(1);
    assertThat(refusal(session(copyChannel)).getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    await().atMost(Duration.ofSeconds(10)).until(() -> takeoverWarnings().size() == 2);
    assertThat(takeoverWarnings().get(1).message()).contains("replaced one another 3 times since the last warning and 51 more were refused");
  }

  /** Opens a session on {@code channel}, sees it open, ends it and sees it end. */
  void openAndEnd(ManagedChannel channel) {
    FakeAgent s = session(channel);
    await().atMost(Duration.ofSeconds(10)).until(() -> server.fleet().connected("node-a"));
    s.heartbeat();
    await().atMost(Duration.ofSeconds(10)).until(s::heartbeatAcked);
    s.endSession();
    await().atMost(Duration.ofSeconds(10)).until(() -> !server.fleet().connected("node-a"));
    assertThat(s.sessionError).isNull();
  }

  /**
   * A session that opens while none of its node is open replaces nothing: an agent that ends its
   * session and opens another (a renewal's reconnect, a restart seen by the coordinator), at its
   * back-off's shortest (0.25 s, doubling, the 10 s step's half at most), is never refused, nor is
   * any agent after a coordinator restart.
   */
  @Test
  void anAgentReconnectingAtItsBackOffIsNeverRefused() throws Exception {
    NodeCert cert = join("node-a", token());
    ManagedChannel channel = as(cert);
    for (int i = 0; i < 30; i++) {
      openAndEnd(channel);
      clock.advance(Duration.ofMillis(Math.min(5_000, 250L << Math.min(i, 5))));
    }
    restart();
    FakeAgent afterRestart = new FakeAgent(as(cert), "node-a").open();
    agents.add(afterRestart);
    await().atMost(Duration.ofSeconds(10)).until(() -> server.fleet().connected("node-a"));
    assertThat(takeoverWarnings()).isEmpty();
  }

  /**
   * One holder of a node certificate opening a session and ending it, replacing none, in a loop:
   * each a session set-up on the fleet's lock, three rebuilds of every watcher's view and, once it
   * reported, the node's whole desired set, about 700 a second. Ten at once, then one a second.
   */
  @Test
  void oneHolderOpeningAndEndingSessionsOpensTenAtOnceThenOneASecond() throws Exception {
    NodeCert cert = join("node-a", token());
    ManagedChannel channel = as(cert);
    for (int i = 0; i < 10; i++) {
      openAndEnd(channel);
    }
    FakeAgent refused = session(channel);
    Status status = refusal(refused);
    assertThat(status.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(status.getDescription()).isEqualTo("node node-a opens sessions too often (10 at once, then one every 1 s); try again in 1000 ms");
    assertThat(io.grpc.protobuf.StatusProto.fromThrowable(refused.sessionError).getDetails(0).unpack(com.google.rpc.RetryInfo.class)
        .getRetryDelay().getSeconds()).isEqualTo(1);
    assertThat(server.fleet().connected("node-a")).isFalse();
    clock.advance(Duration.ofSeconds(1));
    openAndEnd(channel);
    assertThat(refusal(session(channel)).getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(takeoverWarnings()).as("no take-over: told in the log alone").isEmpty();
  }
}
