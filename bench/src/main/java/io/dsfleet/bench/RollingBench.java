package io.dsfleet.bench;

import io.dsfleet.e2e.BenchHosts;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;

/**
 * Benchmark 2, rolling update: an image change with maxUnavailable 1 and no minReadySeconds
 * (dsfleet) against `docker service update --image` with parallelism 1, no delay and no monitor
 * period (Swarm), on the same daemon(s), runs interleaved. Time from the request until every
 * node runs the new image, Ready (dsfleet: status updated = available = desired; Swarm: the
 * update completed and every node's task with the new image running).
 */
final class RollingBench {
  static final String[] IMAGES = {"local/busybox:1", "local/busybox:2"};

  record Result(int hosts, Stats dsfleet, Stats swarm, String swarmNote) {}

  /** One host: this machine's Docker daemon, an agent for it, and a one-node swarm. */
  static Result oneHost(int runs, Path work, PrintStream out) {
    Swarm swarm = new Swarm("unix:///var/run/docker.sock");
    String note = swarm.initOrSkip("127.0.0.1", out);
    try (LocalFleet fleet = new LocalFleet(work.resolve("rolling")).startCoordinator()) {
      fleet.startAgent();
      LocalFleet.await("the agent's node Ready", 120, fleet::nodeReady);
      return measure(1, runs, fleet, note.isEmpty() ? List.of(swarm) : List.of(), out, note);
    } finally {
      swarm.leave();
    }
  }

  /** Several hosts: the multi-host harness (network namespaces, a dockerd and an agent each); Swarm across their daemons. */
  static Result hosts(int n, int runs, PrintStream out) throws Exception {
    try (BenchHosts hosts = new BenchHosts(n)) {
      LocalFleet fleet = new LocalFleet(hosts.root(), hosts.coordinatorAddress(), hosts.adminPem());
      List<Swarm> daemons = hosts.dockerHosts().stream().map(Swarm::new).toList();
      String note = "";
      try {
        daemons.get(0).init(hosts.addresses().get(0));
        for (int i = 1; i < n; i++) {
          daemons.get(i).join(daemons.get(0), hosts.addresses().get(i), hosts.addresses().get(0));
        }
        LocalFleet.await("all daemons in the swarm", 60, () -> daemons.get(0).nodes() == n);
      } catch (RuntimeException e) {
        note = "Swarm could not be set up across the test hosts: " + e.getMessage().lines().findFirst().orElse("");
        out.println(note);
      }
      try {
        return measure(n, runs, fleet, note.isEmpty() ? daemons : List.of(), out, note);
      } finally {
        for (Swarm s : daemons) {
          try {
            s.leave();
          } catch (RuntimeException ignored) {
            // the harness removes the daemons anyway
          }
        }
      }
    }
  }

  private static Result measure(int hosts, int runs, LocalFleet fleet, List<Swarm> swarm, PrintStream out, String note) {
    Stats ds = new Stats();
    Stats sw = new Stats();
    String name = "bench-roll";
    fleet.apply(LocalFleet.daemonSet(name, IMAGES[0], "", "", LocalFleet.EXITS_ON_SIGTERM));
    LocalFleet.await("the DaemonSet on every node", 180, () -> fleet.converged(name) && fleet.daemonSet(name).getStatus().getDesired() == hosts);
    String service = null;
    if (!swarm.isEmpty()) {
      service = swarm.get(0).createGlobal(name, IMAGES[0]);
      String id = service;
      LocalFleet.await("the service on every node", 180, () -> swarm.get(0).running(id, IMAGES[0]) == hosts);
    }
    for (int i = 0; i < runs; i++) {
      String image = IMAGES[(i + 1) % 2];
      boolean swarmFirst = i % 2 == 1;
      double swarmMs = Double.NaN;
      if (swarmFirst && service != null) {
        swarmMs = swarmOnce(swarm.get(0), service, image, hosts);
      }
      long t0 = System.nanoTime();
      fleet.apply(LocalFleet.daemonSet(name, image, "", "", LocalFleet.EXITS_ON_SIGTERM));
      LocalFleet.await("the rollout converged", 600, () -> fleet.converged(name));
      double dsMs = (System.nanoTime() - t0) / 1e6;
      if (!swarmFirst && service != null) {
        swarmMs = swarmOnce(swarm.get(0), service, image, hosts);
      }
      ds.add(dsMs);
      if (!Double.isNaN(swarmMs)) {
        sw.add(swarmMs);
      }
      out.printf("%d host(s), run %d: dsfleet %.0f ms, swarm %s%n", hosts, i + 1, dsMs,
          Double.isNaN(swarmMs) ? "-" : "%.0f ms".formatted(swarmMs));
    }
    fleet.control().delete(io.dsfleet.proto.v1.DeleteRequest.newBuilder().setCascade(true).setKind(io.dsfleet.proto.v1.ObjectKind.DAEMON_SET)
        .setNamespace("default").setName(name).build());
    if (service != null) {
      swarm.get(0).remove(service);
    }
    return new Result(hosts, ds, sw, note);
  }

  private static double swarmOnce(Swarm manager, String service, String image, int hosts) {
    long t0 = System.nanoTime();
    manager.updateImage(service, image);
    LocalFleet.await("the swarm update converged", 600, () -> manager.updateCompleted(service) && manager.running(service, image) == hosts);
    return (System.nanoTime() - t0) / 1e6;
  }

  static void print(List<Result> results, int runs, PrintStream out) {
    Table t = new Table("Rolling update: image change until every node runs it (" + runs + " interleaved runs; median (min-max))",
        "hosts", "dsfleet (maxUnavailable 1)", "Swarm (parallelism 1, monitor 1 ms, delay 0)", "dsfleet/Swarm", "target");
    for (Result r : results) {
      t.row(r.hosts(), r.dsfleet().summary() + " ms", r.swarm().count() == 0 ? "- (" + r.swarmNote() + ")" : r.swarm().summary() + " ms",
          Table.ratio(r.dsfleet().median(), r.swarm().median()), "< 1");
    }
    t.print(out);
  }
}
