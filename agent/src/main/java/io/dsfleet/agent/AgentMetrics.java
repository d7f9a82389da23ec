package io.dsfleet.agent;

import io.dsfleet.agent.reconcile.Reconciler;
import io.dsfleet.agent.session.CoordinatorSession;
import io.dsfleet.proto.v1.ContainerStatus;
import io.dsfleet.proto.v1.PodStatus;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The registry ds-agent serves (docs/operations.md lists each metric): the instruments counted
 * where things happen ({@link io.dsfleet.agent.metrics.AgentCounters}), and what the node runs
 * now read from the agent's last pod report when Prometheus scrapes.
 */
final class AgentMetrics {
  private AgentMetrics() {}

  static PrometheusRegistry registry(Reconciler reconciler, CoordinatorSession session) {
    PrometheusRegistry r = new PrometheusRegistry();
    io.dsfleet.agent.metrics.AgentCounters.registerAll(r);
    AgentMain.BUILD.register(r);
    r.register(GaugeWithCallback.builder().name("dsfleet_agent_pods").help("Pods this node runs, by phase (the agent's last report)")
        .labelNames("phase").callback(cb -> count(reconciler.lastReport(), PodStatus::getPhase).forEach((phase, n) -> cb.call(n, phase)))
        .build());
    r.register(GaugeWithCallback.builder().name("dsfleet_agent_pods_ready").help("Pods this node runs Ready")
        .callback(cb -> cb.call(reconciler.lastReport().stream().filter(PodStatus::getReady).count())).build());
    r.register(GaugeWithCallback.builder().name("dsfleet_agent_containers")
        .help("Containers of this node's pods, by state: waiting, running, terminated").labelNames("state").callback(cb -> {
          Map<String, Integer> n = new TreeMap<>();
          for (PodStatus p : reconciler.lastReport()) {
            for (ContainerStatus c : p.getContainersList()) {
              n.merge(c.getState(), 1, Integer::sum);
            }
          }
          n.forEach((state, count) -> cb.call(count, state));
        }).build());
    r.register(GaugeWithCallback.builder().name("dsfleet_agent_container_status_waiting_reason")
        .help("1 for each container waiting, with why (CrashLoopBackOff, ImagePullBackOff, ...), as kube-state-metrics'"
            + " kube_pod_container_status_waiting_reason")
        .labelNames("namespace", "daemonset", "pod", "container", "reason").callback(cb -> {
          for (PodStatus p : reconciler.lastReport()) {
            for (ContainerStatus c : p.getContainersList()) {
              if (c.getState().equals("waiting") && !c.getReason().isEmpty()) {
                cb.call(1, p.getNamespace(), p.getDaemonSet(), p.getPodName(), c.getName(), c.getReason());
              }
            }
          }
        }).build());
    r.register(GaugeWithCallback.builder().name("dsfleet_agent_container_status_restarts")
        .help("Times each container of this node's pods was restarted (the pod's restartCount)")
        .labelNames("namespace", "daemonset", "pod", "container").callback(cb -> {
          for (PodStatus p : reconciler.lastReport()) {
            for (ContainerStatus c : p.getContainersList()) {
              cb.call(c.getRestartCount(), p.getNamespace(), p.getDaemonSet(), p.getPodName(), c.getName());
            }
          }
        }).build());
    r.register(GaugeWithCallback.builder().name("dsfleet_agent_desired_set_version")
        .help("Version of the desired set the agent runs (0: none yet)").callback(cb -> cb.call(reconciler.desiredVersion())).build());
    r.register(GaugeWithCallback.builder().name("dsfleet_agent_session_connected")
        .help("1 while the agent holds a session with a coordinator").callback(cb -> cb.call(session.connected() ? 1 : 0)).build());
    r.register(GaugeWithCallback.builder().name("dsfleet_agent_runtime_up")
        .help("1 while Docker answers the agent").callback(cb -> cb.call(reconciler.runtimeCondition().down() ? 0 : 1)).build());
    return r;
  }

  private static Map<String, Integer> count(List<PodStatus> pods, java.util.function.Function<PodStatus, String> key) {
    Map<String, Integer> n = new TreeMap<>();
    pods.forEach(p -> n.merge(key.apply(p), 1, Integer::sum));
    return n;
  }
}
