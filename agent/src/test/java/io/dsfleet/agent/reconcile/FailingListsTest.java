package io.dsfleet.agent.reconcile;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.agent.runtime.FakeRuntime;
import io.dsfleet.agent.runtime.Labels;
import io.dsfleet.common.testing.FakeClock;
import io.dsfleet.proto.v1.PodStatus;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The node's containers cannot be listed while the runtime answers (Docker answers the list with
 * an error, or with more than the agent reads): on the fake runtime and clock.
 */
class FailingListsTest {
  @TempDir Path dir;
  FakeClock clock = new FakeClock();
  FakeRuntime runtime = new FakeRuntime(clock);
  List<List<PodStatus>> reports = new ArrayList<>();
  Reconciler r;

  @BeforeEach
  void setUp() {
    runtime.addImage("local/busybox:1");
    r = ReconcilerTest.onTheCallingThread(runtime, clock, dir, reports::add);
  }

  /**
   * Each pass ends without planning anything, none in an exception (the agent logged each one's
   * stack trace, a second apart), and once the lists have failed for 30 s in a row the node says
   * its runtime is down (NotReady, its pods untouched), as the kubelet's node does when its relist
   * has not completed for 3 minutes; the next list that succeeds lifts it. Before, the node said
   * Ready, its pods as the last list saw them, for as long as it lasted.
   */
  @Test
  void listsThatFailWhileTheRuntimeAnswersMakeTheRuntimeDownAfter30sNotAtEveryPass() {
    List<Boolean> conditions = new ArrayList<>();
    r.onRuntimeCondition(() -> conditions.add(r.runtimeCondition().down()));
    r.setDesired(ReconcilerTest.desired());
    r.tick();
    String running = runtime.listOwned("n1").stream().filter(c -> Labels.APP.equals(c.label(Labels.ROLE))).findFirst().orElseThrow().id();
    runtime.failing.put("list", "Status 500: {\"message\":\"the daemon's error\"}");
    long passes = r.passes();
    r.tick();
    clock.advance(Duration.ofSeconds(29));
    r.tick();
    assertThat(r.passes()).as("the passes ended, neither in an exception").isEqualTo(passes + 2);
    assertThat(r.runtimeCondition().down()).as("29 s of failing lists: not yet").isFalse();
    clock.advance(Duration.ofSeconds(1));
    r.tick();
    assertThat(r.runtimeCondition().down()).as("30 s of failing lists").isTrue();
    assertThat(r.runtimeCondition().message()).contains("list").contains("the daemon's error");
    runtime.failing.remove("list");
    r.tick();
    assertThat(r.runtimeCondition().down()).as("a list again").isFalse();
    assertThat(conditions).containsExactly(true, false);
    assertThat(runtime.listOwned("n1").stream().filter(c -> Labels.APP.equals(c.label(Labels.ROLE))).findFirst().orElseThrow().id())
        .as("the pod ran throughout, untouched").isEqualTo(running);
  }
}
