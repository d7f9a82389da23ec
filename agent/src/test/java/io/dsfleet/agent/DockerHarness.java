package io.dsfleet.agent;

import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.ByteString;
import io.dsfleet.agent.hostfs.Mounts;
import io.dsfleet.agent.reconcile.Backoff;
import io.dsfleet.agent.reconcile.Reconciler;
import io.dsfleet.agent.reconcile.ReconcilerThreads;
import io.dsfleet.agent.runtime.ContainerInfo;
import io.dsfleet.agent.runtime.DockerRuntime;
import io.dsfleet.agent.runtime.Labels;
import io.dsfleet.common.Json;
import io.dsfleet.common.TemplateHash;
import io.dsfleet.common.manifest.Fixtures;
import io.dsfleet.common.manifest.ParsedDocument;
import io.dsfleet.common.model.DaemonSet;
import io.dsfleet.proto.v1.ConfigObject;
import io.dsfleet.proto.v1.DesiredPod;
import io.dsfleet.proto.v1.DesiredState;
import io.dsfleet.proto.v1.PodStatus;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * Runs pods on the real Docker daemon through the real reconciler, under a node name of its own
 * (so tests never touch each other's containers), and removes everything it made on close.
 */
public final class DockerHarness implements AutoCloseable {
  /**
   * An env entry (YAML) that asks for the pod's IP: a pod of one container on the bridge with it
   * runs in a sandbox (PodRenderer.needsSandbox), for the tests of sandboxes.
   */
  public static final String ASKS_FOR_POD_IP = "{name: POD_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}";
  public static final String DOCKER_HOST = System.getenv().getOrDefault("DOCKER_HOST", "unix:///var/run/docker.sock");
  public final String node = "test-" + UUID.randomUUID().toString().substring(0, 8);
  public final DockerRuntime docker;
  public final Path stateDir;
  private final ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor();
  public volatile List<PodStatus> last = List.of();
  public final Reconciler reconciler;
  private final ReconcilerThreads threads = ReconcilerThreads.standard();

  public DockerHarness(Path stateDir) {
    this(stateDir, true, Backoff.KUBERNETES);
  }

  /** A harness whose reconciler backs off on {@code backoff} instead of Kubernetes' schedule. */
  public DockerHarness(Path stateDir, Backoff backoff) {
    this(stateDir, true, backoff);
  }

  /** Docker access only, for tests where an agent process owns the node. */
  public static DockerHarness dockerOnly(Path stateDir) {
    return new DockerHarness(stateDir, false, Backoff.KUBERNETES);
  }

  /**
   * A harness whose agent reaches the daemon at {@code dockerHost} (a proxy in front of it: {@link
   * DockerFaults}) and lists the node's containers every {@code relist} (the agent: {@link
   * Reconciler#RELIST}): a pass looks only at what an event names, so a fault in a list shows at the
   * relist.
   */
  public static DockerHarness through(Path stateDir, String dockerHost, Duration relist) {
    return new DockerHarness(stateDir, true, Backoff.KUBERNETES, dockerHost, relist);
  }

  /** A harness whose node's address ({@code status.hostIP}, a host-network pod's IP) is {@code hostIp}. */
  public static DockerHarness withAddress(Path stateDir, String hostIp) {
    return new DockerHarness(stateDir, true, Backoff.KUBERNETES, DOCKER_HOST, Reconciler.RELIST, hostIp);
  }

  private DockerHarness(Path stateDir, boolean reconcile, Backoff backoff) {
    this(stateDir, reconcile, backoff, DOCKER_HOST, Reconciler.RELIST);
  }

  private DockerHarness(Path stateDir, boolean reconcile, Backoff backoff, String dockerHost, Duration relist) {
    this(stateDir, reconcile, backoff, dockerHost, relist, "127.0.0.1");
  }

  private DockerHarness(Path stateDir, boolean reconcile, Backoff backoff, String dockerHost, Duration relist, String hostIp) {
    this.docker = new DockerRuntime(dockerHost);
    try {
      docker.ping();
    } catch (RuntimeException e) {
      Assumptions.abort("skipped: no Docker daemon at " + DOCKER_HOST + " (.ci/run installs and starts one): " + e.getMessage());
    }
    Assumptions.assumeTrue(docker.inspectImage("local/busybox:1").isPresent(),
        "skipped: test image local/busybox:1 missing; build it with scripts/build-test-images.sh");
    this.stateDir = new io.dsfleet.agent.state.LocalState(stateDir).dir();
    this.reconciler = new Reconciler(node, hostIp, docker, new Mounts(), Clock.systemUTC(), backoff, relist, stateDir, "test",
        threads, r -> last = r);
    if (reconcile) {
      ticker.scheduleWithFixedDelay(() -> {
        try {
          reconciler.tick();
        } catch (RuntimeException e) {
          e.printStackTrace(); // a failed pass must not end the ticking (scheduleWithFixedDelay stops on a throw)
        }
      }, 0, 200, TimeUnit.MILLISECONDS);
      reconciler.watch(ticker); // Docker's events, as the agent follows them
    }
  }

  /** The base fixture with changes (path, YAML value, ...), as a DaemonSet. */
  public static DaemonSet ds(String... pathsAndValues) {
    ObjectNode tree = Fixtures.baseTree();
    Fixtures.with(tree, "spec.template.spec.containers[0].readinessProbe", null);
    Fixtures.with(tree, "spec.template.spec.containers[0].ports", null);
    Fixtures.with(tree, "spec.template.spec.containers[0].volumeMounts", null);
    Fixtures.with(tree, "spec.template.spec.volumes", null);
    // exits on SIGTERM, as a daemon does (a shell as PID 1 would ignore it: every stop would wait at
    // least the 2 s a container is given); the grace period short for a test that changes the command
    Fixtures.with(tree, "spec.template.spec.containers[0].command", "[sh, -c, 'trap \"exit 0\" TERM; sleep 3600 & wait']");
    Fixtures.with(tree, "spec.template.spec.terminationGracePeriodSeconds", "1");
    for (int i = 0; i < pathsAndValues.length; i += 2) {
      Fixtures.with(tree, pathsAndValues[i], pathsAndValues[i + 1]);
    }
    ParsedDocument d = Fixtures.parse(tree).get(0);
    if (!d.valid()) {
      throw new IllegalArgumentException(d.errors().toString());
    }
    return (DaemonSet) d.object();
  }

  public static DesiredState state(DaemonSet ds, ConfigObject... configs) {
    return DesiredState.newBuilder().setVersion(1).addPods(pod(ds, "agent-pod01")).addAllConfigs(List.of(configs)).build();
  }

  /** One pod of each DaemonSet, named after it ({@code NAME-pod01}). */
  public static DesiredState state(List<DaemonSet> sets) {
    DesiredState.Builder b = DesiredState.newBuilder().setVersion(1);
    sets.forEach(ds -> b.addPods(pod(ds, ds.name() + "-pod01")));
    return b.build();
  }

  /** The DaemonSet's pod {@code name}, at its first revision. */
  private static DesiredPod.Builder pod(DaemonSet ds, String name) {
    return DesiredPod.newBuilder().setNamespace(ds.namespace()).setDaemonSet(ds.name()).setPodName(name)
        .setTemplateHash(TemplateHash.of(ds.spec().template())).setRevision(1)
        .setTemplateJson(ByteString.copyFromUtf8(Json.canonical(ds.spec().template())));
  }

  public static ConfigObject config(ConfigObject.Kind kind, String name, Map<String, String> data) {
    ConfigObject.Builder b = ConfigObject.newBuilder().setKind(kind).setNamespace("ops").setName(name);
    data.forEach((k, v) -> b.putData(k, ByteString.copyFrom(v, StandardCharsets.UTF_8)));
    return b.build();
  }

  /** Runs the pod and waits until it reports Running with every container running (ready or not). */
  public PodStatus run(DaemonSet ds, ConfigObject... configs) {
    reconciler.setDesired(state(ds, configs));
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100)).until(() -> !last.isEmpty()
        && last.get(0).getContainersList().stream().filter(c -> !c.getInit()).allMatch(c -> c.getState().equals("running")));
    return last.get(0);
  }

  public PodStatus awaitStatus(java.util.function.Predicate<PodStatus> p, Duration within) {
    await().atMost(within).pollInterval(Duration.ofMillis(100)).until(() -> !last.isEmpty() && p.test(last.get(0)));
    return last.get(0);
  }

  public ContainerInfo container(String name) {
    return docker.listOwned(node).stream().filter(c -> name.equals(c.label(Labels.CONTAINER)) && !Labels.SANDBOX.equals(c.label(Labels.ROLE)))
        .filter(ContainerInfo::running).findFirst().orElseThrow(() -> new AssertionError("no running container " + name));
  }

  /** Waits until the reconciler has finished {@code n} more passes with no pod work in flight: "the agent has looked, and acted". */
  public void settle(int n) {
    long from = reconciler.passes();
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(50)).until(() -> reconciler.passes() >= from + n && reconciler.idle());
  }

  /** Runs a shell command in a container; its output, trimmed. */
  public String sh(String container, String command) {
    var r = docker.exec(container(container).id(), List.of("sh", "-c", command), Duration.ofSeconds(10));
    return r.output().strip();
  }

  /** Desires nothing, and waits until every container is gone and the agent has since done what follows (pod directories removed). */
  public void clear() {
    reconciler.setDesired(DesiredState.getDefaultInstance());
    await().atMost(Duration.ofSeconds(60)).until(() -> docker.listOwned(node).isEmpty());
    settle(2);
  }

  @Override
  public void close() {
    ticker.shutdownNow();
    try {
      ticker.awaitTermination(5, TimeUnit.SECONDS);
      // a pod's work under way (a restart's create) ends before the containers are listed for removal,
      // not interrupted: an interrupted create still lands in Docker, after the list, and its
      // container stayed behind, Created (seen between test runs)
      threads.pods().shutdown();
      threads.pods().awaitTermination(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    reconciler.close();
    for (ContainerInfo c : docker.listOwned(node)) {
      try {
        docker.remove(c.id(), true);
      } catch (RuntimeException e) {
        System.err.println("cannot remove " + c.name() + ": " + e.getMessage());
      }
    }
    try {
      new io.dsfleet.agent.hostfs.Mounts().unmountAll(stateDir);
    } catch (java.io.IOException e) {
      System.err.println("cannot unmount under " + stateDir + ": " + e.getMessage());
    }
  }

}
