package io.dsfleet.agent;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.agent.reconcile.Backoff;
import io.dsfleet.proto.v1.DesiredState;
import io.dsfleet.proto.v1.PodStatus;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Failures back off on the real Docker daemon, counted by Docker's side of things: a pod whose
 * image does not exist (a registry on loopback that knows no image counts the daemon's pulls) and
 * a pod whose command cannot start (Docker's own create events). The agent runs with the
 * back-off's initial delay at 1 s instead of Kubernetes' 10 s (the restartBackoff option; its
 * doubling and maximum are TimingTest's), so each is tried on that schedule (due at 0, 1, 3, 7 s;
 * the fifth at 15 s; a container that would not start is tried again at once first, as the kubelet
 * does after a first crash, then 1, 2, 4 s apart), never every pass, and each shows Kubernetes' reason.
 */
class BackoffOnDockerTest {
  @TempDir Path tmp;
  DockerHarness h;
  ServerSocket registry;
  final ExecutorService connections = Executors.newCachedThreadPool();
  final List<Instant> pulls = new CopyOnWriteArrayList<>();

  @BeforeEach
  void start() throws Exception {
    h = new DockerHarness(tmp.resolve("state"), new Backoff(Duration.ofSeconds(1), Duration.ofSeconds(8)));
    // a registry that knows no image: one GET /v2/ (the version check) per pull the daemon makes
    registry = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    connections.execute(() -> {
      while (!registry.isClosed()) {
        try {
          Socket s = registry.accept();
          connections.execute(() -> serve(s));
        } catch (IOException e) {
          return; // closed
        }
      }
    });
  }

  /**
   * Plain HTTP, by hand: the daemon tries HTTPS first on a loopback registry, and a TLS hello
   * (first byte 0x16) is refused at once by closing, so it falls back to HTTP without waiting
   * out its handshake timeout (the JDK's HttpServer would wait for a request line that never comes).
   */
  private void serve(Socket s) {
    try (s; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
      s.setSoTimeout(10_000);
      while (true) {
        int first = in.read();
        if (first < 0 || first == 0x16) {
          return;
        }
        StringBuilder head = new StringBuilder().append((char) first);
        while (!head.toString().endsWith("\r\n\r\n")) {
          int c = in.read();
          if (c < 0) {
            return;
          }
          head.append((char) c);
        }
        String[] requestLine = head.toString().split("\r\n")[0].split(" ");
        boolean ping = requestLine[1].equals("/v2/");
        if (ping && requestLine[0].equals("GET")) {
          pulls.add(Instant.now());
        }
        byte[] body = (ping ? "{}" : "{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\",\"message\":\"manifest unknown\"}]}")
            .getBytes(StandardCharsets.UTF_8);
        String status = ping ? "200 OK" : "404 Not Found";
        out.write(("HTTP/1.1 " + status + "\r\nDocker-Distribution-API-Version: registry/2.0\r\nContent-Type: application/json\r\n"
            + "Content-Length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        if (!requestLine[0].equals("HEAD")) {
          out.write(body);
        }
        out.flush();
      }
    } catch (IOException e) {
      // the daemon hung up
    }
  }

  @AfterEach
  void stop() throws IOException {
    connections.shutdownNow();
    if (h != null) { // null: skipped, no Docker
      h.close();
    }
    if (registry != null) {
      registry.close();
    }
  }

  @Test
  void aMissingImageAndACommandThatCannotStartAreRetriedOnTheBackoffSchedule() throws Exception {
    String image = "127.0.0.1:" + registry.getLocalPort() + "/dsfleet-test/absent:1";
    DesiredState pull = DockerHarness.state(DockerHarness.ds("spec.template.spec.containers[0].image", image));
    DesiredState start = DockerHarness.state(DockerHarness.ds("spec.template.spec.containers[0].command", "[/no/such/command]"));
    DesiredState both = pull.toBuilder().clearPods()
        .addPods(pull.getPods(0).toBuilder().setPodName("pull-aaaaa").setDaemonSet("pull"))
        .addPods(start.getPods(0).toBuilder().setPodName("start-bbbbb").setDaemonSet("start")).build();
    Instant t0 = Instant.now();
    h.reconciler.setDesired(both);
    Map<String, Set<String>> reasons = Map.of("pull-aaaaa", new LinkedHashSet<>(), "start-bbbbb", new LinkedHashSet<>());
    // every message seen: the last one, when the tries are counted, may be a retry's "ContainerCreating" with none
    Map<String, Set<String>> messages = Map.of("pull-aaaaa", new LinkedHashSet<>(), "start-bbbbb", new LinkedHashSet<>());
    // four tries of each are due by 7 s (at 0, 1, 3, 7 s; five creates); a loaded machine starts and spaces them
    // later, so wait for them (12 s at least, for the reasons; 50 s at most, past the latest the schedule allows) instead of a fixed window
    List<Instant> creates = List.of();
    while (Duration.between(t0, Instant.now()).compareTo(Duration.ofSeconds(50)) < 0) {
      for (PodStatus p : h.last) {
        reasons.get(p.getPodName()).add(p.getContainers(0).getReason());
        messages.get(p.getPodName()).add(p.getContainers(0).getMessage());
      }
      if (Duration.between(t0, Instant.now()).compareTo(Duration.ofSeconds(12)) >= 0 && pulls.size() >= 4
          && (creates = creates(t0)).size() >= 5) {
        break;
      }
      Thread.sleep(100);
    }
    System.out.println("pulls at " + offsets(t0, pulls) + ", container creates at " + offsets(t0, creates) + ", reasons " + reasons);
    assertSchedule("pulls of the missing image", pulls);
    assertThat(creates).as("creates of the container that cannot start").hasSizeGreaterThanOrEqualTo(5);
    // at once: within a loaded machine's delay (the decision itself is PodPlannerTest's, to the instant)
    assertThat(Duration.between(creates.get(0), creates.get(1)).toMillis()).as("the first retry of a start, at once").isLessThan(LOADED_MILLIS);
    assertSchedule("creates of the container that cannot start, from its first retry", creates.subList(1, creates.size()));
    assertThat(reasons.get("pull-aaaaa")).contains("ErrImagePull", "ImagePullBackOff");
    assertThat(messages.get("pull-aaaaa")).anyMatch(m -> m.contains(image) && m.contains("manifest unknown"));
    assertThat(reasons.get("start-bbbbb")).contains("RunContainerError");
    assertThat(messages.get("start-bbbbb")).anyMatch(m -> m.contains("/no/such/command"));
  }

  /** The creates of the app container that cannot start, from Docker's events since {@code t0}. */
  private List<Instant> creates(Instant t0) {
    List<Instant> creates = new ArrayList<>();
    for (String line : Docker.cli(Map.of(), "events", "--since", String.valueOf(t0.getEpochSecond()), "--until",
        String.valueOf(Instant.now().getEpochSecond()), "--filter", "type=container", "--filter", "event=create", "--filter",
        "label=io.dsfleet.node=" + h.node, "--filter", "label=io.dsfleet.pod=start-bbbbb", "--filter", "label=io.dsfleet.role=app",
        "--format", "{{.TimeNano}}").out().split("\n")) {
      if (!line.isBlank()) {
        creates.add(Instant.ofEpochSecond(0, Long.parseLong(line.strip())));
      }
    }
    return creates;
  }

  /**
   * The first four tries (due at 0, 1, 3, 7 s), each gap at least the back-off that was due, less 500 ms:
   * the agent times a retry from the container's {@code Created} time, which Docker sets when it
   * begins a create, while the event comes when the create is done (measured up to 200 ms apart on
   * a loaded machine). Still more than the back-off before each (1 s, then 2 s), so doubling shows.
   * And at most the back-off plus {@link #LOADED_MILLIS}; a retry stuck at a long back-off (5 min at
   * most) would not be.
   */
  private static void assertSchedule(String what, List<Instant> tries) {
    assertThat(tries).as(what).hasSizeGreaterThanOrEqualTo(4);
    long[] backoffMillis = {1000, 2000, 4000};
    for (int i = 1; i < 4; i++) {
      assertThat(Duration.between(tries.get(i - 1), tries.get(i)).toMillis()).as(what + ": gap " + i)
          .isBetween(backoffMillis[i - 1] - 500, backoffMillis[i - 1] + LOADED_MILLIS);
    }
  }

  /**
   * How late a try may come on a loaded machine: each is a pass of the agent and a create and a
   * failed start of Docker's, 1.0-1.7 s apart here when the back-off is 1 s, and on CI's loaded two
   * cores a first retry (no back-off) 6.3 s after the first create (2026-12-07).
   */
  private static final long LOADED_MILLIS = 9000;

  private static List<Double> offsets(Instant t0, List<Instant> at) {
    return at.stream().map(t -> Duration.between(t0, t).toMillis() / 100 / 10.0).toList();
  }
}
