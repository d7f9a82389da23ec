package io.dsfleet.agent.runtime;

import com.github.dockerjava.api.command.CreateContainerCmd;
import com.github.dockerjava.api.command.CreateContainerResponse;
import com.github.dockerjava.api.model.BindOptions;
import com.github.dockerjava.api.model.BindPropagation;
import com.github.dockerjava.api.model.Capability;
import com.github.dockerjava.api.model.ExposedPort;
import com.github.dockerjava.api.model.HealthCheck;
import com.github.dockerjava.api.model.HostConfig;
import com.github.dockerjava.api.model.InternetProtocol;
import com.github.dockerjava.api.model.LogConfig;
import com.github.dockerjava.api.model.Mount;
import com.github.dockerjava.api.model.MountType;
import com.github.dockerjava.api.model.Ports;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/** A {@link ContainerSpec} as Docker's create takes it: the container's settings and its host config (no call made here). */
final class DockerContainers {
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(DockerContainers.class);
  /** Docker's warnings logged so far, each text once an agent process: every create of a node may bring the same one. */
  private static final Set<String> warned = ConcurrentHashMap.newKeySet();
  /** Distinct warnings logged at most: a daemon's texts are few; one naming each container would be a log line a create. */
  private static final int MAX_WARNINGS = 32;

  private DockerContainers() {}

  /**
   * The ID of the container a create made, its warnings logged: Docker makes the container even
   * where it discards a setting it cannot apply, and says so only here (a PidsLimit on a host
   * without the pids cgroup: "PIDs limit discarded"), as {@code docker run} prints them.
   */
  static String created(CreateContainerResponse made, String name) {
    for (String w : made.getWarnings() == null ? new String[0] : made.getWarnings()) {
      if (w != null && !w.isBlank() && warned.size() < MAX_WARNINGS && warned.add(w)) {
        // one line, of the daemon's text, in which an image's own fields may stand (its platform's name, newer daemons)
        String text = io.dsfleet.common.LogFormat.oneLine(w.length() > 512 ? w.substring(0, 512) + "..." : w.strip());
        log.warn("Docker warned as it made container {}: {} (each warning logged once)", name, text);
      }
    }
    return made.getId();
  }

  /**
   * Sets {@code cmd} (a create of the spec's image) to make the container {@code spec} says, with at
   * most {@code pidsLimit} processes (0: no bound); returns it.
   */
  static CreateContainerCmd render(CreateContainerCmd cmd, ContainerSpec spec, long pidsLimit) {
    HostConfig host = HostConfig.newHostConfig()
        .withNetworkMode(spec.networkMode())
        .withIpcMode(spec.ipcMode())
        .withPrivileged(spec.privileged())
        .withReadonlyRootfs(spec.readOnlyRootfs())
        .withSecurityOpts(spec.securityOpts())
        .withMounts(mounts(spec.mounts()));
    if (spec.pidMode() != null) {
      host.withPidMode(spec.pidMode());
    }
    if (!spec.capAdd().isEmpty()) {
      host.withCapAdd(capabilities(spec.capAdd()));
    }
    if (!spec.capDrop().isEmpty()) {
      host.withCapDrop(capabilities(spec.capDrop()));
    }
    if (!spec.groupAdd().isEmpty()) {
      host.withGroupAdd(spec.groupAdd());
    }
    if (spec.nanoCpus() > 0) {
      host.withNanoCPUs(spec.nanoCpus());
    }
    if (spec.memoryBytes() > 0) {
      host.withMemory(spec.memoryBytes()).withMemorySwap(spec.memoryBytes()); // memory + swap = memory: no swap, as the kubelet
    }
    if (spec.cpuShares() > 0) {
      host.withCpuShares((int) spec.cpuShares());
    }
    if (pidsLimit > 0) {
      host.withPidsLimit(pidsLimit);
    }
    // the kubelet's container log rotation defaults (containerLogMaxSize 10Mi, containerLogMaxFiles 5)
    host.withLogConfig(new LogConfig(LogConfig.LoggingType.JSON_FILE, Map.of("max-size", "10m", "max-file", "5")));
    List<ExposedPort> exposed = new ArrayList<>();
    Ports bindings = new Ports();
    for (ContainerSpec.PortBinding p : spec.ports()) {
      ExposedPort e = new ExposedPort(p.containerPort(), InternetProtocol.parse(p.protocol().toLowerCase()));
      exposed.add(e);
      if (p.hostPort() > 0) {
        bindings.bind(e, p.hostIp() == null ? Ports.Binding.bindPort(p.hostPort()) : Ports.Binding.bindIpAndPort(p.hostIp(), p.hostPort()));
      }
    }
    host.withPortBindings(bindings);
    cmd.withName(spec.name()).withLabels(spec.labels())
        .withEnv(spec.env().entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).toList())
        .withTty(spec.tty()).withStdinOpen(spec.stdin()).withExposedPorts(exposed).withHostConfig(host);
    if (Labels.SANDBOX.equals(spec.labels().get(Labels.ROLE))) {
      // its /pause is PID 1 without a handler, so SIGTERM does nothing to it: a `docker stop`, and
      // dockerd's own at its shutdown or restart, waited out their 10 s for each sandbox (the agent
      // itself stops a sandbox with no grace, after its containers)
      cmd.withStopSignal("SIGKILL");
    }
    if (spec.entrypoint() != null) {
      cmd.withEntrypoint(spec.entrypoint());
    }
    if (spec.cmd() != null) {
      cmd.withCmd(spec.cmd());
    }
    if (spec.workingDir() != null) {
      cmd.withWorkingDir(spec.workingDir());
    }
    if (spec.user() != null) {
      cmd.withUser(spec.user());
    }
    if (spec.hostname() != null) {
      cmd.withHostName(spec.hostname());
    }
    if (spec.health() != null && spec.health().off()) {
      cmd.withHealthcheck(new HealthCheck().withTest(List.of("NONE")));
    } else if (spec.health() != null) { // Docker takes the image's test, timeout and retries for what is not set here
      cmd.withHealthcheck(new HealthCheck().withInterval(spec.health().intervalNanos()).withStartInterval(spec.health().startIntervalNanos()));
    }
    return cmd;
  }

  private static List<Mount> mounts(List<ContainerSpec.Mount> mounts) {
    List<Mount> out = new ArrayList<>();
    for (ContainerSpec.Mount m : mounts) {
      Mount mount = new Mount().withType(MountType.BIND).withSource(m.source()).withTarget(m.target()).withReadOnly(m.readOnly());
      // no propagation given: Docker's default, rprivate, or rslave for a source inside its data root
      // (where an explicit rprivate is refused: the fluentd manifests mount /var/lib/docker/containers)
      if (m.propagation() != null) {
        mount.withBindOptions(new BindOptions().withPropagation(m.propagation().equals("rshared") ? BindPropagation.R_SHARED : BindPropagation.R_SLAVE));
      }
      out.add(mount);
    }
    return out;
  }

  private static Capability[] capabilities(List<String> names) {
    return names.stream().map(n -> {
      String bare = n.toUpperCase().startsWith("CAP_") ? n.substring(4).toUpperCase() : n.toUpperCase();
      try {
        return Capability.valueOf(bare);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("capability " + n + " is not known to this agent's Docker client");
      }
    }).toArray(Capability[]::new);
  }
}
