package io.dsfleet.coordinator.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** What {@link SessionTakeovers} remembers of nodes whose sessions ended: only what an allowance still needs. */
class SessionTakeoversTest {
  final AtomicLong nanos = new AtomicLong();
  final SessionTakeovers takeovers = new SessionTakeovers(nanos::get);

  /**
   * Nodes whose session opened and ended within a second (names a join token admitted, each used
   * once): their allowance of opens was short at the end, so each was kept to count against, and
   * none was forgotten once it had grown whole, for as long as the coordinator ran.
   */
  @Test
  void nodesWhoseSessionsEndedAreForgottenOnceTheirAllowanceIsWhole() {
    for (int i = 0; i < SessionTakeovers.SWEEP_EVERY - 1; i++) {
      Object session = new Object();
      assertThat(takeovers.open("node-" + i, session)).isNull();
      takeovers.ended("node-" + i, session);
    }
    assertThat(takeovers.remembered()).as("each ended with an open taken from its allowance").isEqualTo(SessionTakeovers.SWEEP_EVERY - 1);
    nanos.addAndGet(Duration.ofMinutes(1).toNanos());
    Object open = new Object();
    takeovers.open("node-live", open);
    Object last = new Object();
    takeovers.open("node-last", last);
    takeovers.ended("node-last", last); // the 1024th ending
    assertThat(takeovers.remembered()).as("the node whose session is open, and the one whose session just ended").isEqualTo(2);
  }

  @Test
  void aNodeOpeningAndEndingInALoopIsStillCountedAgainst() {
    for (int i = 0; i < SessionTakeovers.OPEN_BURST; i++) {
      Object session = new Object();
      assertThat(takeovers.open("node-a", session)).isNull();
      takeovers.ended("node-a", session);
    }
    SessionTakeovers.Refusal refused = takeovers.open("node-a", new Object());
    assertThat(refused).isNotNull();
    assertThat(refused.retryAfter()).isEqualTo(Duration.ofSeconds(1));
  }
}
