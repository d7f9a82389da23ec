package io.dsfleet.agent.pod;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Rendering rules that need no Docker. */
class PodRendererTest {
  @Test
  void runAsNonRootIsCheckedAsTheKubeletDoes() {
    for (String root : new String[] {"", "0", "00", "0:1000", ":", ":1000"}) {
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> PodRenderer.verifyNonRoot(null, root)).as("image user \"" + root + "\"")
          .hasMessage("container has runAsNonRoot and image will run as root");
    }
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> PodRenderer.verifyNonRoot(null, "nobody"))
        .hasMessageContaining("non-numeric user (nobody)");
    // digits of other scripts are user names to runc, which the image's /etc/passwd may map to root
    for (String name : new String[] {"\u0660", "\u0661\u0662", "\uff11", "1\u0660", "99999999999999999999"}) {
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> PodRenderer.verifyNonRoot(null, name)).as("image user \"" + name + "\"")
          .hasMessageContaining("non-numeric user");
    }
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> PodRenderer.verifyNonRoot(0L, "1000")).hasMessageContaining("runAsUser breaks non-root");
    PodRenderer.verifyNonRoot(null, "1000:1000");
    PodRenderer.verifyNonRoot(65534L, "");
  }

  /** Docker refuses a CPU limit above the host's CPUs or below 10m; the kubelet runs both, so the limit is brought into range. */
  @Test
  void cpuLimitsAndSharesAreInTheRangeDockerAndRuncTake() {
    assertThat(PodRenderer.nanoCpus(4000, 2)).as("4 CPUs on a host of 2").isEqualTo(2_000_000_000L);
    assertThat(PodRenderer.nanoCpus(5, 2)).as("5m").isEqualTo(10_000_000L);
    assertThat(PodRenderer.nanoCpus(500, 2)).isEqualTo(500_000_000L);
    assertThat(PodRenderer.nanoCpus(0, 2)).as("0: no limit").isZero();
    assertThat(PodRenderer.nanoCpus(Long.MAX_VALUE, 2)).as("never wrapped").isEqualTo(2_000_000_000L);
    assertThat(PodRenderer.shares(1000)).isEqualTo(1024);
    assertThat(PodRenderer.shares(1)).isEqualTo(2);
    assertThat(PodRenderer.shares(Long.MAX_VALUE)).as("runc's most, never wrapped").isEqualTo(262_144);
  }

  /**
   * CPU shares as the kubelet's generateLinuxContainerResources sets them from the request, or from the limit when no
   * request is given; a container that asks for no CPU (nothing, or a request of 0) keeps Docker's default (0: none set),
   * not the kubelet's 2, which here, with no kubepods parent, would weigh it against the host's services.
   */
  @Test
  void cpuSharesAreTheKubeletsWithOrWithoutARequest() {
    var t = io.dsfleet.common.Json.read("""
        {"spec": {"containers": [{"name": "none", "image": "x:1"},
          {"name": "memory", "image": "x:1", "resources": {"limits": {"memory": "64Mi"}}},
          {"name": "limit", "image": "x:1", "resources": {"limits": {"cpu": "500m"}}},
          {"name": "zero", "image": "x:1", "resources": {"limits": {"cpu": "500m"}, "requests": {"cpu": "0"}}},
          {"name": "request", "image": "x:1", "resources": {"requests": {"cpu": "250m"}, "limits": {"cpu": "1"}}},
          {"name": "tiny", "image": "x:1", "resources": {"requests": {"cpu": "1m"}}}]}}""", io.dsfleet.common.model.PodTemplateSpec.class);
    PodContext ctx = new PodContext("n", "127.0.0.1", "ops", "agent", "p", "h", null, t, java.util.Map.of(), java.util.Map.of(), java.util.Map.of(),
        java.nio.file.Path.of("/pods/p"));
    java.util.Map<String, Long> shares = new java.util.LinkedHashMap<>();
    for (var c : t.spec().containers()) {
      shares.put(c.name(), PodRenderer.container(ctx, c, "app", 0, 0, null, 0, "img", "10.0.0.1", java.util.List.of(), "", null, "a", null)
          .cpuShares());
    }
    assertThat(shares).containsExactly(java.util.Map.entry("none", 0L), java.util.Map.entry("memory", 0L),
        java.util.Map.entry("limit", 512L), java.util.Map.entry("zero", 0L), java.util.Map.entry("request", 256L),
        java.util.Map.entry("tiny", 2L));
  }

  /** The kubelet reads a variable's name up to the closing parenthesis (env names may be any printable ASCII but '='). */
  @Test
  void variablesOfAnyNameExpandAsTheKubeletExpandsThem() {
    java.util.Map<String, String> env = java.util.Map.of("1X", "one", "MY VAR", "two", "A", "a");
    assertThat(Env.expand("$(1X)-$(MY VAR)-$(A)-$$(A)-$(NONE)-$(", env, new Env.Budget("test", 100))).isEqualTo("one-two-a-$(A)-$(NONE)-$(");
  }

  /**
   * Each variable may refer to the ones before it, so a value that refers to the one before twice
   * doubles with each line: forty lines asked for terabytes, which the agent built until its heap
   * ran out. The environment and the command line have bounds of their own, and an expansion stops
   * at them with the container's error.
   */
  @Test
  void anEnvironmentOrCommandThatDoublesWithEachLineStopsAtItsBound() {
    StringBuilder env = new StringBuilder("[{\"name\": \"V0\", \"value\": \"" + "x".repeat(1024) + "\"}");
    for (int i = 1; i <= 40; i++) {
      env.append(", {\"name\": \"V").append(i).append("\", \"value\": \"$(V").append(i - 1).append(")$(V").append(i - 1).append(")\"}");
    }
    env.append(']');
    var t = io.dsfleet.common.Json.read(("{\"spec\": {\"containers\": [{\"name\": \"m\", \"image\": \"x:1\", \"env\": %s},"
        + " {\"name\": \"n\", \"image\": \"x:1\", \"env\": [{\"name\": \"K\", \"value\": \"%s\"}], \"args\": [\"%s\"]},"
        + " {\"name\": \"o\", \"image\": \"x:1\", \"env\": [{\"name\": \"K\", \"value\": \"%s\"}, {\"name\": \"L\", \"value\": \"$(K)$(K)\"}],"
        + " \"args\": [\"$(L)\", \"$(K)\"]}]}}").formatted(env, "k".repeat(1024), "$(K)".repeat(100), "k".repeat(10 * 1024)),
        io.dsfleet.common.model.PodTemplateSpec.class);
    PodContext ctx = new PodContext("n", "127.0.0.1", "ops", "agent", "p", "h", null, t, java.util.Map.of(), java.util.Map.of(), java.util.Map.of(),
        java.nio.file.Path.of("/pods/p"));
    java.util.function.Function<Integer, io.dsfleet.agent.runtime.ContainerSpec> render = i -> PodRenderer.container(ctx, t.spec().containers().get(i), "app", 0, 0, null, 0,
        "img", "10.0.0.1", java.util.List.of(), "", null, "a", null);
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> render.apply(0)).isInstanceOf(PodConfigError.class)
        .hasMessageContaining("the environment of container m is over 256 KiB");
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> render.apply(1)).isInstanceOf(PodConfigError.class)
        .hasMessageContaining("the command and args of container n is over 64 KiB");
    var o = render.apply(2);
    assertThat(o.cmd()).as("within both bounds").hasSize(2);
    assertThat(o.cmd().get(0)).hasSize(20 * 1024);
  }

  /**
   * A variable of env may replace one of envFrom (as in Kubernetes, the later wins): the budget
   * counts what the environment holds, so a value replacing one of the same size fits when the
   * environment it leaves is within the bound. Before, the new value was taken before the old one
   * was given back, and a 150 KiB ConfigMap key overridden by a 150 KiB value (150 KiB in all) was
   * refused as over 256 KiB.
   */
  @Test
  void aVariableReplacingOneOfEnvFromCountsOnce() {
    var t = io.dsfleet.common.Json.read(("{\"spec\": {\"containers\": [{\"name\": \"m\", \"image\": \"x:1\","
        + " \"envFrom\": [{\"configMapRef\": {\"name\": \"big\"}}], \"env\": [{\"name\": \"A\", \"value\": \"%s\"}]}]}}")
        .formatted("b".repeat(150 * 1024)), io.dsfleet.common.model.PodTemplateSpec.class);
    var configMaps = java.util.Map.of("big", java.util.Map.of("A", "a".repeat(150 * 1024).getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    PodContext ctx = new PodContext("n", "127.0.0.1", "ops", "agent", "p", "h", null, t, configMaps, java.util.Map.of(), java.util.Map.of(),
        java.nio.file.Path.of("/pods/p"));
    java.util.Map<String, String> env = Env.build(ctx, t.spec().containers().get(0), "10.0.0.1");
    assertThat(env.get("A")).isEqualTo("b".repeat(150 * 1024));
  }

  /** The downward API's labels and annotations files as the kubelet writes them: Go's %q of each value, no newline after the last. */
  @Test
  void labelsAndAnnotationsFilesQuoteAsTheKubelet() {
    assertThat(Env.format(java.util.Map.of("b", "l1\nl2", "a", "x\\y", "c", "say \"hi\"", "d", "caf\u00e9\u00a0\u0007")))
        .isEqualTo("a=\"x\\\\y\"\nb=\"l1\\nl2\"\nc=\"say \\\"hi\\\"\"\nd=\"caf\u00e9\\u00a0\\a\"");
  }

  /** An empty command or args is none, as Kubernetes stores it: the image's entrypoint and CMD stay (Docker's [] would clear them). */
  @Test
  void anEmptyCommandOrArgsKeepsTheImages() {
    var t = io.dsfleet.common.Json.read("""
        {"spec": {"containers": [{"name": "m", "image": "x:1", "command": [], "args": []},
                                 {"name": "n", "image": "x:1", "command": ["run"], "args": []}]}}""", io.dsfleet.common.model.PodTemplateSpec.class);
    PodContext ctx = new PodContext("n", "127.0.0.1", "ops", "agent", "p", "h", null, t, java.util.Map.of(), java.util.Map.of(), java.util.Map.of(),
        java.nio.file.Path.of("/pods/p"));
    var m = PodRenderer.container(ctx, t.spec().containers().get(0), "app", 0, 0, null, 0, "img", "10.0.0.1", java.util.List.of(), "", null, "a",
        null);
    assertThat(m.entrypoint()).as("the image's entrypoint").isNull();
    assertThat(m.cmd()).as("the image's CMD").isNull();
    var n = PodRenderer.container(ctx, t.spec().containers().get(1), "app", 0, 0, null, 0, "img", "10.0.0.1", java.util.List.of(), "", null, "a",
        null);
    assertThat(n.entrypoint()).containsExactly("run");
    assertThat(n.cmd()).as("a command drops the image's CMD").isEmpty();
  }

  /** One container and no init containers run alone, on either network, unless the container asks for its pod's IP on the bridge. */
  @Test
  void aSandboxOnlyWhereItHoldsSomething() {
    java.util.function.Function<String, io.dsfleet.common.model.PodSpec> spec = yaml -> {
      var tree = io.dsfleet.common.manifest.Fixtures.baseTree();
      io.dsfleet.common.manifest.Fixtures.with(tree, "spec.template.spec", yaml);
      var d = io.dsfleet.common.manifest.Fixtures.parse(tree).get(0);
      assertThat(d.valid()).as(d.errors().toString()).isTrue();
      return ((io.dsfleet.common.model.DaemonSet) d.object()).spec().template().spec();
    };
    String one = "{name: main, image: busybox:1}";
    String asksIp = "{name: main, image: busybox:1, env: [{name: IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}]}";
    assertThat(PodRenderer.needsSandbox(spec.apply("{containers: [" + one + "]}"))).as("one container on the bridge").isFalse();
    assertThat(PodRenderer.needsSandbox(spec.apply("{hostNetwork: true, containers: [" + one + "]}"))).as("one on the host network").isFalse();
    assertThat(PodRenderer.needsSandbox(spec.apply("{containers: [" + asksIp + "]}"))).as("asks for its pod's IP on the bridge").isTrue();
    assertThat(PodRenderer.needsSandbox(spec.apply("{hostNetwork: true, containers: [" + asksIp + "]}")))
        .as("on the host network the pod's IP is the host's").isFalse();
    assertThat(PodRenderer.needsSandbox(spec.apply("{containers: [" + one + ", {name: side, image: busybox:1}]}"))).as("two").isTrue();
    assertThat(PodRenderer.needsSandbox(spec.apply("{initContainers: [{name: init, image: busybox:1}], containers: [" + one + "]}")))
        .as("an init container").isTrue();
  }

  @Test
  void aLongPodNameIsCutToAHostnameAsTheKubeletDoes() {
    assertThat(PodRenderer.hostname("web-1a2b3")).isEqualTo("web-1a2b3");
    String longName = "a".repeat(62) + "-b-" + "c".repeat(20);
    assertThat(PodRenderer.hostname(longName)).isEqualTo("a".repeat(62)).hasSizeLessThanOrEqualTo(63);
    assertThat(PodRenderer.hostname("x".repeat(70))).hasSize(63);
  }
}
