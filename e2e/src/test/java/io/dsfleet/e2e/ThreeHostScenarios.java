package io.dsfleet.e2e;

import io.dsfleet.proto.v1.DaemonSetView;
import io.dsfleet.proto.v1.NodeView;
import io.dsfleet.proto.v1.PodView;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Scenarios on a fleet of three real hosts: network namespaces each with its own dockerd and
 * ds-agent process, a coordinator process, dsctl as a process. A class of scenarios shares one
 * fleet (brought up once, its hosts side by side) and nothing else: each scenario applies
 * DaemonSets of its own, puts back what it changed on a host (labels, taints, links, processes) in
 * a finally block, and after each one every DaemonSet left is deleted, so they pass or fail alone,
 * in any order.
 */
abstract class ThreeHostScenarios {
  /** The coordinator's Kubernetes API (its own port per e2e instance: the quickstart's coordinator may hold the default). */
  static final int KUBE_API_PORT = 16443 + TestFleet.INSTANCE;

  @RegisterExtension
  static final FleetPerClass FLEET = new FleetPerClass(3, "--kube-api-listen", "127.0.0.1:" + KUBE_API_PORT);
  static TestFleet fleet;

  @BeforeAll
  static void fleet() {
    fleet = FLEET.fleet;
  }

  /**
   * A DaemonSet of one container that asks for its pod's IP, so each pod is a sandbox and its
   * container (docs/agent.md): what these scenarios count. One container alone is the agent's tests'
   * and the quickstart's.
   */
  static String ds(String name, String extraSpec) {
    return """
        apiVersion: apps/v1
        kind: DaemonSet
        metadata: {name: %s}
        spec:
          selector: {matchLabels: {app: %s}}
          template:
            metadata: {labels: {app: %s}}
            spec:
              terminationGracePeriodSeconds: 2
        %s      containers:
              - name: main
                image: local/busybox:1
                command: [sh, -c, "trap 'exit 0' TERM; sleep 2147483647 & wait"]
                env:
                - {name: POD_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
        """.formatted(name, name, name, extraSpec);
  }

  /** Applies over the control API (set-up); {@code dsctl apply} as a process is the first scenario's. */
  static void apply(String yaml) {
    fleet.apply(yaml);
  }

  static Map<String, NodeView> nodes() {
    return fleet.nodes();
  }

  static List<PodView> pods(String ds) {
    return fleet.pods(ds);
  }

  static Optional<PodView> podOn(String ds, TestHost h) {
    return fleet.podOn(ds, h);
  }

  static boolean readyOn(String ds, TestHost h) {
    return fleet.readyOn(ds, h);
  }

  static Map<String, String> containers(String ds, TestHost h) {
    return fleet.containers(ds, h);
  }

  static DaemonSetView daemonSet(String name) {
    return fleet.daemonSet(name);
  }

  /** Applies a DaemonSet and waits until its pod is Ready on each of the three hosts. */
  static void applyEverywhere(String name) throws Exception {
    apply(ds(name, ""));
    for (TestHost h : hosts123()) {
      TestFleet.await(name + " Ready on " + h.name, 90, () -> readyOn(name, h));
    }
  }

  static List<TestHost> hosts123() {
    return List.of(fleet.host(1), fleet.host(2), fleet.host(3));
  }
}
