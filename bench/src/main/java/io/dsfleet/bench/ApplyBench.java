package io.dsfleet.bench;

import io.dsfleet.proto.v1.DeleteRequest;
import io.dsfleet.proto.v1.ObjectKind;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * Benchmark 1, single host, apply to running, like with like on two networks. On the bridge:
 * (a) the floor, a container created and started (what `docker run -d` does) until it runs;
 * (b) the peer, a Swarm global service created until its task runs; (c) a DaemonSet applied until
 * its pod runs and is Ready, with a coordinator and an agent already up. On the host's network
 * (`hostNetwork: true`, the usual DaemonSet): (a') `docker run -d --network host`, (b') the Swarm
 * service on the host network, (c') the DaemonSet with {@code hostNetwork: true}. Same image, same
 * daemon, runs interleaved in a shuffled order; every client is an API call from this process (no
 * CLI or JVM start-up in any timing); state is polled every 5 ms. (d) is (c) with a group of three
 * coordinator replicas on this host (every store write committed on two of them) and its own
 * agent: the cost of replication, in the same run.
 */
final class ApplyBench {
  static final String IMAGE = "local/busybox:1";

  /**
   * @param host the same three on the host's network
   * @param group dsfleet with a group of three coordinator replicas (every store write committed on two)
   * @param peerNote why the peer was not measured, "" when it was
   * @param applyCall of (c), until the coordinator answered the apply (it stored the DaemonSet and sent the desired set)
   * @param hostApplyCall the same of (c')
   */
  record Result(Stats floor, Stats peer, Stats dsfleet, Stats hostFloor, Stats hostPeer, Stats hostDsfleet, Stats group, String peerNote,
      Stats applyCall, Stats hostApplyCall) {}

  static Result run(int runs, Path work, PrintStream out) throws Exception {
    Stats[] stats = new Stats[9]; // the seven of the table, then (c)'s and (c')'s apply calls
    java.util.Arrays.setAll(stats, k -> new Stats());
    Swarm swarm = new Swarm("unix:///var/run/docker.sock");
    String peerNote = swarm.initOrSkip("127.0.0.1", out);
    boolean withPeer = peerNote.isEmpty();
    LocalFleet fleet = new LocalFleet(work.resolve("apply"));
    LocalFleet replicated = new LocalFleet(work.resolve("apply-group"));
    try (fleet; replicated) {
      startBoth(fleet, replicated);
      fleet.startAgent();
      replicated.startAgent();
      LocalFleet.await("the agent's node Ready", 120, fleet::nodeReady);
      LocalFleet.await("the group's agent's node Ready", 120, replicated::nodeReady);
      Random shuffle = new Random(42);
      for (int i = 0; i < runs; i++) {
        List<Integer> order = new ArrayList<>(List.of(0, 1, 2, 3, 4, 5, 6));
        Collections.shuffle(order, shuffle);
        double[] ms = new double[9];
        for (int which : order) {
          ms[which] = switch (which) {
            case 0 -> floorOnce(swarm, i, false);
            case 1 -> withPeer ? peerOnce(swarm, i, false) : Double.NaN;
            case 2 -> {
              DsfleetRun d = dsfleetOnce(fleet, swarm, i, false);
              ms[7] = d.applyCallMs();
              yield d.ms();
            }
            case 3 -> floorOnce(swarm, i, true);
            case 4 -> withPeer ? peerOnce(swarm, i, true) : Double.NaN;
            case 5 -> {
              DsfleetRun d = dsfleetOnce(fleet, swarm, i, true);
              ms[8] = d.applyCallMs();
              yield d.ms();
            }
            default -> dsfleetOnce(replicated, swarm, i, false).ms();
          };
        }
        for (int k = 0; k < ms.length; k++) {
          if (!Double.isNaN(ms[k])) {
            stats[k].add(ms[k]);
          }
        }
        out.printf("run %d: bridge: docker %.0f, swarm %.0f, dsfleet %.0f ms; host network: docker %.0f, swarm %.0f, dsfleet %.0f ms;"
            + " dsfleet on 3 replicas %.0f ms (apply calls: bridge %.1f, host network %.1f ms)%n", i + 1, ms[0], ms[1], ms[2], ms[3],
            ms[4], ms[5], ms[6], ms[7], ms[8]);
      }
    } finally {
      swarm.leave();
    }
    Result r = new Result(stats[0], stats[1], stats[2], stats[3], stats[4], stats[5], stats[6], peerNote, stats[7], stats[8]);
    print(r, runs, out);
    return r;
  }

  /**
   * The single coordinator starts while the group forms, neither timed: each waits mostly on
   * processes of its own (a JVM's start, a join's, an election), which one after the other took
   * about 20 s of a smoke run. Returns once both serve; throws once neither is still starting.
   */
  static void startBoth(LocalFleet single, LocalFleet group) {
    java.util.concurrent.CompletableFuture<LocalFleet> forming = java.util.concurrent.CompletableFuture.supplyAsync(() -> group.startGroup(3));
    try {
      single.startCoordinator();
    } finally {
      forming.handle((f, e) -> f).join(); // formed or failed before either fleet may be closed
    }
    try {
      forming.join();
    } catch (java.util.concurrent.CompletionException e) {
      throw e.getCause() instanceof RuntimeException r ? r : e;
    }
  }

  static double floorOnce(Swarm docker, int i, boolean hostNetwork) {
    String name = "bench-floor-" + i + "-" + System.nanoTime();
    long t0 = System.nanoTime();
    var create = docker.docker.createContainerCmd(IMAGE).withName(name).withCmd("sleep", "3600");
    if (hostNetwork) {
      create.withHostConfig(com.github.dockerjava.api.model.HostConfig.newHostConfig().withNetworkMode("host"));
    }
    String id = create.exec().getId();
    docker.docker.startContainerCmd(id).exec();
    double ms = (System.nanoTime() - t0) / 1e6;
    if (!Boolean.TRUE.equals(docker.docker.inspectContainerCmd(id).exec().getState().getRunning())) {
      throw new IllegalStateException("the floor's container is not running");
    }
    docker.docker.removeContainerCmd(id).withForce(true).exec();
    return ms;
  }

  static double peerOnce(Swarm swarm, int i, boolean hostNetwork) {
    long t0 = System.nanoTime();
    String id = swarm.createGlobal("bench-peer-" + i + (hostNetwork ? "-host" : ""), IMAGE, hostNetwork);
    LocalFleet.await("the swarm task running", 120, () -> swarm.running(id, IMAGE) >= 1);
    double ms = (System.nanoTime() - t0) / 1e6;
    swarm.remove(id);
    swarm.awaitGone(id);
    return ms;
  }

  /**
   * One DaemonSet applied until its pod runs and is Ready.
   *
   * @param ms from the apply request until then
   * @param applyCallMs from the apply request until the coordinator answered it
   */
  record DsfleetRun(double ms, double applyCallMs) {}

  /** @param docker the daemon the fleet's agent runs its containers on, asked over the Engine API whether the pod's are gone */
  static DsfleetRun dsfleetOnce(LocalFleet fleet, Swarm docker, int i, boolean hostNetwork) {
    String name = "bench-ds-" + i + (hostNetwork ? "-host" : "");
    long t0 = System.nanoTime();
    fleet.apply(hostNetwork ? LocalFleet.daemonSet(name, IMAGE, "", "hostNetwork: true") : LocalFleet.daemonSet(name, IMAGE, ""));
    double applyCallMs = (System.nanoTime() - t0) / 1e6;
    fleet.awaitRolledOut(name, 120);
    double ms = (System.nanoTime() - t0) / 1e6;
    if (!fleet.running(name, 0)) {
      throw new IllegalStateException("rolled out, but " + name + "'s pod is not Running and Ready");
    }
    fleet.control().delete(DeleteRequest.newBuilder().setCascade(true).setKind(ObjectKind.DAEMON_SET).setNamespace("default").setName(name).build());
    // untimed, before the next run: every 20 ms over the Engine API (a docker CLI process every 5 ms
    // was about 100 a removal, which waits out the 2 s a `sleep` is given after SIGTERM)
    LocalFleet.await("the pod's containers removed", 60, 20, () -> docker.docker.listContainersCmd().withShowAll(true)
        .withLabelFilter(java.util.Map.of("io.dsfleet.node", fleet.node)).exec().isEmpty());
    return new DsfleetRun(ms, applyCallMs);
  }

  static void print(Result r, int runs, PrintStream out) {
    Table t = new Table("Apply to running, one host (" + runs + " interleaved runs each; ms, median (min-max))",
        "what", "median", "p90", "min-max");
    row(t, "(a) floor: container create + start (`docker run -d`)", r.floor(), "");
    row(t, "(b) peer: Swarm global service until its task runs", r.peer(), r.peerNote());
    row(t, "(c) dsfleet: apply until the pod runs and is Ready (one container: no sandbox)", r.dsfleet(), "");
    row(t, "(a') floor, host network (`docker run -d --network host`)", r.hostFloor(), "");
    row(t, "(b') peer, host network: Swarm global service on `host`", r.hostPeer(), r.peerNote());
    row(t, "(c') dsfleet, `hostNetwork: true` (one container: no sandbox)", r.hostDsfleet(), "");
    row(t, "(d) dsfleet, 3 coordinator replicas: (c) again", r.group(), "");
    row(t, "of (c): the apply call answered (the DaemonSet stored, the desired set sent)", r.applyCall(), "");
    row(t, "of (c'): the apply call answered", r.hostApplyCall(), "");
    t.print(out);
    Table ratios = new Table("Apply to running: ratios of medians", "ratio", "value", "target");
    ratios.row("(c)/(a), bridge", Table.ratio(r.dsfleet().median(), r.floor().median()), "<= 1.2");
    ratios.row("(c')/(a'), host network", Table.ratio(r.hostDsfleet().median(), r.hostFloor().median()), "<= 1.2");
    ratios.row("(c)/(b), bridge", Table.ratio(r.dsfleet().median(), r.peer().median()), "<= 0.7");
    ratios.row("(c')/(b'), host network", Table.ratio(r.hostDsfleet().median(), r.hostPeer().median()), "<= 0.7");
    ratios.row("(d)/(c): the cost of replication", Table.ratio(r.group().median(), r.dsfleet().median()), "<= 1.5");
    ratios.print(out);
  }

  private static void row(Table t, String what, Stats s, String skipped) {
    if (s.count() == 0) {
      t.row(what, "-", "-", "skipped: " + skipped);
    } else {
      t.row(what, Table.ms(s.median()), Table.ms(s.percentile(90)), "%.0f-%.0f".formatted(s.min(), s.max()));
    }
  }
}
