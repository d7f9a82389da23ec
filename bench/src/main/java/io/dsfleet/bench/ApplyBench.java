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
 * Benchmark 1, single host, apply to running: (a) the floor, a container created and started
 * (what `docker run -d` does) until it runs; (b) the peer, a Swarm global service created until
 * its task runs; (c) a DaemonSet applied until its pod runs and is Ready, with a coordinator and
 * an agent already up. Same image, same daemon, runs interleaved in a shuffled order; every
 * client is an API call from this process (no CLI or JVM start-up in any timing); state is polled
 * every 5 ms. (d) is (c) with a group of three coordinator replicas on this host (every store
 * write committed on two of them) and its own agent: the cost of replication, in the same run.
 */
final class ApplyBench {
  static final String IMAGE = "local/busybox:1";

  /**
   * @param group dsfleet with a group of three coordinator replicas (every store write committed on two)
   * @param peerNote why the peer was not measured, "" when it was
   */
  record Result(Stats floor, Stats peer, Stats dsfleet, Stats group, String peerNote) {}

  static Result run(int runs, Path work, PrintStream out) throws Exception {
    Stats floor = new Stats();
    Stats peer = new Stats();
    Stats dsfleet = new Stats();
    Stats group = new Stats();
    Swarm swarm = new Swarm("unix:///var/run/docker.sock");
    String peerNote = swarm.initOrSkip("127.0.0.1", out);
    boolean withPeer = peerNote.isEmpty();
    try (LocalFleet fleet = new LocalFleet(work.resolve("apply")).startCoordinator();
        LocalFleet replicated = new LocalFleet(work.resolve("apply-group")).startGroup(3)) {
      fleet.startAgent();
      replicated.startAgent();
      LocalFleet.await("the agent's node Ready", 120, fleet::nodeReady);
      LocalFleet.await("the group's agent's node Ready", 120, replicated::nodeReady);
      Random shuffle = new Random(42);
      for (int i = 0; i < runs; i++) {
        List<Integer> order = new ArrayList<>(List.of(0, 1, 2, 3));
        Collections.shuffle(order, shuffle);
        double[] ms = new double[4];
        for (int which : order) {
          ms[which] = switch (which) {
            case 0 -> floorOnce(swarm, i);
            case 1 -> withPeer ? peerOnce(swarm, i) : Double.NaN;
            case 2 -> dsfleetOnce(fleet, i);
            default -> dsfleetOnce(replicated, i);
          };
        }
        floor.add(ms[0]);
        if (withPeer) {
          peer.add(ms[1]);
        }
        dsfleet.add(ms[2]);
        group.add(ms[3]);
        out.printf("run %d: docker %.0f ms, swarm %.0f ms, dsfleet %.0f ms, dsfleet on 3 replicas %.0f ms%n", i + 1, ms[0], ms[1],
            ms[2], ms[3]);
      }
    } finally {
      swarm.leave();
    }
    Result r = new Result(floor, peer, dsfleet, group, peerNote);
    print(r, runs, out);
    return r;
  }

  static double floorOnce(Swarm docker, int i) {
    String name = "bench-floor-" + i + "-" + System.nanoTime();
    long t0 = System.nanoTime();
    String id = docker.docker.createContainerCmd(IMAGE).withName(name).withCmd("sleep", "3600").exec().getId();
    docker.docker.startContainerCmd(id).exec();
    double ms = (System.nanoTime() - t0) / 1e6;
    if (!Boolean.TRUE.equals(docker.docker.inspectContainerCmd(id).exec().getState().getRunning())) {
      throw new IllegalStateException("the floor's container is not running");
    }
    docker.docker.removeContainerCmd(id).withForce(true).exec();
    return ms;
  }

  static double peerOnce(Swarm swarm, int i) {
    long t0 = System.nanoTime();
    String id = swarm.createGlobal("bench-peer-" + i, IMAGE);
    LocalFleet.await("the swarm task running", 120, () -> swarm.running(id, IMAGE) >= 1);
    double ms = (System.nanoTime() - t0) / 1e6;
    swarm.remove(id);
    swarm.awaitGone(id);
    return ms;
  }

  static double dsfleetOnce(LocalFleet fleet, int i) {
    String name = "bench-ds-" + i;
    long t0 = System.nanoTime();
    fleet.apply(LocalFleet.daemonSet(name, IMAGE, ""));
    LocalFleet.await("the pod running", 120, () -> fleet.running(name, 0));
    double ms = (System.nanoTime() - t0) / 1e6;
    fleet.control().delete(DeleteRequest.newBuilder().setCascade(true).setKind(ObjectKind.DAEMON_SET).setNamespace("default").setName(name).build());
    LocalFleet.await("the pod's containers removed", 60, () -> Procs.run(List.of("docker", "ps", "-aq", "--filter",
        "label=io.dsfleet.node=" + fleet.node)).out().isBlank());
    return ms;
  }

  static void print(Result r, int runs, PrintStream out) {
    Table t = new Table("Apply to running, one host (" + runs + " interleaved runs each; ms, median (min-max))",
        "what", "median", "p90", "min-max");
    t.row("(a) floor: container create + start (`docker run -d`)", Table.ms(r.floor().median()), Table.ms(r.floor().percentile(90)),
        "%.0f-%.0f".formatted(r.floor().min(), r.floor().max()));
    if (r.peer().count() == 0) {
      t.row("(b) peer: Swarm global service until its task runs", "-", "-", "skipped: " + r.peerNote());
    } else {
      t.row("(b) peer: Swarm global service until its task runs", Table.ms(r.peer().median()), Table.ms(r.peer().percentile(90)),
          "%.0f-%.0f".formatted(r.peer().min(), r.peer().max()));
    }
    t.row("(c) dsfleet: apply until the pod runs and is Ready", Table.ms(r.dsfleet().median()), Table.ms(r.dsfleet().percentile(90)),
        "%.0f-%.0f".formatted(r.dsfleet().min(), r.dsfleet().max()));
    t.row("(d) dsfleet, 3 coordinator replicas: the same", Table.ms(r.group().median()), Table.ms(r.group().percentile(90)),
        "%.0f-%.0f".formatted(r.group().min(), r.group().max()));
    t.print(out);
    Table ratios = new Table("Apply to running: ratios of medians", "ratio", "value", "target");
    ratios.row("(c)/(a)", Table.ratio(r.dsfleet().median(), r.floor().median()), "<= 1.2");
    ratios.row("(c)/(b)", Table.ratio(r.dsfleet().median(), r.peer().median()), "<= 0.7");
    ratios.row("(d)/(c): the cost of replication", Table.ratio(r.group().median(), r.dsfleet().median()), "<= 1.5");
    ratios.print(out);
  }
}
