package io.dsfleet.agent;

import static io.dsfleet.agent.DockerHarness.ds;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.dsfleet.agent.runtime.ContainerInfo;
import io.dsfleet.agent.runtime.ImageInfo;
import io.dsfleet.agent.runtime.Labels;
import java.io.ByteArrayOutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An image's environment is carried by every inspect of its containers, and the agent reads at most
 * 4 MiB of an answer: an image with megabytes of it is refused before a container is made, and a
 * container whose inspect is over the limit anyway (made by someone else with the agent's labels,
 * or by an older agent) is known by its list line instead of failing every pass of the node (a
 * review found one such container stopped all pod work on the node, silently). An image's
 * HEALTHCHECK runs at most once a second. On the real daemon.
 */
class OversizedContainersTest {
  static final String C0 = "spec.template.spec.containers[0]";
  @TempDir Path tmp;
  DockerHarness h;
  String image;

  @BeforeEach
  void start() {
    h = new DockerHarness(tmp.resolve("state"));
    Assumptions.assumeTrue(DockerHarness.DOCKER_HOST.startsWith("unix://"),
        "skipped: containers over the limit are made through the daemon's Unix socket; DOCKER_HOST is " + DockerHarness.DOCKER_HOST);
  }

  @AfterEach
  void stop() throws Exception {
    h.close();
    if (image != null) {
      api("DELETE", "/images/" + image + "?force=1", "");
    }
  }

  @Test
  void anImageWithMegabytesOfEnvironmentIsNotRun() throws Exception {
    String id = created("{\"Image\": \"local/busybox:1\", \"Cmd\": [\"true\"], \"Env\": [\"BIG=" + "x".repeat(300_000) + "\"]}");
    image = "local/bigenv-" + h.node + ":1";
    String[] repoTag = image.split(":");
    api("POST", "/commit?container=" + id + "&repo=" + repoTag[0] + "&tag=" + repoTag[1], "");
    api("DELETE", "/containers/" + id + "?force=1", "");
    assertThat(h.docker.inspectImage(image).orElseThrow().settingsBytes()).isGreaterThan(ImageInfo.MAX_SETTINGS_BYTES);
    assertThat(h.docker.inspectImage("local/busybox:1").orElseThrow().settingsBytes()).isLessThan(1024);

    h.reconciler.setDesired(DockerHarness.state(ds(C0 + ".image", image)));
    var s = h.awaitStatus(p -> p.getContainers(0).getReason().equals("CreateContainerError"), Duration.ofSeconds(60));
    assertThat(s.getContainers(0).getMessage()).contains("bytes of environment, command, entrypoint, health check, working directory and user");
    assertThat(h.docker.listOwned(h.node)).as("no container made").isEmpty();
  }

  /**
   * Docker copies an image's HEALTHCHECK test (its working directory and user too) into each of its
   * containers' config, as its environment: megabytes of it count as megabytes of environment.
   * Before 2026-12-06 they were not counted, and the container was made, each inspect of it
   * carrying them all. (A working directory is bounded by Docker itself: it makes it at create, no
   * longer than a path.)
   */
  @Test
  void anImageWithMegabytesOfHealthCheckIsNotRun() throws Exception {
    String id = created("{\"Image\": \"local/busybox:1\", \"Cmd\": [\"true\"],"
        + " \"Healthcheck\": {\"Test\": [\"CMD-SHELL\", \"" + "x".repeat(300_000) + "\"]}}");
    image = "local/bighealth-" + h.node + ":1";
    String[] repoTag = image.split(":");
    api("POST", "/commit?container=" + id + "&repo=" + repoTag[0] + "&tag=" + repoTag[1], "");
    api("DELETE", "/containers/" + id + "?force=1", "");
    assertThat(h.docker.inspectImage(image).orElseThrow().settingsBytes()).isGreaterThan(ImageInfo.MAX_SETTINGS_BYTES);

    h.reconciler.setDesired(DockerHarness.state(ds(C0 + ".image", image)));
    var s = h.awaitStatus(p -> p.getContainers(0).getReason().equals("CreateContainerError"), Duration.ofSeconds(60));
    assertThat(s.getContainers(0).getMessage()).contains("health check, working directory and user");
    assertThat(h.docker.listOwned(h.node)).as("no container made").isEmpty();
  }

