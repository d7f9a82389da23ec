package io.dsfleet.coordinator.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import io.dsfleet.common.manifest.Fixtures;
import io.dsfleet.common.tls.JoinToken;
import io.dsfleet.coordinator.CoordinatorServer;
import io.dsfleet.coordinator.cli.DsctlRun.Result;
import io.dsfleet.coordinator.grpc.CoordinatorFixture;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** dsctl over TLS: join tokens and credentials as an operator handles them. */
class CredentialsCliTest {
  @TempDir Path dir;
  CoordinatorServer server;
  String addr;

  @BeforeEach
  void start() throws Exception {
    server = new CoordinatorServer(CoordinatorFixture.options(dir.resolve("data"), false), java.time.Clock.systemUTC(), false).start();
    addr = "127.0.0.1:" + server.port();
  }

  @AfterEach
  void stop() {
    server.close();
  }

  Result dsctl(String credential, String... args) {
    List<String> all = new ArrayList<>(List.of(args));
    all.addAll(List.of("--coordinator", addr, "--credentials", credential));
    return DsctlRun.run(all);
  }

  String admin() {
    return dir.resolve("data/pki/admin.pem").toString();
  }

  /**
   * `sudo dsctl` on the coordinator's host reads the service's pki/admin.pem, which the service's
   * user writes: before 2026-12-06 a FIFO put there held root's dsctl for good (a link to
   * /dev/zero filled its heap; helper-113). Refused at once, naming the file; kubectl's kubeconfig
   * the same.
   */
  @Test
  void aCredentialThatIsAFifoIsRefusedNotWaitedFor() throws Exception {
    Path fifo = dir.resolve("admin.pem");
    io.dsfleet.common.testing.Processes.succeed("mkfifo", fifo.toString());
    for (List<String> args : List.of(List.of("get", "nodes"), List.of("kubeconfig"))) {
      Result refused = org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(java.time.Duration.ofSeconds(20),
          () -> dsctl(fifo.toString(), args.toArray(String[]::new)), "dsctl waited for a writer");
      assertThat(refused.exit()).as(args + ": " + refused.err()).isNotZero();
      assertThat(refused.err()).as(args.toString()).contains("cannot read the credential " + fifo + ": it is no regular file");
    }
    assertThat(dsctl(admin(), "get", "nodes").exit()).as("a credential that is one").isZero();
  }

  @Test
  void tokensAreCreatedShownOnceListedWithoutSecretAndRevoked() {
    Result created = dsctl(admin(), "token", "create", "--ttl", "2h", "--description", "rack 12");
    assertThat(created.exit()).as(created.err()).isZero();
    JoinToken token = JoinToken.parse(created.out().strip());
    assertThat(token.caHash()).isEqualTo(server.authority().pki().caHash());

    Result list = dsctl(admin(), "token", "list");
    assertThat(list.out()).contains(token.id() + "   valid").contains("rack 12").doesNotContain(token.secret());
    assertThat(dsctl(admin(), "token", "revoke", token.id()).exit()).isZero();
    assertThat(dsctl(admin(), "token", "list").out()).contains(token.id() + "   revoked");
    Result bad = dsctl(admin(), "token", "create", "--ttl", "soon");
    assertThat(bad.exit()).isEqualTo(2);
    assertThat(bad.err()).contains("--ttl");
  }

  @Test
  void aTokenForOneNodeIsSingleUseAndNodeRmCanRevokeTheTokenThatAdmittedTheNode() throws Exception {
    Result created = dsctl(admin(), "token", "create", "--node", "rack12-n1", "--description", "replacement");
    assertThat(created.exit()).as(created.err()).isZero();
    JoinToken token = JoinToken.parse(created.out().strip());
    assertThat(dsctl(admin(), "token", "list").out()).containsPattern(token.id() + " +valid +rack12-n1 +0/1 ");
    server.fleet().admit(io.dsfleet.coordinator.grpc.FakeAgent.info("rack12-n1", Map.of()), "", "", (member, retryOf, ownSecret) ->
        server.authority().admit(server.authority().present(token.text(), "rack12-n1", io.dsfleet.common.tls.Pki.csr(
            io.dsfleet.common.tls.Pki.newKeyPair(), "rack12-n1", io.dsfleet.common.tls.Pki.NODES), false), member, "", ownSecret), io.dsfleet.coordinator.security.Authority.Admission::tokenUse, a -> { });
    assertThat(dsctl(admin(), "token", "list").out()).containsPattern(token.id() + " +used +rack12-n1 +1/1 ");

    Result rm = dsctl(admin(), "node", "rm", "rack12-n1", "--revoke-token");
    assertThat(rm.exit()).as(rm.err()).isZero();
    assertThat(rm.out()).contains("node/rack12-n1 removed", "token " + token.id() + " revoked");
    assertThat(dsctl(admin(), "token", "create", "--single-use", "--max-uses", "3").err()).contains("contradict");
  }

