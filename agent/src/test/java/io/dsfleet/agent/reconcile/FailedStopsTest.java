package io.dsfleet.agent.reconcile;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.agent.runtime.ContainerInfo;
import io.dsfleet.agent.runtime.FakeRuntime;
import io.dsfleet.agent.runtime.Labels;
import io.dsfleet.common.testing.FakeClock;
import io.dsfleet.proto.v1.DesiredState;
import io.dsfleet.proto.v1.PodStatus;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A stop the runtime refuses is not tried again before its back-off (10 s, doubling): on the fake
 * runtime and clock, each pass run by the test. Before, every pass that looked stopped it again,
 * and in the agent the end of each refused stop woke the next pass at once.
 */
class FailedStopsTest {
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

  private ContainerInfo app() {
    return runtime.listOwned("n1").stream().filter(c -> Labels.APP.equals(c.label(Labels.ROLE)) && c.running()).findFirst().orElse(null);
  }

  private long stops(String name) {
    return runtime.calls.stream().filter(c -> c.equals("stop " + name)).count();
  }

  /** Passes, each after an event (so each lists and plans afresh, as a pass woken by the end of the refused stop does). */
  private void passes(int n) {
    for (int i = 0; i < n; i++) {
      runtime.event();
      r.tick();
      clock.advance(Duration.ofMillis(100));
    }
  }

  @Test
  void aPodNoLongerDesiredWhoseStopIsRefusedIsStoppedAgainAfterItsBackOff() {
    r.setDesired(Pods.state(Pods.ds()));
    r.tick();
    String name = app().name();
    runtime.failing.put("stop " + name, "cannot kill container: permission denied");
    r.setDesired(DesiredState.newBuilder().setVersion(2).build());
    passes(20);
    assertThat(stops(name)).as("one stop in 20 passes (2 s), its back-off 10 s").isEqualTo(1);
    assertThat(app()).as("it runs on").isNotNull();
    clock.advance(Duration.ofSeconds(9));
    passes(1);
    assertThat(stops(name)).as("tried again once its back-off is over").isEqualTo(2);
    runtime.failing.clear();
    clock.advance(Duration.ofSeconds(20));
    passes(1);
    assertThat(app()).as("stopped at the try after its second back-off, 20 s").isNull();
  }

  @Test
  void aPodsContainerWhoseStopForItsNewTemplateIsRefusedIsStoppedAgainAfterItsBackOff() {
    r.setDesired(Pods.state(Pods.ds()));
    r.tick();
    String name = app().name();
    runtime.failing.put("stop " + name, "cannot kill container: permission denied");
    r.setDesired(Pods.state(Pods.ds("spec.template.spec.terminationGracePeriodSeconds", "7")).toBuilder().setVersion(2).build());
    passes(20);
    assertThat(stops(name)).as("one stop in 20 passes (2 s), its back-off 10 s").isEqualTo(1);
    PodStatus pod = reports.get(reports.size() - 1).get(0);
    assertThat(pod.getContainersList()).as("the old template's container is still reported as it is").isNotEmpty();
    clock.advance(Duration.ofSeconds(9));
    runtime.failing.clear();
    passes(1);
    assertThat(stops(name)).as("tried again once its back-off is over").isEqualTo(2);
    assertThat(app().name()).as("the new template runs").isNotEqualTo(name);
  }

  /**
   * A refused stop's back-off is forgotten once its container is gone another way (removed by hand,
   * as an operator does with a container the agent cannot stop, or ended by itself): kept, it was a
   * failure recorded for good, and a node with a failure recorded never skips a pass (each a list
   * of Docker's containers) however quiet it is.
   */
  @Test
  void aRefusedStopIsForgottenOnceItsContainerIsGoneAndPassesGoQuietAgain() {
    quietOnceGone(main -> "stop " + main.name(), "cannot kill container: permission denied", main -> stops(main.name()));
  }

  /**
   * A refused removal's back-off ({@code gc/ID}: dockerd's "device or resource busy" for a layer it
   * cannot unmount yet) is forgotten once its container is gone another way (removed by hand): kept,
   * it made every pass of the node a full one for good, as a refused stop's did (helper-148's finding).
   */
  @Test
  void aRefusedRemovalIsForgottenOnceItsContainerIsGoneAndPassesGoQuietAgain() {
    quietOnceGone(main -> "remove " + main.id(), "driver overlay2 failed to remove root filesystem: device or resource busy",
        main -> runtime.calls.stream().filter(c -> c.equals("remove " + main.name())).count());
  }

  /**
   * The pod's container's {@code refusedCall} refused once as its pod goes ({@code tries}: its calls so far), the container
   * then removed by hand: once the pod is gone, passes on a quiet node are skipped again. With the event stream followed:
   * a pass is skipped only while it runs.
   */
  private void quietOnceGone(java.util.function.Function<ContainerInfo, String> refusedCall, String refusal,
      java.util.function.ToLongFunction<ContainerInfo> tries) {
    java.util.concurrent.ScheduledExecutorService scheduler = java.util.concurrent.Executors.newSingleThreadScheduledExecutor();
    try {
      r.watch(scheduler);
      r.setDesired(Pods.state(Pods.ds()));
      r.tick();
      ContainerInfo main = app();
      runtime.failing.put(refusedCall.apply(main), refusal);
      r.setDesired(DesiredState.newBuilder().setVersion(2).build());
      passes(3);
      assertThat(tries.applyAsLong(main)).as("refused once").isEqualTo(1);
      runtime.failing.clear();
      runtime.remove(main.id(), true); // docker rm -f by hand
      clock.advance(Duration.ofSeconds(11)); // the pod's sandbox waited the back-off with it: now torn down
      passes(3);
      assertThat(runtime.listOwned("n1")).as("the pod is gone").isEmpty();
      long quiet = r.quietPasses();
      for (int i = 0; i < 5; i++) { // nothing changes: no event, a clock that moves less than the longest quiet stretch
        clock.advance(Duration.ofMillis(100));
        r.tick();
      }
      assertThat(r.quietPasses() - quiet).as("passes skipped on a quiet node").isPositive();
    } finally {
      scheduler.shutdownNow();
    }
  }
}
