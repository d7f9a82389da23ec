package io.dsfleet.agent;

import static io.dsfleet.agent.DockerHarness.ds;
import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.common.testing.FreePorts;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A host-network pod's probes go to its pod IP, the node's address, as the kubelet's go: a server
 * listening on {@code $(POD_IP)} alone answers there (node-exporter's kube-rbac-proxy binds so).
 * Until 2026-12-08 they went to the loopback, where it does not answer, and such a pod was never
 * Ready (helper-202).
 */
class HostNetworkProbesTest {
  static final String POD = DockerFieldsTest.POD;
  static final String C0 = DockerFieldsTest.C0;
  @TempDir Path tmp;
  DockerHarness h;

  @AfterEach
  void close() {
    if (h != null) {
      h.close();
    }
  }

  @Test
  void aServerOnThePodIpAloneIsReady() throws Exception {
    String ip = HostAddress.detect().address(); // what the agent takes when no --address is given
    Assumptions.assumeFalse(ip.equals("127.0.0.1"), "skipped: this host has no IPv4 address but the loopback's");
    int port = FreePorts.pick();
    h = DockerHarness.withAddress(tmp.resolve("state"), ip);
    h.run(ds(POD + ".hostNetwork", "true", C0 + ".command", "[sh, -c, 'exec httpd -f -p $(POD_IP):" + port + " -h /www']",
        C0 + ".env", "[{name: POD_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}]",
        C0 + ".readinessProbe", "{httpGet: {port: " + port + ", path: /index.html}, periodSeconds: 1}"));
    h.awaitStatus(p -> p.getReady(), Duration.ofSeconds(30));
    assertThat(h.sh("main", "echo $POD_IP")).isEqualTo(ip);
  }
}
