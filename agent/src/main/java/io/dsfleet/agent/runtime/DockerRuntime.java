package io.dsfleet.agent.runtime;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.command.CreateContainerCmd;
import com.github.dockerjava.api.command.InspectContainerResponse;
import com.github.dockerjava.api.exception.ConflictException;
import com.github.dockerjava.api.exception.DockerException;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.exception.NotModifiedException;
import com.github.dockerjava.api.model.AuthConfig;
import com.github.dockerjava.api.model.Container;
import com.github.dockerjava.api.model.Frame;
import com.github.dockerjava.core.DefaultDockerClientConfig;
import com.github.dockerjava.core.DockerClientImpl;
import com.github.dockerjava.transport.DockerHttpClient;
import com.github.dockerjava.zerodep.ZerodepDockerHttpClient;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;

/** {@link ContainerRuntime} over the Docker Engine API (docker-java; API version negotiated, 1.41 here). */
public final class DockerRuntime implements ContainerRuntime, AutoCloseable {
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(DockerRuntime.class);
  private final DockerClient docker;
  /** The same daemon for the passes' calls, which wait {@link #QUICK_CALLS} at most. */
  private final DockerClient quick;
  /** The execs of probes and hooks, on these two clients. */
  private final DockerExecs execs;
  /** Docker's root directory and storage driver, asked at each pressure check. */
  private final DockerLayout layout;
  private final String host;
  private final Map<String, Boolean> ownershipByImage = new java.util.concurrent.ConcurrentHashMap<>();
  /** What each container's last inspect said, while event streams run ({@link InspectCache}). */
  private final InspectCache inspected = new InspectCache();
  /**
   * Docker's container events that change what an inspect says (not the exec_* events of every probe
   * run). Not {@code oom}: a container with a memory limit has the kernel kill a child of its own as
   * often as it likes and runs on, and each kill is an event; the agent reads nothing of it (a
   * container that dies of it sends {@code die}), and each woke a pass that listed and inspected
   * again: 82 passes in 5 s from a shell loop (helper-88, {@code OomEventsTest}).
   */
  static final String[] EVENTS = {"create", "start", "restart", "die", "kill", "stop", "pause", "unpause", "rename", "update", "destroy",
      "health_status"};
  /**
   * A stream asks for the events of this long before it was asked for as well: the daemon takes
   * the subscription after the call returns, and the caller's list after the call may come first.
   * An event of that gap is replayed from the daemon's buffer instead of missed; one older than the
   * call was seen by the list, so replaying it costs a pass at most.
   */
  static final Duration EVENTS_REPLAYED = Duration.ofSeconds(5);
  /** Log text without a newline is passed on in pieces of this many characters. */
  static final int MAX_LOG_LINE = 16 * 1024;

  /**
   * How long a call the agent's passes make (ping, list, inspect) waits for the daemon: a daemon
   * that hangs makes the node NotReady (runtime down) within a relist and this, instead of holding
   * every pass for the transport's 10 minutes while the node says Ready. The kubelet's runtime
   * requests wait 2 minutes too (--runtime-request-timeout). Pulls, stops with their grace, execs
   * and streams keep the long wait.
   */
  static final Duration QUICK_CALLS = Duration.ofMinutes(2);

  public DockerRuntime(String dockerHost) {
    this(dockerHost, QUICK_CALLS);
  }

  DockerRuntime(String dockerHost, Duration quickCalls) {
    this.host = dockerHost;
    // TLS to a daemon is docker-java's LocalDirectorySSLConfig, on BouncyCastle, which the agent's jar does not carry: a Unix
    // socket has none (DOCKER_TLS_VERIFY in the environment is ignored there), a TCP daemon asking for it is refused by name
    String tls = System.getenv("DOCKER_TLS_VERIFY");
    if (!dockerHost.startsWith("unix://") && tls != null && !tls.isEmpty() && !tls.equals("0") && !tls.equalsIgnoreCase("false")) {
      throw new IllegalArgumentException("docker host " + dockerHost + ": TLS to a Docker daemon over TCP (DOCKER_TLS_VERIFY) is not"
          + " supported by the agent; use the daemon's Unix socket");
    }
    DefaultDockerClientConfig config = DefaultDockerClientConfig.createDefaultConfigBuilder().withDockerHost(dockerHost)
        .withDockerTlsVerify(false).build();
    this.docker = DockerClientImpl.getInstance(config, transport(config, Duration.ofMinutes(10), 0));
    this.quick = DockerClientImpl.getInstance(config, transport(config, quickCalls, QUICK_ANSWER_MAX));
    this.execs = new DockerExecs(docker, quick);
    this.layout = new DockerLayout(quick, host);
  }

