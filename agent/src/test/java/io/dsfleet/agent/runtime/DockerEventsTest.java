package io.dsfleet.agent.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.agent.DockerHarness;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent's event stream on the real Docker daemon. The agent lists its containers right after
 * it asks for the stream, and the daemon takes the subscription a moment later: a container that
 * died in between must still wake the agent (else it is restarted only at the next relist).
 */
class DockerEventsTest {
  @TempDir Path tmp;
  DockerHarness h;
  String id;

  @BeforeEach
  void start() {
    h = DockerHarness.dockerOnly(tmp);
  }

  @AfterEach
  void stop() throws Exception {
    if (id != null) {
      h.docker.remove(id, true);
    }
    h.close();
  }

  @Test
  void aContainerThatDiedJustBeforeTheStreamWasAskedForIsStillAnEvent() throws Exception {
    id = h.docker.create(new ContainerSpec("dsf-events-" + h.node, "local/busybox:1", List.of("sh", "-c"), List.of("sleep 3600"), null, Map.of(),
        Map.of(Labels.MANAGED, "true", Labels.NODE, h.node, Labels.NAMESPACE, "ops", Labels.POD, "events-pod"), List.of(), List.of(), "none", "private", null, false, List.of(), List.of(), null,
        List.of(), false, List.of(), 0, 0, 0, false, false, null, null));
    h.docker.start(id);
    h.docker.stop(id, Duration.ZERO); // killed: its die event is in the daemon's past when the stream is asked for

    CountDownLatch event = new CountDownLatch(1);
    java.util.concurrent.atomic.AtomicReference<String> pod = new java.util.concurrent.atomic.AtomicReference<>();
    try (AutoCloseable stream = h.docker.watch(h.node, k -> {
      pod.compareAndSet(null, k.podKey());
      event.countDown();
    }, t -> {})) {
      assertThat(event.await(10, TimeUnit.SECONDS))
          .as("the die event of a moment before the stream was asked for was delivered (replayed by the daemon)").isTrue();
      assertThat(pod.get()).as("with the pod its container's labels name").isEqualTo("ops/events-pod");
    }
  }
}
