package io.dsfleet.agent;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.common.testing.Processes;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The default node name is the kernel's hostname, as the kubelet's ({@code os.Hostname}), whether or
 * not the name resolves. It was {@code InetAddress.getLocalHost()}'s, which looks the hostname up
 * and fell back to "localhost" when the lookup failed (DNS not up yet at boot, a hostname not in
 * /etc/hosts): the agent then ran as node "localhost", every pod of the saved set started again
 * beside the node's own, and since the state directory records its node, such a first start after
 * an upgrade recorded "localhost", and every later start under the real name was refused.
 */
class DefaultNodeNameTest {
  @TempDir Path tmp;

  /** Prints the default node name, in a JVM whose name lookups all fail (an empty hosts file, no DNS asked). */
  public static void main(String[] args) {
    System.out.println("name=" + AgentMain.hostname());
  }

  @Test
  void theDefaultNodeNameIsTheKernelsHostnameWhenItDoesNotResolve() throws Exception {
    Path hosts = Files.writeString(tmp.resolve("hosts"), "# resolves nothing\n");
    var r = Processes.run(new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Djdk.net.hosts.file=" + hosts, "-cp", System.getProperty("java.class.path"), DefaultNodeNameTest.class.getName())
        .redirectErrorStream(true), Duration.ofSeconds(60));
    String kernel = Files.readString(Path.of("/proc/sys/kernel/hostname")).strip().toLowerCase(Locale.ROOT);
    assertThat(kernel).as("this host's name").isNotEqualTo("localhost"); // else the test could not tell the fallback
    assertThat(r.exit()).as(r.output()).isZero();
    assertThat(r.output()).contains("name=" + kernel + "\n");
  }
}
