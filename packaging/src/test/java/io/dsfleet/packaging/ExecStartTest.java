package io.dsfleet.packaging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.dsfleet.common.testing.FreePorts;
import io.dsfleet.common.testing.ReconcilePasses;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * ds-agent started exactly as its unit's ExecStart line starts it (the launcher, `run --config
 * FILE`, the unit's environment: JVM flags and class-data archive; only the installed paths mapped
 * to this build) joins a coordinator and runs a pod on the archive the launcher made; SIGTERM,
 * which systemd sends on stop, leaves the pod's container running, and the next start adopts it
 * on the same archive.
 */
class ExecStartTest {
  static final Path ROOT = PackagingTest.ROOT;
  @TempDir Path tmp;
  final List<Process> processes = new ArrayList<>();
  final String node = "unit-" + UUID.randomUUID().toString().substring(0, 8);

  @AfterEach
  void stop() throws Exception {
    processes.forEach(Process::destroyForcibly);
    PackagingTest.run(Map.of(), "sh", "-c", "docker ps -aq --filter label=io.dsfleet.node=" + node + " | xargs -r docker rm -f");
  }

  /** The unit's ExecStart as an argument list and its Environment= settings. */
  record Launch(List<String> command, Map<String, String> environment) {}

  static Launch execStart(Path unit, Map<String, String> paths) throws IOException {
    String text = Files.readString(unit);
    Matcher env = Pattern.compile("(?m)^Environment=\"?([A-Z_]+)=([^\"\n]*)\"?$").matcher(text);
    Map<String, String> vars = new java.util.HashMap<>();
    while (env.find()) {
      vars.put(env.group(1), paths.getOrDefault(env.group(2), env.group(2)));
    }
    Matcher m = Pattern.compile("(?m)^ExecStart=(.*)$").matcher(text);
    assertThat(m.find()).isTrue();
    List<String> args = new ArrayList<>();
    for (String word : m.group(1).trim().split("\\s+")) {
      args.add(paths.getOrDefault(word, word));
    }
    return new Launch(args, vars);
  }

  Process spawn(List<String> cmd, String log) throws IOException {
    return spawn(cmd, Map.of(), log);
  }

  Process spawn(List<String> cmd, Map<String, String> env, String log) throws IOException {
    ProcessBuilder b = new ProcessBuilder(cmd);
    b.environment().putAll(env);
    Process p = b.redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(tmp.resolve(log).toFile())).start();
    processes.add(p);
    return p;
  }

  /** dsctl through its launcher, its class-data archive in this module's target/ (DsctlLauncherTest tests the archive). */
  static boolean accepts(int port) {
    try (java.net.Socket s = new java.net.Socket()) {
      s.connect(new java.net.InetSocketAddress("127.0.0.1", port), 1000);
      return true;
    } catch (java.io.IOException e) {
      return false;
    }
  }

  String dsctl(String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("sh", ROOT.resolve("bin/dsctl").toString()));
    cmd.addAll(List.of(args));
    return PackagingTest.run(Map.of("DSCTL_CREDENTIALS", tmp.resolve("coordinator/pki/admin.pem").toString(),
        "DSCTL_CDS_DIR", PackagingTest.TARGET.resolve("dsctl-cds").toAbsolutePath().toString()), cmd.toArray(String[]::new)).out();
  }

  Map<String, String> containers() throws Exception {
    Map<String, String> out = new java.util.TreeMap<>();
    String ps = PackagingTest.run(Map.of(), "docker", "ps", "--filter", "label=io.dsfleet.node=" + node, "--format", "{{.Names}} {{.ID}} {{.CreatedAt}}").out();
    for (String line : ps.strip().split("\n")) {
      if (!line.isBlank()) {
        String[] f = line.split(" ", 2);
        out.put(f[0], f[1]);
      }
    }
    return out;
  }

  @Test
  void theAgentAsTheUnitStartsItRunsAPodAndAStopLeavesItRunning() throws Exception {
    assumeTrue(PackagingTest.run(Map.of(), "docker", "info").exit() == 0, "skipped: no Docker daemon (scripts/test starts one)");
    int port = FreePorts.pick();
    String address = "127.0.0.1:" + port;
    // the coordinator is only the agent's counterpart here: a short-lived JVM, started cheaply
    spawn(List.of("java", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-jar", ROOT.resolve("coordinator/target/ds-coordinator.jar").toString(),
        "serve", "--listen", address, "--data-dir", tmp.resolve("coordinator").toString(), "--config", tmp.resolve("none.yaml").toString()),
        "coordinator.log");
    // dsctl is a JVM (a second of CPU a call): it asks once the coordinator's port takes connections
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).until(() -> accepts(port));
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofSeconds(1))
        .until(() -> dsctl("version", "--coordinator", address).contains("Coordinator Version"));

    String token = Files.readString(tmp.resolve("coordinator/pki/join-token")).strip();
    Path config = Files.writeString(tmp.resolve("agent.yaml"), "coordinator: " + address + "\nnodeName: " + node + "\nstateDir: "
        + tmp.resolve("state") + "\naddress: 127.0.0.1\njoinToken: " + token + "\n");
    Path archive = tmp.resolve("cds/ds-agent.jsa");
    Launch unit = execStart(ROOT.resolve("systemd/ds-agent.service"), Map.of(
        "/usr/bin/ds-agent", ROOT.resolve("bin/ds-agent").toString(), // its jar and class list: agent/target
        "/var/lib/ds-agent/ds-agent.jsa", archive.toString(),
        "/etc/dsfleet/agent.yaml", config.toString()));
    assertThat(unit.command()).containsExactly("/bin/sh", ROOT.resolve("bin/ds-agent").toString(), "run", "--config", config.toString());
    assertThat(unit.environment().get("DS_AGENT_JAVA_OPTS")).contains("-XX:+UseSerialGC", "-Xmx48m", "-XX:+ExitOnOutOfMemoryError");
    Map<String, String> env = new java.util.HashMap<>(unit.environment());
    // the unit's JVM flags, with its reconcile passes logged (the barrier below)
    env.put("DS_AGENT_JAVA_OPTS", env.get("DS_AGENT_JAVA_OPTS") + " " + ReconcilePasses.DEBUG_FLAG);
    List<String> cmd = unit.command();
    Process agent = spawn(cmd, env, "agent.log");

    Path ds = Files.writeString(tmp.resolve("ds.yaml"), """
        apiVersion: apps/v1
        kind: DaemonSet
        metadata: {name: unit-test}
        spec:
          selector: {matchLabels: {app: unit-test}}
          template:
            metadata: {labels: {app: unit-test}}
            spec:
              containers:
              - name: main
                image: local/busybox:1
                command: [sleep, "3600"]
        """);
    dsctl("apply", "--coordinator", address, "-f", ds.toString());
    await().atMost(Duration.ofSeconds(90)).until(() -> containers().size() == 1); // one container alone: no sandbox (docs/agent.md)
    // the launcher made the class-data archive before starting the agent, whose JVM maps it
    assertThat(Files.readString(tmp.resolve("agent.log"))).contains("making the class-data archive " + archive);
    assertThat(Files.readString(Path.of("/proc/" + agent.pid() + "/maps"))).contains(archive.toString());
    long made = Files.getLastModifiedTime(archive).toMillis();
    Map<String, String> before = containers();

    agent.destroy(); // SIGTERM, as `systemctl stop` sends
    assertThat(agent.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)).as("the agent exits on SIGTERM").isTrue();
    assertThat(agent.exitValue()).as("killed by SIGTERM after its shutdown hooks ran (128 + 15), or a clean exit").isIn(0, 143);
    assertThat(containers()).as("stopping the agent leaves the pod running").isEqualTo(before);

    Process restarted = spawn(cmd, env, "agent-restarted.log");
    // the restarted agent has its desired set (the coordinator shows the pod Ready all along: the
    // node's lease outlives a restart), its session open (the coordinator sends nothing: the agent
    // runs the set it would send, resumed from its disk), and has done what it would do about the
    // containers it found
    await().atMost(Duration.ofSeconds(60)).until(() -> Files.readString(tmp.resolve("agent-restarted.log"))
        .contains("session open; this node runs desired set version"));
    assertThat(Files.readString(tmp.resolve("agent-restarted.log"))).contains("resuming the last desired set");
    ReconcilePasses.settle(() -> Files.readString(tmp.resolve("agent-restarted.log")), 3, Duration.ofSeconds(60));
    assertThat(dsctl("get", "pods", "--coordinator", address)).contains("1/1");
    assertThat(containers()).as("the restarted agent adopted the containers").isEqualTo(before);
    // and it started on the archive made before, not a new one
    assertThat(Files.readString(tmp.resolve("agent-restarted.log"))).doesNotContain("making the class-data archive");
    assertThat(Files.readString(Path.of("/proc/" + restarted.pid() + "/maps"))).contains(archive.toString());
    assertThat(Files.getLastModifiedTime(archive).toMillis()).isEqualTo(made);
  }
}
