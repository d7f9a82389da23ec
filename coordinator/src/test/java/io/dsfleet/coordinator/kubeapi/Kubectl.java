package io.dsfleet.coordinator.kubeapi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** The installed kubectl as a process, for tests against a coordinator's Kubernetes API. */
public final class Kubectl {
  static final Path KUBECTL = Path.of("/usr/bin/kubectl");

  public record Run(int exit, String out) {}

  private final Path kubeconfig;
  private final Path cache;

  /** @param cache kubectl's discovery cache (a test's own: nothing left from another run) */
  /** kubectl with a kubeconfig from dsctl kubeconfig for {@code c}'s insecure coordinator and its API, kept in {@code dir}. */
  static Kubectl insecure(io.dsfleet.coordinator.grpc.CoordinatorFixture c, KubeApi api, Path dir) throws Exception {
    io.dsfleet.coordinator.cli.DsctlRun.Result made = io.dsfleet.coordinator.cli.DsctlRun.run(List.of("--coordinator",
        "127.0.0.1:" + c.server.port(), "--insecure", "kubeconfig", "--server", "http://127.0.0.1:" + api.port()));
    assertThat(made.exit()).as(made.err()).isZero();
    return new Kubectl(Files.writeString(dir.resolve("kubeconfig"), made.out()), dir.resolve("kube-cache"));
  }

  public Kubectl(Path kubeconfig, Path cache) {
    this.kubeconfig = kubeconfig;
    this.cache = cache;
  }

  public static void assumeInstalled() {
    assumeTrue(Files.isExecutable(KUBECTL), "skipped: no kubectl at /usr/bin/kubectl (these machines have v1.32 installed)");
  }

  List<String> command(String... args) {
    List<String> cmd = new ArrayList<>(List.of(KUBECTL.toString(), "--kubeconfig", kubeconfig.toString(), "--cache-dir", cache.toString(),
        "--request-timeout", "20s"));
    cmd.addAll(List.of(args));
    return cmd;
  }

  public Run run(String... args) throws Exception {
    // stdin closed: given a 401 without credentials, kubectl would otherwise wait to be typed a user name
    Process p = new ProcessBuilder(command(args)).redirectErrorStream(true)
        .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
    String out = new String(p.getInputStream().readAllBytes());
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    return new Run(p.exitValue(), out);
  }

  /** kubectl that must succeed: its output. */
  String ok(String... args) throws Exception {
    Run r = run(args);
    assertThat(r.exit()).as("kubectl " + String.join(" ", args) + ": " + r.out()).isZero();
    return r.out();
  }
}
