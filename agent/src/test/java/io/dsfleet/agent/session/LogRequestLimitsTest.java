package io.dsfleet.agent.session;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.dsfleet.agent.FakeCoordinator;
import io.dsfleet.agent.runtime.FakeRuntime;
import io.dsfleet.agent.runtime.Labels;
import io.dsfleet.proto.v1.CoordinatorMessage;
import io.dsfleet.proto.v1.DesiredState;
import io.dsfleet.proto.v1.LogCancel;
import io.dsfleet.proto.v1.LogChunk;
import io.dsfleet.proto.v1.LogRequest;
import io.dsfleet.proto.v1.Removed;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;

/**
 * Any viewer of the fleet may ask for logs and the coordinator relays each request to the node: the
 * agent answers so many at once and keeps so many followed streams open, and refuses the rest at
 * once with the reason, so a flood costs the host neither a queue nor a connection to Docker a
 * request.
 */
class LogRequestLimitsTest extends SessionTestBase {
  static CoordinatorMessage request(String id, boolean follow) {
    return CoordinatorMessage.newBuilder().setLogRequest(LogRequest.newBuilder().setRequestId(id).setPodName("p").setTailLines(10)
        .setFollow(follow)).build();
  }

  static List<LogChunk> chunks(FakeCoordinator coordinator, String id) {
    return coordinator.logChunks.stream().filter(c -> c.getRequestId().equals(id)).toList();
  }

  /** A session of n1 to the coordinator, open. */
  CoordinatorSession opened(FakeCoordinator coordinator, FakeRuntime runtime) {
    return opened(coordinator, runtime, () -> { });
  }

  CoordinatorSession opened(FakeCoordinator coordinator, FakeRuntime runtime, Runnable onRemoved) {
    CoordinatorSession session = session(coordinator, runtime, Duration.ofSeconds(5), onRemoved);
    session.start();
    await().atMost(Duration.ofSeconds(30)).until(() -> coordinator.sessionsOpened.get() == 1);
    return session;
  }

  @Test
  void requestsBeyondThoseBeingAnsweredAreRefusedAtOnceWhileDockerHangs() throws Exception {
    FakeRuntime runtime = new FakeRuntime(Clock.systemUTC());
    CountDownLatch hung = new CountDownLatch(1);
    try (FakeCoordinator coordinator = new FakeCoordinator(DesiredState.newBuilder().setVersion(1).build()).start(0)) {
      CoordinatorSession session = opened(coordinator, runtime);
      try {
        runtime.listsWaitFor = hung; // every request taken waits for Docker
        int sent = LogRequests.MAX_PENDING + 40;
        for (int i = 0; i < sent; i++) {
          coordinator.send(request("r" + i, false));
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> coordinator.logChunks.size() >= 40);
        hung.countDown();
        // the ones taken are answered once Docker does (the pod has no container: an error each)
        await().atMost(Duration.ofSeconds(10)).until(() -> coordinator.logChunks.size() >= sent);
        List<LogChunk> refused = coordinator.logChunks.stream().filter(c -> c.getError().contains("is answering 32 log requests already"))
            .toList();
        assertThat(refused).hasSize(40).allMatch(LogChunk::getEof);
        assertThat(refused).extracting(LogChunk::getRequestId).as("the last ones sent").allMatch(
            id -> Integer.parseInt(id.substring(1)) >= LogRequests.MAX_PENDING);
        assertThat(coordinator.logChunks).hasSize(sent);
      } finally {
        hung.countDown();
        session.close();
      }
    }
  }

