package io.dsfleet.agent;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import io.dsfleet.proto.v1.DesiredState;
import io.dsfleet.proto.v1.PodStatus;
import java.net.InetSocketAddress;
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
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Failures back off on the real Docker daemon, counted by Docker's side of things: a pod whose
 * image does not exist (a registry on loopback that knows no image counts the daemon's pulls) and
 * a pod whose command cannot start (Docker's own create events). Over two minutes each is tried
 * on Kubernetes' schedule (0, 10, 30, 70 s: four times; the fifth is due at 150 s), never every
 * pass, and each shows Kubernetes' reason.
 */
class BackoffOnDockerTest {
  @TempDir Path tmp;
  DockerHarness h;
  HttpServer registry;
  final List<Instant> pulls = new CopyOnWriteArrayList<>();

  @BeforeEach
  void start() throws Exception {
    h = new DockerHarness(tmp.resolve("state"));
    // a registry that knows no image: one GET /v2/ (the version check) per pull the daemon makes
    registry = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    registry.createContext("/", ex -> {
      boolean ping = ex.getRequestURI().getPath().equals("/v2/");
      if (ping && ex.getRequestMethod().equals("GET")) {
        pulls.add(Instant.now());
      }
      byte[] body = (ping ? "{}" : "{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\",\"message\":\"manifest unknown\"}]}").getBytes(StandardCharsets.UTF_8);
      ex.getResponseHeaders().add("Docker-Distribution-API-Version", "registry/2.0");
      ex.getResponseHeaders().add("Content-Type", "application/json");
      ex.sendResponseHeaders(ping ? 200 : 404, ex.getRequestMethod().equals("HEAD") ? -1 : body.length);
      if (!ex.getRequestMethod().equals("HEAD")) {
        ex.getResponseBody().write(body);
      }
      ex.close();
    });
    registry.start();
  }

  @AfterEach
  void stop() {
    h.close();
    registry.stop(0);
  }

  @Test
  void aMissingImageAndACommandThatCannotStartAreRetriedOnTheBackoffSchedule() throws Exception {
    String image = "127.0.0.1:" + registry.getAddress().getPort() + "/dsfleet-test/absent:1";
    DesiredState pull = DockerHarness.state(DockerHarness.ds("spec.template.spec.containers[0].image", image));
    DesiredState start = DockerHarness.state(DockerHarness.ds("spec.template.spec.containers[0].command", "[/no/such/command]"));
    DesiredState both = pull.toBuilder().clearPods()
        .addPods(pull.getPods(0).toBuilder().setPodName("pull-aaaaa").setDaemonSet("pull"))
        .addPods(start.getPods(0).toBuilder().setPodName("start-bbbbb").setDaemonSet("start")).build();
    Instant t0 = Instant.now();
    h.reconciler.setDesired(both);
    Map<String, Set<String>> reasons = Map.of("pull-aaaaa", new LinkedHashSet<>(), "start-bbbbb", new LinkedHashSet<>());
    Map<String, String> messages = new java.util.HashMap<>();
    while (Duration.between(t0, Instant.now()).compareTo(Duration.ofSeconds(120)) < 0) {
      for (PodStatus p : h.last) {
        reasons.get(p.getPodName()).add(p.getContainers(0).getReason());
        messages.put(p.getPodName(), p.getContainers(0).getMessage());
      }
      Thread.sleep(500);
    }
    Instant t1 = Instant.now();
    List<Instant> creates = new ArrayList<>();
    for (String line : Docker.cli(Map.of(), "events", "--since", String.valueOf(t0.getEpochSecond()), "--until", String.valueOf(t1.getEpochSecond()),
        "--filter", "type=container", "--filter", "event=create", "--filter", "label=io.dsfleet.node=" + h.node,
        "--filter", "label=io.dsfleet.pod=start-bbbbb", "--filter", "label=io.dsfleet.role=app", "--format", "{{.TimeNano}}").out().split("\n")) {
      if (!line.isBlank()) {
        creates.add(Instant.ofEpochSecond(0, Long.parseLong(line.strip())));
      }
    }
    System.out.println("pulls at " + offsets(t0, pulls) + ", container creates at " + offsets(t0, creates) + ", reasons " + reasons);
    assertSchedule("pulls of the missing image", pulls);
    assertSchedule("creates of the container that cannot start", creates);
    assertThat(reasons.get("pull-aaaaa")).contains("ErrImagePull", "ImagePullBackOff");
    assertThat(messages.get("pull-aaaaa")).contains(image).contains("manifest unknown");
    assertThat(reasons.get("start-bbbbb")).contains("RunContainerError");
    assertThat(messages.get("start-bbbbb")).contains("/no/such/command");
  }

  /** Four tries in two minutes (at 0, 10, 30, 70 s), each gap at least the back-off that was due. */
  private static void assertSchedule(String what, List<Instant> tries) {
    assertThat(tries).as(what).hasSize(4);
    long[] minGaps = {9, 19, 39};
    for (int i = 1; i < tries.size(); i++) {
      assertThat(Duration.between(tries.get(i - 1), tries.get(i)).toSeconds()).as(what + ": gap " + i).isGreaterThanOrEqualTo(minGaps[i - 1]);
    }
  }

  private static List<Long> offsets(Instant t0, List<Instant> at) {
    return at.stream().map(t -> Duration.between(t0, t).toMillis() / 100 / 10L).toList();
  }
}