  /** Docker's PidsLimit on each container made from now on (the agent's podPidsLimit); 0: none, as Kubernetes' default. */
  private volatile long pidsLimit;

  public DockerRuntime pidsLimit(long limit) {
    this.pidsLimit = limit;
    return this;
  }

  /**
   * The most bytes of a list's or an inspect's answer the agent reads (its heap is 48 MiB): a
   * container or image carrying megabytes of labels fails its call, not the agent (images with
   * labels over {@link ImageInfo#MAX_LABEL_BYTES} are refused before a container of them is made).
   */
  static final long QUICK_ANSWER_MAX = 4L << 20;

  /** A local daemon's socket through the agent's own transport (the JDK alone); a TCP daemon through docker-java's Apache client. */
  private static DockerHttpClient transport(DefaultDockerClientConfig config, Duration responseTimeout, long maxBody) {
    return config.getDockerHost().getScheme().equals("unix")
        ? new UnixSocketHttpClient(Path.of(config.getDockerHost().getPath()), responseTimeout, maxBody)
        : new ZerodepDockerHttpClient.Builder().dockerHost(config.getDockerHost())
            .connectionTimeout(Duration.ofSeconds(5)).responseTimeout(responseTimeout).build();
  }

  /**
   * On overlay2 Docker is not asked what each layer holds: the agent walks the layers' upper
   * directories itself (disk pressure, {@code bytesById} empty), as cadvisor does for the kubelet.
   * Docker's answer walks every layer too, but on the client without a deadline (the walk takes as
   * long as the layers are large), and a daemon that hangs or fails under the pressure it should
   * help with left every layer unmeasured: pods were ranked by their volumes alone, and a
   * neighbour's emptied for a container filling its own file system. Docker's root and driver are
   * asked each time ({@link DockerLayout#now()}); the list that says the anonymous volumes is one of the passes' (their deadline, no
   * sizes), and its failure leaves only those unmeasured. Other drivers: Docker's {@code SizeRw}.
   */
  @Override
  public WritableLayers writableLayers(String node) {
    DockerLayout.Layout l = layout.now();
    List<Container> list;
    try {
      list = l.overlay2() ? call("list", () -> quick.listContainersCmd().withShowAll(true)
              .withLabelFilter(Map.of(Labels.MANAGED, "true", Labels.NODE, node)).exec())
          // on the client without the passes' deadline: Docker walks every layer to answer
          : call("list sizes", () -> docker.listContainersCmd().withShowAll(true).withShowSize(true)
              .withLabelFilter(Map.of(Labels.MANAGED, "true", Labels.NODE, node)).exec());
    } catch (RuntimeException e) {
      if (!l.overlay2()) {
        throw e;
      }
      log.warn("disk pressure: the containers' anonymous volumes not measured, their layers still are: Docker's list failed: {}", e.toString());
      return new WritableLayers(l.root(), Map.of(), Map.of());
    }
    return DockerAnswers.writableLayers(l.root(), list);
  }

