package io.dsfleet.agent.runtime;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * An in-memory {@link ContainerRuntime}: containers start and stop instantly, exec answers from a
 * rule a test sets. For unit tests of the reconciler and for simulating thousands of nodes.
 * Records every call, so tests assert what was asked of it.
 */
public final class FakeRuntime implements ContainerRuntime {
  private final Clock clock;
  private final Map<String, Fake> containers = new LinkedHashMap<>();
  private final AtomicLong ids = new AtomicLong();
  private final Set<String> images = new HashSet<>();
  public final List<String> calls = new ArrayList<>();
  private final boolean recordCalls;
  private volatile Function<List<String>, ExecResult> execRule = cmd -> new ExecResult(0, "");
  private volatile boolean down;

  private static final class Fake {
    ContainerSpec spec;
    String id;
    String state = "created";
    int exitCode;
    Instant started;
    Instant finished;
  }

  public FakeRuntime(Clock clock) {
    this(clock, true);
  }

  /** @param recordCalls false for long simulations, where {@link #calls} would only grow */
  public FakeRuntime(Clock clock, boolean recordCalls) {
    this.clock = clock;
    this.recordCalls = recordCalls;
  }

  private void record(String call) {
    if (recordCalls) {
      calls.add(call);
    }
  }

  public synchronized void addImage(String image) {
    images.add(image);
  }

  public void setExecRule(Function<List<String>, ExecResult> rule) {
    this.execRule = rule;
  }

  /** Simulates the runtime being unreachable. */
  public void setDown(boolean down) {
    this.down = down;
  }

  private void check() {
    if (down) {
      throw new RuntimeUnavailableException("fake runtime is down", null);
    }
  }

  /** A container's process exits on its own. */
  public synchronized void crash(String id, int exitCode) {
    Fake f = containers.get(id);
    f.state = "exited";
    f.exitCode = exitCode;
    f.finished = clock.instant();
  }

  public synchronized List<ContainerSpec> specs() {
    return containers.values().stream().map(f -> f.spec).toList();
  }

  @Override
  public synchronized List<ContainerInfo> listOwned(String node) {
    check();
    return containers.values().stream()
        .filter(f -> "true".equals(f.spec.labels().get(Labels.MANAGED)) && node.equals(f.spec.labels().get(Labels.NODE)))
        .map(this::info).toList();
  }

  private ContainerInfo info(Fake f) {
    return new ContainerInfo(f.id, f.spec.name(), f.spec.labels(), f.state, f.exitCode, f.started, f.finished, null,
        "host".equals(f.spec.networkMode()) ? null : "10.0.0." + (Long.parseLong(f.id.substring(1)) % 250 + 1), null);
  }

  @Override
  public synchronized ContainerInfo inspect(String id) {
    check();
    Fake f = containers.get(id);
    if (f == null) {
      throw new IllegalArgumentException("no such container " + id);
    }
    return info(f);
  }

  @Override
  public synchronized boolean imagePresent(String image) {
    check();
    return images.contains(image);
  }

  @Override
  public String imageUser(String image) {
    return "";
  }

  @Override
  public synchronized void pull(String image, Map<String, String> auth) {
    check();
    record("pull " + image);
    images.add(image);
  }

  @Override
  public synchronized String create(ContainerSpec spec) {
    check();
    record("create " + spec.name());
    containers.values().removeIf(f -> f.spec.name().equals(spec.name()));
    Fake f = new Fake();
    f.spec = spec;
    f.id = "c" + ids.incrementAndGet();
    containers.put(f.id, f);
    return f.id;
  }

  @Override
  public synchronized void start(String id) {
    check();
    record("start " + containers.get(id).spec.name());
    Fake f = containers.get(id);
    f.state = "running";
    f.started = clock.instant();
    f.finished = null;
  }

  @Override
  public synchronized void stop(String id, Duration grace) {
    check();
    Fake f = containers.get(id);
    if (f != null && f.state.equals("running")) {
      record("stop " + f.spec.name());
      f.state = "exited";
      f.exitCode = 143;
      f.finished = clock.instant();
    }
  }

  @Override
  public synchronized void remove(String id) {
    check();
    Fake f = containers.remove(id);
    if (f != null) {
      record("remove " + f.spec.name());
    }
  }

  @Override
  public ExecResult exec(String id, List<String> command, Duration timeout) {
    check();
    synchronized (this) {
      record("exec " + String.join(" ", command));
    }
    return execRule.apply(command);
  }

  @Override
  public AutoCloseable logs(String id, int tail, boolean follow, Consumer<String> line, Runnable done) {
    line.accept("fake log line of " + id);
    done.run();
    return () -> { };
  }

  @Override
  public String ensureSandboxImage() {
    check();
    return PauseImage.NAME;
  }
}
