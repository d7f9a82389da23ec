package io.dsfleet.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.ByteString;
import io.dsfleet.agent.runtime.ContainerInfo;
import io.dsfleet.agent.runtime.Labels;
import io.dsfleet.common.Json;
import io.dsfleet.common.TemplateHash;
import io.dsfleet.common.manifest.ManifestParser;
import io.dsfleet.common.manifest.ParsedDocument;
import io.dsfleet.common.model.DaemonSet;
import io.dsfleet.proto.v1.ConfigObject;
import io.dsfleet.proto.v1.DesiredPod;
import io.dsfleet.proto.v1.DesiredState;
import io.dsfleet.proto.v1.PodStatus;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real DaemonSets users bring ({@code ../shared/manifests}, other projects' files, read where
 * they are and never copied here), run by the agent on the real Docker daemon. Each manifest
 * stays as it is except what this machine cannot have: its images become the local busybox image
 * (no registry here) running {@code sleep}, so probes and hooks, which would test that image and
 * not the agent, are dropped; a container that must not run as root runs as nobody (as its real
 * image would); host paths that do not exist here are moved under the test's directory (the agent
 * still creates them, as Kubernetes does, but nothing is made on this host); the ConfigMaps and
 * Secrets they reference exist, with the keys they name.
 *
 * <p>Every manifest that validates and needs nothing this machine cannot grant must reach Running.
 * The others need a privilege this sandbox lacks (a privileged container or a capability outside
 * its bounding set, such as CAP_SYS_RESOURCE): for those the test checks what the agent controls,
 * the request Docker got, and that the pod says why it did not start.
 */
class RealManifestsOnDockerTest {
  static final Path MANIFESTS = Path.of("..", "..", "shared", "manifests");
  @TempDir Path tmp;
  DockerHarness h;

  @BeforeEach
  void start() {
    Assumptions.assumeTrue(Files.isDirectory(MANIFESTS), "skipped: the real manifests are not here (" + MANIFESTS.toAbsolutePath().normalize()
        + " is part of the development workplace, not of this repository)");
    h = new DockerHarness(tmp.resolve("state"));
  }

  @AfterEach
  void stop() {
    if (h != null) {
      h.close();
    }
  }

  /** One DaemonSet of a manifest, rewritten as the class comment says. */
  record Case(String file, DaemonSet ds, boolean grantable, String why) {}

  @Test
  void everyRealManifestThatNeedsNothingThisHostCannotGrantRuns() throws Exception {
    boolean sharedRoot = Files.readAllLines(Path.of("/proc/self/mountinfo")).stream().map(l -> l.split(" "))
        .anyMatch(f -> f[4].equals("/") && String.join(" ", f).contains("shared:"));
    long bounding = Long.parseLong(Files.readAllLines(Path.of("/proc/self/status")).stream().filter(l -> l.startsWith("CapBnd"))
        .findFirst().orElseThrow().split("\\s+")[1], 16);
    List<Case> cases = new ArrayList<>();
    List<String> invalid = new ArrayList<>();
    try (var files = Files.list(MANIFESTS)) {
      for (Path f : files.sorted().toList()) {
        for (JsonNode doc : Json.yamlMapper().readValues(Json.yamlMapper().getFactory().createParser(f.toFile()), JsonNode.class).readAll()) {
          if (!doc.isObject() || !"DaemonSet".equals(doc.path("kind").asText())) {
            continue;
          }
          ObjectNode tree = rewrite((ObjectNode) doc);
          ParsedDocument p = ManifestParser.parse(Json.canonical(tree), f.getFileName().toString()).get(0);
          if (!p.valid()) {
            invalid.add(f.getFileName() + ": " + p.errors().get(0));
            continue;
          }
          DaemonSet ds = (DaemonSet) p.object();
          String missing = ungrantable(ds, bounding, sharedRoot);
          cases.add(new Case(f.getFileName().toString(), ds, missing == null, missing));
        }
      }
    }
    // the two that do not validate are real faults of those files (docs/manifests.md)
    assertThat(invalid).hasSize(2).anyMatch(s -> s.startsWith("27-")).anyMatch(s -> s.startsWith("30-"));

    // pods publishing the same hostPort cannot share one host: they run in waves
    List<List<Case>> waves = new ArrayList<>();
    for (Case c : cases) {
      List<Case> wave = waves.stream().filter(w -> w.stream().noneMatch(o -> clash(o.ds(), c.ds()))).findFirst().orElse(null);
      if (wave == null) {
        waves.add(wave = new ArrayList<>());
      }
      wave.add(c);
    }
    // the seccomp profiles they name are installed on the node, as their operators would install them
    for (Case c : cases) {
      for (var ct : concat(c.ds().spec().template().spec().initContainers(), c.ds().spec().template().spec().containers())) {
        var p = ct.securityContext() == null ? null : ct.securityContext().seccompProfile();
        if (p != null && "Localhost".equals(p.type())) {
          Path profile = h.stateDir.resolve("seccomp").resolve(p.localhostProfile());
          Files.createDirectories(profile.getParent());
          Files.writeString(profile, "{\"defaultAction\": \"SCMP_ACT_ALLOW\"}");
        }
      }
    }
    Map<String, String> outcome = new TreeMap<>();
    for (List<Case> wave : waves) {
      DesiredState state = state(wave);
      h.reconciler.setDesired(state);
      Map<String, Case> byPod = new HashMap<>();
      for (int i = 0; i < wave.size(); i++) {
        byPod.put(state.getPods(i).getPodName(), wave.get(i));
      }
      await().atMost(Duration.ofSeconds(180)).pollInterval(Duration.ofMillis(500)).until(() -> h.last.size() == wave.size()
          && h.last.stream().allMatch(s -> settled(s, byPod.get(s.getPodName()))));
      for (PodStatus s : h.last) {
        Case c = byPod.get(s.getPodName());
        outcome.put(c.file() + " " + c.ds().name(), running(s) ? "Running" : "refused: " + c.why() + " -> " + firstProblem(s));
        if (c.grantable()) {
          assertThat(running(s)).as(c.file() + " " + c.ds().name() + " runs: " + s).isTrue();
        } else {
          assertRequested(c, s);
        }
      }
      h.clear();
    }
    outcome.forEach((k, v) -> System.out.println(k + ": " + v));
    assertThat(cases.stream().filter(Case::grantable).count()).as("manifests this host can run").isGreaterThanOrEqualTo(11);
  }

