package io.dsfleet.bench;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.model.ContainerSpec;
import com.github.dockerjava.api.model.Service;
import com.github.dockerjava.api.model.ServiceGlobalModeOptions;
import com.github.dockerjava.api.model.ServiceModeConfig;
import com.github.dockerjava.api.model.ServiceSpec;
import com.github.dockerjava.api.model.ServiceUpdateState;
import com.github.dockerjava.api.model.Task;
import com.github.dockerjava.api.model.TaskSpec;
import com.github.dockerjava.api.model.TaskState;
import com.github.dockerjava.api.model.UpdateConfig;
import com.github.dockerjava.core.DefaultDockerClientConfig;
import com.github.dockerjava.core.DockerClientImpl;
import com.github.dockerjava.zerodep.ZerodepDockerHttpClient;
import java.time.Duration;
import java.util.List;

/**
 * Docker Swarm global services, the peer, driven through the Engine API (the same client library
 * the agent uses), so no CLI start-up is in any timing. Setting the swarm up and down uses the
 * docker CLI and is never timed.
 */
final class Swarm {
  final String host;
  final DockerClient docker;
  /** Whether this harness made the swarm (init or join): only then does {@link #leave} leave it. */
  private volatile boolean ours;
  /** Leaves the swarm this harness made if the JVM ends first (an interrupted run): registered while it is ours. */
  private Thread leaveAtExit;

  /** The daemon is in a swarm this harness did not make: the peer is skipped, the swarm left alone. */
  static final class Busy extends IllegalStateException {
    Busy(String host) {
      super("the Docker daemon at " + host + " is already part of a swarm, which the benchmark neither changes nor"
          + " leaves: the Swarm peer is skipped (run it on a daemon outside any swarm)");
    }
  }

  Swarm(String host) {
    this.host = host;
    this.docker = client(host);
  }

  static DockerClient client(String host) {
    DefaultDockerClientConfig config = DefaultDockerClientConfig.createDefaultConfigBuilder().withDockerHost(host).build();
    return DockerClientImpl.getInstance(config, new ZerodepDockerHttpClient.Builder().dockerHost(config.getDockerHost())
        .connectionTimeout(Duration.ofSeconds(10)).responseTimeout(Duration.ofSeconds(60)).build());
  }

  String cli(String... args) {
    List<String> cmd = Procs.list("docker", "-H", host);
    cmd.addAll(List.of(args));
    Procs.Result r = Procs.run(cmd);
    if (r.exit() != 0) {
      throw new IllegalStateException(String.join(" ", cmd) + ": " + r.out());
    }
    return r.out().strip();
  }

  boolean active() {
    return "active".equals(cli("info", "--format", "{{.Swarm.LocalNodeState}}"));
  }

  /**
   * Makes this daemon a one-node swarm.
   *
   * @throws Busy when it is in a swarm already (someone's real one, maybe)
   */
  void init(String advertise) {
    if (active()) {
      throw new Busy(host);
    }
    ours(); // from here a half-finished init is ours to undo
    cli("swarm", "init", "--advertise-addr", advertise);
  }

  /**
   * {@link #init}, or the reason the peer is skipped (printed) when the daemon is in a swarm
   * already; "" when this daemon is now a one-node swarm of ours.
   */
  String initOrSkip(String advertise, java.io.PrintStream out) {
    try {
      init(advertise);
      return "";
    } catch (Busy e) {
      out.println("peer skipped: " + e.getMessage());
      return e.getMessage();
    }
  }

  /** @throws Busy when this daemon is in a swarm already */
  void join(Swarm manager, String advertise, String managerAddr) {
    if (active()) {
      throw new Busy(host);
    }
    ours(); // from here a half-finished join is ours to undo
    String token = manager.cli("swarm", "join-token", "-q", "worker");
    List<String> cmd = Procs.list("docker", "-H", host, "swarm", "join", "--advertise-addr", advertise, "--token", token,
        managerAddr + ":2377");
    Procs.Result r = Procs.run(cmd);
    if (r.exit() != 0 && !r.out().contains("will continue in the background")) {
      throw new IllegalStateException(String.join(" ", cmd) + ": " + r.out());
    }
    LocalFleet.await("the daemon at " + host + " in the swarm", 120, 500, this::active);
  }

  /**
   * The swarm is this harness's: left by {@link #leave}, or as the JVM ends if nothing left it before
   * (a benchmark stopped with Ctrl-C between its init and its leave left the daemon in a swarm,
   * and the next run then skipped the Swarm rows as for someone else's).
   */
  private synchronized void ours() {
    ours = true;
    if (leaveAtExit == null) {
      leaveAtExit = new Thread(this::leaveAtExit, "bench-swarm-leave");
      Runtime.getRuntime().addShutdownHook(leaveAtExit);
    }
  }

