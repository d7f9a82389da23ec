package io.dsfleet.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.dsfleet.agent.reconcile.Backoff;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** ds-agent's options as `run` parses them: flags over environment over the config file. */
class AgentOptionsTest {
  @TempDir Path tmp;

  AgentOptions resolve(Map<String, String> env, String... flags) {
    return parsed(flags).resolve(env);
  }

  /** `run` with this test's config file, node name and address, and {@code flags}, parsed. */
  AgentMain.Common parsed(String... flags) {
    List<String> args = new ArrayList<>(List.of("--config", tmp.resolve("agent.yaml").toString(), "--node-name", "n1", "--address", "10.0.0.1"));
    args.addAll(List.of(flags));
    args.add(0, "run");
    AgentMain.Run run = new AgentMain.Run();
    try {
      AgentCommandLine.parse(args.toArray(String[]::new), run.common, false);
    } catch (AgentCommandLine.Bad e) {
      throw new AssertionError(e);
    }
    return run.common;
  }

  /** An upgrade keeps an edited agent.yaml's mode: one the token is readable in is told at start (helper-107). */
  @Test
  void aConfigFileOthersCanReadIsTold() throws Exception {
    Path config = Files.writeString(tmp.resolve("agent.yaml"), "nodeName: n1\n");
    Files.setPosixFilePermissions(config, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
    assertThat(AgentMain.Common.readableByOthers(config)).isEqualTo("everyone");
    Files.setPosixFilePermissions(config, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r-----"));
    assertThat(AgentMain.Common.readableByOthers(config)).isEqualTo("its group");
    Files.setPosixFilePermissions(config, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
    assertThat(AgentMain.Common.readableByOthers(config)).isNull();
  }

  @Test
  void theRestartBackoffIsKubernetesUnlessConfigured() throws Exception {
    assertThat(resolve(Map.of()).restartBackoff()).isEqualTo(Backoff.KUBERNETES);
    Files.writeString(tmp.resolve("agent.yaml"), "restartBackoff: 2s\nrestartBackoffMax: 1m\n");
    assertThat(resolve(Map.of()).restartBackoff()).isEqualTo(new Backoff(Duration.ofSeconds(2), Duration.ofMinutes(1)));
    assertThat(resolve(Map.of("DS_AGENT_RESTART_BACKOFF", "3s")).restartBackoff()).isEqualTo(new Backoff(Duration.ofSeconds(3), Duration.ofMinutes(1)));
    assertThat(resolve(Map.of("DS_AGENT_RESTART_BACKOFF", "3s"), "--restart-backoff", "500ms", "--restart-backoff-max", "20s").restartBackoff())
        .isEqualTo(new Backoff(Duration.ofMillis(500), Duration.ofSeconds(20)));
  }

  @Test
  void aBackoffThatCannotWorkIsRefusedNamingTheOption() {
    assertThatThrownBy(() -> resolve(Map.of(), "--restart-backoff", "0s")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("restartBackoff 0s").hasMessageContaining("must be positive");
    assertThatThrownBy(() -> resolve(Map.of(), "--restart-backoff", "1m", "--restart-backoff-max", "30s"))
        .hasMessageContaining("restartBackoffMax 30s").hasMessageContaining("shorter than its initial delay");
    assertThatThrownBy(() -> resolve(Map.of(), "--restart-backoff", "soon")).hasMessageContaining("restartBackoff soon")
        .hasMessageContaining("invalid duration");
  }

  @Test
  void theRelistIntervalIsThirtySecondsUnlessConfiguredAndMustBePositive() throws Exception {
    assertThat(resolve(Map.of()).relistInterval()).isEqualTo(Duration.ofSeconds(30));
    Files.writeString(tmp.resolve("agent.yaml"), "relistInterval: 1m\n");
    assertThat(resolve(Map.of()).relistInterval()).isEqualTo(Duration.ofMinutes(1));
    assertThat(resolve(Map.of("DS_AGENT_RELIST_INTERVAL", "45s")).relistInterval()).isEqualTo(Duration.ofSeconds(45));
    assertThat(resolve(Map.of("DS_AGENT_RELIST_INTERVAL", "45s"), "--relist-interval", "5s").relistInterval()).isEqualTo(Duration.ofSeconds(5));
    assertThatThrownBy(() -> resolve(Map.of(), "--relist-interval", "0s")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("relistInterval 0s").hasMessageContaining("longer than 0");
    assertThatThrownBy(() -> resolve(Map.of(), "--relist-interval", "often")).hasMessageContaining("relistInterval often")
        .hasMessageContaining("invalid duration");
  }

  @Test
  void thePassIntervalIsOneSecondUnlessConfiguredAndMustBePositive() throws Exception {
    assertThat(resolve(Map.of()).passInterval()).isEqualTo(Duration.ofSeconds(1));
    Files.writeString(tmp.resolve("agent.yaml"), "passInterval: 300ms\n");
    assertThat(resolve(Map.of()).passInterval()).isEqualTo(Duration.ofMillis(300));
    assertThat(resolve(Map.of("DS_AGENT_PASS_INTERVAL", "500ms")).passInterval()).isEqualTo(Duration.ofMillis(500));
    assertThat(resolve(Map.of("DS_AGENT_PASS_INTERVAL", "500ms"), "--pass-interval", "200ms").passInterval()).isEqualTo(Duration.ofMillis(200));
    assertThatThrownBy(() -> resolve(Map.of(), "--pass-interval", "0s")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("passInterval 0s").hasMessageContaining("longer than 0");
    assertThatThrownBy(() -> resolve(Map.of(), "--pass-interval", "often")).hasMessageContaining("passInterval often")
        .hasMessageContaining("invalid duration");
  }

  /**
   * A pass interval of a millisecond ran a thousand passes a second on one core; one of minutes ran
   * probes and back-offs (looked at once a pass) minutes late, and one past 292 years overflowed
   * the loop's nanoseconds after the options were taken.
   */
  @Test
  void thePassIntervalIsRefusedOutside100msTo1s() throws Exception {
    assertThat(resolve(Map.of(), "--pass-interval", "100ms").passInterval()).isEqualTo(Duration.ofMillis(100));
    for (String bad : List.of("1ms", "99ms", "1001ms", "2s", "1h", "200000d")) {
      assertThatThrownBy(() -> resolve(Map.of(), "--pass-interval", bad)).as(bad).isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("passInterval ").hasMessageContaining("must be 100ms to 1s");
      assertThatThrownBy(() -> resolve(Map.of("DS_AGENT_PASS_INTERVAL", bad))).as(bad).hasMessageContaining("must be 100ms to 1s");
    }
  }

  /** podPidsLimit as the kubelet's: no bound unless set (-1 its spelling of none); a count that is none, or past Linux's PIDs, refused. */
  @Test
  void thePodPidsLimitIsNoneUnlessConfiguredAndACountOfProcesses() throws Exception {
    assertThat(resolve(Map.of()).podPidsLimit()).isZero();
    Files.writeString(tmp.resolve("agent.yaml"), "podPidsLimit: 4096\n");
    assertThat(resolve(Map.of()).podPidsLimit()).isEqualTo(4096);
    assertThat(resolve(Map.of("DS_AGENT_POD_PIDS_LIMIT", "1024")).podPidsLimit()).isEqualTo(1024);
    assertThat(resolve(Map.of("DS_AGENT_POD_PIDS_LIMIT", "1024"), "--pod-pids-limit", "-1").podPidsLimit()).isZero();
    for (String bad : List.of("0", "-2", "4194305", "lots", "1.5")) {
      assertThatThrownBy(() -> resolve(Map.of(), "--pod-pids-limit", bad)).as(bad).isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("podPidsLimit " + bad + ": must be a count of processes from 1 to 4194304");
    }
    Files.writeString(tmp.resolve("agent.yaml"), "podPidsLimit: [512]\n");
    assertThatThrownBy(() -> resolve(Map.of())).as("a list is no bound").isInstanceOf(IllegalArgumentException.class)
        .hasMessage("config key podPidsLimit: must be one value, not a list or a map");
    Files.writeString(tmp.resolve("agent.yaml"), "podPidsLimit: 4096\n");
    AgentMain.Common leave = new AgentMain.Common();
    AgentCommandLine.parse(new String[] {"leave", "--config", tmp.resolve("agent.yaml").toString(), "--node-name", "n1"}, leave, true);
    leave.forRun = false;
    assertThat(leave.resolve(Map.of("DS_AGENT_POD_PIDS_LIMIT", "lots")).podPidsLimit()).as("leave makes no container: a bad bound lets the node go")
        .isZero();
  }

  @Test
  void metricsAreServedOnLoopbackUnlessConfiguredOrOff() throws Exception {
    assertThat(resolve(Map.of()).metricsListen()).hasToString("127.0.0.1/<unresolved>:7481");
    Files.writeString(tmp.resolve("agent.yaml"), "metricsListen: 0.0.0.0:9100\n");
    assertThat(resolve(Map.of()).metricsListen().getPort()).isEqualTo(9100);
    assertThat(resolve(Map.of()).metricsListen().getHostString()).isEqualTo("0.0.0.0");
    assertThat(resolve(Map.of("DS_AGENT_METRICS_LISTEN", "10.0.0.1:9200")).metricsListen().getHostString()).isEqualTo("10.0.0.1");
    assertThat(resolve(Map.of("DS_AGENT_METRICS_LISTEN", "10.0.0.1:9200"), "--metrics-listen", "off").metricsListen()).isNull();
    assertThatThrownBy(() -> resolve(Map.of(), "--metrics-listen", "9100")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("metricsListen must be HOST:PORT or off").hasMessageContaining("\"9100\"");
    assertThatThrownBy(() -> resolve(Map.of(), "--metrics-listen", "127.0.0.1:http")).hasMessageContaining("metricsListen port must be a number");
    assertThatThrownBy(() -> resolve(Map.of(), "--metrics-listen", "127.0.0.1:70000")).hasMessageContaining("metricsListen port must be 0-65535");
  }

  @Test
  void aCoordinatorAddressNeedsItsPortAndAHostGrpcCanDial() throws Exception {
    assertThat(resolve(Map.of(), "--coordinator", "10.0.0.1:7443", "--coordinator", "[fd00::1]:7443", "--coordinator", "coord-1.example:7443",
        "--coordinator", "[fe80::1%eth0]:7443", "--coordinator", "dns:///coord.example.:7443").coordinators())
        .containsExactly("10.0.0.1:7443", "[fd00::1]:7443", "coord-1.example:7443", "[fe80::1%eth0]:7443", "dns:///coord.example.:7443");
    for (String bad : List.of("coord.example", "10.0.0.1", "fd00::1:7443", "http://coord:7443", "coord:port", "coord_1.example:7443",
        "a?b:1", "a#b:1", "κόμβος.example:7443", "-coord:7443")) {
      assertThatThrownBy(() -> resolve(Map.of(), "--coordinator", bad)).as(bad).isInstanceOf(IllegalArgumentException.class)
          .hasMessage("coordinator address \"" + bad + "\": must be HOST:PORT (a DNS name, an IPv4 address, or an IPv6 address in brackets)");
    }
    assertThatThrownBy(() -> resolve(Map.of(), "--coordinator", "coord:0")).hasMessage("coordinator address \"coord:0\": port 0 is not between 1 and 65535");
    assertThatThrownBy(() -> resolve(Map.of(), "--coordinator", "coord:65536")).hasMessageContaining("port 65536 is not between 1 and 65535");
    // as operators write lists: spaces after the commas, an empty entry
    assertThat(resolve(Map.of("DS_AGENT_COORDINATOR", "a:7443, b:7443,,")).coordinators()).containsExactly("a:7443", "b:7443");
    Files.writeString(tmp.resolve("agent.yaml"), "coordinator: \"c:7443,  d:7443\"\n");
    assertThat(resolve(Map.of()).coordinators()).containsExactly("c:7443", "d:7443");
    assertThatThrownBy(() -> resolve(Map.of("DS_AGENT_COORDINATOR", "a:1,b"))).hasMessageContaining("coordinator address \"b\"");
  }

  @Test
  void leaveChecksNoCoordinatorAddressSoABadOneStillLetsTheNodesContainersGo() throws Exception {
    AgentMain.Common c = new AgentMain.Common();
    AgentCommandLine.parse(new String[] {"leave", "--config", tmp.resolve("agent.yaml").toString(), "--node-name", "n1",
        "--coordinator", "coord.example"}, c, true);
    c.forRun = false;
    assertThat(c.resolve(Map.of()).coordinators()).containsExactly("coord.example");
  }

  /** Once `run` has read its options stderr is the daemon's log: a line break in a record's text starts no line of its own. */
  @Test
  void onceItsOptionsAreReadEachRecordOfTheLogIsOneLine() {
    AgentMain.Common common = parsed();
    String printed = io.dsfleet.common.testing.StderrRecords.printedAfter(() -> assertThat(common.resolveOrReport()).isNotNull(),
        "WARN pull failed: the registry said\nINFO forged");
    assertThat(printed).isEqualTo("WARN pull failed: the registry said?INFO forged" + System.lineSeparator());
  }
}