  @Test
  void aFollowCancelledWhileItWaitsForDockerNeverOpensNorKeepsAPlace() throws Exception {
    FakeRuntime runtime = runtimeWithPodP();
    CountDownLatch hung = new CountDownLatch(1);
    try (FakeCoordinator coordinator = new FakeCoordinator(DesiredState.newBuilder().setVersion(1).build()).start(0)) {
      CoordinatorSession session = opened(coordinator, runtime);
      try {
        runtime.listsWaitFor = hung;
        coordinator.send(request("w", true));
        // the follow reads the pod's containers from Docker, which does not answer, when its cancel comes
        await().atMost(Duration.ofSeconds(10)).until(() -> runtime.listsWaiting.contains(Map.of(Labels.POD, "p")));
        coordinator.send(CoordinatorMessage.newBuilder().setLogCancel(LogCancel.newBuilder().setRequestId("w")).build()); // the viewer's ^C
        // a barrier: the agent handles its messages in order, and the last of these is refused at once
        for (int i = 0; i < LogRequests.MAX_PENDING; i++) {
          coordinator.send(request("x" + i, false));
        }
        String last = "x" + (LogRequests.MAX_PENDING - 1);
        await().atMost(Duration.ofSeconds(10)).until(() -> !chunks(coordinator, last).isEmpty());
        hung.countDown();
        await().atMost(Duration.ofSeconds(10)).until(() -> java.util.stream.IntStream.range(0, LogRequests.MAX_PENDING - 1)
            .allMatch(i -> chunks(coordinator, "x" + i).stream().anyMatch(LogChunk::getEof)));
        for (int i = 0; i < LogRequests.MAX_FOLLOWS; i++) {
          coordinator.send(request("f" + i, true));
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> java.util.stream.IntStream.range(0, LogRequests.MAX_FOLLOWS)
            .allMatch(i -> !chunks(coordinator, "f" + i).isEmpty()));
        assertThat(coordinator.logChunks.stream().filter(c -> c.getRequestId().startsWith("f")))
            .as("every place free: the cancelled follow holds none").allMatch(c -> c.getError().isEmpty());
        assertThat(chunks(coordinator, "w")).as("cancelled before it opened: never answered").isEmpty();
      } finally {
        hung.countDown();
        session.close();
      }
    }
  }

  @Test
  void theNodesRemovalDoesNotWaitBehindLogRequestsStuckOnDocker() throws Exception {
    FakeRuntime runtime = runtimeWithPodP();
    CountDownLatch hung = new CountDownLatch(1);
    CountDownLatch removed = new CountDownLatch(1);
    try (FakeCoordinator coordinator = new FakeCoordinator(DesiredState.newBuilder().setVersion(1).build()).start(0)) {
      CoordinatorSession session = opened(coordinator, runtime, removed::countDown);
      try {
        // the log requests' lists of one pod's containers hang; the removal's list of every container does not
        runtime.listsThatWait = filter -> filter.containsKey(Labels.POD);
        runtime.listsWaitFor = hung;
        for (int i = 0; i < LogRequests.MAX_PENDING; i++) {
          coordinator.send(request("r" + i, false));
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> !runtime.listsWaiting.isEmpty());
        coordinator.send(CoordinatorMessage.newBuilder().setRemoved(Removed.newBuilder().setReason("removed by an admin")).build());
        assertThat(removed.await(20, java.util.concurrent.TimeUnit.SECONDS)).as("the node removed its pods and forgot its credentials").isTrue();
        assertThat(runtime.listOwned("n1")).as("every owned container removed").isEmpty();
        assertThat(coordinator.logChunks).as("the log requests still wait for Docker").isEmpty();
      } finally {
        hung.countDown();
        session.close();
      }
    }
  }

  static FakeRuntime runtimeWithPodP() {
    FakeRuntime runtime = new FakeRuntime(Clock.systemUTC());
    runtime.followsStayOpen = true;
    runtime.addForeign("app", Map.of(Labels.MANAGED, "true", Labels.NODE, "n1", Labels.NAMESPACE, "ops", Labels.DAEMON_SET, "ds",
        Labels.POD, "p", Labels.CONTAINER, "c", Labels.HASH, "abc123", Labels.ROLE, "app", Labels.RESTARTS, "0"), false);
    return runtime;
  }

