package io.dsfleet.bench;

import io.dsfleet.agent.session.NodeCredentials;
import io.dsfleet.common.tls.Pki;
import io.dsfleet.proto.v1.AgentServiceGrpc;
import io.dsfleet.proto.v1.JoinRequest;
import io.dsfleet.proto.v1.NodeInfo;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * What a join costs the coordinator, and nothing else (issue 19's "separate check"): a coordinator
 * of its own, with no agent connected, takes {@code joins} joins by token, each as an agent's first
 * (its own TLS connection pinned on the token's CA, the token, a request for a P-256 certificate,
 * the leave secret's hash; the coordinator checks the request, signs the certificate and commits
 * the node), one per node of the fleet measured, as the fleet's own joins are. The measure is the
 * coordinator's CPU over them, per join, over their first {@link #FIRST} (the check's size until
 * 2026-12-07, kept to compare with the figures before) and over their second half (its code
 * compiled by then: a cold coordinator's first joins pay for loading and compiling it, which a
 * fleet's thousands of joins spread thin). The joiners' key pairs and
 * requests are made before the window; their handshakes run beside it on the same cores but are
 * not the coordinator's CPU. No session is opened after a join: the heartbeats and desired sets of
 * nodes already in, which the scale run's figure over its joins includes, are not here.
 */
final class JoinCheck {
  private JoinCheck() {}

  /**
   * @param cpuMsPerJoin over every join, the coordinator's first (its code loaded and compiled as they come)
   * @param firstCpuMsPerJoin over the first {@link #FIRST} joins only (all of them in a smaller check)
   * @param warmCpuMsPerJoin over the second half only, the code compiled by then, as through most of a fleet's joins
   */
  record Result(int joins, double seconds, double cpuMsPerJoin, double firstCpuMsPerJoin, double warmCpuMsPerJoin) {}

  /** The joins of the check before 2026-12-07 (2,000 whatever the fleet's size), whose figure is printed beside. */
  static final int FIRST = 2000;

  /** Joins at once: enough to keep the coordinator's two cores busy without queueing behind its limits. */
  static final int PARALLEL = 8;

  static Result run(Path work, int joins, PrintStream out) throws Exception {
    Path state = Path.of("/dev/shm", "dsfleet-joins-" + ProcessHandle.current().pid());
    try (LocalFleet fleet = new LocalFleet(work.resolve("joins-" + joins))
        .coordinatorConfig("maxConnections: %d%nmaxConnectionsPerAddress: %d%n".formatted(joins + 100, joins + 100)).startCoordinator()) {
      String address = fleet.addresses.get(0);
      String token = fleet.joinToken();
      Clock clock = Clock.systemUTC();
      List<JoinRequest> requests = new ArrayList<>();
      List<NodeCredentials> credentials = new ArrayList<>();
      for (int i = 0; i < joins; i++) {
        String name = "join-" + i;
        NodeCredentials c = NodeCredentials.tls(state.resolve(name), name, token, clock);
        credentials.add(c);
        requests.add(JoinRequest.newBuilder().setJoinToken(token).setCsrPem(c.newRequest()).setLeaveSecret(c.leaveSecret())
            .setLeaveSecretSha256(c.leaveSecretSha256()).setNode(NodeInfo.newBuilder().setName(name).addAddresses("10.0.0.1")
                .setOs("linux").setArch("amd64").setAgentVersion("join-check").setCpuMillis(2000).setMemoryBytes(1L << 30)).build());
      }
      ExecutorService pool = Executors.newFixedThreadPool(PARALLEL);
      try {
        long pid = fleet.coordinator.pid();
        long cpu0 = Procs.cpuMillis(pid);
        long t0 = System.nanoTime();
        int half = joins / 2;
        int first = Math.min(FIRST, joins);
        // the coordinator's CPU read after the first FIRST joins, the first half and all, in their order
        java.util.Map<Integer, Long> cpuAt = new java.util.HashMap<>();
        int from = 0;
        for (int mark : new java.util.TreeSet<>(List.of(first, half, joins))) {
          join(pool, address, credentials, requests, from, mark);
          cpuAt.put(mark, Procs.cpuMillis(pid));
          from = mark;
        }
        long cpuFirst = cpuAt.get(first);
        long cpuHalf = cpuAt.get(half);
        long cpu1 = cpuAt.get(joins);
        double seconds = (System.nanoTime() - t0) / 1e9;
        double perJoin = (double) (cpu1 - cpu0) / joins;
        double firstPerJoin = (double) (cpuFirst - cpu0) / first;
        double warm = (double) (cpu1 - cpuHalf) / (joins - half);
        out.printf("joins alone: %d joins in %.1f s, coordinator CPU %.1f ms per join, %.1f ms each of the first %d, %.1f ms each of"
            + " the second half (a coordinator of its own, %d at once)%n", joins, seconds, perJoin, firstPerJoin, first, warm, PARALLEL);
        return new Result(joins, seconds, perJoin, firstPerJoin, warm);
      } finally {
        pool.shutdownNow();
      }
    } finally {
      Procs.run(List.of("rm", "-rf", state.toString()));
    }
  }

  /** Joins {@code from} to {@code to}, {@link #PARALLEL} at once, each on a connection of its own; returns when all are answered. */
  private static void join(ExecutorService pool, String address, List<NodeCredentials> credentials, List<JoinRequest> requests, int from,
      int to) throws Exception {
    List<Future<?>> done = new ArrayList<>();
    for (int i = from; i < to; i++) {
      int k = i;
      done.add(pool.submit(() -> {
        var channel = NettyTransport.INSTANCE.channel(address, credentials.get(k).channelCredentials(NettyTransport.INSTANCE))
            .overrideAuthority(Pki.SERVER_NAME).build();
        try {
          return AgentServiceGrpc.newBlockingStub(channel).withDeadlineAfter(60, TimeUnit.SECONDS).join(requests.get(k));
        } finally {
          channel.shutdownNow();
        }
      }));
    }
    for (Future<?> f : done) {
      f.get();
    }
  }
}
