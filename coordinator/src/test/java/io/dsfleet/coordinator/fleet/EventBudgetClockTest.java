package io.dsfleet.coordinator.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.common.testing.FakeClock;
import io.dsfleet.coordinator.store.SqliteStore;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A node's event budget and the coordinator's wall clock stepped back (NTP correcting a clock that ran ahead). */
class EventBudgetClockTest {
  @TempDir Path dir;

  /**
   * A node that used up its budget gets one event back every {@link Events#AGENT_REFILL_MILLIS}
   * after a step back as before it. Before helper-163 the refill counted from the last refill's
   * wall time: a day's step back dropped every event that node caused (a pod's failure, a
   * PodsReleased Warning, its joins) for the day, in dsctl events and kubectl get events alike.
   */
  @Test
  void aNodesBudgetRefillsAfterTheWallClockStepsBackAsBefore() {
    FakeClock clock = new FakeClock();
    try (SqliteStore store = new SqliteStore(dir)) {
      Events events = new Events(clock, clock::nanos, 100, store);
      List<String> node = List.of("node/n1");
      for (int i = 0; i < Events.AGENT_BURST; i++) {
        assertThat(events.recordFromAgent("n1", Events.AgentKind.PODS, node, "Warning", "BackOff", "crash " + i)).isTrue();
      }
      assertThat(events.recordFromAgent("n1", Events.AgentKind.PODS, node, "Warning", "BackOff", "over")).isFalse();
      clock.advance(Duration.ofMillis(Events.AGENT_REFILL_MILLIS));
      assertThat(events.recordFromAgent("n1", Events.AgentKind.PODS, node, "Warning", "BackOff", "refilled")).isTrue();
      assertThat(events.recordFromAgent("n1", Events.AgentKind.PODS, node, "Warning", "BackOff", "over again")).isFalse();

      clock.stepWall(Duration.ofDays(-1));
      clock.advance(Duration.ofMillis(Events.AGENT_REFILL_MILLIS));

      assertThat(events.recordFromAgent("n1", Events.AgentKind.PODS, node, "Warning", "BackOff", "after the step"))
          .as("one event back a refill after the step").isTrue();
      assertThat(events.of("node/n1")).extracting(Events.Event::message).contains("after the step");
    }
  }
}
