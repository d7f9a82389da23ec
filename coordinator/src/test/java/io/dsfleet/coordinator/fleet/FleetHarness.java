package io.dsfleet.coordinator.fleet;

import io.dsfleet.common.Json;
import io.dsfleet.common.manifest.Fixtures;
import io.dsfleet.common.testing.FakeClock;
import io.dsfleet.coordinator.grpc.CoordinatorFixture;
import io.dsfleet.coordinator.grpc.FakeAgent;
import io.dsfleet.coordinator.store.SqliteStore;
import io.dsfleet.coordinator.store.Store;
import io.dsfleet.coordinator.store.StoreException;
import io.dsfleet.proto.v1.ContainerStatus;
import io.dsfleet.proto.v1.CoordinatorMessage;
import io.dsfleet.proto.v1.DesiredPod;
import io.dsfleet.proto.v1.DesiredState;
import io.dsfleet.proto.v1.PodStatus;
import io.dsfleet.proto.v1.PodStatusReport;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.function.BiPredicate;

/**
 * The coordinator's {@link Fleet} on the real SQLite store, driven the way its gRPC services and
 * its scheduler drive it (joins, sessions, reports, {@link Fleet#tick()}), with agents that record
 * what they are sent and report what a test says they run. The store can be told to fail.
 */
final class FleetHarness implements AutoCloseable {
  final Path dir;
  final FakeClock clock = new FakeClock();
  /** Store calls (method name, arguments) for which the store fails, as a full disk would. */
  volatile BiPredicate<String, Object[]> failing = (method, args) -> false;
  /** Whether an injected failure is one a replicated group reports when it may still commit the write. */
  volatile boolean failingMayHaveApplied;
  private SqliteStore sqlite;
  /** The store the fleet writes to (the one that fails when told), new at each start. */
  Store store;
  Fleet fleet;
  final Map<String, Agent> agents = new TreeMap<>();
  /** How long sending a desired set takes the coordinator (the fake clock moves by it): a large fleet's encoding and sending. */
  java.time.Duration sendTakes = java.time.Duration.ZERO;

  FleetHarness(Path dir) {
    this.dir = dir;
    start();
  }

  private void start() {
    sqlite = new SqliteStore(dir);
    store = (Store) Proxy.newProxyInstance(Store.class.getClassLoader(), new Class<?>[] {Store.class}, (p, m, args) -> {
      if (failing.test(m.getName(), args == null ? new Object[0] : args)) {
        throw new StoreException("injected: " + m.getName() + " failed", null, failingMayHaveApplied);
      }
      try {
        return m.invoke(sqlite, args);
      } catch (InvocationTargetException e) {
        throw e.getCause();
      }
    });
    fleet = new Fleet(store, clock, clock::nanos, CoordinatorFixture.OPTIONS, new Random(1));
  }

  /** The coordinator stops (as a crash: nothing flushed) and starts on the same store; live agents open new sessions. */
  void crashAndRestart() {
    crashAndRestartWithout();
  }

  /** As {@link #crashAndRestart()}, but the agents named reconnect only when the test calls {@link Agent#open()}. */
  void crashAndRestartWithout(String... late) {
    sqlite.close();
    start();
    for (Agent a : agents.values()) {
      if (a.alive && !List.of(late).contains(a.name)) {
        a.open();
      }
    }
  }

  /** A manifest: the base DaemonSet with fields set by dotted path (pairs of path and YAML value). */
  static String manifest(String... pathsAndValues) {
    var tree = Fixtures.baseTree();
    for (int i = 0; i < pathsAndValues.length; i += 2) {
      Fixtures.with(tree, pathsAndValues[i], pathsAndValues[i + 1]);
    }
    return Json.canonical(tree);
  }

  Fleet.ApplyOutcome apply(String manifest) {
    return fleet.apply(manifest, "test", false);
  }

  Agent agent(String name) {
    return agent(name, Map.of());
  }

