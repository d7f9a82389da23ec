package io.dsfleet.e2e;

import static io.dsfleet.e2e.TestFleet.BRIDGE;
import static io.dsfleet.e2e.TestFleet.PREFIX;
import static io.dsfleet.e2e.TestFleet.ROOT;

import java.util.concurrent.TimeUnit;

/** What removes a fleet (TestFleet's: this JVM's instance), before it starts and after it ends. */
final class FleetCleanup {
  private FleetCleanup() {}

  /** Removes everything a run (this one or an earlier, failed one) made: processes, namespaces, links, mounts, files. */
  static void run() {
    Sh.quiet("for p in " + ROOT + "/*.pid " + ROOT + "/*/dockerd.pid; do [ -f \"$p\" ] && kill -9 $(cat \"$p\") 2>/dev/null; done; true");
    Sh.quiet("for ns in $(ip netns list | awk '{print $1}' | grep '^" + PREFIX + "'); do ip netns pids $ns | xargs -r kill -9; done; true");
    Sh.quiet("pkill -9 -f '" + ROOT + "/' ; true"); // the run's own paths, not a classpath that names the e2e jar
    // the hosts' containers in network namespaces of their own: neither in a host's namespace nor naming the run's paths,
    // they outlived their daemons and shims (about 15 sleeping processes a suite's run), found by their containers' cgroups
    Sh.quiet("ids=$(ls " + ROOT + "/*/data/containers 2>/dev/null | grep -E '^[0-9a-f]{64}$' | paste -sd '|'); [ -n \"$ids\" ]"
        + " && grep -lE \"/docker/($ids)\" /proc/[0-9]*/cgroup 2>/dev/null | cut -d/ -f3 | xargs -r kill -9; true");
    awaitKilled();
    Sh.quiet("grep ' " + ROOT + "/' /proc/mounts | awk '{print $2}' | sort -r | xargs -r -n1 umount -l; true");
    Sh.quiet("for ns in $(ip netns list | awk '{print $1}' | grep '^" + PREFIX + "'); do ip netns del $ns; done; true");
    Sh.quiet("for l in $(ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1 | grep '^" + PREFIX + "'); do ip link del $l; done; true");
    Sh.quiet("while iptables -D FORWARD -i " + BRIDGE + " -o " + BRIDGE + " -j ACCEPT 2>/dev/null; do :; done; true");
    Sh.quiet("rm -rf " + ROOT);
  }

  /**
   * Waits (5 s at most) until the processes just killed are gone: none names the fleet's paths on
   * its command line, none is left in its namespaces. A fixed half second did, twice a class, most
   * often with nothing killed (the run before cleaned up after itself).
   */
  private static void awaitKilled() {
    long t0 = System.nanoTime();
    long deadline = t0 + TimeUnit.SECONDS.toNanos(5);
    while (System.nanoTime() < deadline && (ProcessHandle.allProcesses().anyMatch(FleetCleanup::namesOurPaths)
        || !Sh.quiet("for ns in $(ip netns list | awk '{print $1}' | grep '^" + PREFIX + "'); do ip netns pids $ns; done").isBlank())) {
      try {
        Thread.sleep(50);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
    if (System.nanoTime() - t0 > TimeUnit.MILLISECONDS.toNanos(100)) {
      System.out.printf("e2e: the fleet's killed processes gone after %.1f s%n", (System.nanoTime() - t0) / 1e9);
    }
  }

  private static boolean namesOurPaths(ProcessHandle p) {
    return p.isAlive() && p.info().commandLine().map(c -> c.contains(ROOT + "/")).orElse(false);
  }
}