  /** Docker's answer to one call was over what the agent reads ({@link #QUICK_ANSWER_MAX}): that call failed, Docker is fine. */
  static final class AnswerTooLarge extends IllegalStateException {
    AnswerTooLarge(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /** A Docker call, timed and counted by operation (docs/operations.md); an unreachable daemon as such ({@link DockerCall}). */
  private <T> T call(String what, Supplier<T> body) {
    return DockerCall.run(host, what, body);
  }

  @Override
  public void ping() {
    call("ping", () -> quick.pingCmd().exec());
  }

  @Override
  public List<ContainerInfo> listOwned(String node, Map<String, String> more) {
    Map<String, String> filter = new java.util.HashMap<>(more);
    filter.put(Labels.MANAGED, "true");
    filter.put(Labels.NODE, node);
    List<Container> list = call("list", () -> quick.listContainersCmd().withShowAll(true).withLabelFilter(filter).exec());
    List<ContainerInfo> out = new ArrayList<>();
    for (Container c : list) {
      ContainerInfo known = inspected.known(c);
      if (known != null) {
        out.add(known);
        continue;
      }
      try {
        out.add(inspectRemembered(c.getId()));
      } catch (NotFoundException gone) {
        // removed between list and inspect
      } catch (AnswerTooLarge | DockerException unreadable) {
        // one container's inspect over what the agent reads (its image's megabytes of environment), or
        // refused by Docker for that container alone (dockerd answers 500 when its layer's directory
        // cannot be read): the list's line stands in for it, so the node's other pods go on and this one
        // can still be stopped, removed and reported (a failed pass for every pod of the node before)
        if (tooLarge.add(c.getId())) {
          log.warn("container {}: {}; using what the container list says of it", c.getId(), String.valueOf(unreadable.getMessage()).strip());
        }
        out.add(listed(c, String.valueOf(unreadable.getMessage()).strip()));
      }
    }
    if (more.isEmpty()) { // every container of the node: forget the ones that are gone (a pod's list would forget its neighbours)
      tooLarge.retainAll(list.stream().map(Container::getId).toList());
      inspected.retain(list.stream().map(Container::getId).collect(java.util.stream.Collectors.toSet()));
    }
    return vanished.fill(filter, out, id -> { // a running container left out of the list: looked up before the list is taken
      try {
        return Optional.of(inspect(id));
      } catch (NotFoundException gone) {
        return Optional.empty();
      }
    });
  }

  @Override
  public Optional<ContainerInfo> inspectOwned(String node, String id) {
    try {
      ContainerInfo info = inspectRemembered(id);
      if (!"true".equals(info.label(Labels.MANAGED)) || !node.equals(info.label(Labels.NODE))) {
        return Optional.empty(); // as a list filtered on the node's labels leaves it out (its inspect kept until the next full list)
      }
      vanished.seen(info); // a list that leaves it out while it runs looks it up, as one the last list showed
      return Optional.of(info);
    } catch (NotFoundException gone) {
      return Optional.empty();
    }
  }

  /** The container's inspect, remembered for the lists after (while no event or call of the agent's own says it changed). */
  private ContainerInfo inspectRemembered(String id) {
    InspectCache.Begun begun = inspected.begin();
    ContainerInfo info = inspect(id);
    if (info.imageLabelsUnknown() == null) { // one whose image's labels are not known is inspected again at the next list
      inspected.remember(info, begun);
    }
    return info;
  }

  private final VanishedContainers vanished = new VanishedContainers();

  /** Containers whose inspect was over the limit or failed, warned about once each. */
  private final Set<String> tooLarge = java.util.concurrent.ConcurrentHashMap.newKeySet();

  /** A container as its list line describes it (no start or finish time), for one whose inspect the agent cannot read. */
  private ContainerInfo listed(Container c, String why) {
    ImageLabels image;
    try {
      image = imageLabels(c.getImageId());
    } catch (AnswerTooLarge e) {
      image = new ImageLabels(true, null); // an image the agent never runs (over its labels' limit): never taken for the agent's own
    }
    return DockerAnswers.listed(c, why, image.labelled(), image.unknown());
  }

  /** Whether an image carries ownership labels, or why that is not known ({@code unknown}, null when it is). */
  private record ImageLabels(boolean labelled, String unknown) {}

  /**
   * Whether the image carries ownership labels; not known when Docker answers its inspect with an error (dockerd 20.10
   * answers 500 when the image's layer cannot be read): asked again at the next list, never remembered. Before
   * 2026-12-06 that error failed every list of the node, for one image: no pod was started, stopped or reported, and after
   * 30 s the node's runtime was said down. A container of such an image is neither the agent's nor another's: its pod
   * is left as it runs (reconcile/HeldPods), since a container taken for none would have its pod started a second time.
   */
  private ImageLabels imageLabels(String imageId) {
    try {
      return new ImageLabels(imageLabelled(imageId), null);
    } catch (DockerException e) {
      return new ImageLabels(false, "Docker's inspect of its image " + imageId + " failed: " + String.valueOf(e.getMessage()).strip());
    }
  }

  /** Containers inspected since this runtime was made (a figure for the benchmarks and tests). */
  public long inspects() {
    return inspects.get();
  }

  private final java.util.concurrent.atomic.AtomicLong inspects = new java.util.concurrent.atomic.AtomicLong();

  private ContainerInfo inspect(String id) {
    inspects.incrementAndGet();
    InspectContainerResponse r = call("inspect", () -> quick.inspectContainerCmd(id).exec());
    ImageLabels image = imageLabels(r.getImageId());
    return DockerAnswers.inspected(r, image.labelled(), image.unknown());
  }

  /** Whether the image (by id) carries ownership labels; image ids are content hashes, so the answer never changes. */
  private boolean imageLabelled(String imageId) {
    if (imageId == null) {
      return false;
    }
    Boolean known = ownershipByImage.get(imageId);
    if (known == null) {
      known = inspectImage(imageId).map(ImageInfo::hasOwnershipLabels).orElse(false);
      ownershipByImage.put(imageId, known);
    }
    return known;
  }

  @Override
  public Optional<ImageInfo> inspectImage(String image) {
    try {
      var r = call("inspect image", () -> quick.inspectImageCmd(image).exec());
      return Optional.of(DockerAnswers.image(r));
    } catch (NotFoundException e) {
      return Optional.empty();
    }
  }

  @Override
  public void pull(String image, Map<String, String> auth) {
    call("pull", () -> {
      var cmd = docker.pullImageCmd(image);
      if (auth != null) {
        cmd.withAuthConfig(new AuthConfig().withUsername(auth.get("username")).withPassword(auth.get("password"))
            .withRegistryAddress(auth.get("serveraddress")).withAuth(auth.get("auth")));
      }
      try {
        if (!cmd.start().awaitCompletion(10, TimeUnit.MINUTES)) {
          throw new IllegalStateException("pulling " + image + " did not finish within 10 minutes");
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while pulling " + image);
      }
      return null;
    });
  }

  @Override
  public String create(ContainerSpec spec) {
    CreateContainerCmd cmd = DockerContainers.render(docker.createContainerCmd(spec.image()), spec, pidsLimit);
    return call("create", () -> {
      try {
        return DockerContainers.created(cmd.exec(), spec.name());
      } catch (ConflictException e) {
        throw new NameConflictException(spec.name(), e); // never remove the holder: it may not be ours
      }
    });
  }

  @Override
  public void start(String id) {
    try {
      call("start", () -> {
        try {
          docker.startContainerCmd(id).exec();
        } catch (NotModifiedException alreadyRunning) {
          // started already
        }
        return null;
      });
    } finally {
      inspected.forget(id); // a start that failed leaves the state as it was, with its error
    }
  }

  @Override
  public void stop(String id, Duration grace) {
    try {
      call("stop", () -> {
        try {
          docker.stopContainerCmd(id).withTimeout((int) Math.min(Integer.MAX_VALUE, Math.max(0, grace.toSeconds()))).exec(); // never wrapped to 0: a kill
        } catch (NotFoundException | NotModifiedException gone) {
          // already stopped or gone
        }
        return null;
      });
    } finally {
      inspected.forget(id);
    }
  }

  @Override
  public void remove(String id, boolean force) {
    try {
      call("remove", () -> {
        try {
          docker.removeContainerCmd(id).withForce(force).withRemoveVolumes(true).exec();
        } catch (NotFoundException gone) {
          // already gone
        }
        return null;
      });
    } finally {
      inspected.forget(id);
    }
  }

  @Override
  public ExecResult exec(String id, List<String> command, Duration timeout) {
    String refused = ExecutablePaths.refused(command);
    if (refused != null) {
      return new ExecResult(126, refused); // as a shell says a command it cannot run
    }
    return call("exec", () -> execs.run(id, command, timeout));
  }

  @Override
  public AutoCloseable logs(String id, int tail, boolean follow, Consumer<String> line, Runnable done) {
    return call("logs", () -> {
      var cmd = docker.logContainerCmd(id).withStdOut(true).withStdErr(true).withFollowStream(follow);
      if (tail >= 0) {
        cmd.withTail(tail);
      } else {
        cmd.withTailAll();
      }
      return cmd.exec(new ResultCallback.Adapter<Frame>() {
        /** Each stream's own lines: stdout's half line is not finished by stderr's newline. */
        private final Map<com.github.dockerjava.api.model.StreamType, LogLines> streams =
            new java.util.EnumMap<>(com.github.dockerjava.api.model.StreamType.class);

        @Override
        public void onNext(Frame f) {
          streams.computeIfAbsent(f.getStreamType(), t -> new LogLines(MAX_LOG_LINE, line)).frame(f.getPayload());
        }

        @Override
        public void onComplete() {
          streams.values().forEach(LogLines::end);
          done.run();
        }

        @Override
        public void onError(Throwable t) {
          done.run();
        }
      });
    });
  }

  @Override
  public AutoCloseable watch(String node, Consumer<Event> onEvent, Consumer<Throwable> onEnd) {
    java.util.concurrent.atomic.AtomicBoolean ended = new java.util.concurrent.atomic.AtomicBoolean();
    inspected.forgetAll();
    java.util.concurrent.atomic.AtomicBoolean counted = new java.util.concurrent.atomic.AtomicBoolean(true);
    Runnable uncount = () -> {
      if (counted.compareAndSet(true, false)) {
        inspected.streamEnded();
        inspected.forgetAll();
      }
    };
    Consumer<Throwable> once = t -> {
      uncount.run();
      if (ended.compareAndSet(false, true)) {
        onEnd.accept(t);
      }
    };
    inspected.streamStarted();
    Instant since = Instant.now().minus(EVENTS_REPLAYED);
    java.io.Closeable stream;
    try {
      stream = call("events", () -> docker.eventsCmd().withSince(since.getEpochSecond() + "." + String.format("%09d", since.getNano()))
          .withEventTypeFilter("container").withEventFilter(EVENTS)
          .withLabelFilter(Map.of(Labels.MANAGED, "true", Labels.NODE, node)).exec(new ResultCallback.Adapter<com.github.dockerjava.api.model.Event>() {
            @Override
            public void onNext(com.github.dockerjava.api.model.Event e) {
              if (e.getId() != null) {
                inspected.forget(e.getId());
              }
              Map<String, String> labels = e.getActor() == null || e.getActor().getAttributes() == null ? Map.of() : e.getActor().getAttributes();
              String ns = labels.get(Labels.NAMESPACE);
              String pod = labels.get(Labels.POD);
              onEvent.accept(new ContainerRuntime.Event(e.getId(), ns == null || pod == null ? null : ns + "/" + pod));
            }

            @Override
            public void onError(Throwable t) {
              once.accept(t);
            }

            @Override
            public void onComplete() {
              once.accept(new IOException("the event stream of docker at " + host + " ended"));
            }
          }));
    } catch (RuntimeException e) {
      uncount.run();
      throw e;
    }
    return () -> {
      uncount.run();
      stream.close();
    };
  }

  @Override
  public String ensureSandboxImage() {
    String id = PauseImage.id();
    if (inspectImage(id).isEmpty()) {
      if (!PauseImage.supported()) {
        throw new IllegalStateException("the built-in pod sandbox image is x86-64 only; this host is " + System.getProperty("os.arch"));
      }
      call("load sandbox image", () -> {
        docker.loadImageCmd(new ByteArrayInputStream(PauseImage.imageTar())).exec();
        return null;
      });
    }
    return id; // by ID: whatever the tag points to now
  }

  @Override
  public void close() throws IOException {
    try (docker) {
      quick.close();
    }
  }
}