  /**
   * The anonymous volume Docker makes on the host's disk for each of an image's {@code VOLUME}s
   * (what the container writes there is on the host, in Docker's root) goes with the container:
   * the agent removes its containers with their anonymous volumes ({@code docker rm -v}), so a pod
   * that goes leaves none behind. Checked on the real daemon (2026-12-06, helper-116): held before.
   */
  @Test
  void anImagesAnonymousVolumesGoWithItsPod() throws Exception {
    String id = created("{\"Image\": \"local/busybox:1\", \"Cmd\": [\"true\"], \"Volumes\": {\"/data\": {}}}");
    image = "local/withvolume-" + h.node + ":1";
    String[] repoTag = image.split(":");
    api("POST", "/commit?container=" + id + "&repo=" + repoTag[0] + "&tag=" + repoTag[1], "");
    api("DELETE", "/containers/" + id + "?force=1&v=1", "");
    h.run(ds(C0 + ".image", image, C0 + ".command", "[sh, -c, 'echo kept > /data/file; trap \"exit 0\" TERM; sleep 3600 & wait']"));
    Matcher m = Pattern.compile("\"Type\":\"volume\",\"Name\":\"([0-9a-f]{64})\"")
        .matcher(api("GET", "/containers/" + h.container("main").id() + "/json", ""));
    assertThat(m.find()).as("an anonymous volume for /data").isTrue();
    String volume = m.group(1);
    assertThat(api("GET", "/volumes/" + volume, "")).contains("\"Name\":\"" + volume + "\"");
    h.clear();
    assertThat(answer("GET", "/volumes/" + volume, "")).as("gone with the pod's containers").startsWith("HTTP/1.0 404");
  }

  /**
   * An image's {@code STOPSIGNAL} that stops nothing (SIGSTOP: the process only pauses) holds a
   * stop no longer than the pod's grace period: Docker kills the container at its end (SIGKILL),
   * whatever the image asked. Checked on the real daemon (2026-12-06, helper-116): held before.
   */
  @Test
  void anImagesStopSignalThatStopsNothingHoldsAStopNoLongerThanItsGrace() throws Exception {
    String id = created("{\"Image\": \"local/busybox:1\", \"Cmd\": [\"true\"], \"StopSignal\": \"SIGSTOP\"}");
    image = "local/stopsignal-" + h.node + ":1";
    String[] repoTag = image.split(":");
    api("POST", "/commit?container=" + id + "&repo=" + repoTag[0] + "&tag=" + repoTag[1], "");
    api("DELETE", "/containers/" + id + "?force=1", "");
    h.run(ds(C0 + ".image", image, C0 + ".command", "[sleep, '3600']", "spec.template.spec.terminationGracePeriodSeconds", "3"));
    assertThat(api("GET", "/containers/" + h.container("main").id() + "/json", "")).contains("\"StopSignal\":\"SIGSTOP\"");
    long start = System.nanoTime();
    h.clear();
    assertThat(Duration.ofNanos(System.nanoTime() - start)).as("its 3 s, Docker's kill and the agent's passes").isLessThan(Duration.ofSeconds(20));
  }

  @Test
  void aContainerWhoseInspectIsOverTheLimitStopsNoPodWorkOnTheNode() throws Exception {
    String big = created("{\"Image\": \"local/busybox:1\", \"Cmd\": [\"true\"], \"Env\": [\"BIG=" + "x".repeat(5_000_000) + "\"],"
        + " \"Labels\": {\"" + Labels.MANAGED + "\": \"true\", \"" + Labels.NODE + "\": \"" + h.node + "\"}}");
    try {
      assertThat(h.docker.listOwned(h.node)).singleElement().satisfies(c -> {
        assertThat(c.id()).isEqualTo(big);
        assertThat(c.state()).isEqualTo("created");
        assertThat(c.error()).contains("over");
      });
      h.run(ds()); // the node's pods still start
      assertThat(h.docker.listOwned(h.node)).as("the pod's container and the big one").hasSize(2)
          .filteredOn(c -> !c.id().equals(big)).extracting(ContainerInfo::running).containsExactly(true);
    } finally {
      api("DELETE", "/containers/" + big + "?force=1", "");
    }
  }