  /** What about this DaemonSet this host cannot grant, or null. */
  static String ungrantable(DaemonSet ds, long bounding, boolean sharedRoot) {
    var spec = ds.spec().template().spec();
    for (var c : concat(spec.initContainers(), spec.containers())) {
      var sc = c.securityContext();
      if (sc != null && Boolean.TRUE.equals(sc.privileged())) {
        return "privileged container " + c.name() + " (this sandbox's bounding set lacks CAP_SYS_RESOURCE)";
      }
      if (sc != null && sc.capabilities() != null && sc.capabilities().add() != null) {
        for (String cap : sc.capabilities().add()) {
          Integer bit = CAPS.get(cap.toUpperCase().replaceFirst("^CAP_", ""));
          if (bit != null && (bounding & (1L << bit)) == 0) {
            return "capability " + cap + " of " + c.name() + " is outside this host's bounding set";
          }
        }
      }
      for (var m : c.volumeMounts() == null ? List.<io.dsfleet.common.model.VolumeMount>of() : c.volumeMounts()) {
        if (m.mountPropagation() != null && !m.mountPropagation().equals("None") && !sharedRoot) {
          return "mountPropagation " + m.mountPropagation() + " needs a shared root mount (mount --make-rshared /, as systemd leaves it)";
        }
      }
    }
    return null;
  }

  /**
   * For a pod this host cannot run: Docker was asked for exactly what the manifest says, and the pod
   * says why it did not start. Every run of a container with a securityContext is checked, at least one per container;
   * a run the agent collects between the list and the inspect (a failed one, replaced) is looked for
   * again in a fresh list.
   */
  private void assertRequested(Case c, PodStatus s) {
    var spec = c.ds().spec().template().spec();
    var withContext = concat(spec.initContainers(), spec.containers()).stream().filter(x -> x.securityContext() != null).toList();
    java.util.Set<String> listed = new java.util.TreeSet<>();
    java.util.Set<String> checked = new java.util.TreeSet<>();
    for (int attempt = 0; attempt < 5 && (attempt == 0 || !checked.containsAll(listed)); attempt++) {
      for (ContainerInfo info : h.docker.listOwned(h.node, Map.of(Labels.POD, s.getPodName()))) {
        var container = withContext.stream().filter(x -> x.name().equals(info.label(Labels.CONTAINER))).findFirst().orElse(null);
        if (container == null) {
          continue;
        }
        listed.add(container.name());
        String requested = Docker.cli(Map.of(), "inspect", "-f", "{{.HostConfig.Privileged}} {{.HostConfig.CapAdd}}", info.id()).out().strip();
        if (requested.startsWith("Error: No such object")) {
          continue;
        }
        boolean privileged = Boolean.TRUE.equals(container.securityContext().privileged());
        assertThat(requested).as(c.file() + " " + container.name()).startsWith(String.valueOf(privileged));
        checked.add(container.name());
      }
    }
    assertThat(checked).as(c.file() + ": every container listed was inspected on one of its runs").containsAll(listed);
    assertThat(firstProblem(s)).as(c.file() + ": the pod says why").containsAnyOf("RunContainerError", "unable to apply caps",
        "operation not permitted");
  }

