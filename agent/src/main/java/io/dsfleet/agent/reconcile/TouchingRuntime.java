package io.dsfleet.agent.reconcile;

import io.dsfleet.agent.runtime.ContainerInfo;
import io.dsfleet.agent.runtime.ContainerRuntime;
import io.dsfleet.agent.runtime.ContainerSpec;
import io.dsfleet.agent.runtime.ImageInfo;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * The runtime as the {@link Executor} calls it: each call that changes a container marks it
 * changed in the {@link ContainerView} once it returned or failed, so the pass woken at the work's
 * end inspects the containers the agent touched instead of listing every one; a create that fails
 * names no container (Docker may have made it all the same), and has the next pass list.
 */
final class TouchingRuntime implements ContainerRuntime {
  private final ContainerRuntime runtime;
  private final ContainerView view;

  TouchingRuntime(ContainerRuntime runtime, ContainerView view) {
    this.runtime = runtime;
    this.view = view;
  }

  @Override
  public String create(ContainerSpec spec) {
    String id;
    try {
      id = runtime.create(spec);
    } catch (RuntimeException e) {
      view.changed();
      throw e;
    }
    view.changed(id);
    return id;
  }

  @Override
  public void start(String id) {
    marking(id, () -> runtime.start(id));
  }

  @Override
  public void stop(String id, Duration grace) {
    marking(id, () -> runtime.stop(id, grace));
  }

  @Override
  public void remove(String id, boolean force) {
    marking(id, () -> runtime.remove(id, force));
  }

  /** Runs a call on container {@code id}, which is marked changed once it returned or failed. */
  private void marking(String id, Runnable call) {
    try {
      call.run();
    } finally {
      view.changed(id);
    }
  }

  @Override
  public List<ContainerInfo> listOwned(String node, Map<String, String> more) {
    return runtime.listOwned(node, more);
  }

  @Override
  public Optional<ContainerInfo> inspectOwned(String node, String id) {
    return runtime.inspectOwned(node, id);
  }

  @Override
  public Optional<ImageInfo> inspectImage(String image) {
    return runtime.inspectImage(image);
  }

  @Override
  public void pull(String image, Map<String, String> auth) {
    runtime.pull(image, auth);
  }

  @Override
  public ExecResult exec(String id, List<String> command, Duration timeout) {
    return runtime.exec(id, command, timeout);
  }

  @Override
  public AutoCloseable logs(String id, int tail, boolean follow, Consumer<String> line, Runnable done) {
    return runtime.logs(id, tail, follow, line, done);
  }

  @Override
  public void ping() {
    runtime.ping();
  }

  @Override
  public AutoCloseable watch(String node, Consumer<Event> onEvent, Consumer<Throwable> onEnd) {
    return runtime.watch(node, onEvent, onEnd);
  }

  @Override
  public WritableLayers writableLayers(String node) {
    return runtime.writableLayers(node);
  }

  @Override
  public String ensureSandboxImage() {
    return runtime.ensureSandboxImage();
  }
}