  /**
   * Every list of the node's containers carries each container's command line in full, and a
   * container takes over its image's entrypoint (and command) unless the pod gives its own: an
   * image of 250 KiB of entrypoint (within the 256 KiB of settings an image may carry) made a list
   * line of 250 KiB, and a pod of 17 containers of it a list over the 4 MiB the agent reads, so
   * every pass of the node failed (no pod started, stopped or reported; helper-88). Such an image
   * is refused unless the pod's containers have commands of their own.
   */
  @Test
  void anImageWhoseEntrypointWouldFillTheNodesContainerListIsNotRun() throws Exception {
    String id = created("{\"Image\": \"local/busybox:1\", \"Entrypoint\": [\"sh\", \"-c\", \"trap 'exit 0' TERM; sleep 3600 & wait\", \""
        + "x".repeat(250_000) + "\"], \"Cmd\": null}");
    image = "local/bigentry-" + h.node + ":1";
    String[] repoTag = image.split(":");
    api("POST", "/commit?container=" + id + "&repo=" + repoTag[0] + "&tag=" + repoTag[1], "");
    api("DELETE", "/containers/" + id + "?force=1", "");
    assertThat(h.docker.inspectImage(image).orElseThrow().settingsBytes()).as("within what an image may carry for inspects")
        .isBetween(250_000L, (long) ImageInfo.MAX_SETTINGS_BYTES);

    StringBuilder containers = new StringBuilder("[");
    for (int i = 0; i < 17; i++) {
      containers.append(i == 0 ? "" : ", ").append("{name: c").append(i).append(", image: '").append(image).append("'}");
    }
    h.reconciler.setDesired(DockerHarness.state(ds("spec.template.spec.containers", containers.append("]").toString())));
    try {
      var s = h.awaitStatus(p -> p.getContainersCount() == 17 && p.getContainersList().stream().allMatch(c -> c.getReason().equals(
          "CreateContainerError")), Duration.ofSeconds(60));
      assertThat(s.getContainers(0).getMessage()).contains("bytes of command and entrypoint");
    } finally {
      List<ContainerInfo> listed = h.docker.listOwned(h.node); // throws when the list is over what the agent reads
      assertThat(listed).as("the node's containers can be listed: none of the image was made").allMatch(c -> Labels.SANDBOX.equals(
          c.label(Labels.ROLE)));
    }

    // a command of the pod's own replaces the entrypoint: that container runs
    h.run(ds(C0 + ".image", image));
  }

  /**
   * A path over 4,095 bytes cannot be run (execve's ENAMETOOLONG), and runc's error for one puts
   * it twice into one line of its log; a line over 64 KiB hung runc's create for good here (runc
   * 1.1.5 under Docker 20.10), and with it Docker's start, which holds the container's lock: every
   * inspect of the container then waited, so every pass of the node waited 2 minutes for it and
   * failed, and no pod of the node was started, stopped or reported until the runc was killed by
   * hand. A pod's command may be 64 KiB once its variables are expanded (a ConfigMap's script
   * given as {@code command: ["$(SCRIPT)"]} instead of to {@code sh -c}); an image's entrypoint is
   * within 16 KiB of JSON, too short for the hang. Such an executable is refused before a container
   * is made, naming its length.
   */
  @Test
  void aCommandWhoseExecutableIsLongerThanAPathIsRefusedBeforeDockerHangsOnIt() throws Exception {
    h.reconciler.setDesired(DockerHarness.state(ds(C0 + ".command", "['/" + "a".repeat(40_000) + "']")));
    var s = h.awaitStatus(p -> p.getContainers(0).getReason().equals("CreateContainerConfigError"), Duration.ofSeconds(30));
    assertThat(s.getContainers(0).getMessage()).contains("executable").contains("40001 bytes").contains("4095");
    assertThat(h.docker.listOwned(h.node)).as("no container of it made").noneMatch(c -> "main".equals(c.label(Labels.CONTAINER)));

    // a command that can run replaces it, on a node whose passes go on
    h.run(ds());
  }

