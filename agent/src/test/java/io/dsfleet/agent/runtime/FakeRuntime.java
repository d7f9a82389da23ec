package io.dsfleet.agent.runtime;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * An in-memory {@link ContainerRuntime}: containers start and stop instantly, exec answers from a
 * rule a test sets, and failures can be injected per call. For unit tests of the agent and for
 * simulating thousands of nodes. Records every call, so tests assert what was asked of it.
 */
public final class FakeRuntime implements ContainerRuntime {
  private final Clock clock;
  private final Map<String, Fake> containers = new LinkedHashMap<>();
  private final AtomicLong ids = new AtomicLong();
  private final Map<String, ImageInfo> images = new HashMap<>();
  /** Read while probe and pod worker threads add to it: a copy-on-write list, safe to stream meanwhile. */
  public final List<String> calls = new CopyOnWriteArrayList<>();
  private final boolean recordCalls;
  private volatile Function<List<String>, ExecResult> execRule = cmd -> new ExecResult(0, "");
  private volatile boolean down;
  /** Failures to inject, by call ("pull IMAGE", "create NAME-PREFIX", "start NAME-PREFIX", "remove ID"): the message to fail with. */
  public final Map<String, String> failing = new java.util.concurrent.ConcurrentHashMap<>();

  private static final class Fake {
    ContainerSpec spec;
    /** The spec's labels but those left off ({@link #labelsLeftOff}). */
    Map<String, String> labels;
    String id;
    String state = "created";
    int exitCode;
    Instant created;
    Instant started;
    Instant finished;
    String error = "";
    boolean foreignImage;
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

  private void maybeFail(String call) {
    for (var e : failing.entrySet()) {
      if (call.startsWith(e.getKey())) {
        throw new IllegalStateException(e.getValue());
      }
    }
  }

  public synchronized void addImage(String image) {
    addImage(image, Map.of());
  }

