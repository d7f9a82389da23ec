package io.dsfleet.agent.reconcile;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.proto.v1.PodStatus;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The pod start durations the agent exports: desired to Running, once per pod, never for a pod found running. */
class PodStartsTest {
  final PodStarts starts = new PodStarts();
  final List<Duration> observed = new ArrayList<>();
  final Instant t0 = Instant.parse("2026-12-01T10:00:00Z");

  static PodStatus pod(String name, String phase) {
    return pod(name, phase, "rev1");
  }

  static PodStatus pod(String name, String phase, String hash) {
    return PodStatus.newBuilder().setNamespace("default").setPodName(name).setPhase(phase).setTemplateHash(hash).build();
  }

  void report(Instant now, Map<String, Instant> firstSeen, PodStatus... pods) {
    starts.report(List.of(pods), firstSeen, now, observed::add);
  }

  @Test
  void aPodCountsFromFirstDesiredToItsFirstRunningReportOnce() {
    Map<String, Instant> seen = Map.of("default/a", t0);
    report(t0.plusMillis(10), seen, pod("a", "Pending"));
    assertThat(observed).isEmpty();
    report(t0.plusMillis(700), seen, pod("a", "Running"));
    assertThat(observed).containsExactly(Duration.ofMillis(700));
    report(t0.plusSeconds(5), seen, pod("a", "Failed"));
    report(t0.plusSeconds(9), seen, pod("a", "Running"));
    assertThat(observed).as("a pod that runs again did not start anew").hasSize(1);
  }

  /** A rolling update replaces a pod in place (the same name): its new revision's start counts from when it was first reported. */
  @Test
  void aNewRevisionOfThePodCountsItsOwnStart() {
    Map<String, Instant> seen = Map.of("default/a", t0);
    report(t0, seen, pod("a", "Pending"));
    report(t0.plusSeconds(1), seen, pod("a", "Running"));
    report(t0.plusSeconds(60), seen, pod("a", "Pending", "rev2"));
    report(t0.plusSeconds(60).plusMillis(400), seen, pod("a", "Running", "rev2"));
    assertThat(observed).containsExactly(Duration.ofSeconds(1), Duration.ofMillis(400));
  }

  @Test
  void aPodFoundRunningIsNotCounted() {
    Map<String, Instant> seen = Map.of("default/adopted", t0.plusSeconds(30));
    report(t0.plusSeconds(30), seen, pod("adopted", "Running"));
    report(t0.plusSeconds(31), seen, pod("adopted", "Running"));
    assertThat(observed).as("the agent restarted and found it running: no start to time").isEmpty();
  }

  @Test
  void aPodGoneAndDesiredAgainCountsAgain() {
    Map<String, Instant> first = Map.of("default/a", t0);
    report(t0, first, pod("a", "Pending"));
    report(t0.plusSeconds(1), first, pod("a", "Running"));
    report(t0.plusSeconds(2), Map.of());
    Map<String, Instant> again = Map.of("default/a", t0.plusSeconds(3));
    report(t0.plusSeconds(3), again, pod("a", "Pending"));
    report(t0.plusSeconds(5), again, pod("a", "Running"));
    assertThat(observed).containsExactly(Duration.ofSeconds(1), Duration.ofSeconds(2));
  }
}
