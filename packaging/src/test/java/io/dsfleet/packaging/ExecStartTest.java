package io.dsfleet.packaging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.dsfleet.common.testing.ReconcilePasses;
import java.io.IOException;
import java.net.ServerSocket;
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
 * ds-agent started exactly as its unit's ExecStart line starts it (the unit's JVM flags, `-jar`,
 * `run --config FILE`; only the installed paths mapped to this build) joins a coordinator and runs
 * a pod; SIGTERM, which systemd sends on stop, leaves the pod's container running, and the next
 * start adopts it.
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

  /** The unit's ExecStart as an argument list, with its Environment= defaults substituted. */
  static List<String> execStart(Path unit, Map<String, String> paths) throws IOException {
    String text = Files.readString(unit);
    Matcher env = Pattern.compile("(?m)^Environment=\"([A-Z_]+)=([^\"]*)\"").matcher(text);
    Map<String, String> vars = new java.util.HashMap<>();
    while (env.find()) {
      vars.put(env.group(1), env.group(2));
    }
    Matcher m = Pattern.compile("(?m)^ExecStart=(.*)$").matcher(text);
    assertThat(m.find()).isTrue();
    List<String> args = new ArrayList<>();
    for (String word : m.group(1).trim().split("\\s+")) {
      if (word.startsWith("$")) {
        args.addAll(List.of(vars.get(word.substring(1)).split("\\s+")));
      } else {
        args.add(paths.getOrDefault(word, word));
      }
    }
    return args;
  }

  Process spawn(List<String> cmd, String log) throws IOException {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(tmp.resolve(log).toFile())).start();
    processes.add(p);
    return p;
  }

  String dsctl(String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("java", "-cp", ROOT.resolve("coordinator/target/ds-coordinator.jar").toString(),
        "io.dsfleet.coordinator.cli.Dsctl"));
    cmd.addAll(List.of(args));
    return PackagingTest.run(Map.of("DSCTL_CREDENTIALS", tmp.resolve("coordinator/pki/admin.pem").toString()),
        cmd.toArray(String[]::new)).out();
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
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    String address = "127.0.0.1:" + port;
    spawn(List.of("java", "-jar", ROOT.resolve("coordinator/target/ds-coordinator.jar").toString(), "serve", "--listen", address,
        "--data-dir", tmp.resolve("coordinator").toString(), "--config", tmp.resolve("none.yaml").toString()), "coordinator.log");
    // dsctl is a JVM: poll once a second, not every 100 ms
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofSeconds(1))
        .until(() -> dsctl("version", "--coordinator", address).contains("Coordinator Version"));

    String token = Files.readString(tmp.resolve("coordinator/pki/join-token")).strip();
    Path config = Files.writeString(tmp.resolve("agent.yaml"), "coordinator: " + address + "\nnodeName: " + node + "\nstateDir: "
        + tmp.resolve("state") + "\naddress: 127.0.0.1\njoinToken: " + token + "\n");
    List<String> cmd = execStart(ROOT.resolve("systemd/ds-agent.service"), Map.of(
        "/usr/bin/java", Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "/usr/share/dsfleet/ds-agent.jar", ROOT.resolve("agent/target/ds-agent.jar").toString(),
        "/etc/dsfleet/agent.yaml", config.toString()));
    assertThat(cmd).contains("-XX:+UseSerialGC", "-Xmx48m", "-jar", "run", "--config");
    cmd.add(1, ReconcilePasses.DEBUG_FLAG); // the unit's command, with its reconcile passes logged (the barrier below)
    Process agent = spawn(cmd, "agent.log");

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
    await().atMost(Duration.ofSeconds(60)).until(() -> containers().size() == 2);
    Map<String, String> before = containers();

    agent.destroy(); // SIGTERM, as `systemctl stop` sends
    assertThat(agent.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)).as("the agent exits on SIGTERM").isTrue();
    assertThat(agent.exitValue()).as("killed by SIGTERM after its shutdown hooks ran (128 + 15), or a clean exit").isIn(0, 143);
    assertThat(containers()).as("stopping the agent leaves the pod running").isEqualTo(before);

    spawn(cmd, "agent-restarted.log");
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofSeconds(1))
        .until(() -> dsctl("get", "pods", "--coordinator", address).contains("1/1"));
    // the restarted agent has its desired set and has done what it would do about the containers it found
    ReconcilePasses.settle(() -> Files.readString(tmp.resolve("agent-restarted.log")), 3, Duration.ofSeconds(60));
    assertThat(Files.readString(tmp.resolve("agent-restarted.log"))).contains("desired set version");
    assertThat(containers()).as("the restarted agent adopted the containers").isEqualTo(before);
  }
}
