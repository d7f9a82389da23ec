package io.dsfleet.agent.session;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.dsfleet.agent.FakeCoordinator;
import io.dsfleet.agent.runtime.FakeRuntime;
import io.dsfleet.proto.v1.DesiredState;
import io.dsfleet.proto.v1.PodStatus;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Pod reports made while the coordinator reads none (its pace of a session's reports, or a slow
 * link: flow control) wait on the agent as one, the latest: each is the node's whole status, so
 * those behind it in the stream's buffer were only older, and they piled up there without bound.
 */
class ReportCoalescingTest extends SessionTestBase {
  private static final int REPORTS = 60;

  /** Report {@code n}: 256 settled pods, about 200 KiB, its number in the first pod's message. */
  private static List<PodStatus> report(int n) {
    List<PodStatus> pods = new ArrayList<>();
    for (int i = 0; i < 256; i++) {
      pods.add(PodStatus.newBuilder().setNamespace("ops").setDaemonSet("ds" + i).setPodName("ds" + i + "-n1").setPhase("Running")
          .setReady(true).setMessage(i == 0 ? "report " + n : "x".repeat(800)).build());
    }
    return pods;
  }

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
