package io.dsfleet.agent;

import io.dsfleet.common.model.Taint;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * ds-agent's options (docs/agent.md lists each with its flag, config key, environment variable
 * and default).
 *
 * @param coordinators coordinator addresses, HOST:PORT, tried in turn
 * @param address the address reported as the node's (status.hostIP); default: {@link HostAddress#detect}'s
 * @param heartbeatInterval null: the coordinator's
 * @param leaveOnShutdown leave the fleet (removing every owned container) when stopped
 * @param joinToken the join token for a node without its certificate yet; null when none
 * @param insecure plaintext gRPC without credentials (the coordinator must run --insecure too)
 * @param restartBackoff how long failed containers, pulls and sandboxes wait before the next try
 * @param relistInterval how often every container is listed while Docker's event stream runs
 * @param passInterval how often a reconcile pass runs when nothing wakes one sooner
 * @param metricsListen where the Prometheus endpoint listens (plain HTTP); null: none
 * @param podPidsLimit the most processes each container of a pod may run (Docker's PidsLimit); 0: no bound, as Kubernetes' default
 */
public record AgentOptions(List<String> coordinators, String nodeName, Path stateDir, String dockerHost,
    Map<String, String> labels, List<Taint> taints, String address, Duration heartbeatInterval, boolean leaveOnShutdown,
    String joinToken, boolean insecure, io.dsfleet.agent.reconcile.Backoff restartBackoff, Duration relistInterval,
    Duration passInterval, java.net.InetSocketAddress metricsListen, long podPidsLimit) {

  /** The most PIDs Linux gives out on 64 bits (PID_MAX_LIMIT): a bound above it bounds nothing. */
  static final long MAX_PIDS = 4_194_304;

  /**
   * The option podPidsLimit: a count of processes from 1 to {@link #MAX_PIDS}, or -1 (the kubelet's
   * spelling) or none given for no bound (0 here); anything else is refused naming it.
   */
  static long podPidsLimit(String value) {
    if (value == null || value.trim().equals("-1")) {
      return 0;
    }
    try {
      long n = Long.parseLong(value.trim());
      if (n >= 1 && n <= MAX_PIDS) {
        return n;
      }
    } catch (NumberFormatException e) {
      // the message below names the option
    }
    throw new IllegalArgumentException("podPidsLimit " + value + ": must be a count of processes from 1 to " + MAX_PIDS
        + " (each container of a pod), or -1 for none");
  }

  /** The node's credentials: plaintext when insecure, else its certificate or join token under the state directory. */
  public io.dsfleet.agent.session.NodeCredentials credentials(java.time.Clock clock) {
    return insecure ? io.dsfleet.agent.session.NodeCredentials.insecure()
        : io.dsfleet.agent.session.NodeCredentials.tls(stateDir, nodeName, joinToken, clock);
  }

  @Override
  public String toString() {
    return "AgentOptions[node=" + nodeName + ", coordinators=" + coordinators + ", insecure=" + insecure + "]";
  }
}