  public synchronized void addImage(String image, Map<String, String> labels) {
    images.put(image, new ImageInfo("sha256:" + Integer.toHexString(image.hashCode()), "", labels));
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
  /** The container started again behind the agent's back ({@code docker start}): running, started now. */
  public synchronized void restart(String id) {
    Fake f = containers.get(id);
    f.state = "running";
    f.started = clock.instant();
    f.finished = null;
  }

  public synchronized void crash(String id, int exitCode) {
    Fake f = containers.get(id);
    f.state = "exited";
    f.exitCode = exitCode;
    f.finished = clock.instant();
  }

  /** A container someone else created, with any labels (e.g. the agent's, from an image that carries them). */
  public synchronized String addForeign(String name, Map<String, String> labels, boolean labelsFromImage) {
    Fake f = new Fake();
    f.spec = new ContainerSpec(name, "foreign", null, null, null, Map.of(), labels, List.of(), List.of(), "bridge", "private", null,
        false, List.of(), List.of(), null, List.of(), false, List.of(), 0, 0, 0, false, false, null, null);
    f.id = String.format("%064x", ids.incrementAndGet()); // as Docker's: a process's cgroup names it so
    f.created = clock.instant();
    f.state = "running";
    f.started = clock.instant();
    f.labels = labels;
    f.foreignImage = labelsFromImage;
    containers.put(f.id, f);
    return f.id;
  }

  public synchronized List<ContainerSpec> specs() {
    return containers.values().stream().map(f -> f.spec).toList();
  }

  public synchronized boolean exists(String id) {
    return containers.containsKey(id);
  }

  /** While set, a list waits for it (a hung daemon: its calls are accepted and never answered). */
  public volatile java.util.concurrent.CountDownLatch listsWaitFor;
  /** Which lists wait for {@link #listsWaitFor}, by their label filter: all unless set. */
  public volatile java.util.function.Predicate<Map<String, String>> listsThatWait = filter -> true;
  /** The label filters of the lists waiting for {@link #listsWaitFor} now. */
  public final java.util.Queue<Map<String, String>> listsWaiting = new java.util.concurrent.ConcurrentLinkedQueue<>();

  /** The label filters of the lists made so far, in order (the node's own labels left out: empty for a list of every container). */
  public final java.util.Queue<Map<String, String>> lists = new java.util.concurrent.ConcurrentLinkedQueue<>();
  /** Runs after each list, with its filter, before it returns (a test's event during a pass's list). */
  public volatile Consumer<Map<String, String>> afterList = filter -> { };

  @Override
  public List<ContainerInfo> listOwned(String node, Map<String, String> more) {
    if (recordCalls) {
      lists.add(Map.copyOf(more));
    }
    java.util.concurrent.CountDownLatch hung = listsWaitFor;
    if (hung != null && listsThatWait.test(more)) {
      listsWaiting.add(more);
      try {
        hung.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new RuntimeUnavailableException("interrupted while the fake runtime hung", e);
      } finally {
        listsWaiting.remove(more);
      }
    }
    List<ContainerInfo> out = listOwnedNow(node, more);
    afterList.accept(more);
    return out;
  }

  private synchronized List<ContainerInfo> listOwnedNow(String node, Map<String, String> more) {
    check();
    maybeFail("list");
    return containers.values().stream()
        .filter(f -> "true".equals(f.labels.get(Labels.MANAGED)) && node.equals(f.labels.get(Labels.NODE)))
        .filter(f -> more.entrySet().stream().allMatch(e -> e.getValue().equals(f.labels.get(e.getKey()))))
        .map(this::info).toList();
  }

  /** Containers whose image's labels Docker would not say, by ID, with why ({@link ContainerInfo#imageLabelsUnknown}). */
  public final Map<String, String> imageLabelsUnknown = new java.util.concurrent.ConcurrentHashMap<>();

  private ContainerInfo info(Fake f) {
    return new ContainerInfo(f.id, f.spec.name(), f.labels, f.state, f.exitCode, f.created, f.started, f.finished, null,
        "host".equals(f.spec.networkMode()) ? null : "10.0.0." + (Long.parseLong(f.id.substring(1), 16) % 250 + 1), f.error, f.foreignImage,
        imageLabelsUnknown.get(f.id));
  }

  @Override
  public synchronized Optional<ImageInfo> inspectImage(String image) {
    check();
    return Optional.ofNullable(images.get(image));
  }

  @Override
  public synchronized void pull(String image, Map<String, String> auth) {
    check();
    record("pull " + image);
    maybeFail("pull " + image);
    duringPull.accept(image);
    addImage(image);
  }

  /** Runs as a create begins, outside the fake's lock (a create that waits in Docker while others go on). */
  public volatile Consumer<ContainerSpec> beforeCreate = spec -> { };
  /** Labels a create leaves off the container it makes: a test's containers as an older agent made them, without a label of today's. */
  public final java.util.Set<String> labelsLeftOff = java.util.concurrent.ConcurrentHashMap.newKeySet();

  @Override
  public String create(ContainerSpec spec) {
    beforeCreate.accept(spec);
    return createNow(spec);
  }

  private synchronized String createNow(ContainerSpec spec) {
    check();
    record("create " + spec.name());
    maybeFail("create " + spec.name());
    if (containers.values().stream().anyMatch(f -> f.spec.name().equals(spec.name()))) {
      throw new NameConflictException(spec.name(), null);
    }
    Fake f = new Fake();
    f.spec = spec;
    Map<String, String> labels = new java.util.HashMap<>(spec.labels());
    labels.keySet().removeAll(labelsLeftOff);
    f.labels = Map.copyOf(labels);
    f.id = String.format("%064x", ids.incrementAndGet()); // as Docker's: a process's cgroup names it so
    f.created = clock.instant();
    containers.put(f.id, f);
    return f.id;
  }

  @Override
  public synchronized void start(String id) {
    check();
    Fake f = containers.get(id);
    record("start " + f.spec.name());
    try {
      maybeFail("start " + f.spec.name());
    } catch (IllegalStateException e) {
      f.exitCode = 127;
      f.error = e.getMessage();
      throw e;
    }
    f.state = "running";
    f.started = clock.instant();
    duringStart.accept(id);
    f.finished = null;
  }

  /** The grace period of each container's last stop, by container name. */
  public final Map<String, Duration> stopGraces = new java.util.concurrent.ConcurrentHashMap<>();

  @Override
  public synchronized void stop(String id, Duration grace) {
    check();
    Fake f = containers.get(id);
    if (f != null && f.state.equals("running")) {
      record("stop " + f.spec.name());
      maybeFail("stop " + f.spec.name());
      stopGraces.put(f.spec.name(), grace);
      f.state = "exited";
      f.exitCode = 143;
      f.finished = clock.instant();
    }
  }

  @Override
  public synchronized void remove(String id, boolean force) {
    check();
    Fake f = containers.get(id);
    if (f != null && f.state.equals("running") && !force) {
      throw new IllegalStateException("cannot remove running container " + f.spec.name() + " without force");
    }
    if (f != null) {
      record("remove " + f.spec.name());
      maybeFail("remove " + id);
      containers.remove(id);
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

  /** A followed log stream stays open until it is closed, as one of a container that runs on. */
  public volatile boolean followsStayOpen;

  /** The lines a container's log has; one line naming the container unless set. */
  public volatile List<String> logLines;

  @Override
  public AutoCloseable logs(String id, int tail, boolean follow, Consumer<String> line, Runnable done) {
    List<String> lines = logLines;
    if (lines == null) {
      line.accept("fake log line of " + id);
    } else {
      lines.forEach(line);
    }
    if (follow && followsStayOpen) {
      return done::run;
    }
    done.run();
    return () -> { };
  }

  @Override
  public AutoCloseable watch(String node, Consumer<Event> onEvent, Consumer<Throwable> onEnd) {
    check();
    this.onEvent = onEvent;
    this.onEnd = onEnd;
    Throwable end = streamsEndAtOnce;
    if (end != null) {
      onEnd.accept(end); // as a stream's thread may, before watch returns
    }
    return () -> this.onEvent = k -> { };
  }

  /** While set, each stream ends with it as it opens, before {@link #watch} returns. */
  public volatile Throwable streamsEndAtOnce;

  /** Runs in each {@link #writableLayers}, before it answers (Docker walking a layer of millions of files). */
  public volatile Runnable duringLayers = () -> { };

  /** What {@link #writableLayers} answers. */
  public volatile WritableLayers layers = new WritableLayers(java.nio.file.Path.of("/nonexistent/docker"), Map.of());

  @Override
  public WritableLayers writableLayers(String node) {
    check();
    duringLayers.run();
    return layers;
  }

  @Override
  public void ping() {
    check();
  }

  private volatile Consumer<Event> onEvent = k -> { };
  /** Runs in each start, before it returns (a test's event while a pod worker is at work). */
  public volatile Consumer<String> duringStart = id -> { };
  /** Runs in each pull, before it returns (a test's change while an image is pulled). */
  public volatile Consumer<String> duringPull = image -> { };
  private volatile Consumer<Throwable> onEnd = t -> { };

  /** The event stream ends (the fake ends it only when a test says so). */
  public void endStream(Throwable why) {
    onEnd.accept(why);
  }

  /** The runtime sends an event to whoever watches (the fake sends none on its own: each is a test's choice). */
  public void event() {
    onEvent.accept(new Event(null, null));
  }

  /** An event of a container of pod {@code podKey} (namespace/name) that does not say which container. */
  public void event(String podKey) {
    onEvent.accept(new Event(null, podKey));
  }

  /** An event of container {@code id}, with its pod's key (namespace/name) as its labels name it, if any. */
  public synchronized void eventOf(String id) {
    Fake f = containers.get(id);
    String ns = f == null ? null : f.labels.get(Labels.NAMESPACE);
    String pod = f == null ? null : f.labels.get(Labels.POD);
    onEvent.accept(new Event(id, ns == null || pod == null ? null : ns + "/" + pod));
  }

  /** Inspects of single containers so far ({@link #inspectOwned}). */
  public final java.util.concurrent.atomic.AtomicLong inspects = new java.util.concurrent.atomic.AtomicLong();

  @Override
  public synchronized Optional<ContainerInfo> inspectOwned(String node, String id) {
    check();
    maybeFail("inspect");
    inspects.incrementAndGet();
    Fake f = containers.get(id);
    return f == null || !"true".equals(f.labels.get(Labels.MANAGED)) || !node.equals(f.labels.get(Labels.NODE)) ? Optional.empty()
        : Optional.of(info(f));
  }

  @Override
  public String ensureSandboxImage() {
    check();
    return PauseImage.NAME;
  }

  /** Names of containers created so far that start with a prefix (names end in a random suffix). */
  public synchronized long created(String prefix) {
    return calls.stream().filter(c -> c.startsWith("create " + prefix)).count();
  }
}
