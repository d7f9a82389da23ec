package io.dsfleet.coordinator.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.coordinator.grpc.CoordinatorFixture;
import io.dsfleet.coordinator.grpc.FakeAgent;
import io.dsfleet.coordinator.metrics.CoordinatorMetrics;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import java.io.ByteArrayOutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * Which build each node runs, where operators look: the agent's version and commit (its jar's
 * Implementation-Version, io.dsfleet.common.BuildIdentity) as it reports it, in dsctl get nodes -o
 * wide and describe node, and the coordinator's own build in dsfleet_build_info.
 */
class BuildIdentityShownTest {
  /** What an agent built from a checkout with changes reports (AgentMain.VERSION). */
  static final String AGENT_BUILD = "0.1.0-SNAPSHOT+1a2b3c4d5e6f-dirty";

  @TempDir Path dir;
  CoordinatorFixture c;
  String addr;

  @BeforeEach
  void start() throws Exception {
    c = new CoordinatorFixture(dir.resolve("data"));
    addr = "127.0.0.1:" + c.server.port();
  }

  @AfterEach
  void stop() {
    c.close();
  }

  String dsctl(String... args) {
    StringWriter out = new StringWriter();
    CommandLine cl = Dsctl.commandLine();
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(new StringWriter(), true));
    String[] withAddr = new String[args.length + 3];
    withAddr[0] = args[0];
    withAddr[1] = "--coordinator";
    withAddr[2] = addr;
    withAddr[3] = "--insecure";
    System.arraycopy(args, 1, withAddr, 4, args.length - 1);
    assertThat(cl.execute(withAddr)).as("dsctl %s", String.join(" ", args)).isZero();
    return out.toString();
  }

  @Test
  void theAgentsBuildReachesGetNodesWideAndDescribe() {
    FakeAgent a = new FakeAgent(c.server.port(), "node-a");
    try {
      assertThat(a.joinExpectingError(FakeAgent.info("node-a", Map.of()).toBuilder().setAgentVersion(AGENT_BUILD).build())).isNull();
      a.open();
      Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> c.server.fleet().connected("node-a"));
      assertThat(dsctl("get", "nodes", "-o", "wide")).containsPattern("(?m)^node-a\\s.*\\s" + java.util.regex.Pattern.quote(AGENT_BUILD) + "\\s");
      assertThat(dsctl("describe", "node", "node-a")).containsPattern("(?m)^Agent:\\s+" + java.util.regex.Pattern.quote(AGENT_BUILD) + " \\(linux/amd64\\)$");
    } finally {
      a.close();
    }
  }

  @Test
  void theCoordinatorsMetricsCarryItsBuild() throws Exception {
    var text = new ByteArrayOutputStream();
    PrometheusTextFormatWriter.create().write(text, CoordinatorMetrics.registry(c.server, c.clock).scrape());
    // classes outside a jar: "dev", the commit not known (a jar's: "0.1.0-SNAPSHOT", "1a2b3c4d5e6f")
    assertThat(text.toString(StandardCharsets.UTF_8)).contains("dsfleet_build_info{commit=\"unknown\",version=\"dev\"} 1");
  }
}
