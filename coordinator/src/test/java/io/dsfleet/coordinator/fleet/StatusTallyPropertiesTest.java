package io.dsfleet.coordinator.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.common.model.Taint;
import io.dsfleet.coordinator.fleet.FleetHarness.Agent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The DaemonSets' status counters kept from view to view ({@link StatusTally}) through random
 * sequences of what changes a fleet: reports, conditions, leases, labels, taints, cordons, joins and
 * removals, applies, undos, pauses, pod deletions, deletes with and without orphaning and the
 * DaemonSet made again, restarts. A view is read between changes at random: with assertions on, as
 * here, each view checks every kept count against every node counted ({@link FleetView}).
 */
class StatusTallyPropertiesTest {
  @TempDir Path dir;

  private static final String[] NAMES = {"agent", "other"};

  private static String manifest(String name, int image, boolean zoned, boolean surge, int minReadySeconds) {
    List<String> fields = new ArrayList<>(List.of("metadata.name", name, "spec.template.spec.containers[0].image", "local/busybox:" + image));
    if (minReadySeconds > 0) { // counted over every node while set: the tally is made anew after
      fields.addAll(List.of("spec.minReadySeconds", String.valueOf(minReadySeconds)));
    }
    if (zoned) {
      fields.addAll(List.of("spec.template.spec.nodeSelector", "{zone: a}"));
    }
    fields.addAll(List.of("spec.updateStrategy", surge ? "{type: RollingUpdate, rollingUpdate: {maxUnavailable: 0, maxSurge: 1}}"
        : "{type: RollingUpdate, rollingUpdate: {maxUnavailable: 2}}"));
    return FleetHarness.manifest(fields.toArray(String[]::new));
  }

  @Test
  void everyViewCountsAsEveryNodeCountedAfterAnySequenceOfChanges() throws Exception {
    assertThat(FleetView.class.desiredAssertionStatus()).as("assertions on: each view checks its kept counts").isTrue();
    for (int seed = 0; seed < Integer.getInteger("tally.seeds", 8); seed++) {
      Path d = Files.createDirectory(dir.resolve("s" + seed));
      run(seed, d, 160);
    }
  }

  private void run(long seed, Path d, int steps) {
    Random r = new Random(seed);
    List<String> log = new ArrayList<>();
    try (FleetHarness h = new FleetHarness(d)) {
      h.agents(4);
      int joined = 4;
      for (int step = 0; step < steps; step++) {
        String op;
        boolean diskFails = r.nextInt(15) == 0; // the store refuses every write of this step, as a full disk
        h.failing = (method, args) -> diskFails;
        try {
          op = (diskFails ? "disk full: " : "") + step(h, r, joined);
        } catch (ControlException | io.dsfleet.coordinator.store.StoreException refused) { // the views still count
          op = "refused: " + refused.getMessage();
        } finally {
          h.failing = (method, args) -> false;
        }
        if (op.contains("join n")) {
          joined++;
        }
        log.add(op);
        if (r.nextInt(3) > 0) {
          try {
            h.fleet.daemonSets();
            if (r.nextBoolean()) {
              h.fleet.nodes();
            }
          } catch (AssertionError e) {
            throw new AssertionError("seed " + seed + " after " + log + ": " + e.getMessage(), e);
          }
        }
      }
    } catch (RuntimeException e) {
      throw new IllegalStateException("seed " + seed + " after " + log, e);
    }
  }

  private String step(FleetHarness h, Random r, int joined) {
    List<Agent> agents = new ArrayList<>(h.agents.values());
    Agent a = agents.isEmpty() ? null : agents.get(r.nextInt(agents.size()));
    String ds = NAMES[r.nextInt(NAMES.length)];
    int what = r.nextInt(22);
    if (a == null && what < 12) {
      what = 12;
    } else if (a != null && !h.fleet.member(a.name)) {
      h.agents.remove(a.name); // collected: NotReady too long
      return a.name + " collected";
    } else if (a != null && !a.alive && what < 6) {
      what = 7;
    }
    switch (what) {
      case 0, 1, 2, 3:
        a.runDesired(r.nextInt(4) > 0);
        return a.name + " runs its set";
      case 4:
        a.reportsApplied = r.nextBoolean();
        a.runSilently(r.nextBoolean());
        return a.name + " runs its set silently";
      case 5:
        if (!a.running.isEmpty()) {
          String pod = new ArrayList<>(a.running.keySet()).get(r.nextInt(a.running.size()));
          a.running.put(pod, a.running.get(pod).toBuilder().setReady(!a.running.get(pod).getReady()).build());
          a.report();
        }
        return a.name + " flips a pod's readiness";
      case 6:
        h.fleet.heartbeat(a.name, r.nextBoolean(), "runtime");
        return a.name + " heartbeats runtime";
      case 7:
        a.alive = !a.alive;
        if (a.alive) {
          a.open();
        } else {
          h.fleet.sessionClosed(a.name, a);
        }
        return a.name + (a.alive ? " back" : " gone");
      case 8:
        h.fleet.labelNode(a.name, Map.of("zone", r.nextBoolean() ? "a" : "b"), List.of(), true);
        return a.name + " labelled";
      case 9:
        if (r.nextBoolean()) {
          h.fleet.taintNode(a.name, List.of(Taint.of("dedicated", "x", r.nextBoolean() ? Taint.NO_SCHEDULE : Taint.NO_EXECUTE)), List.of(), true);
        } else {
          h.fleet.taintNode(a.name, List.of(), List.of(new Fleet.TaintRemoval("dedicated", "")), true);
        }
        return a.name + " tainted or not";
      case 10:
        h.fleet.cordon(a.name, r.nextBoolean());
        return a.name + " cordoned or not";
      case 11:
        if (r.nextInt(3) == 0) {
          h.fleet.removeNode(a.name);
          h.agents.remove(a.name);
          return a.name + " removed";
        }
        return "nothing";
      case 12:
        h.agent("n" + joined, r.nextBoolean() ? Map.of("zone", "a") : Map.of());
        return "join n" + joined;
      case 13, 14, 15:
        h.fleet.apply(manifest(ds, 1 + r.nextInt(3), r.nextInt(3) == 0, r.nextInt(3) == 0, r.nextInt(5) == 0 ? 2 : 0), "test", false);
        return "apply " + ds;
      case 16:
        h.fleet.undo("ops", ds, 0, 0);
        return "undo " + ds;
      case 17:
        h.fleet.deleteDaemonSet("ops", ds, r.nextBoolean());
        return "delete " + ds;
      case 18:
        h.fleet.pause("ops", ds, r.nextBoolean());
        return "pause " + ds;
      case 19:
        if (a != null && !a.running.isEmpty()) {
          String pod = new ArrayList<>(a.running.keySet()).get(r.nextInt(a.running.size()));
          h.fleet.deletePod("ops", pod);
          return "delete pod " + pod;
        }
        return "nothing";
      case 20:
        if (r.nextInt(4) == 0 && !h.failing.test("restart", new Object[0])) {
          h.crashAndRestart();
          return "restart";
        }
        return "nothing";
      default:
        h.advance(Duration.ofSeconds(r.nextInt(3) == 0 ? 45 : 1 + r.nextInt(5)));
        return "time";
    }
  }
}