  @Test
  void aCredentialReadableByOthersIsUsedWithAWarning() throws Exception {
    Path loose = dir.resolve("loose.pem");
    Files.copy(Path.of(admin()), loose);
    Files.setPosixFilePermissions(loose, PosixFilePermissions.fromString("rw-r--r--"));
    Result r = dsctl(loose.toString(), "get", "nodes");
    assertThat(r.exit()).as(r.err()).isZero();
    assertThat(r.err()).contains("readable by everyone (rw-r--r--)", "chmod 600 " + loose);
    assertThat(dsctl(admin(), "get", "nodes").err()).doesNotContain("warning");
  }

  /**
   * A kubeconfig holds the credential's key. Before, it was only printed, and the documented
   * `dsctl kubeconfig > ~/.kube/dsfleet.yaml` made it 0644 under the usual umask: the admin's key
   * readable by every local user (a review read it as nobody).
   */
  @Test
  void aKubeconfigWrittenToAFileIsOwnerOnlyAndNeverOverwritesOne() throws Exception {
    Path kubeconfig = dir.resolve("dsfleet.yaml");
    Result made = dsctl(admin(), "kubeconfig", "-o", kubeconfig.toString());
    assertThat(made.exit()).as(made.err()).isZero();
    assertThat(made.out()).contains("kubeconfig for https://127.0.0.1:6443 as admin written to " + kubeconfig);
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(kubeconfig))).isEqualTo("rw-------");
    assertThat(Files.readString(kubeconfig)).contains("client-key-data: ", "current-context: dsfleet-admin");
    Result again = dsctl(admin(), "kubeconfig", "-o", kubeconfig.toString());
    assertThat(again.exit()).isEqualTo(2);
    assertThat(again.err()).contains(kubeconfig + " exists");
  }

  @Test
  void aViewerCredentialReadsCannotWriteAndStopsWorkingWhenRevoked() throws Exception {
    Path bob = dir.resolve("bob.pem");
    Result made = dsctl(admin(), "credential", "create", "bob", "--role", "viewer", "-o", bob.toString());
    assertThat(made.exit()).as(made.err()).isZero();
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(bob))).isEqualTo("rw-------");

    assertThat(dsctl(bob.toString(), "get", "nodes").exit()).isZero();
    Path ds = Files.writeString(dir.resolve("ds.yaml"), Fixtures.BASE);
    Result write = dsctl(bob.toString(), "apply", "-f", ds.toString());
    assertThat(write.exit()).isEqualTo(1);
    assertThat(write.err()).isEqualTo("error: viewer credential bob is read-only: Apply needs an admin credential\n");

    assertThat(dsctl(admin(), "credential", "revoke", "bob", "--role", "viewer").out()).isEqualTo("1 certificate of viewer bob revoked\n");
    Result after = dsctl(bob.toString(), "get", "nodes");
    assertThat(after.exit()).isEqualTo(1);
    assertThat(after.err()).isEqualTo("error: credential bob was revoked: an admin makes a new one with dsctl credential create\n")
        .as("nothing about nodes and join tokens").doesNotContain("join token");
  }

  @Test
  void withoutACredentialDsctlSaysWhereItLooked() {
    assumeFalse(Files.exists(ClientCommand.COORDINATOR_ADMIN), "skipped: this host has a coordinator's admin.pem dsctl would use");
    ClientCommand c = new ClientCommand() {
      @Override
      protected int run(io.dsfleet.proto.v1.ControlServiceGrpc.ControlServiceBlockingStub control) {
        return 0;
      }
    };
    var e = org.assertj.core.api.Assertions.catchThrowable(() -> c.resolveCredentials(Map.of("XDG_CONFIG_HOME", dir.toString())));
    assertThat(e).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no credential")
        .hasMessageContaining(dir.resolve("dsfleet/credentials.pem").toString()).hasMessageContaining("--insecure");
  }
}
