package io.dsfleet.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.dsfleet.common.testing.FreePorts;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import io.dsfleet.proto.v1.LogLine;
import io.dsfleet.proto.v1.LogsRequest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * What an operator sees of a real coordinator and agent (the built jars, as {@link LocalFleet} runs
 * them on this host's Docker daemon; one fleet for the class): Debian's Prometheus (scripts/test
 * installs it) scrapes both with examples/monitoring/'s scrape config and alert rules, its HTTP
 * API shows the fleet's series, the rules fire on a crash-looping pod and a rollout stuck on an
 * absent image, every metric the Grafana dashboard and the rules name is one the daemons export,
 * and promtool checks the exposition, the rules and the config; `dsctl logs --previous` reads the
 * crash-looping container's last crash (the agent keeps the run before the latest).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OperatorViewTest {
  static final Path EXAMPLES = Path.of(System.getProperty("dsfleet.jars", ".")).toAbsolutePath().resolve("examples/monitoring");
  static final ObjectMapper JSON = new ObjectMapper();
  static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
  /** A metric name in a PromQL expression: our own, and the scrape's `up`. */
  static final Pattern METRIC = Pattern.compile("\\b(dsfleet_[a-z0-9_]+|up)\\b");

  @TempDir static Path work; // static: made before @BeforeAll
  final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  LocalFleet fleet;
  Process prometheus;
  int prometheusPort;

  /** A healthy DaemonSet, one whose container exits at once (each run prints a line of its own), one whose image is absent. */
  @BeforeAll
  void fleet() {
    assumeTrue(Procs.run(List.of("docker", "info")).exit() == 0, "skipped: no Docker daemon (scripts/test starts one)");
    fleet = new LocalFleet(work.resolve("fleet")).startCoordinator().startAgent(LocalFleet.builtAgentJar(), "--restart-backoff", "1s");
    LocalFleet.await("the node Ready", 120, fleet::nodeReady);
    fleet.apply(daemonSet("mon-ok", ApplyBench.IMAGE, "IfNotPresent", "[sleep, \"3600\"]"));
    fleet.apply(daemonSet("mon-crash", ApplyBench.IMAGE, "IfNotPresent", "[sh, -c, \"echo run $(cat /proc/sys/kernel/random/uuid); exit 3\"]"));
    fleet.apply(daemonSet("mon-absent", "local/absent-" + ProcessHandle.current().pid() + ":1", "Never", "[sleep, \"3600\"]"));
  }

  @AfterAll
  void tearDown() throws Exception {
    if (prometheus != null) {
      prometheus.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      System.out.println("--- prometheus log ---\n" + Files.readString(work.resolve("prometheus.log")));
    }
    if (fleet != null) {
      fleet.close();
    }
  }

  @Test
  void prometheusScrapesTheDaemonsAndTheExampleRulesAndDashboardNameOnlyWhatTheyExport() throws Exception {
    assumeTrue(Procs.run(List.of("sh", "-c", "command -v prometheus && command -v promtool")).exit() == 0,
        "skipped: Debian's prometheus package is not installed (scripts/test installs it: scripts/ensure-test-tools.sh)");
    assertThat(Procs.run(List.of("promtool", "check", "rules", EXAMPLES.resolve("alerts.yml").toString())).exit())
        .as("promtool check rules examples/monitoring/alerts.yml").isZero();

    String coordinator = "127.0.0.1:" + fleet.coordinatorMetricsPort;
    String agent = "127.0.0.1:" + fleet.agentMetricsPort;
    for (String target : List.of(coordinator, agent)) {
      String exposition = get("http://" + target + "/metrics");
      Procs.Result check = promtool(exposition, "check", "metrics");
      assertThat(check.exit()).as("promtool check metrics on %s: %s", target, check.out()).isZero();
    }

    startPrometheus(coordinator, agent);
    // the fleet's series, through Prometheus
    awaitValue("dsfleet_daemonset_status_number_ready{daemonset=\"mon-ok\"}", 1);
    awaitValue("dsfleet_daemonset_status_desired_number_scheduled{daemonset=\"mon-crash\"}", 1);
    awaitValue("sum(dsfleet_nodes{condition=\"Ready\",status=\"true\"})", 1);
    awaitValue("dsfleet_agent_pods{job=\"ds-agent\",phase=\"Running\"} >= 1", null);
    awaitValue("up{job=\"ds-coordinator\"}", 1);
    awaitValue("sum(dsfleet_agent_backoffs_total{reason=\"ErrImageNeverPull\"}) > 0", null);
    awaitValue("sum(dsfleet_agent_container_restarts_total{reason=\"Error\"}) > 0", null);

    // the example's rules, evaluated by Prometheus on those series: a crash loop and a stuck rollout
    LocalFleet.await("DsfleetPodCrashLooping pending for mon-crash, DsfleetDaemonSetRolloutStuck for mon-absent", 120, 500,
        () -> alert("DsfleetPodCrashLooping", "mon-crash") && alert("DsfleetDaemonSetRolloutStuck", "mon-absent"));
    assertThat(alert("DsfleetDaemonSetRolloutStuck", "mon-ok")).as("a DaemonSet rolled out is not stuck").isFalse();

    // every metric the dashboard's panels and the rules query is one the daemons export
    Set<String> named = new TreeSet<>();
    JsonNode dashboard = JSON.readTree(EXAMPLES.resolve("grafana-dashboard.json").toFile());
    int queries = 0;
    for (JsonNode panel : dashboard.path("panels")) {
      for (JsonNode target : panel.path("targets")) {
        String expr = target.path("expr").asText("");
        assertThat(expr).as("panel %s: a query", panel.path("title")).isNotBlank();
        named.addAll(metrics(expr));
        queries++;
      }
    }
    assertThat(queries).as("the dashboard's queries").isGreaterThan(20);
    for (JsonNode group : YAML.readTree(EXAMPLES.resolve("alerts.yml").toFile()).path("groups")) {
      for (JsonNode rule : group.path("rules")) {
        named.addAll(metrics(rule.path("expr").asText()));
      }
    }
    Set<String> missing = new TreeSet<>();
    LocalFleet.await("every metric the dashboard and the rules name, scraped", 60, 1000, () -> {
      missing.clear();
      Set<String> scraped = new TreeSet<>();
      api("/api/v1/label/__name__/values").path("data").forEach(n -> scraped.add(n.asText()));
      named.stream().filter(n -> !scraped.contains(n)).forEach(missing::add);
      if (!missing.isEmpty()) {
        System.out.println("not scraped yet: " + missing);
      }
      return missing.isEmpty();
    });
    assertThat(named).contains("dsfleet_daemonset_status_number_available", "dsfleet_agent_pod_start_duration_seconds_bucket",
        "dsfleet_grpc_server_handled_total", "dsfleet_store_commit_duration_seconds_bucket");
  }

  @Test
  void logsPreviousReadsTheLastCrashOfACrashLoopingContainer() {
    LocalFleet.await("mon-crash restarted twice", 120, () -> fleet.pods("mon-crash").stream()
        .anyMatch(p -> p.getStatus().getContainersCount() > 0 && p.getStatus().getContainers(0).getRestartCount() >= 2));
    List<String> previous = logs("mon-crash", true);
    assertThat(previous).as("the previous run's output").hasSize(1);
    assertThat(previous.get(0)).matches("run [0-9a-f-]{36}");
    // the latest run (one line, or none yet when it was just created) is another run
    assertThat(logs("mon-crash", false)).hasSizeLessThanOrEqualTo(1).doesNotContain(previous.get(0));
    LocalFleet.await("mon-ok running", 120, () -> fleet.running("mon-ok", 0));
    List<String> none = logs("mon-ok", true);
    assertThat(none).as("a container that never restarted has no previous run").hasSize(1);
    assertThat(none.get(0)).contains("previous terminated container").contains("not found");
  }

  List<String> logs(String daemonSet, boolean previous) {
    List<String> out = new ArrayList<>();
    fleet.control().logs(LogsRequest.newBuilder().setNamespace("default").setDaemonSet(daemonSet).setPrevious(previous).build())
        .forEachRemaining((LogLine l) -> out.add(l.getLine()));
    return out;
  }

  /** {@link LocalFleet#daemonSet}'s, with a pull policy and a command of its own. */
  static String daemonSet(String name, String image, String pullPolicy, String command) {
    String sleeping = "command: [sleep, \"3600\"]";
    String yaml = LocalFleet.daemonSet(name, image, "");
    assertThat(yaml).contains(sleeping);
    return yaml.replace(sleeping, "imagePullPolicy: " + pullPolicy + "\n        command: " + command);
  }

  /** The example's scrape config, pointed at this test's daemons, scraping and evaluating every second. */
  void startPrometheus(String coordinator, String agent) throws Exception {
    ObjectNode config = (ObjectNode) YAML.readTree(EXAMPLES.resolve("prometheus.yml").toFile());
    ((ObjectNode) config.path("global")).put("scrape_interval", "1s").put("evaluation_interval", "1s");
    config.putArray("rule_files").add(EXAMPLES.resolve("alerts.yml").toString());
    List<String> jobs = new ArrayList<>();
    for (JsonNode job : config.path("scrape_configs")) {
      String name = job.path("job_name").asText();
      jobs.add(name);
      ArrayNode targets = ((ObjectNode) job.path("static_configs").get(0)).putArray("targets");
      targets.add(name.equals("ds-coordinator") ? coordinator : agent);
    }
    assertThat(jobs).containsExactly("ds-coordinator", "ds-agent");
    Path file = work.resolve("prometheus.yml");
    YAML.writeValue(file.toFile(), config);
    Procs.Result check = Procs.run(List.of("promtool", "check", "config", file.toString()));
    assertThat(check.exit()).as("promtool check config: %s", check.out()).isZero();
    prometheusPort = FreePorts.pick();
    prometheus = Procs.spawn(List.of("prometheus", "--config.file=" + file, "--storage.tsdb.path=" + work.resolve("tsdb"),
        "--web.listen-address=127.0.0.1:" + prometheusPort, "--log.level=warn"), work.resolve("prometheus.log"));
    LocalFleet.await("Prometheus ready", 60, 200, () -> {
      try {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + prometheusPort + "/-/ready")).build(),
            HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
      } catch (IOException e) {
        return false;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    });
  }

  /** Waits until the query has a result (with {@code value}: a series of that value). */
  void awaitValue(String query, Integer value) {
    LocalFleet.await("Prometheus: " + query + (value == null ? "" : " = " + value), 120, 500, () -> {
      for (JsonNode r : api("/api/v1/query?query=" + URLEncoder.encode(query, StandardCharsets.UTF_8)).path("data").path("result")) {
        if (value == null || Double.parseDouble(r.path("value").get(1).asText()) == value) {
          return true;
        }
      }
      return false;
    });
  }

  /** Whether Prometheus has the alert (pending or firing) for the DaemonSet. */
  boolean alert(String name, String daemonSet) {
    for (JsonNode a : api("/api/v1/alerts").path("data").path("alerts")) {
      if (a.path("labels").path("alertname").asText().equals(name) && a.path("labels").path("daemonset").asText().equals(daemonSet)) {
        return true;
      }
    }
    return false;
  }

  JsonNode api(String path) {
    try {
      JsonNode r = JSON.readTree(get("http://127.0.0.1:" + prometheusPort + path));
      assertThat(r.path("status").asText()).as("Prometheus API %s: %s", path, r).isEqualTo("success");
      return r;
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  String get(String url) {
    try {
      HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).as("GET %s", url).isEqualTo(200);
      return r.body();
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  static Set<String> metrics(String expr) {
    Set<String> out = new TreeSet<>();
    Matcher m = METRIC.matcher(expr);
    while (m.find()) {
      out.add(m.group(1));
    }
    return out;
  }

  /** promtool with {@code stdin} on its standard input. */
  static Procs.Result promtool(String stdin, String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("promtool"));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    try (var in = p.getOutputStream()) {
      in.write(stdin.getBytes(StandardCharsets.UTF_8));
    }
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IllegalStateException("promtool " + String.join(" ", args) + " did not end within 60 s");
    }
    return new Procs.Result(p.exitValue(), out);
  }
}
