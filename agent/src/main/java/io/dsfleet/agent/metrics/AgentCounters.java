package io.dsfleet.agent.metrics;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.List;
import java.util.function.Supplier;

/**
 * What the agent counts where it happens, one set per process: Docker calls, pod starts, probe
 * results, restarts and back-offs. ds-agent serves them with what it runs now (AgentMetrics);
 * docs/operations.md says what each means.
 */
public final class AgentCounters {
  private AgentCounters() {}

  public static final Histogram DOCKER = Histogram.builder().name("dsfleet_agent_docker_operation_duration_seconds")
      .help("Docker API calls the agent made, by operation, seconds (errors included)").labelNames("operation").classicOnly()
      .classicUpperBounds(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
      .withoutExemplars().build();
  public static final Counter DOCKER_ERRORS = Counter.builder().name("dsfleet_agent_docker_operation_errors_total")
      .help("Docker API calls that failed, by operation (not Docker's no-such-container/image answers)").labelNames("operation").withoutExemplars().build();
  public static final Histogram POD_START = Histogram.builder().name("dsfleet_agent_pod_start_duration_seconds")
      .help("From a pod first desired on this node (a rolling update's replacement: its revision's first report) to its first"
          + " report as Running, seconds (pods the agent adopted running are not counted)").classicOnly().classicUpperBounds(0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 20, 30, 60, 120, 300, 600)
      .withoutExemplars().build();
  public static final Counter PROBES = Counter.builder().name("dsfleet_agent_probe_results_total")
      .help("Probe runs by probe (startup, liveness, readiness) and result (success, failure, or error: an exec the runtime"
          + " could not run, which counts as neither)").labelNames("probe", "result")
      .withoutExemplars().build();
  public static final Counter RESTARTS = Counter.builder().name("dsfleet_agent_container_restarts_total")
      .help("Containers started again after their last run ended, by how it ended: Completed (exit 0), Error, OOMKilled"
          + " (the kernel's OOM killer killed a process of it), or ContainerCannotRun (it never started)").labelNames("reason").withoutExemplars().build();
  public static final Counter BACKOFFS = Counter.builder().name("dsfleet_agent_backoffs_total")
      .help("Failures that made the agent wait before trying again (pulls, creates, starts, sandboxes, volumes), by reason")
      .labelNames("reason").withoutExemplars().build();
  public static final Counter STATE_WRITE_FAILURES = Counter.builder().name("dsfleet_agent_state_write_failures_total")
      .help("Writes of the desired set into the state directory that failed (a full or failing disk): the set is acted on"
          + " anyway and written again every 5 s").withoutExemplars().build();

  static {
    // bounded labels exported from the start, at 0: rate() and alerts see the first one
    for (String reason : List.of("Completed", "Error", "OOMKilled", "ContainerCannotRun")) {
      RESTARTS.labelValues(reason);
    }
    for (String probe : List.of("startup", "liveness", "readiness")) {
      PROBES.labelValues(probe, "success");
      PROBES.labelValues(probe, "failure");
      PROBES.labelValues(probe, "error");
    }
  }

  public static void registerAll(PrometheusRegistry r) {
    r.register(DOCKER);
    r.register(DOCKER_ERRORS);
    r.register(POD_START);
    r.register(PROBES);
    r.register(RESTARTS);
    r.register(BACKOFFS);
    r.register(STATE_WRITE_FAILURES);
  }

  /**
   * Runs a Docker call, timed and counted as {@code operation}; a failure counts as an error unless
   * {@code answer} says it is one of Docker's answers (an image or container not there).
   */
  public static <T> T docker(String operation, Supplier<T> call, java.util.function.Predicate<RuntimeException> answer) {
    long start = System.nanoTime();
    var errors = DOCKER_ERRORS.labelValues(operation); // exported at 0 once the operation ran
    try {
      return call.get();
    } catch (RuntimeException e) {
      if (!answer.test(e)) {
        errors.inc();
      }
      throw e;
    } catch (Error e) {
      errors.inc();
      throw e;
    } finally {
      DOCKER.labelValues(operation).observe((System.nanoTime() - start) / 1e9);
    }
  }
}