  /** Agents of nodes {@code n0} to {@code n<count - 1>}, joined and connected, in that order. */
  List<Agent> agents(int count) {
    List<Agent> made = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      made.add(agent("n" + i));
    }
    return made;
  }

  Agent agent(String name, Map<String, String> labels) {
    Agent a = new Agent(name);
    agents.put(name, a);
    fleet.join(FakeAgent.info(name, labels), "", true);
    a.open();
    return a;
  }

  /** Time passes; every agent still connected heartbeats, then the lease sweep and a rollout pass run. */
  void advance(java.time.Duration d) {
    clock.advance(d);
    agents.values().stream().filter(a -> a.alive).forEach(a -> fleet.heartbeat(a.name, false, ""));
    fleet.tick();
  }

  FleetView.DsSnapshot ds() {
    return fleet.daemonSet("ops", "agent");
  }

  @Override
  public void close() {
    sqlite.close();
  }

  /** A node's agent: records desired sets, reports what the test says it runs. */
  final class Agent implements AgentSink {
    final String name;
    final List<DesiredState> sent = new ArrayList<>();
    /** What the agent runs, by pod name. */
    final Map<String, PodStatus> running = new TreeMap<>();
    boolean alive = true;
    /** Sending fails, as on a stream the client cancelled a moment ago. */
    boolean broken;
    /**
     * Whether its reports say which set it acted on last ({@code applied_version}: {@link #applied}), as an agent since
     * 2026-12-07 does; false, the default here, as an older agent's (the coordinator then holds a moved-back node 10 s
     * at most without a report).
     */
    boolean reportsApplied;
    /** The version of the last set it acted on ({@link #runSilently}): a real agent's pass takes the newest set it has. */
    long applied;

    Agent(String name) {
      this.name = name;
    }

    /**
     * Whether its session's open names the set it holds (the last it was sent), as an agent since 2026-12-07 does; false,
     * the default here, as an older agent's (its whole set sent on every open).
     */
    boolean namesHeldSet;

    void open() {
      DesiredState held = last();
      fleet.openSession(name, this, namesHeldSet && !held.getDigest().isEmpty() ? held.getDigest() : null, namesHeldSet ? held.getVersion() : 0);
      report();
    }

    @Override
    public void send(CoordinatorMessage message) {
      if (broken) {
        throw new IllegalStateException("call already closed");
      }
      if (message.hasDesired()) {
        sent.add(message.getDesired());
        clock.advance(sendTakes);
      }
    }

    @Override
    public void close() {}

    DesiredState last() {
      return sent.isEmpty() ? DesiredState.getDefaultInstance() : sent.get(sent.size() - 1);
    }

    /** Runs exactly what it was last sent and reports it: pods not in it stop, new ones start (Ready or not). */
    void runDesired(boolean ready) {
      runSilently(ready);
      report();
    }

    /**
     * Pods it released (an orphan delete's set names them): left running as they were, reported apart
     * ({@code released_pods}), and adopted as they run when a set desires one again, as the agent does.
     */
    final Map<String, PodStatus> released = new TreeMap<>();

    /** As {@link #runDesired}, without reporting. */
    void runSilently(boolean ready) {
      applied = last().getVersion();
      for (String key : last().getOrphanedPodKeysList()) {
        String pod = key.substring(key.indexOf('/') + 1);
        if (running.containsKey(pod)) {
          released.put(pod, running.remove(pod));
        }
      }
      for (DesiredPod p : last().getPodsList()) {
        PodStatus adopted = released.remove(p.getPodName());
        if (adopted != null) {
          running.put(p.getPodName(), adopted); // as it runs: replaced below if its template is not the one sent
        }
      }
      running.keySet().retainAll(last().getPodsList().stream().map(DesiredPod::getPodName).toList());
      for (DesiredPod p : last().getPodsList()) {
        PodStatus have = running.get(p.getPodName());
        // a template is its hash and its bytes' digest, as the agent knows it; one sent by name alone keeps the digest it had
        String digest = p.getTemplateJson().isEmpty() ? (have == null ? "" : have.getTemplateDigest())
            : io.dsfleet.common.Sha256.hex(p.getTemplateJson().asReadOnlyByteBuffer());
        if (have == null || !have.getTemplateHash().equals(p.getTemplateHash()) || !have.getTemplateDigest().equals(digest)
            || (ready && !have.getReady())) {
          running.put(p.getPodName(), status(p, ready).toBuilder().setTemplateDigest(digest).build());
        }
      }
    }

    /** How far this agent's wall clock runs ahead of the coordinator's (its reported times carry it). */
    java.time.Duration clockAhead = java.time.Duration.ZERO;

    PodStatus status(DesiredPod p, boolean ready) {
      long now = clock.millis() + clockAhead.toMillis();
      return PodStatus.newBuilder().setNamespace(p.getNamespace()).setDaemonSet(p.getDaemonSet()).setPodName(p.getPodName())
          .setTemplateHash(p.getTemplateHash()).setPhase("Running").setReady(ready).setReadySinceMillis(ready ? now : 0)
          .setStartedAtMillis(now).addContainers(ContainerStatus.newBuilder().setName("main").setState("running").setReady(ready))
          .build();
    }

    /** Reports what it runs; then the scheduler's rollout pass runs, as it does within 20 ms in a coordinator. */
    void report() {
      PodStatusReport.Builder r = PodStatusReport.newBuilder();
      if (reportsApplied) {
        r.setAppliedVersion(applied);
      }
      fleet.reportPods(name, r.setFull(true).addAllPods(running.values())
          .addAllReleasedPods(released.values().stream().map(p -> p.toBuilder().setReleased(true).setPhase("Released").setReady(false)
              .setReadySinceMillis(0).setCreatedAtMillis(p.getStartedAtMillis()).build()).toList()).build());
      fleet.rolloutPass();
    }

    /** The hashes of the pods it was last told to run. */
    List<String> desiredHashes() {
      return last().getPodsList().stream().map(DesiredPod::getTemplateHash).toList();
    }
  }
}
