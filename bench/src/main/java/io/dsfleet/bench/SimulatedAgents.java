package io.dsfleet.bench;

import io.dsfleet.common.DaemonThreads;
import io.dsfleet.agent.reconcile.Reconciler;
import io.dsfleet.agent.reconcile.ReconcilerThreads;
import io.dsfleet.agent.runtime.FakeRuntime;
import io.dsfleet.agent.session.CoordinatorSession;
import io.dsfleet.agent.session.NodeCredentials;
import io.dsfleet.agent.state.LocalState;
import io.dsfleet.proto.v1.NodeInfo;
import io.dsfleet.proto.v1.PodStatus;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Thousands of agents in one JVM: each is the agent's real session code ({@link CoordinatorSession}:
 * join with the token over pinned TLS, its own node certificate, mutual TLS, heartbeats,
 * reconnects) and real reconciler, over the in-memory runtime (containers start instantly). Prints
 * {@code SEEN <daemonset> <hash> <node> <epoch-ms>} when a node's reconciler first has a pod of a
 * revision (its desired set arrived), and {@code RUNNING ...} when it first reports it Running and
 * Ready, for the latency figures.
 *
 * <p>Usage: {@code SimulatedAgents COORDINATOR TOKEN PREFIX FROM COUNT STATE_DIR [TICK_MS]}: every
 * node's reconciler is ticked every TICK_MS (1000 by default, the agent's loop) and woken at once by
 * a desired set or its own pod work, as the agent's is. Each follows its runtime's event stream as
 * the agent follows Docker's ({@link Reconciler#watch}), so a tick with nothing changed is skipped
 * and the containers are listed again every {@link Reconciler#RELIST}, as in the agent. Before
 * 2026-12-03 no simulated agent followed a stream: each of 10,000 listed and planned its pods in a
 * full pass every second, 30 times the agent's relist, on the cores the coordinator shares.
 */
public final class SimulatedAgents {
  private SimulatedAgents() {}

  /**
   * Sessions of one JVM starting (joining) at once at most. Every session shares one scheduler, whose
   * queue runs tasks by due time: thousands of first connects due at the start ran before any
   * heartbeat that fell due later, each join blocking a thread, so the agents already joined sent
   * no heartbeat for longer than their grace and went NotReady (thousands in each 10,000-node run
   * before this; docs/benchmarks.md). A real agent has one session and its own threads.
   */
  static final int JOINING_AT_ONCE = 32;

  /** One simulated node: its reconciler, ticked by one thread at a time. */
  static final class Node {
    final String name;
    Reconciler reconciler;
    CoordinatorSession session;
    final AtomicBoolean queued = new AtomicBoolean();
    /** Started and not yet given its first desired set (its reconciler's sources are not ready). */
    final AtomicBoolean joining = new AtomicBoolean(true);
    final Set<String> seen = ConcurrentHashMap.newKeySet();

    Node(String name) {
      this.name = name;
    }

    void kick(ExecutorService ticks) {
      if (queued.compareAndSet(false, true)) {
        ticks.execute(() -> {
          queued.set(false);
          synchronized (this) {
            try {
              reconciler.tick();
            } catch (RuntimeException e) {
              // a simulated node's failure must not stop the others; the next tick retries
            }
          }
        });
      }
    }
  }

  public static void main(String[] args) throws Exception {
    String coordinator = args[0];
    String token = args[1];
    String prefix = args[2];
    int from = Integer.parseInt(args[3]);
    int count = Integer.parseInt(args[4]);
    Path state = Path.of(args[5]);
    long tickMillis = args.length > 6 ? Long.parseLong(args[6]) : 1000;
    PrintStream out = System.out;
    Clock clock = Clock.systemUTC();
    // joins block a thread each (TLS handshakes, certificate requests): more threads than joins at once
    // (JOINING_AT_ONCE), so heartbeats never wait behind them
    ScheduledExecutorService scheduler = Executors.newScheduledThreadPool(64, DaemonThreads.named("sessions"));
    // shared by every simulated agent: pod workers, probes, stops, garbage collection
    ReconcilerThreads threads = new ReconcilerThreads(Executors.newFixedThreadPool(4, DaemonThreads.named("pod-workers")),
        Executors.newFixedThreadPool(2, DaemonThreads.named("probes")), Executors.newCachedThreadPool(DaemonThreads.named("stops")),
        Executors.newSingleThreadExecutor(DaemonThreads.named("gc")));
    ExecutorService ticks = Executors.newFixedThreadPool(4, DaemonThreads.named("ticks"));
    ExecutorService callbacks = Executors.newFixedThreadPool(8, DaemonThreads.named("grpc-callbacks"));
    List<Node> nodes = new ArrayList<>();
    java.util.concurrent.Semaphore joiningSlots = new java.util.concurrent.Semaphore(JOINING_AT_ONCE);
    Random random = new Random(from);
    for (int i = from; i < from + count; i++) {
      String name = prefix + i;
      Node n = new Node(name);
      Path dir = state.resolve(name);
      FakeRuntime runtime = new FakeRuntime(clock, false);
      n.reconciler = new Reconciler(name, "10.0.0.1", runtime, new io.dsfleet.agent.hostfs.Mounts(), clock,
          io.dsfleet.agent.reconcile.Backoff.KUBERNETES, Reconciler.RELIST, dir, "bench", threads, report -> {
        // when the reconciler has the pod: before the send, whose own time is the session's
        long now = System.currentTimeMillis();
        CoordinatorSession s = n.session;
        if (s != null) {
          s.sendReport(report);
        }
        for (PodStatus p : report) {
          if (n.seen.add("seen " + p.getDaemonSet() + "@" + p.getTemplateHash())) {
            synchronized (out) {
              out.println("SEEN " + p.getDaemonSet() + " " + p.getTemplateHash() + " " + name + " " + now);
            }
          }
          if (p.getPhase().equals("Running") && p.getReady() && n.seen.add(p.getDaemonSet() + "@" + p.getTemplateHash())) {
            synchronized (out) {
              out.println("RUNNING " + p.getDaemonSet() + " " + p.getTemplateHash() + " " + name + " " + now);
            }
          }
        }
      });
      n.reconciler.wakeWith(() -> {
        if (n.reconciler.sourcesReady() && n.joining.compareAndSet(true, false)) {
          joiningSlots.release(); // its first desired set arrived: joined, and the next one may start
        }
        n.kick(ticks);
      });
      NodeInfo info = NodeInfo.newBuilder().setName(name).addAddresses("10.0.0.1").setOs("linux").setArch("amd64")
          .setAgentVersion("simulated").setCpuMillis(2000).setMemoryBytes(1L << 30).build();
      n.session = new CoordinatorSession(List.of(coordinator.split(",")), NodeCredentials.tls(dir, name, token, clock), info, n.reconciler,
          runtime, new LocalState(dir), scheduler, clock, random, null, () -> { }).callbacksOn(callbacks).over(NettyTransport.INSTANCE);
      nodes.add(n);
    }
    for (Node n : nodes) {
      n.reconciler.watch(scheduler);
    }
    scheduler.scheduleWithFixedDelay(() -> nodes.forEach(n -> n.kick(ticks)), tickMillis, tickMillis, TimeUnit.MILLISECONDS);
    for (Node n : nodes) {
      joiningSlots.acquire();
      n.session.start();
    }
    out.println("STARTED " + count);
    out.flush();
    new CountDownLatch(1).await(); // until killed
  }

}
