package io.dsfleet.agent.runtime;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * The container runtime the agent acts through; only the executor and the session call it.
 * Removing or stopping something already gone is success. Every method may throw
 * {@link RuntimeUnavailableException} when the runtime cannot be reached.
 */
public interface ContainerRuntime {
  /**
   * Every container labelled {@link Labels#MANAGED} for this node ({@link Labels#NODE}), running or
   * not, plus {@code more} labels when given. Labels are as Docker reports them: check them with
   * {@link OwnedContainer#of} before use.
   */
  List<ContainerInfo> listOwned(String node, Map<String, String> more);

  /**
   * One container as {@link #listOwned} gives it, by id: empty when it is gone or not this node's
   * (its labels). Throws as an inspect does when the runtime answers with an error.
   */
  Optional<ContainerInfo> inspectOwned(String node, String id);

  default List<ContainerInfo> listOwned(String node) {
    return listOwned(node, Map.of());
  }

  /** The local image, or empty when it is not here. */
  Optional<ImageInfo> inspectImage(String image);

  /**
   * Pulls an image.
   *
   * @param auth registry credentials (username, password, serveraddress) or null
   */
  void pull(String image, Map<String, String> auth);

  /**
   * Creates a container; returns its id.
   *
   * @throws NameConflictException when the name is taken (the holder is left alone)
   */
  String create(ContainerSpec spec);

  void start(String id);

  /** Sends SIGTERM, waits up to {@code grace}, then SIGKILL. */
  void stop(String id, Duration grace);

  /**
   * Removes a container; throws when the runtime cannot (the caller retries later).
   *
   * @param force also a running one (else the runtime refuses it)
   */
  void remove(String id, boolean force);

  /** Runs a command inside a running container; returns its exit code, or -1 on timeout. */
  ExecResult exec(String id, List<String> command, Duration timeout);

  /** Log lines of a container: the last {@code tail} (negative: all), then new ones while {@code follow}. Returns a handle that stops following. */
  AutoCloseable logs(String id, int tail, boolean follow, Consumer<String> line, Runnable done);

  /** Whether the runtime answers: returns, or throws {@link RuntimeUnavailableException}. */
  void ping();

  /**
   * Follows the runtime's container events for this node's containers: {@code onEvent} for each
   * one, with its container's id (or null) and the key (namespace/name) of the pod its container's
   * labels name (or null); {@code
   * onEnd} once when the stream ends (the runtime went away, or the stream was quiet for longer
   * than the transport waits). Every event after the call is delivered, also one that
   * came before the runtime took the subscription (a list made after this call misses nothing);
   * a few from just before the call may be delivered too. Returns a handle that stops following.
   */
  AutoCloseable watch(String node, Consumer<Event> onEvent, Consumer<Throwable> onEnd);

  /** A container's event: its id and its pod's key (namespace/name), each null when the event does not say. */
  record Event(String id, String podKey) {}

  /**
   * What this node's containers (every one {@link #listOwned} gives) wrote to their writable
   * layers, in bytes by container ID, and the directory the runtime keeps them under: for disk
   * pressure. Costly (the runtime walks each layer): called only under pressure. A runtime whose
   * layers the agent can walk itself (Docker's overlay2: their upper directories) says no bytes.
   */
  WritableLayers writableLayers(String node);

  /**
   * The bytes each container wrote to its writable layer, by ID, the directory those layers lie in,
   * and the directories of each container's anonymous volumes (the runtime makes one for each
   * {@code VOLUME} of its image that no mount covers), by ID: the container writes them as its own
   * file system, but they are not its layer's.
   */
  record WritableLayers(java.nio.file.Path root, Map<String, Long> bytesById, Map<String, List<java.nio.file.Path>> volumesById) {
    public WritableLayers(java.nio.file.Path root, Map<String, Long> bytesById) {
      this(root, bytesById, Map.of());
    }
  }

  /** Makes sure the pod sandbox image exists locally; returns what to create sandboxes from (its ID, which no tag can move). */
  String ensureSandboxImage();

  record ExecResult(int exitCode, String output) {}
}