  /**
   * Docker runs an image's HEALTHCHECK as an exec, and runc's exec hung on an executable longer than
   * a path as its create did (its error line over 64 KiB), for the check's timeout, which the image
   * sets (an hour here): every inspect of the container waited, and so every pass of the node (checked
   * by hand on Docker 20.10, 2026-12-07, helper-191: {@code docker inspect} of such a container timed
   * out after 30 s, a runc exec stuck under it). Before 2026-12-07 such an image was run. It is refused
   * where its check would run, and runs where a readiness probe turns its check off. (A CMD-SHELL
   * test runs under /bin/sh: Docker copies no image's SHELL into its containers.)
   */
  @Test
  void anImageWhoseHealthCheckExecutableIsLongerThanAPathIsRefusedBeforeDockerHangsOnIt() throws Exception {
    String longPath = "/" + "a".repeat(40_000);
    String id = created("{\"Image\": \"local/busybox:1\", \"Cmd\": [\"sh\", \"-c\", \"sleep 3600 & wait\"],"
        + " \"Healthcheck\": {\"Test\": [\"CMD\", \"" + longPath + "\"], \"Interval\": 1000000000, \"Timeout\": 3600000000000}}");
    image = "local/longhealth-" + h.node + ":1";
    String[] repoTag = image.split(":");
    api("POST", "/commit?container=" + id + "&repo=" + repoTag[0] + "&tag=" + repoTag[1], "");
    api("DELETE", "/containers/" + id + "?force=1", "");
    assertThat(h.docker.inspectImage(image).orElseThrow().healthHead()).isEqualTo(longPath);

    h.reconciler.setDesired(DockerHarness.state(ds(C0 + ".image", image)));
    var s = h.awaitStatus(p -> p.getContainers(0).getReason().equals("CreateContainerError"), Duration.ofSeconds(60));
    assertThat(s.getContainers(0).getMessage()).contains("HEALTHCHECK").contains("40001 bytes").contains("4095");
    assertThat(h.docker.listOwned(h.node)).as("no container of it made").noneMatch(c -> "main".equals(c.label(Labels.CONTAINER)));

    // a readiness probe turns the check off: the image runs, on a node whose passes go on
    h.run(ds(C0 + ".image", image, C0 + ".readinessProbe", "{exec: {command: ['true']}, periodSeconds: 1}"));
    h.awaitStatus(p -> p.getReady(), Duration.ofSeconds(30));
  }