  static boolean settled(PodStatus s, Case c) {
    if (running(s)) {
      return true;
    }
    return !c.grantable() && s.getContainersList().stream().anyMatch(x -> x.getReason().equals("RunContainerError")
        || x.getReason().equals("CrashLoopBackOff"));
  }

  static boolean running(PodStatus s) {
    return s.getPhase().equals("Running") && s.getContainersList().stream().filter(c -> !c.getInit()).allMatch(c -> c.getState().equals("running"));
  }

  static String firstProblem(PodStatus s) {
    if (!s.getMessage().isEmpty()) {
      return s.getMessage();
    }
    return s.getContainersList().stream().filter(c -> !c.getReason().isEmpty() && c.getState().equals("waiting"))
        .map(c -> c.getName() + ": " + c.getReason() + " " + c.getMessage()).findFirst().orElse(s.getPhase());
  }

  /** The manifest with a local image running sleep, no probes or hooks, and missing host paths under the test's directory. */
  private ObjectNode rewrite(ObjectNode doc) throws Exception {
    ObjectNode spec = (ObjectNode) doc.path("spec").path("template").path("spec");
    for (String list : List.of("initContainers", "containers")) {
      for (JsonNode n : spec.path(list)) {
        ObjectNode c = (ObjectNode) n;
        c.put("image", "local/busybox:1");
        c.put("imagePullPolicy", "Never");
        ArrayNode cmd = c.putArray("command");
        cmd.add("sh").add("-c").add(list.equals("containers") ? "trap 'exit 0' TERM; sleep 3600 & wait" : "true");
        c.remove(List.of("args", "livenessProbe", "readinessProbe", "startupProbe", "lifecycle"));
        if (c.path("securityContext").path("runAsNonRoot").asBoolean() && !c.path("securityContext").has("runAsUser")) {
          ((ObjectNode) c.get("securityContext")).put("runAsUser", 65534);
        }
      }
    }
    if (spec.path("securityContext").path("runAsNonRoot").asBoolean() && !spec.path("securityContext").has("runAsUser")) {
      ((ObjectNode) spec.get("securityContext")).put("runAsUser", 65534);
    }
    for (JsonNode v : spec.path("volumes")) {
      if (v.has("hostPath")) {
        ObjectNode hp = (ObjectNode) v.get("hostPath");
        Path p = Path.of(hp.path("path").asText());
        if (!Files.exists(p)) {
          hp.put("path", tmp.resolve("host").toString() + p);
          if (!hp.path("type").asText().isEmpty() && !hp.path("type").asText().endsWith("OrCreate")) {
            // a typed path that must exist: make it here, of its type, as the host of this DaemonSet has it
            Path made = Path.of(hp.get("path").asText());
            Files.createDirectories(hp.path("type").asText().equals("File") ? made.getParent() : made);
            if (hp.path("type").asText().equals("File")) {
              Files.createFile(made);
            }
          }
        }
      }
    }
    return doc;
  }

  private DesiredState state(List<Case> wave) {
    DesiredState.Builder b = DesiredState.newBuilder().setVersion(1);
    Map<String, Map<String, Set<String>>> configs = new LinkedHashMap<>(); // namespace/kind/name -> keys
    int i = 0;
    for (Case c : wave) {
      DaemonSet ds = c.ds();
      b.addPods(DesiredPod.newBuilder().setNamespace(ds.namespace()).setDaemonSet(ds.name()).setPodName(podName(ds.name(), i++))
          .setTemplateHash(TemplateHash.of(ds.spec().template())).setRevision(1)
          .setTemplateJson(ByteString.copyFromUtf8(Json.canonical(ds.spec().template()))));
      references(ds, configs);
    }
    configs.forEach((k, keys) -> keys.forEach((kindName, ks) -> {
      String[] kn = kindName.split("/", 2);
      ConfigObject.Builder o = ConfigObject.newBuilder().setNamespace(k).setName(kn[1])
          .setKind(kn[0].equals("secret") ? ConfigObject.Kind.SECRET : ConfigObject.Kind.CONFIG_MAP).setType("Opaque");
      o.putData("config", ByteString.copyFromUtf8("x"));
      ks.forEach(key -> o.putData(key, ByteString.copyFromUtf8("value of " + key)));
      b.addConfigs(o);
    }));
    return b.build();
  }

