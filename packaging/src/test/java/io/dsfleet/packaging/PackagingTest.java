package io.dsfleet.packaging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The units, the install script and the Debian packages, as an operator would use them. */
class PackagingTest {
  static final Path ROOT = Path.of(System.getProperty("dsfleet.root", ".."));
  static final Path TARGET = Path.of(System.getProperty("dsfleet.target", "target"));
  @TempDir Path tmp;

  record Result(int exit, String out) {}

  static Result run(Map<String, String> env, String... cmd) throws Exception {
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.environment().putAll(env);
    var r = io.dsfleet.common.testing.Processes.run(pb, java.time.Duration.ofMinutes(5));
    return new Result(r.exit(), r.output());
  }

  static boolean has(String tool) throws Exception {
    return run(Map.of(), "sh", "-c", "command -v " + tool).exit() == 0;
  }

  static String mode(Path p) throws IOException {
    return PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
  }

  @Test
  void systemdAcceptsBothUnits() throws Exception {
    assumeTrue(has("systemd-analyze"), "skipped: systemd-analyze is not installed here");
    Result r = run(Map.of(), "systemd-analyze", "verify", ROOT.resolve("systemd/ds-agent.service").toString(),
        ROOT.resolve("systemd/ds-coordinator.service").toString());
    assertThat(r.exit()).as(r.out()).isZero();
    assertThat(r.out()).as("no warnings either").isBlank();
  }

  /**
   * systemd stops restarting a unit that failed StartLimitBurst starts within StartLimitInterval,
   * Restart=always or not: the coordinator's unit (10 in 300 s) left the fleet without a
   * coordinator after about 30 s of a full disk until someone ran {@code systemctl reset-failed}.
   * Both daemons are tried again, every RestartSec, until they start.
   */
  @Test
  void neitherUnitGivesUpRestarting() throws Exception {
    for (String unit : List.of("ds-agent.service", "ds-coordinator.service")) {
      String text = Files.readString(ROOT.resolve("systemd").resolve(unit));
      assertThat(text).as(unit).containsPattern("(?m)^Restart=always$").containsPattern("(?m)^RestartSec=[1-9][0-9]*$")
          .containsPattern("(?m)^StartLimitIntervalSec=0$").doesNotContainPattern("(?m)^StartLimitBurst=");
    }
  }

  /**
   * The coordinator signs certificates and times join tokens on its clock: it starts after
   * time-sync.target (ordered, not pulled in), so where the host waits for NTP it never signs with
   * a clock its host booted with years off. The agent does not wait for it (helper-163).
   */
  @Test
  void theCoordinatorStartsAfterTheClockIsSetAndTheAgentDoesNotWaitForIt() throws Exception {
    String coordinator = Files.readString(ROOT.resolve("systemd/ds-coordinator.service"));
    assertThat(coordinator).containsPattern("(?m)^After=.*\\btime-sync\\.target\\b").doesNotContainPattern("(?m)^(Wants|Requires)=.*time-sync");
    String agent = Files.readString(ROOT.resolve("systemd/ds-agent.service"));
    assertThat(agent).doesNotContainPattern("(?m)^(After|Wants|Requires)=.*time-sync");
  }

  @Test
  void installIntoADestdirThenKeepAnEditedConfigThenUninstall() throws Exception {
    Path dest = tmp.resolve("root");
    Map<String, String> env = Map.of("DESTDIR", dest.toString());
    String script = ROOT.resolve("systemd/install.sh").toString();
    assertThat(run(env, "bash", script).exit()).isZero();
    assertThat(mode(dest.resolve("usr/bin/dsctl"))).isEqualTo("rwxr-xr-x");
    assertThat(mode(dest.resolve("usr/bin/ds-agent"))).isEqualTo("rwxr-xr-x");
    assertThat(mode(dest.resolve("usr/share/dsfleet/ds-agent.jar"))).isEqualTo("rw-r--r--");
    assertThat(mode(dest.resolve("lib/systemd/system/ds-agent.service"))).isEqualTo("rw-r--r--");
    assertThat(mode(dest.resolve("etc/dsfleet/agent.yaml"))).as("it may hold the join token").isEqualTo("rw-------");
    assertThat(mode(dest.resolve("etc/dsfleet/coordinator.yaml"))).isEqualTo("rw-r--r--");
    assertThat(Files.readString(dest.resolve("usr/bin/dsctl"))).contains("${DSFLEET_LIB:-/usr/share/dsfleet}");
    List<String> tree;
    try (Stream<Path> s = Files.walk(dest)) {
      tree = s.filter(Files::isRegularFile).map(p -> dest.relativize(p).toString()).sorted().toList();
    }
    assertThat(tree).containsExactly("etc/default/ds-agent", "etc/default/ds-coordinator", "etc/dsfleet/agent.yaml",
        "etc/dsfleet/coordinator.yaml", "lib/systemd/system/ds-agent.service", "lib/systemd/system/ds-coordinator.service",
        "usr/bin/ds-agent", "usr/bin/ds-coordinator", "usr/bin/dsctl", "usr/share/dsfleet/ds-agent.classlist",
        "usr/share/dsfleet/ds-agent.jar", "usr/share/dsfleet/ds-coordinator.jar");

    Files.writeString(dest.resolve("etc/dsfleet/agent.yaml"), "coordinator: 10.0.0.1:7443\n");
    Result again = run(env, "bash", script);
    assertThat(again.out()).contains("kept edited");
    assertThat(Files.readString(dest.resolve("etc/dsfleet/agent.yaml"))).isEqualTo("coordinator: 10.0.0.1:7443\n");
    assertThat(dest.resolve("etc/dsfleet/agent.yaml.dist")).exists();

    assertThat(run(env, "bash", script, "uninstall").exit()).isZero();
    assertThat(dest.resolve("usr/bin/dsctl")).doesNotExist();
    assertThat(dest.resolve("lib/systemd/system/ds-agent.service")).doesNotExist();
    assertThat(dest.resolve("etc/dsfleet/agent.yaml")).as("uninstall keeps configs").exists();
    assertThat(run(env, "bash", script, "purge").exit()).isZero();
    assertThat(dest.resolve("etc/dsfleet")).doesNotExist();
  }

