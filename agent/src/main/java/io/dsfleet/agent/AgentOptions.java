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
 * @param address the address reported as the node's (status.hostIP); default: the first
 *     non-loopback IPv4 address of the host
 * @param heartbeatInterval null: the coordinator's
 * @param leaveOnShutdown leave the fleet (removing every owned container) when stopped
 */
public record AgentOptions(List<String> coordinators, String nodeName, Path stateDir, String dockerHost,
    Map<String, String> labels, List<Taint> taints, String address, Duration heartbeatInterval, boolean leaveOnShutdown) {}