  /**
   * A log of long lines Docker could not decode (each byte U+FFFD, 3 bytes in UTF-8) comes in chunks
   * under the coordinator's message limit: 100 lines of 16 KiB characters to a chunk once made one
   * of 4.9 MB, which ended the node's session and delivered nothing.
   */
  @Test
  void aLogOfLongUndecodableLinesComesWholeInChunksUnderTheMessageLimit() throws Exception {
    FakeRuntime runtime = runtimeWithPodP();
    runtime.followsStayOpen = false;
    runtime.logLines = java.util.Collections.nCopies(100, "\uFFFD".repeat(16384));
    try (FakeCoordinator coordinator = new FakeCoordinator(DesiredState.newBuilder().setVersion(1).build()).start(0)) {
      CoordinatorSession session = opened(coordinator, runtime);
      try {
        coordinator.send(request("big", false));
        await().atMost(Duration.ofSeconds(20)).until(() -> chunks(coordinator, "big").stream().anyMatch(LogChunk::getEof));
        assertThat(chunks(coordinator, "big").stream().mapToInt(LogChunk::getLinesCount).sum()).as("every line").isEqualTo(100);
        assertThat(chunks(coordinator, "big")).allMatch(c -> c.getSerializedSize() < 2 << 20);
        assertThat(coordinator.sessionsOpened.get()).as("the session was not ended").isEqualTo(1);
      } finally {
        session.close();
      }
    }
  }