  /** The ConfigMaps and Secrets a DaemonSet names, with the keys it names. */
  private static void references(DaemonSet ds, Map<String, Map<String, Set<String>>> configs) {
    var spec = ds.spec().template().spec();
    Map<String, Set<String>> ns = configs.computeIfAbsent(ds.namespace(), x -> new TreeMap<>());
    var refs = io.dsfleet.common.TemplateRefs.of(spec);
    refs.configMaps().forEach(n -> ns.computeIfAbsent("configmap/" + n, x -> new TreeSet<>()));
    refs.secrets().forEach(n -> ns.computeIfAbsent("secret/" + n, x -> new TreeSet<>()));
    for (var v : spec.volumes() == null ? List.<io.dsfleet.common.model.Volume>of() : spec.volumes()) {
      if (v.configMap() != null && v.configMap().items() != null) {
        v.configMap().items().forEach(it -> ns.get("configmap/" + v.configMap().name()).add(it.key()));
      }
      if (v.secret() != null && v.secret().items() != null) {
        v.secret().items().forEach(it -> ns.get("secret/" + v.secret().secretName()).add(it.key()));
      }
    }
    for (var c : concat(spec.initContainers(), spec.containers())) {
      for (var e : c.env() == null ? List.<io.dsfleet.common.model.EnvVar>of() : c.env()) {
        if (e.valueFrom() != null && e.valueFrom().configMapKeyRef() != null) {
          ns.get("configmap/" + e.valueFrom().configMapKeyRef().name()).add(e.valueFrom().configMapKeyRef().key());
        }
        if (e.valueFrom() != null && e.valueFrom().secretKeyRef() != null) {
          ns.get("secret/" + e.valueFrom().secretKeyRef().name()).add(e.valueFrom().secretKeyRef().key());
        }
      }
    }
  }

  static String podName(String ds, int i) {
    String base = ds.length() > 50 ? ds.substring(0, 50) : ds;
    return base.replaceAll("-+$", "") + "-" + String.format("%05x", i);
  }

  static boolean clash(DaemonSet a, DaemonSet b) {
    Set<Integer> pa = hostPorts(a);
    return hostPorts(b).stream().anyMatch(pa::contains);
  }

  static Set<Integer> hostPorts(DaemonSet ds) {
    Set<Integer> out = new TreeSet<>();
    for (var c : ds.spec().template().spec().containers()) {
      for (var p : c.ports() == null ? List.<io.dsfleet.common.model.ContainerPort>of() : c.ports()) {
        if (p.hostPort() != null && p.hostPort() > 0) {
          out.add(p.hostPort());
        } else if (Boolean.TRUE.equals(ds.spec().template().spec().hostNetwork())) {
          out.add(p.containerPort());
        }
      }
    }
    return out;
  }

  static <T> List<T> concat(List<T> a, List<T> b) {
    List<T> out = new ArrayList<>(a == null ? List.of() : a);
    out.addAll(b == null ? List.of() : b);
    return out;
  }

  /** Linux capability numbers (linux/capability.h). */
  static final Map<String, Integer> CAPS = Map.ofEntries(Map.entry("CHOWN", 0), Map.entry("DAC_OVERRIDE", 1), Map.entry("DAC_READ_SEARCH", 2),
      Map.entry("FOWNER", 3), Map.entry("FSETID", 4), Map.entry("KILL", 5), Map.entry("SETGID", 6), Map.entry("SETUID", 7),
      Map.entry("SETPCAP", 8), Map.entry("LINUX_IMMUTABLE", 9), Map.entry("NET_BIND_SERVICE", 10), Map.entry("NET_BROADCAST", 11),
      Map.entry("NET_ADMIN", 12), Map.entry("NET_RAW", 13), Map.entry("IPC_LOCK", 14), Map.entry("IPC_OWNER", 15),
      Map.entry("SYS_MODULE", 16), Map.entry("SYS_RAWIO", 17), Map.entry("SYS_CHROOT", 18), Map.entry("SYS_PTRACE", 19),
      Map.entry("SYS_PACCT", 20), Map.entry("SYS_ADMIN", 21), Map.entry("SYS_BOOT", 22), Map.entry("SYS_NICE", 23),
      Map.entry("SYS_RESOURCE", 24), Map.entry("SYS_TIME", 25), Map.entry("SYS_TTY_CONFIG", 26), Map.entry("MKNOD", 27),
      Map.entry("LEASE", 28), Map.entry("AUDIT_WRITE", 29), Map.entry("AUDIT_CONTROL", 30), Map.entry("SETFCAP", 31),
      Map.entry("MAC_OVERRIDE", 32), Map.entry("MAC_ADMIN", 33), Map.entry("SYSLOG", 34), Map.entry("WAKE_ALARM", 35),
      Map.entry("BLOCK_SUSPEND", 36), Map.entry("AUDIT_READ", 37), Map.entry("PERFMON", 38), Map.entry("BPF", 39),
      Map.entry("CHECKPOINT_RESTORE", 40));
}
