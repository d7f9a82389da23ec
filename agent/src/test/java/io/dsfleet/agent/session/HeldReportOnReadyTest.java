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
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A report held while the session's stream takes no more goes when the stream's onReady handler
 * says it takes more again, not at a timer's next look: here the session's scheduler runs no task
 * asked for later, and the report still arrives once the coordinator reads again. Before, a
 * 250 ms timer looked again, and only it sent the held report (up to 250 ms late, and a timer
 * every 250 ms while one was held).
 */
class HeldReportOnReadyTest extends SessionTestBase {
  /** A report's number ("report N"), or "" for one of no pod. */
  private static String number(io.dsfleet.proto.v1.PodStatusReport r) {
    return r.getPodsCount() == 0 ? "" : r.getPods(0).getMessage();
  }

  /** A one-shot task the session asked its scheduler to run later, which it never runs: the test may. */
  private record Later(long millis, Runnable task) {}

  private final List<Later> askedForLater = new CopyOnWriteArrayList<>();

  @Override
  ScheduledExecutorService newScheduler() {
    return new ScheduledThreadPoolExecutor(2) {
      @Override
      public ScheduledFuture<?> schedule(Runnable task, long delay, TimeUnit unit) {
        if (delay <= 0) { // execute() comes here too
          return super.schedule(task, delay, unit);
        }
        askedForLater.add(new Later(unit.toMillis(delay), task));
        return super.schedule(() -> { }, 1, TimeUnit.DAYS); // cancellable; runs nothing
      }
    };
  }

  @Test
  void aReportHeldWhileTheCoordinatorReadsNothingGoesWhenItReadsAgainWithNoTimer() throws Exception {
    try (FakeCoordinator coordinator = new FakeCoordinator(DesiredState.newBuilder().setVersion(1).build()).start(0)) {
      CoordinatorSession session = session(coordinator, new FakeRuntime(Clock.systemUTC()), Duration.ofSeconds(5));
      try {
        session.start();
        await().atMost(Duration.ofSeconds(30)).until(() -> coordinator.desiredAcks.get() == 1);
        await().atMost(Duration.ofSeconds(30)).until(() -> !coordinator.reports.isEmpty()); // the session's first, of no pod
        coordinator.stallReads = true;
        // 12 MiB of reports against a flow-control window of about 1 MiB: the last ones are held
        for (int n = 0; n < 60; n++) {
          session.sendReport(report(n));
        }
        coordinator.stallReads = false;
        await().atMost(Duration.ofSeconds(30)).until(() -> coordinator.reports.get(coordinator.reports.size() - 1).getPodsList().stream()
            .anyMatch(p -> p.getMessage().equals("report 59")));
        assertThat(askedForLater).as("tasks the session asked its scheduler to run later (a timer looking at the held report)")
            .isEmpty();
      } finally {
        session.close();
      }
    }
  }

  /**
   * A report of pods still changing keeps its settle window when the stream takes more again
   * meanwhile: the onReady handler leaves it to the window's end, which the test runs here.
   */
  @Test
  void aReportOfPodsStillChangingWaitsOutItsSettleWindowThoughTheStreamTakesMoreAgain() throws Exception {
    ExecutorService callbacks = Executors.newSingleThreadExecutor(); // serial: a task given after the handler runs after it
    try (FakeCoordinator coordinator = new FakeCoordinator(DesiredState.newBuilder().setVersion(1).build()).start(0)) {
      CoordinatorSession session = session(coordinator, new FakeRuntime(Clock.systemUTC()), Duration.ofSeconds(5)).callbacksOn(callbacks);
      try {
        session.start();
        await().atMost(Duration.ofSeconds(30)).until(() -> coordinator.desiredAcks.get() == 1);
        await().atMost(Duration.ofSeconds(30)).until(() -> !coordinator.reports.isEmpty());
        coordinator.stallReads = true;
        for (int n = 0; n < 60; n++) {
          session.sendReport(report(n));
        }
        List<PodStatus> changing = new ArrayList<>(report(60));
        changing.set(1, changing.get(1).toBuilder().setPhase("Pending").setReady(false).build());
        session.sendReport(changing); // replaces the held report 59, and waits for its pods
        assertThat(askedForLater).extracting(Later::millis).containsExactly(StatusReports.SETTLE_MILLIS);
        coordinator.stallReads = false;
        await().atMost(Duration.ofSeconds(30)).until(session::streamReady);
        callbacks.submit(() -> { }).get(); // the onReady handler, queued when the stream became ready, has run
        int heartbeats = coordinator.heartbeats.size();
        session.heartbeat(); // behind anything the handler sent
        await().atMost(Duration.ofSeconds(30)).until(() -> coordinator.heartbeats.size() > heartbeats);
        assertThat(coordinator.reports).as("reports read before the settle window's end").extracting(HeldReportOnReadyTest::number)
            .doesNotContain("report 60");
        askedForLater.get(0).task().run(); // the window ends
        await().atMost(Duration.ofSeconds(30)).until(() -> number(coordinator.reports.get(coordinator.reports.size() - 1)).equals("report 60"));
        assertThat(coordinator.reports).as("reports read: 59 was replaced while held").extracting(HeldReportOnReadyTest::number)
            .doesNotContain("report 59");
      } finally {
        session.close();
      }
    } finally {
      callbacks.shutdown();
      assertThat(callbacks.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
    }
  }
}
