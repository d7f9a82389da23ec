package io.dsfleet.agent.runtime;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The container runtime the reconciler acts through. Removing something already gone is success.
 * Every method may throw {@link RuntimeUnavailableException} when the runtime cannot be reached;
 * the reconciler then waits and tries again.
 */
public interface ContainerRuntime {
  /** Every container carrying {@link Labels#MANAGED} and this node's {@link Labels#NODE} label, running or not. */
  List<ContainerInfo> listOwned(String node);

  ContainerInfo inspect(String id);

  boolean imagePresent(String image);

  /** The user an image runs as ("" for root by default), for runAsNonRoot. */
  String imageUser(String image);

  /**
   * Pulls an image.
   *
   * @param auth registry credentials (username, password, serveraddress) or null
   */
  void pull(String image, Map<String, String> auth);

  /** Creates a container; returns its id. */
  String create(ContainerSpec spec);

  void start(String id);

  /** Sends SIGTERM, waits up to {@code grace}, then SIGKILL. */
  void stop(String id, Duration grace);

  void remove(String id);

  /** Runs a command inside a running container; returns its exit code, or -1 on timeout. */
  ExecResult exec(String id, List<String> command, Duration timeout);

  /** Log lines of a container: the last {@code tail} (negative: all), then new ones while {@code follow}. Returns a handle that stops following. */
  AutoCloseable logs(String id, int tail, boolean follow, Consumer<String> line, Runnable done);

  /** Makes sure the pod sandbox image exists locally; returns its name. */
  String ensureSandboxImage();

  record ExecResult(int exitCode, String output) {}
}