  /**
   * A running container off the host's network lists every port its image exposes: an image that
   * exposes all 65,535 made each such container's list line 2.3 MiB, so two pods of it (each a
   * container alone on the bridge) made every list of the node over the 4 MiB the agent reads, and
   * every pass of the node failed (helper-88). Such an image is refused on the bridge, here one of
   * 2,000 ports (80 KB of list line, over the bound's 16 KiB: the 65,535 of the review took 25 s of
   * the suite to make and run), and runs on the host's network, where its container lists none.
   */
  @Test
  void anImageExposingThousandsOfPortsIsNotRunOnTheBridge() throws Exception {
    StringBuilder ports = new StringBuilder();
    for (int p = 1; p <= 2_000; p++) {
      ports.append(p == 1 ? "" : ", ").append('"').append(p).append("/tcp\": {}");
    }
    String id = created("{\"Image\": \"local/busybox:1\", \"Cmd\": [\"sh\", \"-c\", \"sleep 3600 & wait\"], \"ExposedPorts\": {" + ports + "}}");
    image = "local/allports-" + h.node + ":1";
    String[] repoTag = image.split(":");
    api("POST", "/commit?container=" + id + "&repo=" + repoTag[0] + "&tag=" + repoTag[1], "");
    api("DELETE", "/containers/" + id + "?force=1", "");
    assertThat(api("GET", "/images/" + image + "/json", "")).contains("\"2000/tcp\":{}");

    var ds = ds(C0 + ".image", image);
    var one = DockerHarness.state(ds).getPods(0);
    h.reconciler.setDesired(io.dsfleet.proto.v1.DesiredState.newBuilder().setVersion(1).addPods(one)
        .addPods(one.toBuilder().setPodName("agent-pod02")).build());
    try {
      await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100)).until(() -> h.last.size() == 2 && h.last.stream()
          .allMatch(p -> p.getContainersCount() == 1 && p.getContainers(0).getReason().equals("CreateContainerError")));
      assertThat(h.last.get(0).getContainers(0).getMessage()).contains("exposes 2000 ports");
    } finally {
      assertThat(h.docker.listOwned(h.node)).as("the node's containers can be listed; none of the image was made").isEmpty();
    }
    // on the host's network its container lists no ports: it runs
    h.reconciler.setDesired(DockerHarness.state(ds(C0 + ".image", image, "spec.template.spec.hostNetwork", "true")));
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100)).until(() -> h.last.size() == 1
        && h.last.get(0).getPhase().equals("Running"));
    assertThat(h.docker.listOwned(h.node)).as("the node's containers can still be listed").hasSize(1);
  }

  /**
   * An image asking Docker to run its HEALTHCHECK every millisecond (a review's image had the
   * daemon, containerd and runc spend most of a core on it, outside the pod's limits): its
   * containers run it once a second, its test still the image's, and it still decides readiness.
   */
  @Test
  void anImagesHealthCheckRunsAtMostOnceASecond() throws Exception {
    String id = created("{\"Image\": \"local/busybox:1\", \"Cmd\": [\"sh\", \"-c\", \"sleep 3600 & wait\"],"
        + " \"Healthcheck\": {\"Test\": [\"CMD-SHELL\", \"true\"], \"Interval\": 1000000, \"Timeout\": 1000000000, \"Retries\": 1}}");
    image = "local/fasthealth-" + h.node + ":1";
    String[] repoTag = image.split(":");
    api("POST", "/commit?container=" + id + "&repo=" + repoTag[0] + "&tag=" + repoTag[1], "");
    api("DELETE", "/containers/" + id + "?force=1", "");
    assertThat(h.docker.inspectImage(image).orElseThrow().healthIntervalNanos()).isEqualTo(1_000_000L);

    h.reconciler.setDesired(DockerHarness.state(ds(C0 + ".image", image)));
    var s = h.awaitStatus(p -> p.getReady(), Duration.ofSeconds(60));
    assertThat(s.getContainers(0).getReady()).as("healthy: the image's test ran").isTrue();
    ContainerInfo app = h.docker.listOwned(h.node).stream().filter(c -> c.running()).findFirst().orElseThrow();
    String inspect = api("GET", "/containers/" + app.id() + "/json", "");
    assertThat(inspect).contains("\"Interval\":1000000000").doesNotContain("\"Interval\":1000000,")
        .contains("\"Test\":[\"CMD-SHELL\",\"true\"]");
    List<java.time.Instant> runs = new ArrayList<>();
    await().atMost(Duration.ofSeconds(20)).until(() -> {
      runs.clear();
      Matcher m = Pattern.compile("\"Start\":\"([^\"]+)\"").matcher(api("GET", "/containers/" + app.id() + "/json", ""));
      while (m.find()) {
        runs.add(java.time.Instant.parse(m.group(1)));
      }
      return runs.size() >= 5; // Docker keeps the last five
    });
    assertThat(Duration.between(runs.get(0), runs.get(runs.size() - 1))).as("five runs of the check span four intervals")
        .isGreaterThan(Duration.ofMillis(3500));
  }

  /** Creates a container through the API (the CLI cannot carry megabytes of environment); its id. */
  private String created(String body) throws Exception {
    String answer = api("POST", "/containers/create", body);
    Matcher m = Pattern.compile("\"Id\":\"([0-9a-f]{64})\"").matcher(answer);
    assertThat(m.find()).as(answer).isTrue();
    return m.group(1);
  }

  /** One HTTP/1.0 call on the daemon's socket that Docker answered with success: the whole answer, status line included. */
  private static String api(String method, String path, String body) throws Exception {
    String text = answer(method, path, body);
    assertThat(text).as(method + " " + path).startsWith("HTTP/1.0 2");
    return text;
  }

  /** One HTTP/1.0 call on the daemon's socket: the whole answer, status line included, whatever it says. */
  private static String answer(String method, String path, String body) throws Exception {
    byte[] content = body.getBytes(StandardCharsets.UTF_8);
    try (SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      c.connect(UnixDomainSocketAddress.of(DockerHarness.DOCKER_HOST.substring("unix://".length())));
      ByteBuffer out = ByteBuffer.wrap((method + " /v1.41" + path + " HTTP/1.0\r\nHost: docker\r\nContent-Type: application/json\r\n"
          + "Content-Length: " + content.length + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
      while (out.hasRemaining()) {
        c.write(out);
      }
      ByteBuffer payload = ByteBuffer.wrap(content);
      while (payload.hasRemaining()) {
        c.write(payload);
      }
      ByteArrayOutputStream answer = new ByteArrayOutputStream();
      ByteBuffer in = ByteBuffer.allocate(64 * 1024);
      while (c.read(in) >= 0) {
        answer.write(in.array(), 0, in.position());
        in.clear();
      }
      return answer.toString(StandardCharsets.UTF_8);
    }
  }
}
