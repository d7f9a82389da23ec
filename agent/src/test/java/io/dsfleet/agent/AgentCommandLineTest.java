package io.dsfleet.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** ds-agent's command line: the forms it takes, what it refuses (by name, exit 2, nothing run), help and version. */
class AgentCommandLineTest {
  final ByteArrayOutputStream out = new ByteArrayOutputStream();
  final ByteArrayOutputStream err = new ByteArrayOutputStream();

  int execute(String... args) {
    return AgentCommandLine.execute(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
  }

  String out() {
    return out.toString(StandardCharsets.UTF_8);
  }

  String err() {
    return err.toString(StandardCharsets.UTF_8);
  }

  static AgentMain.Common run(String... words) throws AgentCommandLine.Bad {
    List<String> args = new ArrayList<>(List.of("run"));
    args.addAll(List.of(words));
    AgentMain.Common c = new AgentMain.Common();
    AgentCommandLine.parse(args.toArray(String[]::new), c, false);
    return c;
  }

  @Test
  void optionsTakeTheirValueAfterASpaceOrAnEqualsSignAndRepeatWhereTheyMay() throws Exception {
    AgentMain.Common c = run("--coordinator", "a:1", "--coordinator=b:2", "--node-name=n1", "--label", "k=v=w", "--label=x=y",
        "--taint", "t=1:NoSchedule", "--config", "/tmp/agent.yaml", "--state-dir=/var/tmp/s", "--heartbeat-interval", "2s");
    assertThat(c.coordinators).containsExactly("a:1", "b:2");
    assertThat(c.nodeName).isEqualTo("n1");
    assertThat(c.labels).containsExactly("k=v=w", "x=y");
    assertThat(c.taints).containsExactly("t=1:NoSchedule");
    assertThat(c.config).isEqualTo(Path.of("/tmp/agent.yaml"));
    assertThat(c.stateDir).isEqualTo(Path.of("/var/tmp/s"));
    assertThat(c.heartbeatInterval).isEqualTo("2s");
  }

  @Test
  void whatIsNotGivenStaysUnsetForTheEnvironmentAndTheFileToDecide() throws Exception {
    AgentMain.Common c = run();
    assertThat(c.config).isEqualTo(Path.of(AgentMain.DEFAULT_CONFIG));
    assertThat(c.coordinators).isNull();
    assertThat(c.labels).isNull();
    assertThat(c.insecure).isNull();
    assertThat(c.leaveOnShutdown).isNull();
    assertThat(c.nodeName).isNull();
  }

  @Test
  void aFlagAloneIsTrueAndTakesAnExplicitTrueOrFalse() throws Exception {
    assertThat(run("--insecure").insecure).isTrue();
    assertThat(run("--insecure=false").insecure).isFalse();
    assertThat(run("--leave-on-shutdown=true").leaveOnShutdown).isTrue();
    assertThatThrownBy(() -> run("--insecure=yes")).hasMessage("option --insecure is a flag: true or false, not \"yes\"");
  }

  @Test
  void aWrongWordIsRefusedByName() {
    assertThatThrownBy(() -> run("--no-such")).isInstanceOf(AgentCommandLine.Bad.class).hasMessage("unknown option --no-such");
    assertThatThrownBy(() -> run("--node-name")).hasMessage("option --node-name needs a value (NAME)");
    assertThatThrownBy(() -> run("--node-name", "a", "--node-name=b")).hasMessage("option --node-name given twice");
    assertThatThrownBy(() -> run("stray")).hasMessage("unexpected argument \"stray\": run takes options only");
    assertThatThrownBy(() -> run("-n", "x")).hasMessage("unexpected argument \"-n\": run takes options only");
    assertThatThrownBy(() -> run("--node-name", "n1", "--", "x")).hasMessage("unexpected argument \"x\": run takes options only");
  }

  @Test
  void anOptionsNameIsNoValueSoAnEmptyVariableInAUnitIsCaught() throws Exception {
    // `--address $ADDRESS --leave-on-shutdown` with ADDRESS empty: systemd drops the word
    assertThatThrownBy(() -> run("--address", "--leave-on-shutdown")).hasMessage("option --address needs a value (ADDRESS)");
    assertThatThrownBy(() -> run("--config", "--insecure=true")).hasMessage("option --config needs a value (FILE)");
    assertThatThrownBy(() -> run("--node-name", "--help")).hasMessage("option --node-name needs a value (NAME)");
    assertThatThrownBy(() -> run("--join-token", "--")).hasMessage("option --join-token needs a value (TOKEN)");
    // a value that only starts with -- is a value
    assertThat(run("--join-token", "--not-an-option").joinToken).isEqualTo("--not-an-option");
    assertThat(run("--label", "--x=y").labels).containsExactly("--x=y");
    assertThat(run("--node-name", "n1", "--").nodeName).isEqualTo("n1");
    assertThat(run("--insecure=").insecure).isFalse();
  }

  @Test
  void leaveTakesTheSharedOptionsAndItsTimeoutButNotRunsOwn() throws Exception {
    AgentMain.Common c = new AgentMain.Common();
    AgentCommandLine.parse(new String[] {"leave", "--node-name", "n1", "--timeout=30s", "--insecure"}, c, true);
    assertThat(c.nodeName).isEqualTo("n1");
    assertThat(c.insecure).isTrue();
    assertThat(c.leaveTimeout).isEqualTo("30s");
    assertThatThrownBy(() -> AgentCommandLine.parse(new String[] {"leave", "--label", "a=b"}, new AgentMain.Common(), true))
        .hasMessage("unknown option --label: leave does not take it");
    assertThatThrownBy(() -> run("--timeout", "5s")).hasMessage("unknown option --timeout");
  }

  @Test
  void aBadCommandLineExitsTwoSayingWhyAndRunsNothing() {
    assertThat(execute("run", "--bogus")).isEqualTo(2);
    assertThat(err()).isEqualTo("ds-agent: unknown option --bogus\nsee: ds-agent run --help\n");
    assertThat(out()).isEmpty();
    err.reset();
    assertThat(execute("start")).isEqualTo(2);
    assertThat(err()).startsWith("ds-agent: unknown command \"start\" (run, leave, --help, --version)\nsee: ds-agent --help");
    err.reset();
    assertThat(execute()).isEqualTo(2);
    assertThat(err()).startsWith("Usage: ds-agent [-hV] COMMAND");
  }

  @Test
  void helpListsEachCommandsOwnOptionsAndVersionSaysWhichBuild() {
    assertThat(execute("--help")).isZero();
    assertThat(out()).startsWith("Usage: ds-agent [-hV] COMMAND\n").contains("  run ", "  leave ");
    out.reset();
    assertThat(execute("run", "--node-name", "x", "--help")).isZero();
    assertThat(out()).startsWith("Usage: ds-agent run [OPTIONS]\n").contains("--label=K=V", "--insecure ", "--metrics-listen=HOST:PORT|off")
        .doesNotContain("--timeout");
    out.reset();
    assertThat(execute("leave", "-h")).isZero();
    assertThat(out()).startsWith("Usage: ds-agent leave [OPTIONS]\n").contains("--timeout=DURATION", "--join-token=TOKEN")
        .doesNotContain("--label", "--metrics-listen");
    out.reset();
    assertThat(execute("--version")).isZero();
    assertThat(out()).isEqualTo("ds-agent " + AgentMain.VERSION + "\n");
    out.reset();
    assertThat(execute("-hV")).isZero();
    assertThat(out()).startsWith("Usage: ds-agent [-hV] COMMAND\n");
    out.reset();
    assertThat(execute("run", "-V")).isZero();
    assertThat(out()).isEqualTo("ds-agent " + AgentMain.VERSION + "\n");
    assertThat(err()).isEmpty();
  }
}
