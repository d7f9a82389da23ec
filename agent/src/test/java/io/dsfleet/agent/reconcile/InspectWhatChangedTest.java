package io.dsfleet.agent.reconcile;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.agent.runtime.ContainerInfo;
import io.dsfleet.agent.runtime.FakeRuntime;
import io.dsfleet.agent.runtime.Labels;
import io.dsfleet.common.testing.FakeClock;
import io.dsfleet.proto.v1.PodStatus;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * While the runtime's events are followed, a pass looks again at the containers an event or the
 * agent's own work names by inspecting them alone, in its last list, instead of listing every one:
 * a pod's start is reported from the inspects of what its worker made (docs/agent.md, "Static
 * stability").
 */
class InspectWhatChangedTest {
  @TempDir Path dir;
  final FakeClock clock = new FakeClock();
  final FakeRuntime runtime = new FakeRuntime(clock);
  final List<List<PodStatus>> reports = new ArrayList<>();
  final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
  Reconciler r;

  @BeforeEach
  void setUp() {
    runtime.addImage("local/busybox:1");
    r = new Reconciler("n1", "10.1.1.1", runtime, new ReconcilerTest.NoMounts(), clock, Backoff.KUBERNETES, Reconciler.RELIST, dir, "test",
        new ReconcilerThreads(new ReconcilerTest.Direct(), new ReconcilerTest.Direct(), new ReconcilerTest.Direct(), new ReconcilerTest.Direct()),
        reports::add);
    r.watch(scheduler);
    r.setDesired(ReconcilerTest.desired()); // a sandbox and its app container
    r.tick(); // lists (the stream just started) and starts the pod: its worker runs within the pass here
  }

  @AfterEach
  void tearDown() {
    scheduler.shutdownNow();
  }

  PodStatus last() {
    return reports.get(reports.size() - 1).get(0);
  }

  ContainerInfo app() {
    return runtime.listOwned("n1").stream().filter(c -> Labels.APP.equals(c.label(Labels.ROLE))).findFirst().orElseThrow();
  }

  @Test
  void aPodsStartIsReportedFromInspectsOfWhatItsWorkerMadeWithoutAList() {
    long lists = r.lists();
    long inspects = runtime.inspects.get();
    r.tick(); // the pass the worker's end wakes
    assertThat(r.lists()).as("no list of the node's containers").isEqualTo(lists);
    assertThat(runtime.inspects.get() - inspects).as("the sandbox and the app container inspected, each once").isEqualTo(2);
    assertThat(last().getPhase()).isEqualTo("Running");
    assertThat(last().getReady()).isTrue();
    assertThat(r.looks()).as("a look all the same").isGreaterThan(lists);
  }

  @Test
  void anEventThatNamesItsContainerHasThatOneInspectedAndAGoneOneLeftOut() {
    r.tick();
    ContainerInfo app = app();
    long lists = r.lists();
    long inspects = runtime.inspects.get();
    runtime.crash(app.id(), 1);
    runtime.eventOf(app.id());
    r.tick();
    assertThat(r.lists()).isEqualTo(lists);
    assertThat(runtime.inspects.get() - inspects).isEqualTo(1);
    assertThat(last().getContainers(0).getState()).as("the crash seen").isNotEqualTo("running");

    runtime.remove(app.id(), true); // behind the agent's back: its event names a container gone
    runtime.eventOf(app.id());
    long removed = reports.size();
    r.tick();
    assertThat(r.lists()).isEqualTo(lists);
    assertThat(runtime.listOwned("n1")).as("the pass made the app container again").anyMatch(c -> Labels.APP.equals(c.label(Labels.ROLE))
        && !c.id().equals(app.id()));
    assertThat(reports.size()).isGreaterThanOrEqualTo((int) removed);
  }

  /**
   * The collector's removal of a pod's stopped containers names them (the runtime's remove, as the
   * agent's own call): the pass it wakes inspects them, finds them gone and leaves them out. Before,
   * each removal also had the next pass list every container of the node.
   */
  @Test
  void theCollectorsRemovalsAreInspectedNotListed() {
    r.tick();
    r.setDesired(io.dsfleet.proto.v1.DesiredState.newBuilder().setVersion(2).build()); // the pod no longer desired
    for (int i = 0; i < 5 && !runtime.listOwned("n1").isEmpty(); i++) {
      r.tick(); // stops the pod's containers, then collects them
    }
    assertThat(runtime.listOwned("n1")).as("stopped and removed").isEmpty();
    long lists = r.lists();
    r.tick();
    r.tick();
    assertThat(r.lists()).as("no list after the removals").isEqualTo(lists);
  }

  @Test
  void anEventThatNamesNoContainerAndAnInspectThatFailsEachHaveThePassList() {
    r.tick();
    long lists = r.lists();
    runtime.event(); // names none
    r.tick();
    assertThat(r.lists()).isEqualTo(lists + 1);

    runtime.failing.put("inspect", "the daemon cannot read this container's layer");
    runtime.eventOf(app().id());
    r.tick();
    assertThat(r.lists()).as("the list stands in for an inspect that failed").isEqualTo(lists + 2);
    assertThat(last().getPhase()).isEqualTo("Running");
  }
}