  /**
   * A coordinator that takes no more (a slow link, a busy coordinator) holds the agent's reading of
   * Docker's log back through gRPC's flow control: the log waits on the host's disk, not in the
   * agent's 48 MiB heap (every chunk was queued in gRPC's buffer before); nothing is lost once the
   * coordinator reads again.
   */
  @Test
  void aCoordinatorThatReadsNoMoreHoldsTheLogBackInsteadOfFillingTheAgentsHeap() throws Exception {
    FakeRuntime runtime = runtimeWithPodP();
    runtime.followsStayOpen = false;
    String line = "x".repeat(1024);
    java.util.concurrent.atomic.AtomicInteger read = new java.util.concurrent.atomic.AtomicInteger();
    int lines = 50_000; // 50 MB of log
    runtime.logLines = counted(line, lines, read);
    try (FakeCoordinator coordinator = new FakeCoordinator(DesiredState.newBuilder().setVersion(1).build()).start(0)) {
      CoordinatorSession session = opened(coordinator, runtime);
      try {
        coordinator.stallReads = true;
        coordinator.send(request("slow", true));
        await().atMost(Duration.ofSeconds(30)).until(() -> read.get() > 0); // the relay reads
        int[] last = {-1}; // until it reads no more for half a second: held (or done, which the bound below refuses)
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).until(() -> last[0] == (last[0] = read.get()));
        assertThat(read.get()).as("lines read from Docker while the coordinator read nothing: a few MiB of buffers, not all 50 MB")
            .isLessThan(10_000);
        coordinator.stallReads = false;
        await().atMost(Duration.ofSeconds(60)).until(() -> chunks(coordinator, "slow").stream().anyMatch(LogChunk::getEof));
        assertThat(chunks(coordinator, "slow").stream().mapToInt(LogChunk::getLinesCount).sum()).as("every line, none left out")
            .isEqualTo(lines);
      } finally {
        session.close();
      }
    }
  }

  /** A log of {@code lines} copies of {@code line}, each line the runtime reads counted in {@code read}. */
  static java.util.List<String> counted(String line, int lines, java.util.concurrent.atomic.AtomicInteger read) {
    return new java.util.AbstractList<>() {
      @Override
      public String get(int i) {
        read.incrementAndGet();
        return line;
      }

      @Override
      public int size() {
        return lines;
      }
    };
  }

  /**
   * A log read whole (kubectl logs, dsctl logs without -f, the dashboard's tail) that the
   * coordinator cancels (its reader went away, or it cut the read at its bound) stops reading:
   * before 2026-12-06 only followed streams heard their cancel, and a viewer's kubectl logs of a
   * pod with 50 MiB of log (what the agent's rotation keeps), cut by the coordinator at 4 MiB, had
   * the agent read and send the other 46 MiB on, holding one of its 32 places until Docker's last
   * line.
   */
  @Test
  void aLogReadWholeStopsWhenItIsCancelled() throws Exception {
    FakeRuntime runtime = runtimeWithPodP();
    runtime.followsStayOpen = false;
    String line = "x".repeat(1024);
    int lines = 50_000; // 50 MB of log
    java.util.concurrent.atomic.AtomicInteger read = new java.util.concurrent.atomic.AtomicInteger();
    runtime.logLines = counted(line, lines, read);
    try (FakeCoordinator coordinator = new FakeCoordinator(DesiredState.newBuilder().setVersion(1).build()).start(0)) {
      CoordinatorSession session = opened(coordinator, runtime);
      try {
        coordinator.stallReads = true; // the read is under way, held back by flow control, when its cancel comes
        coordinator.send(request("whole", false));
        int[] last = {-1}; // read, then held: no more lines for half a second
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).until(() -> read.get() > 0 && last[0] == (last[0] = read.get()));
        coordinator.send(CoordinatorMessage.newBuilder().setLogCancel(LogCancel.newBuilder().setRequestId("whole")).build());
        // the cancel taken before reads go on again, else lines sent after it fail the test: once it is, each line the
        // runtime still reads is left out at once, so the whole log is read while the coordinator still takes nothing
        // (a fixed half second stood here, which a loaded machine's delay could outlast). Within 10 s: before the
        // session, its heartbeats unanswered, goes silent (four intervals of 5 s) and LogRequests.READY_WAIT (30 s)
        // passes, either of which leaves the lines out all the same
        await("the cancel taken: the rest of the log read and left out").atMost(Duration.ofSeconds(10)).until(() -> read.get() == lines);
        coordinator.stallReads = false;
        await().atMost(Duration.ofSeconds(60)).until(() -> chunks(coordinator, "whole").stream().anyMatch(LogChunk::getEof));
        assertThat(chunks(coordinator, "whole").stream().mapToInt(LogChunk::getLinesCount).sum())
            .as("lines sent: those under way when the cancel came, not the whole log").isLessThan(lines / 5);
      } finally {
        session.close();
      }
    }
  }

  @Test
  void followedStreamsBeyondTheCapAreRefusedAndOneCancelledFreesItsPlace() throws Exception {
    FakeRuntime runtime = runtimeWithPodP();
    try (FakeCoordinator coordinator = new FakeCoordinator(DesiredState.newBuilder().setVersion(1).build()).start(0)) {
      CoordinatorSession session = opened(coordinator, runtime);
      try {
        for (int i = 0; i < LogRequests.MAX_FOLLOWS; i++) {
          coordinator.send(request("f" + i, true));
        }
        // each open stream has sent its first line (flushed every 200 ms)
        await().atMost(Duration.ofSeconds(10)).until(() -> java.util.stream.IntStream.range(0, LogRequests.MAX_FOLLOWS)
            .allMatch(i -> chunks(coordinator, "f" + i).stream().anyMatch(c -> c.getLinesCount() > 0)));
        coordinator.send(request("over", true));
        await().atMost(Duration.ofSeconds(10)).until(() -> !chunks(coordinator, "over").isEmpty());
        assertThat(chunks(coordinator, "over").get(0).getError()).isEqualTo("node n1 has 32 followed log streams open; close one");
        assertThat(coordinator.logChunks).as("no open stream ended").noneMatch(c -> c.getRequestId().startsWith("f") && c.getEof());

        coordinator.send(CoordinatorMessage.newBuilder().setLogCancel(LogCancel.newBuilder().setRequestId("f0")).build());
        coordinator.send(request("after", true));
        await().atMost(Duration.ofSeconds(10)).until(() -> !chunks(coordinator, "after").isEmpty());
        assertThat(chunks(coordinator, "after").get(0).getError()).as("f0's place was freed").isEmpty();
        assertThat(chunks(coordinator, "after").get(0).getLinesList()).containsExactly("fake log line of " + String.format("%064x", 1));
      } finally {
        session.close();
      }
    }
  }
}
