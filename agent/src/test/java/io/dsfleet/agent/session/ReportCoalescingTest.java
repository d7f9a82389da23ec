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
 * Pod reports made while the coordinator reads none (its pace of a session's reports, or a slow
 * link: flow control) wait on the agent as one, the latest: each is the node's whole status, so
 * those behind it in the stream's buffer were only older, and they piled up there without bound.
 */
class ReportCoalescingTest extends SessionTestBase {
  private static final int REPORTS = 60;

  @Test
  void reportsTheCoordinatorDoesNotReadYetAreReplacedByTheLatest() throws Exception {
    try (FakeCoordinator coordinator = new FakeCoordinator(DesiredState.newBuilder().setVersion(1).build()).start(0)) {
      CoordinatorSession session = session(coordinator, new FakeRuntime(Clock.systemUTC()), Duration.ofSeconds(5));
      try {
        session.start();
        await().atMost(Duration.ofSeconds(30)).until(() -> coordinator.desiredAcks.get() == 1);
        await().atMost(Duration.ofSeconds(30)).until(() -> !coordinator.reports.isEmpty()); // the session's first, of no pod
        int before = coordinator.reports.size();
        coordinator.stallReads = true;
        for (int n = 0; n < REPORTS; n++) {
          session.sendReport(report(n));
        }
        coordinator.stallReads = false;
        await().atMost(Duration.ofSeconds(30)).until(() -> coordinator.reports.get(coordinator.reports.size() - 1).getPodsList().stream()
            .anyMatch(p -> p.getMessage().equals("report " + (REPORTS - 1))));
        int received = coordinator.reports.size() - before;
        assertThat(received).as("reports the coordinator read, of %d made (1 MiB of flow-control window holds about 5)", REPORTS)
            .isLessThan(REPORTS / 3);
      } finally {
        session.close();
      }
    }
  }
}