  static Path deb(String name) throws IOException {
    try (Stream<Path> s = Files.list(TARGET)) {
      return s.filter(p -> p.getFileName().toString().startsWith(name + "_") && p.toString().endsWith(".deb")).findFirst()
          .orElseThrow(() -> new AssertionError(name + " .deb not built in " + TARGET));
    }
  }

  @Test
  void theDebianPackagesCarryTheirFilesAndInstallIntoARoot() throws Exception {
    assumeTrue(has("dpkg-deb") && has("dpkg"), "skipped: dpkg is not installed here (not a Debian system)");
    Path agent = deb("dsfleet-agent");
    Path coordinator = deb("dsfleet-coordinator");
    assertThat(run(Map.of(), "dpkg-deb", "-c", agent.toString()).out()).contains("./usr/share/dsfleet/ds-agent.jar", "./usr/share/dsfleet/ds-agent.classlist",
        "./usr/bin/ds-agent", "./lib/systemd/system/ds-agent.service", "./etc/dsfleet/agent.yaml", "./etc/default/ds-agent");
    assertThat(run(Map.of(), "dpkg-deb", "-c", coordinator.toString()).out()).contains("./usr/share/dsfleet/ds-coordinator.jar",
        "./usr/bin/ds-coordinator", "./usr/bin/dsctl", "./lib/systemd/system/ds-coordinator.service", "./etc/dsfleet/coordinator.yaml");
    String info = run(Map.of(), "dpkg-deb", "-I", agent.toString()).out();
    assertThat(info).contains("Depends: default-jre-headless (>= 2:1.17) | java17-runtime-headless, docker.io | docker-ce | docker-engine");
    assertThat(run(Map.of(), "dpkg-deb", "-I", coordinator.toString()).out()).contains("java17-runtime-headless").doesNotContain("docker");

    Path root = tmp.resolve("root");
    Files.createDirectories(root.resolve("var/lib/dpkg/info"));
    Files.createDirectories(root.resolve("var/lib/dpkg/updates"));
    Files.createFile(root.resolve("var/lib/dpkg/status"));
    List<String> dpkg = new ArrayList<>(List.of("dpkg", "--root=" + root, "--admindir=" + root.resolve("var/lib/dpkg"),
        "--force-script-chrootless", "--force-depends", "--force-not-root", "--force-confold", "--log=/dev/null", "-i"));
    List<String> first = new ArrayList<>(dpkg);
    first.addAll(List.of(agent.toString(), coordinator.toString()));
    Result r = run(Map.of(), first.toArray(String[]::new));
    assertThat(r.exit()).as(r.out()).isZero();
    assertThat(root.resolve("usr/share/dsfleet/ds-agent.jar")).exists();
    assertThat(root.resolve("usr/bin/dsctl")).isExecutable();
    // first install: enabled (the wants link), not started
    assertThat(Files.readSymbolicLink(root.resolve("etc/systemd/system/multi-user.target.wants/ds-agent.service")))
        .isEqualTo(Path.of("/lib/systemd/system/ds-agent.service"));
    assertThat(Files.readSymbolicLink(root.resolve("etc/systemd/system/multi-user.target.wants/ds-coordinator.service")))
        .isEqualTo(Path.of("/lib/systemd/system/ds-coordinator.service"));
    // an upgrade keeps an edited conffile
    Files.writeString(root.resolve("etc/dsfleet/agent.yaml"), "coordinator: 10.0.0.1:7443\n");
    List<String> upgrade = new ArrayList<>(dpkg);
    upgrade.add(agent.toString());
    Result u = run(Map.of(), upgrade.toArray(String[]::new));
    assertThat(u.exit()).as(u.out()).isZero();
    assertThat(Files.readString(root.resolve("etc/dsfleet/agent.yaml"))).isEqualTo("coordinator: 10.0.0.1:7443\n");
  }
}
