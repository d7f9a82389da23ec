package io.dsfleet.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.common.tls.CertificateAuthority;
import io.dsfleet.common.tls.Pki;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Credentials on a real host: the agent joins with the join token (its key made and kept on the
 * host), renews its short-lived certificate without restarting its pods, and a removed node's
 * certificate stops working. The coordinator issues one-minute node certificates here so a
 * renewal happens within the test: 40 s after the certificate was made (a third of its life
 * left), the class's critical path (its scenarios run at once save nothing: tried).
 */
class SecurityScenariosTest {
  @RegisterExtension
  static final FleetPerClass FLEET = new FleetPerClass(1, "--node-cert-ttl", "1m");
  static TestFleet fleet;
  static TestHost host;

  @BeforeAll
  static void fleet() {
    fleet = FLEET.fleet;
    host = fleet.host(1);
  }

  static Path statePki() {
    return statePki(host);
  }

  static Path statePki(TestHost h) {
    return h.dir.resolve("state").resolve("pki");
  }

  static String agentLog() throws Exception {
    return agentLog(host);
  }

  static String agentLog(TestHost h) throws Exception {
    return Files.readString(h.dir.resolve("agent.log"));
  }

  @Test
  void theAgentJoinsWithTheTokenAndKeepsItsKeyOwnerOnly() throws Exception {
    TestFleet.await("the agent's join logged", 30, () -> agentLog().contains("joined with the join token")
        && Files.exists(statePki().resolve("node.pem")));
    for (String f : new String[] {"node.pem", "ca.crt"}) {
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(statePki().resolve(f)))).as(f).isEqualTo("rw-------");
    }
    var cert = Pki.certificate(Files.readString(statePki().resolve("node.pem")));
    assertThat(CertificateAuthority.subject(cert)).isEqualTo(new Pki.Subject(host.name, Pki.NODES));
    assertThat(fleet.dsctl("get", "nodes", "--credentials", fleet.pki().resolve("viewer.pem").toString()).out()).contains(host.name);
    var write = fleet.dsctl("cordon", host.name, "--credentials", fleet.pki().resolve("viewer.pem").toString());
    assertThat(write.exit()).isEqualTo(1);
    assertThat(write.out()).contains("read-only");
  }

  @Test
  void theCertificateIsRenewedBeforeItExpiresAndNoPodRestarts() throws Exception {
    fleet.apply("""
        apiVersion: apps/v1
        kind: DaemonSet
        metadata: {name: steady}
        spec:
          selector: {matchLabels: {app: steady}}
          template:
            metadata: {labels: {app: steady}}
            spec:
              terminationGracePeriodSeconds: 1
              containers:
              - name: main
                image: local/busybox:1
                command: [sh, -c, "trap 'exit 0' TERM; sleep 2147483647 & wait"]
        """);
    TestFleet.await("steady Ready", 90, () -> fleet.readyOn("steady", host));
    Map<String, String> before = fleet.containers("steady", host);
    String serial = Pki.serialHex(Pki.certificate(Files.readString(statePki().resolve("node.pem"))));
    int renewalsBefore = agentLog().split("node certificate renewed", -1).length - 1;
    TestFleet.await("a renewal", 90, () -> agentLog().split("node certificate renewed", -1).length - 1 > renewalsBefore);
    TestFleet.await("session back and the pod Ready", 60, () -> fleet.nodes().get(host.name).getReady() && fleet.readyOn("steady", host));
    assertThat(Pki.serialHex(Pki.certificate(Files.readString(statePki().resolve("node.pem"))))).isNotEqualTo(serial);
    assertThat(fleet.containers("steady", host)).as("same containers, same start times").isEqualTo(before);
  }

  @Test
  void aRemovedNodesCertificateStopsWorking() throws Exception {
    // a host of its own, removed here: the other scenarios keep theirs
    TestHost gone = fleet.addHost(2);
    try {
      TestFleet.await("host2 Ready", 90, () -> fleet.nodes().containsKey(gone.name) && fleet.nodes().get(gone.name).getReady()
          && Files.exists(statePki(gone).resolve("node.pem")));
      Path saved = fleet.root.resolve("stolen-pki");
      Files.createDirectories(saved);
      for (String f : new String[] {"node.pem", "ca.crt"}) {
        Files.copy(statePki(gone).resolve(f), saved.resolve(f), StandardCopyOption.REPLACE_EXISTING);
      }
      fleet.dsctlOk("node", "rm", gone.name);
      TestFleet.await("the agent exits, told it was removed", 60, () -> !gone.agent.isAlive());
      // the removed node's key and certificate, put back, without a join token: refused
      for (String f : new String[] {"node.pem", "ca.crt"}) {
        Files.copy(saved.resolve(f), statePki(gone).resolve(f), StandardCopyOption.REPLACE_EXISTING);
      }
      gone.withJoinToken = false;
      gone.startAgent();
      TestFleet.await("the certificate refused", 60, () -> agentLog(gone).contains("refused this node's certificate"));
      assertThat(agentLog(gone)).contains("revoked");
      assertThat(fleet.nodes()).doesNotContainKey(gone.name);
    } finally {
      fleet.removeHost(2);
    }
  }
}