  /**
   * As the JVM ends with the swarm still ours: leaves it within {@link #EXIT_LEAVE}, whatever dockerd
   * does (a hung daemon, maybe why the run was stopped, must not hold the exit), without this
   * object's lock (a thread stopped inside {@link #leave} may hold it).
   */
  private void leaveAtExit() {
    if (!ours) {
      return;
    }
    System.err.println("leaving the swarm the benchmark made (if this does not end: docker -H " + host + " swarm leave --force)");
    try {
      Procs.Result r = Procs.run(Procs.list("docker", "-H", host, "swarm", "leave", "--force"), EXIT_LEAVE);
      if (r.exit() != 0) {
        System.err.println("docker swarm leave " + (r.exit() == -1 ? "did not end within " + EXIT_LEAVE.toSeconds() + " s"
            : "failed: " + r.out().strip()) + "; the swarm may remain");
      }
    } catch (RuntimeException e) {
      System.err.println("docker swarm leave failed: " + e.getMessage() + "; the swarm may remain");
    }
  }

  /** The longest the JVM's end waits for the swarm's leave. */
  static final Duration EXIT_LEAVE = Duration.ofSeconds(30);

  /** Leaves the swarm this harness made; a swarm it did not make is never touched. */
  synchronized void leave() {
    if (ours && active()) {
      cli("swarm", "leave", "--force");
    }
    ours = false;
    if (leaveAtExit != null && Thread.currentThread() != leaveAtExit) {
      try {
        Runtime.getRuntime().removeShutdownHook(leaveAtExit);
      } catch (IllegalStateException exiting) {
        // the JVM is ending: the hook finds nothing left to leave
      }
      leaveAtExit = null;
    }
  }

  int nodes() {
    return docker.listSwarmNodesCmd().exec().size();
  }

  /** Creates a global service of one sleeping container; returns its id. */
  String createGlobal(String name, String image) {
    return createGlobal(name, image, false);
  }

  /** @param hostNetwork on the host's network (`docker service create --network host`) */
  String createGlobal(String name, String image, boolean hostNetwork) {
    TaskSpec task = new TaskSpec().withContainerSpec(new ContainerSpec().withImage(image)
        .withCommand(List.of("sleep", "3600")).withStopGracePeriod(0L));
    if (hostNetwork) {
      task.withNetworks(List.of(new com.github.dockerjava.api.model.NetworkAttachmentConfig().withTarget("host")));
    }
    ServiceSpec spec = new ServiceSpec().withName(name)
        .withMode(new ServiceModeConfig().withGlobal(new ServiceGlobalModeOptions()))
        .withTaskTemplate(task)
        // monitor 0 means "the default, 5 s" to Swarm: 1 ms is the shortest it takes
        .withUpdateConfig(new UpdateConfig().withParallelism(1L).withDelay(0L).withMonitor(1_000_000L));
    return docker.createServiceCmd(spec).exec().getId();
  }

  /** Tasks of the service running with this image (Running state, desired Running). */
  long running(String serviceId, String image) {
    return tasks(serviceId).stream().filter(t -> t.getStatus() != null && t.getStatus().getState() == TaskState.RUNNING
        && t.getDesiredState() == TaskState.RUNNING && t.getSpec().getContainerSpec().getImage().startsWith(image)).count();
  }

  List<Task> tasks(String serviceId) {
    return docker.listTasksCmd().withServiceFilter(serviceId).exec();
  }

  /** `docker service update --image`: parallelism 1, no delay, no monitor period (as created). */
  void updateImage(String serviceId, String image) {
    Service s = docker.inspectServiceCmd(serviceId).exec();
    ServiceSpec spec = s.getSpec();
    spec.getTaskTemplate().getContainerSpec().withImage(image);
    docker.updateServiceCmd(serviceId, spec).withVersion(s.getVersion().getIndex()).exec();
  }

  boolean updateCompleted(String serviceId) {
    var status = docker.inspectServiceCmd(serviceId).exec().getUpdateStatus();
    return status != null && status.getState() == ServiceUpdateState.COMPLETED;
  }

  void remove(String serviceId) {
    docker.removeServiceCmd(serviceId).exec();
  }

  /** Waits until no container of the service is left on this daemon (so the next timing starts clean). */
  void awaitGone(String serviceId) {
    LocalFleet.await("service containers removed", 60, () -> docker.listContainersCmd().withShowAll(true)
        .withLabelFilter(java.util.Map.of("com.docker.swarm.service.id", serviceId)).exec().isEmpty());
  }
}
