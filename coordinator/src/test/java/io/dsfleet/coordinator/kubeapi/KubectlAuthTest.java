package io.dsfleet.coordinator.kubeapi;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.common.manifest.Fixtures;
import io.dsfleet.coordinator.CoordinatorServer;
import io.dsfleet.coordinator.cli.DsctlRun;
import io.dsfleet.coordinator.grpc.CoordinatorFixture;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * kubectl auth can-i, can-i --list and whoami with an admin's and a viewer's kubeconfig: the
 * answers are what the API then does (a viewer told "yes" reads, told "no" is refused), not a
 * generic 404.
 */
class KubectlAuthTest {
  @TempDir Path dir;

  @BeforeAll
  static void installed() {
    Kubectl.assumeInstalled();
  }

  @Test
  void canIAnswersWhatTheCredentialMayDo() throws Exception {
    CoordinatorServer server = new CoordinatorServer(CoordinatorFixture.options(dir.resolve("data"), false), java.time.Clock.systemUTC(),
        false).start();
    try (KubeApi api = server.startKubeApi(new InetSocketAddress("127.0.0.1", 0))) {
      String coordinator = "127.0.0.1:" + server.port();
      Path ds = Files.writeString(dir.resolve("ds.yaml"), Fixtures.BASE);
      assertThat(DsctlRun.run(List.of("apply", "-f", ds.toString(), "--coordinator", coordinator, "--credentials",
          dir.resolve("data/pki/admin.pem").toString())).exit()).isZero();
      Kubectl admin = kubectl(coordinator, api, "admin");
      Kubectl viewer = kubectl(coordinator, api, "viewer");

      record Case(Kubectl who, String name, List<String> ask, boolean yes) {}
      for (Case c : List.of(
          new Case(admin, "admin", List.of("get", "ds"), true), new Case(admin, "admin", List.of("delete", "ds"), true),
          new Case(admin, "admin", List.of("delete", "pods"), true), new Case(admin, "admin", List.of("patch", "nodes"), true),
          new Case(admin, "admin", List.of("get", "secrets"), true), new Case(admin, "admin", List.of("delete", "nodes"), false),
          new Case(admin, "admin", List.of("create", "pods", "--subresource=exec"), false),
          new Case(admin, "admin", List.of("update", "ds", "--subresource=scale"), false),
          new Case(admin, "admin", List.of("create", "deployments"), false), new Case(admin, "admin", List.of("get", "/version"), true),
          new Case(admin, "admin", List.of("get", "/logs"), false),
          new Case(viewer, "viewer", List.of("get", "ds"), true), new Case(viewer, "viewer", List.of("watch", "pods"), true),
          new Case(viewer, "viewer", List.of("get", "pods", "--subresource=log"), true),
          new Case(viewer, "viewer", List.of("delete", "ds"), false), new Case(viewer, "viewer", List.of("patch", "nodes"), false),
          new Case(viewer, "viewer", List.of("get", "secrets"), false))) {
        Kubectl.Run r = c.who().run(Stream.concat(Stream.of("auth", "can-i"), Stream.concat(c.ask().stream(), Stream.of("-n", "ops")))
            .toArray(String[]::new));
        assertThat(r.out().lines().toList()).as("%s: can-i %s", c.name(), c.ask()).last().asString()
            .matches(c.yes() ? "yes" : "no - .+"); // a "no" with why: kubectl prints the review's reason
        assertThat(r.exit()).as("%s: can-i %s: %s", c.name(), c.ask(), r.out()).isEqualTo(c.yes() ? 0 : 1);
      }
      assertThat(viewer.run("auth", "can-i", "get", "secrets", "-n", "ops").out()).contains("no - a viewer's credential does not read"
          + " secrets");
      assertThat(admin.run("auth", "can-i", "create", "pods", "--subresource=exec", "-n", "ops").out()).contains("no - the dsfleet"
          + " coordinator does not serve pods/exec");
      // impersonation is refused, not ignored: an admin's --as=viewer did the admin's write, and can-i answered for the admin
      Kubectl.Run as = admin.run("--as=viewer", "delete", "ds", "agent", "-n", "ops");
      assertThat(as.exit()).isNotZero();
      assertThat(as.out()).contains("User \"admin\" cannot impersonate resource \"users\"")
          .contains("the dsfleet coordinator does not serve impersonation");
      assertThat(admin.ok("get", "ds", "agent", "-n", "ops")).as("nothing deleted").contains("agent");
      Kubectl.Run asCanI = admin.run("--as=viewer", "auth", "can-i", "delete", "ds", "-n", "ops");
      assertThat(asCanI.out()).doesNotStartWith("yes").contains("cannot impersonate");
      // what it was told is what the API does
      assertThat(viewer.ok("get", "ds", "-n", "ops")).contains("agent");
      assertThat(viewer.run("delete", "ds", "agent", "-n", "ops").out()).contains("(Forbidden)");
      assertThat(viewer.run("get", "secrets", "-n", "ops").out()).contains("(Forbidden)");

      String rules = viewer.ok("auth", "can-i", "--list", "-n", "ops");
      assertThat(rules).containsPattern("daemonsets\\.apps\\s+\\[\\]\\s+\\[\\]\\s+\\[get list watch\\]")
          .containsPattern("\\[/version\\]\\s+\\[\\]\\s+\\[get\\]").doesNotContain("secrets");
      assertThat(admin.ok("auth", "can-i", "--list", "-n", "ops")).containsPattern(
          "daemonsets\\.apps\\s+\\[\\]\\s+\\[\\]\\s+\\[create delete get list patch update watch\\]").contains("secrets");

      assertThat(viewer.ok("auth", "whoami")).containsPattern("Username\\s+viewer").containsPattern(
          "Groups\\s+\\[dsfleet:viewers system:authenticated\\]");
      assertThat(admin.ok("auth", "whoami")).containsPattern("Username\\s+admin");
    } finally {
      server.close();
    }
  }

  Kubectl kubectl(String coordinator, KubeApi api, String credential) throws Exception {
    DsctlRun.Result made = DsctlRun.run(List.of("kubeconfig", "--server", "https://127.0.0.1:" + api.port(), "--coordinator", coordinator,
        "--credentials", dir.resolve("data/pki/" + credential + ".pem").toString()));
    assertThat(made.exit()).as(made.err()).isZero();
    return new Kubectl(Files.writeString(dir.resolve(credential + ".kubeconfig"), made.out()), dir.resolve(credential + "-cache"));
  }
}
